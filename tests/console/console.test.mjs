// The engine's console in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against a real `riposte serve` that scripts/engine-demo.py started with the demo workspace
// deployed and a sample alert posted (scripts/console-e2e.sh does both and stops the engine).
// The test types the read token into the console's form, as a person would, and checks the page
// against what the JSON API says: playbooks, rules, the alert's runs with their state, and the
// alert's activity timeline. Screenshots: tests/console/screenshots/*.png.
//
// Needs RIPOSTE_CONSOLE_STATE: the engine.json that scripts/engine-demo.py wrote.

import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import { launchChromium, repo } from "../extension/harness.mjs";

const screenshots = path.join(repo, "tests", "console", "screenshots");
const STATE = process.env.RIPOSTE_CONSOLE_STATE;

let engine;
let readToken;
let browser;
let page;

async function api(pathname) {
  const response = await fetch(engine.url + pathname, { headers: { Authorization: `Bearer ${readToken}` } });
  assert.equal(response.status, 200, `GET ${pathname}: ${response.status}`);
  return response.json();
}

async function shot(name) {
  await mkdir(screenshots, { recursive: true });
  const file = path.join(screenshots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot: ${path.relative(repo, file)}`);
}

/** The text of every row of a table, one array of cell texts per row. */
async function rows(tableId) {
  return page.locator(`#${tableId} tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
}

before(async () => {
  assert.ok(STATE, "RIPOSTE_CONSOLE_STATE is not set: run this through scripts/console-e2e.sh");
  engine = JSON.parse(await readFile(STATE, "utf8"));
  readToken = (await readFile(engine.read_token_file, "utf8")).trim();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  await browser?.close().catch(() => undefined);
});

test("the console asks for a token, refuses a wrong one, and shows the overview with the read token", async () => {
  await page.goto(`${engine.url}/`);
  await page.locator("#login").waitFor({ state: "visible", timeout: 20_000 });
  assert.equal(await page.locator("#overview").isVisible(), false, "nothing is shown before a token is given");

  await page.fill("#token", "not-the-token-0123456789");
  await page.click("#login button[type=submit]");
  await page.locator("#error").filter({ hasText: /\S/ }).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator("#overview").isVisible(), false);
  await shot("console-wrong-token");

  await page.fill("#token", readToken);
  await page.click("#login button[type=submit]");
  await page.locator("#overview").waitFor({ state: "visible", timeout: 20_000 });
  assert.match(await page.locator("#role").textContent(), /read/);
  assert.equal(await page.locator("#login").isVisible(), false, "the token form goes away once the token works");
  // The token typed in is not put anywhere on the page.
  assert.ok(!(await page.content()).includes(readToken), "the page shows the token");

  const playbooks = (await api("/api/playbooks")).playbooks;
  const shownPlaybooks = await rows("playbooks");
  assert.deepEqual(
    shownPlaybooks.map((r) => r[0]).sort(),
    playbooks.map((p) => p.name).sort(),
  );
  for (const p of playbooks) {
    const row = shownPlaybooks.find((r) => r[0] === p.name);
    assert.equal(row[1], String(p.active_version), `${p.name}: active version`);
  }
  assert.ok(playbooks.length >= 5, "the demo's five playbooks are deployed");

  const rules = (await api("/api/rules")).rules;
  const shownRules = await rows("rules");
  // Evaluation order, as the API lists them.
  assert.deepEqual(shownRules.map((r) => r[1]), rules.map((r) => r.name));
  assert.ok(rules.length >= 4, "the demo's four rules are deployed");

  const runs = await api(`/api/runs?alert=${encodeURIComponent(engine.alert_id)}`);
  assert.ok(runs.runs.length >= 1, "the sample alert has runs");
  const shownRuns = await rows("runs");
  for (const run of runs.runs) {
    const row = shownRuns.find((r) => r[0] === String(run.id));
    assert.ok(row, `run ${run.id} is listed`);
    assert.equal(row[1], run.state, `run ${run.id}: state`);
    assert.ok(["succeeded", "failed"].includes(run.state), `run ${run.id} finished (${run.state})`);
    assert.equal(row[5], engine.alert_id);
  }
  await shot("console-overview");
});

test("the alert's activity timeline shows its delivery and its run from queued to finished", async () => {
  // From the overview, follow the alert's link as a person would.
  await page.locator("#runs a", { hasText: engine.alert_id }).first().click();
  await page.waitForURL(`**/console/alerts/**`);
  await page.locator("#alert").waitFor({ state: "visible", timeout: 20_000 });
  const alert = await api(`/api/alerts/${encodeURIComponent(engine.alert_id)}`);
  assert.match(await page.locator("#alert-title").textContent(), new RegExp(alert.title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));

  const activity = (await api(`/api/alerts/${encodeURIComponent(engine.alert_id)}/activity`)).entries;
  const shown = await rows("activity");
  assert.deepEqual(
    shown.map((r) => [r[1], r[2]]),
    activity.map((e) => [e.kind, e.text]),
  );
  const kinds = shown.map((r) => r[1]);
  for (const kind of ["received", "run_queued", "run_started", "run_finished"]) {
    assert.ok(kinds.includes(kind), `the timeline has a ${kind} entry: ${kinds.join(", ")}`);
  }
  assert.ok(kinds.indexOf("received") < kinds.indexOf("run_finished"), "oldest first");
  await shot("console-alert-activity");
});
