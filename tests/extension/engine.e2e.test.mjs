// End-to-end: the engine from the editor. A real `riposte serve` (SQLite in a temp folder, on
// 127.0.0.1, no token: loopback) is named by the workspace's riposte.toml; the packaged extension
// in code-server deploys a playbook from the editor (Deploy/Activate, confirmed in the modal), the
// test then saves a rule and posts a fixture alert to the engine, and the run must appear in the
// "Engine: Runs" view, succeeded. Screenshot: tests/extension/artifacts/engine-runs.png.
//
// Run like e2e.test.mjs (after scripts/extension-e2e.sh has set things up):
//   CODE_SERVER=… NODE24_BIN=… RIPOSTE_VSIX=… RIPOSTE_SERVER_BINARY=target/debug/riposte \
//     node --test --test-timeout=900000 tests/extension/engine.e2e.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { KEEP, env, freePort, launchEditor, repo, waitFor, workbench } from "./harness.mjs";

let tmp;
let workspace;
let editor;
let page;
const { shot, runCommand, notificationsText, statusLabel, showRiposteViews } = workbench(() => page);

const RIPOSTE = path.resolve(repo, process.env.RIPOSTE_SERVER_BINARY ?? path.join("target", "debug", "riposte"));
let engine;
let engineLog = "";
let engineUrl;

const HELLO = `"""Comment on every alert about a malicious URL."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    ctx.comment(f"seen by riposte: {alert.title}")
`;

const RULE = `name = "hello-url"
order = 10

[[conditions]]
field = "title"
operator = "contains"
value = "malicious URL"

[[actions]]
type = "run_playbook"
playbook = "hello"
`;

async function api(method, route, body) {
  const r = await fetch(`${engineUrl}${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${route}: ${r.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

before(async () => {
  assert.ok(existsSync(RIPOSTE), `missing the riposte binary (RIPOSTE_SERVER_BINARY): ${RIPOSTE}`);
  tmp = await mkdtemp(path.join(os.tmpdir(), "riposte-engine-e2e-"));
  workspace = path.join(tmp, "workspace");

  const enginePort = await freePort();
  engineUrl = `http://127.0.0.1:${enginePort}`;
  await mkdir(path.join(workspace, "playbooks"), { recursive: true });
  await mkdir(path.join(workspace, "rules"), { recursive: true });
  await writeFile(path.join(workspace, "riposte.toml"), `[engine]\nurl = "${engineUrl}"\n`);
  await writeFile(path.join(workspace, "playbooks", "hello.py"), HELLO);
  await writeFile(path.join(workspace, "rules", "hello-url.toml"), RULE);

  const cleanEnv = { ...env };
  delete cleanEnv.RIPOSTE_ENGINE_TOKEN;
  delete cleanEnv.RIPOSTE_ENGINE_URL;
  engine = spawn(RIPOSTE, ["serve", "--listen", `127.0.0.1:${enginePort}`, "--db", `sqlite:${path.join(tmp, "engine.db")}`, "--workspace", workspace], {
    env: cleanEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  engine.stdout.on("data", (d) => (engineLog += d));
  engine.stderr.on("data", (d) => (engineLog += d));
  await waitFor(
    "riposte serve to answer",
    async () => {
      if (engine.exitCode !== null) throw Object.assign(new Error(`riposte serve exited ${engine.exitCode}:\n${engineLog}`), { fatal: true });
      const r = await fetch(`${engineUrl}/api/health`).catch(() => undefined);
      return r?.ok;
    },
    60_000,
  );

  editor = await launchEditor({ tmp, workspace, serverEnv: cleanEnv });
  page = editor.page;
});

after(async () => {
  await editor?.close();
  if (engine && engine.exitCode === null) engine.kill("SIGKILL");
  if (tmp && !KEEP) await rm(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`# kept ${tmp}`);
});

describe("the engine from the editor", { timeout: 600_000 }, () => {
  test("deploy from the editor, an alert, and the run in the Runs view", async () => {
    const status = page.locator(".statusbar-item", { hasText: "Riposte" }).first();
    await status.waitFor({ state: "visible", timeout: 60_000 });
    await waitFor("the language server to run", async () => /Riposte: running/.test(await statusLabel()), 90_000);

    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 15_000 });
    await input.fill("hello.py");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "hello.py" }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press("Enter");
    await page.locator(".tab", { hasText: "hello.py" }).first().waitFor({ timeout: 15_000 });

    await runCommand("Riposte: Deploy/Activate Playbook");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 30_000 });
    await dialog.getByRole("button", { name: "Activate" }).click();
    await waitFor("the deploy to be confirmed", async () => /hello version 1 is active/.test(await notificationsText()), 60_000).catch(async (e) => {
      await shot("engine-deploy-failed");
      throw new Error(`${e.message}\nnotifications: ${await notificationsText()}`);
    });
    const stored = await api("GET", "/api/playbooks/hello");
    assert.equal(stored.active_version, 1);
    assert.match((await api("GET", "/api/playbooks/hello/versions/1")).docs, /mermaid/);

    await api("PUT", "/api/rules/hello-url", { toml: RULE });
    const alert = JSON.parse(await readFile(path.join(repo, "fixtures", "alerts", "graph-phishing-url.json"), "utf8"));
    alert.id = "editor-e2e-alert";
    const intake = await api("POST", "/api/alerts", alert);
    assert.deepEqual(intake.results[0].matched_rules, ["hello-url"]);

    await showRiposteViews();
    const runsPane = page.locator(".sidebar .pane", { hasText: "Engine: Runs" }).first();
    await runsPane.waitFor({ state: "visible", timeout: 20_000 });
    const header = runsPane.locator(".pane-header").first();
    if ((await header.getAttribute("aria-expanded")) !== "true") await header.click();
    const row = runsPane.locator(".monaco-list-row", { hasText: "#1 hello v1" }).first();
    await waitFor("the run in Engine: Runs, succeeded", async () => /succeeded/.test(await row.innerText().catch(() => "")), 90_000).catch(async (e) => {
      await shot("engine-runs-failed");
      throw e;
    });
    assert.match(await row.innerText(), /alert editor-e2e-alert/);
    // Room for the engine views in the screenshot: fold the workspace views.
    for (const name of ["Playbooks", "Integration Profiles", "Automation Rules", "Runs"]) {
      const other = page.locator(".sidebar .pane-header", { has: page.locator("h3.title", { hasText: new RegExp(`^${name}$`) }) }).first();
      if ((await other.getAttribute("aria-expanded").catch(() => null)) === "true") await other.click();
    }
    await row.scrollIntoViewIfNeeded();
    await shot("engine-runs");
  });
});
