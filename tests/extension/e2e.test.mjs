// End-to-end: the packaged extension in a real editor. code-server (VS Code in the browser) runs on
// 127.0.0.1 with the .vsix installed in a fresh user-data folder; Debian's Chromium, driven by
// playwright-core, opens a temporary copy of the demo workspace with a bad playbook added and does
// what an author does. Screenshots go to tests/extension/artifacts/.
//
// Run through scripts/extension-e2e.sh, which installs code-server and Chromium, builds the
// .vsix and sets: CODE_SERVER (its launcher), NODE24_BIN (Node 24's bin folder), RIPOSTE_VSIX.
// E2E_SUBSET=ci runs the smaller subset CI runs (see the README).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { KEEP, launchEditor, repo, waitFor, workbench } from "./harness.mjs";

const FULL = process.env.E2E_SUBSET !== "ci";

let tmp;
let workspace;
let extensionsDir;
let codeServer;
let editor;
let page;
const { shot, runCommand, notificationsText, statusLabel, showRiposteViews } = workbench(() => page);

async function problemsText() {
  return (await page.locator(".markers-panel").first().innerText().catch(() => "")) ?? "";
}

/** Process ids under `root` (the code-server we started), with their command lines. */
async function descendants(root) {
  const children = new Map();
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = (await readFile(`/proc/${d}/cmdline`, "utf8")).split("\0").join(" ");
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(d), cmd });
    } catch {
      // the process ended meanwhile
    }
  }
  const out = [];
  const walk = (pid) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** Sets a workspace setting (.vscode/settings.json: watched like any workspace file). */
async function setWorkspaceSetting(key, value) {
  const file = path.join(workspace, ".vscode", "settings.json");
  await mkdir(path.dirname(file), { recursive: true });
  const settings = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : {};
  if (value === undefined) delete settings[key];
  else settings[key] = value;
  await writeFile(file, JSON.stringify(settings, null, 2));
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "riposte-e2e-"));
  workspace = path.join(tmp, "workspace");

  // The demo workspace, a bad playbook (RP014: print instead of ctx.log) and a saved alert.
  await cp(path.join(repo, "fixtures", "workspace"), workspace, { recursive: true });
  await cp(path.join(repo, "fixtures", "playbooks", "bad", "RP014-print-call.py"), path.join(workspace, "playbooks", "print-call.py"));
  await mkdir(path.join(workspace, "alerts"), { recursive: true });
  await cp(path.join(repo, "fixtures", "alerts", "graph-phishing-url.json"), path.join(workspace, "alerts", "graph-phishing-url.json"));

  editor = await launchEditor({ tmp, workspace, settings: { "riposte.logLevel": "debug" } });
  ({ page, codeServer, extensionsDir } = editor);
});

after(async () => {
  await editor?.close();
  if (tmp && !KEEP) await rm(tmp, { recursive: true, force: true });
  else if (tmp) console.log(`# kept ${tmp}`);
});

describe("the Riposte extension in code-server", { timeout: 600_000 }, () => {
  test("activates on the demo workspace and the server starts", async () => {
    const status = page.locator(".statusbar-item", { hasText: "Riposte" }).first();
    await status.waitFor({ state: "visible", timeout: 60_000 });
    // The item's accessible label carries the state: starting → running (or failed, and why).
    const label = await waitFor(
      "the language server to run",
      async () => {
        const l = (await status.locator("[aria-label]").first().getAttribute("aria-label").catch(() => null)) ?? (await status.getAttribute("aria-label")) ?? "";
        if (/Riposte: failed/.test(l)) throw Object.assign(new Error(l), { fatal: true });
        return /Riposte: running/.test(l) ? l : undefined;
      },
      90_000,
    ).catch(async (e) => {
      await shot("workbench-server-failed");
      throw e;
    });
    console.log(`# status bar: ${label}`);
    await shot("workbench");
  });

  test("a bad playbook shows RP014 in the Problems view", async () => {
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 15_000 });
    await input.fill("print-call.py");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "print-call.py" }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press("Enter");
    await page.locator(".tab", { hasText: "print-call.py" }).first().waitFor({ timeout: 15_000 });
    await runCommand("View: Focus Problems");
    await waitFor("RP014 in the Problems view", async () => /RP014/.test(await problemsText()), 90_000);
    const text = await problemsText();
    assert.match(text, /print/);
    await shot("problems-rp014");
  });

  test("the quick fix replaces print with ctx.log and the problem goes away", async () => {
    // Put the cursor on the flagged call, as a person would, then ask for quick fixes there.
    await page.locator(".monaco-editor .view-line", { hasText: "print(" }).first().locator("span", { hasText: "print" }).first().click();
    await page.keyboard.press("Control+.");
    let item = page.locator(".action-widget").getByText(/ctx\.log/).first();
    if (!(await item.isVisible().catch(() => false))) {
      await item.waitFor({ state: "visible", timeout: 5_000 }).catch(async () => {
        await page.keyboard.press("Escape");
        await runCommand("Quick Fix...");
      });
      item = page.locator(".action-widget").getByText(/ctx\.log/).first();
    }
    await item.waitFor({ state: "visible", timeout: 20_000 }).catch(async (e) => {
      await shot("quick-fix-missing");
      throw e;
    });
    await shot("quick-fix-menu");
    await item.click();
    await waitFor("the editor to show ctx.log", async () => /ctx\.log\(/.test(await page.locator(".monaco-editor .view-lines").first().innerText()), 20_000);
    await waitFor("RP014 to leave the Problems view", async () => !/RP014/.test(await problemsText()), 60_000);
    await shot("problems-fixed");
    // Saved, the file on disk has the fix too.
    await page.keyboard.press("Control+S");
    await waitFor("the fix on disk", async () => /ctx\.log\(f"handling/.test(await readFile(path.join(workspace, "playbooks", "print-call.py"), "utf8")), 15_000);
  });

  test("Test Playbook asks for an alert and shows what the server answers", async () => {
    await runCommand("Riposte: Test Playbook");
    const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: "graph-phishing-url.json" }).first();
    await row.waitFor({ state: "visible", timeout: 20_000 });
    await shot("test-playbook-alert-pick");
    await row.click();
    // The server runs it through the runtime: the dry run's change list comes up in a modal
    // (a server without the runtime would say "not available yet"), then Approve makes the real run.
    const outcome = await waitFor(
      "the server's answer to riposte.test",
      async () => {
        const toasts = await notificationsText();
        if (/not available yet/i.test(toasts)) return "not-available";
        if (await page.locator(".monaco-dialog-box").isVisible().catch(() => false)) return "dialog";
        return undefined;
      },
      120_000,
    );
    if (outcome === "not-available") {
      assert.match(await notificationsText(), /Test Playbook is not available yet: `riposte\.test`/);
      await shot("test-playbook-not-available");
      return;
    }
    const dialog = page.locator(".monaco-dialog-box");
    await shot("test-playbook-dry-run");
    await dialog.getByRole("button", { name: "Approve" }).click();
    await waitFor("the run record", async () => page.locator(".tab", { hasText: "Run of" }).first().isVisible(), 120_000);
    await waitFor("the real run's outcome", async () => /print-call succeeded/.test(await notificationsText()), 30_000);
    // The record the server answered, rendered: the playbook's ctx.log line and its status.
    const frame = await waitFor(
      "the real run's record in its webview",
      async () => {
        for (const f of page.frames()) {
          if ((await f.locator("text=handling").count().catch(() => 0)) > 0) return f;
        }
        return undefined;
      },
      30_000,
    );
    const body = await frame.locator("body").innerText();
    for (const s of ["Run of print-call", "succeeded", "handling"]) assert.ok(body.includes(s), `run view lacks ${s}:\n${body}`);
    assert.ok(!body.includes("dry run"), `the approved run is a real run:\n${body}`);
    await shot("test-playbook-run-record");
    await rm(path.join(workspace, "integrations", "stand-in.toml"), { force: true });
  });

  test("a run record from the runtime opens in the run view (loopback stand-in API)", async () => {
    // The stand-in for a threat-intel API, on loopback: it checks the bearer token the runtime signs with.
    const seen = [];
    const standIn = createHttpServer((req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
      res.setHeader("content-type", "application/json");
      if (req.headers.authorization !== "Bearer e2e-token") {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: "unauthorized" }));
        return;
      }
      res.end(JSON.stringify(req.method === "GET" ? { verdict: "malicious" } : { id: "case-1" }));
    });
    await new Promise((r) => standIn.listen(0, "127.0.0.1", r));
    const standInPort = standIn.address().port;
    try {
      await writeFile(
        path.join(workspace, "integrations", "stand-in.toml"),
        `name = "Threat Intel Stand-in"\ndescription = "Loopback stand-in for the e2e test"\nbase_url = "http://127.0.0.1:${standInPort}/api"\n\n[auth]\nmethod = "bearer"\n`,
      );
      await writeFile(
        path.join(workspace, "playbooks", "enrich-standin.py"),
        [
          '"""Look up URL evidence in the threat-intel stand-in and open a case."""',
          "from riposte import Alert, Context",
          "",
          "",
          "def run(alert: Alert, ctx: Context) -> dict:",
          '    intel = ctx.integration("Threat Intel Stand-in")',
          "    verdicts = {}",
          '    with ctx.step("Look up URLs"):',
          "        for url in alert.urls():",
          '            response = intel.get("/lookup", params={"url": url.value})',
          '            verdicts[url.value] = response.json()["verdict"]',
          '            ctx.log("looked up", url=url.value, verdict=verdicts[url.value])',
          '    with ctx.step("Open a case"):',
          '        ctx.comment(f"Threat intel verdicts: {verdicts}")',
          '        intel.post("/cases", json={"alert": alert.id, "verdicts": verdicts})',
          '    return {"urls": len(verdicts)}',
          "",
        ].join("\n"),
      );
      const installed = (await readdir(extensionsDir)).find((d) => d.startsWith("riposte.riposte-"));
      const riposte = path.join(extensionsDir, installed, "dist", "server", "riposte");
      const run = await new Promise((resolve) => {
        const child = spawn(riposte, ["test", "playbooks/enrich-standin.py", "--alert", "alerts/graph-phishing-url.json", "--dry-run", "--format", "json"], {
          cwd: workspace,
          env: { ...process.env, RIPOSTE_THREAT_INTEL_STAND_IN_TOKEN: "e2e-token" },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(run.code, 0, `riposte test failed:\n${run.stderr}\n${run.stdout.slice(0, 2000)}`);
      const record = JSON.parse(run.stdout);
      assert.equal(record.status, "succeeded");
      assert.ok(!run.stdout.includes("e2e-token"), "the token must not be in the run record");
      assert.deepEqual(
        seen.map((r) => [r.method, r.auth]),
        [["GET", "Bearer e2e-token"]],
        "the dry run sends the read, signed, and plans the POST",
      );
      await mkdir(path.join(workspace, ".riposte", "runs"), { recursive: true });
      await writeFile(path.join(workspace, ".riposte", "runs", "2026-11-22T10-00-00-000Z-enrich-standin.json"), run.stdout);
    } finally {
      standIn.close();
    }

    await showRiposteViews();
    const runItem = page.locator(".sidebar .pane", { has: page.locator(".pane-header", { hasText: /^\s*Runs/ }) }).locator(".monaco-list-row", { hasText: "enrich-standin" }).first();
    await runItem.waitFor({ state: "visible", timeout: 30_000 });
    await runItem.click();
    await page
      .locator(".tab", { hasText: "Dry run of enrich-standin" })
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(async (e) => {
        await shot("run-record-missing");
        throw e;
      });
    const frame = await waitFor(
      "the run record in its webview",
      async () => {
        for (const f of page.frames()) {
          if ((await f.locator("text=Look up URLs").count().catch(() => 0)) > 0) return f;
        }
        return undefined;
      },
      30_000,
    );
    const body = await frame.locator("body").innerText();
    for (const s of ["succeeded", "dry run", "Changes the real run would make", "POST http://127.0.0.1", "planned, not sent", "looked up", "Return value"]) {
      assert.ok(body.includes(s), `run view lacks ${s}:\n${body}`);
    }
    await shot("run-record");
    await rm(path.join(workspace, "integrations", "stand-in.toml"), { force: true });
  });

  test("the Riposte views list playbooks, profiles (no secrets), rules and runs", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    await writeFile(path.join(workspace, "integrations", "broken.toml"), 'name = "Broken"\nbase_url = \n');
    await showRiposteViews();
    await waitFor("the malformed profile flagged", async () => /broken\.toml\s*malformed: not valid TOML/.test(await page.locator(".sidebar").innerText()), 30_000);
    // Trees render only the rows that fit their pane: look for the first rows of each view.
    await waitFor("profiles listed", async () => /AWS IAM/.test(await page.locator(".sidebar").innerText()), 30_000).catch(async (e) => {
      await shot("views-failed");
      throw new Error(`${e.message}\nsidebar:\n${await page.locator(".sidebar").innerText().catch(() => "")}`);
    });
    const sidebar = await page.locator(".sidebar").innerText();
    for (const s of ["aws-iam-block-user", "aws_sigv4 · https://iam.amazonaws.com", "Enrich URL evidence"]) assert.ok(sidebar.includes(s), `missing ${s} in:\n${sidebar}`);
    await shot("views");
    await rm(path.join(workspace, "integrations", "broken.toml"));
  });

  test("New Integration Profile: secrets to the secret store, the file without them; cancel leaves nothing", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    const input = page.locator(".quick-input-widget input");
    const widget = page.locator(".quick-input-widget").first();
    const answer = async (text, expect) => {
      // The step's prompt is text (input boxes) or the input's placeholder (quick picks).
      await waitFor(
        `the step "${expect}"`,
        async () =>
          (await widget.isVisible()) &&
          ((await widget.innerText()).includes(expect) || ((await input.getAttribute("placeholder")) ?? "").includes(expect)),
        15_000,
      );
      await input.fill(text);
      await page.keyboard.press("Enter");
    };
    // Cancelled at the second step: no file.
    await runCommand("Riposte: New Integration Profile");
    await answer("Half Done", "New Integration Profile");
    await waitFor("the description step", async () => (await widget.innerText()).includes("What the API is"), 15_000);
    await page.keyboard.press("Escape");
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!existsSync(path.join(workspace, "integrations", "half-done.toml")));

    await runCommand("Riposte: New Integration Profile");
    await answer("Case Tracker", "New Integration Profile");
    await answer("Case tracker used by the e2e test", "What the API is");
    await answer("http://127.0.0.1:9/api", "Base URL");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "Bearer token" }).first().waitFor({ timeout: 15_000 });
    await shot("new-profile-auth-method");
    await answer("Bearer token", "Auth method");
    await waitFor("the secret step", async () => (await widget.innerText()).includes("secret store"), 15_000);
    assert.equal(await input.getAttribute("type"), "password", "secrets are typed into a password box");
    await input.fill("s3cret-e2e-value");
    await page.keyboard.press("Enter");
    const file = path.join(workspace, "integrations", "case-tracker.toml");
    await waitFor("integrations/case-tracker.toml", async () => existsSync(file), 15_000);
    const text = await readFile(file, "utf8");
    assert.match(text, /name = "Case Tracker"/);
    assert.match(text, /method = "bearer"/);
    assert.ok(!text.includes("s3cret-e2e-value"), "the secret must not be in the workspace");
    await waitFor("the confirmation", async () => /created integrations\/case-tracker\.toml/.test(await notificationsText()), 15_000);

    // Base URL and auth method are immutable: the edit flow offers a new profile instead.
    await runCommand("Riposte: Edit Integration Profile");
    await answer("Case Tracker", "Edit Integration Profile");
    await answer("Base URL", "What to change");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await dialog.innerText(), /cannot be changed/);
    assert.match(await dialog.innerText(), /Create New and Delete Old/);
    await shot("edit-profile-immutable");
    await page.keyboard.press("Escape");
    assert.match(await readFile(file, "utf8"), /base_url = "http:\/\/127\.0\.0\.1:9\/api"/);
  });

  test("Check Workspace reports through a progress notification", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    await runCommand("Riposte: Check Workspace");
    // The stand-in profile was removed after its run, so its playbook now names a missing
    // profile (RP005): the summary names that file, which is not open.
    await waitFor("the check summary", async () => /Riposte: \d+ errors? and \d+ warnings? in \d+ files: .*playbooks\/enrich-standin\.py/.test(await notificationsText()), 60_000);
    await shot("check-workspace");
  });

  test("Generate Docs opens the Markdown preview with the flow diagram drawn", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 15_000 });
    await input.fill("vt-url-enrichment.py");
    await page.locator(".quick-input-widget .monaco-list-row", { hasText: "vt-url-enrichment.py" }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press("Enter");
    await page.locator(".tab", { hasText: "vt-url-enrichment.py" }).first().waitFor({ timeout: 15_000 });
    await runCommand("Riposte: Generate Docs");
    await page.locator(".tab", { hasText: "Preview vt-url-enrichment.md" }).first().waitFor({ timeout: 60_000 });
    // The preview is a webview (nested iframes): find the frame where mermaid drew an SVG.
    await waitFor(
      "a Mermaid SVG in the preview",
      async () => {
        for (const f of page.frames()) {
          if ((await f.locator("pre.riposte-mermaid svg").count().catch(() => 0)) > 0) return true;
        }
        return false;
      },
      60_000,
    );
    for (const f of page.frames()) {
      const diagram = f.locator("pre.riposte-mermaid svg").first();
      if ((await diagram.count().catch(() => 0)) > 0) {
        await diagram.scrollIntoViewIfNeeded().catch(() => undefined);
        break;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    await shot("docs-preview");
  });
  test("a server that crashes mid-session is restarted, and the person is told", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    const servers = (await descendants(codeServer.pid)).filter((p) => /dist\/server\/riposte lsp/.test(p.cmd));
    assert.equal(servers.length, 1, `expected one riposte lsp under code-server: ${JSON.stringify(servers)}`);
    process.kill(servers[0].pid, "SIGKILL");
    await waitFor("the restart notice", async () => /stopped unexpectedly and was restarted/.test(await notificationsText()), 30_000);
    await waitFor("a new server", async () => {
      const now = (await descendants(codeServer.pid)).filter((p) => /dist\/server\/riposte lsp/.test(p.cmd));
      return now.length === 1 && now[0].pid !== servers[0].pid && /Riposte: running/.test(await statusLabel());
    }, 60_000);
    await shot("server-restarted");
  });

  test("a server that dies on start: a clear error, the logs one click away", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    // Answers --version like riposte, then fails the way a broken install would.
    const fake = path.join(tmp, "fake-riposte");
    await writeFile(fake, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "riposte 0.1.0"; exit 0; fi\necho "riposte: error: cannot read the workspace: permission denied" >&2\nexit 3\n');
    await import("node:fs/promises").then((fs) => fs.chmod(fake, 0o755));
    await setWorkspaceSetting("riposte.server.path", fake);
    try {
      const toast = page.locator(".notification-toast", { hasText: "server settings changed" }).first();
      await toast.waitFor({ state: "visible", timeout: 60_000 });
      await toast.getByRole("button", { name: "Restart Server" }).click();
      await waitFor("the start failure", async () => /Riposte: failed/.test(await statusLabel()), 90_000);
      // The status can turn before the toast is in the DOM: wait for it rather than read once.
      await waitFor("the start failure's notification", async () => /could not start|stopped unexpectedly/.test(await notificationsText()), 15_000);
      await new Promise((r) => setTimeout(r, 800)); // let the toast finish sliding in
      await shot("server-dies-on-start");
    } finally {
      await setWorkspaceSetting("riposte.server.path", undefined);
    }
    const toast = page.locator(".notification-toast", { hasText: "server settings changed" }).first();
    await toast.waitFor({ state: "visible", timeout: 60_000 });
    await toast.getByRole("button", { name: "Restart Server" }).click();
    await waitFor("the server back", async () => /Riposte: running/.test(await statusLabel()), 60_000);
  });

  test("a server path that points nowhere: a clear error with a next step", { skip: !FULL && "E2E_SUBSET=ci" }, async () => {
    await setWorkspaceSetting("riposte.server.path", "/nonexistent/riposte");
    try {
      // The extension notices the settings change and offers a restart.
      const toast = page.locator(".notification-toast", { hasText: "server settings changed" }).first();
      await toast.waitFor({ state: "visible", timeout: 60_000 });
      await toast.getByRole("button", { name: "Restart Server" }).click();
      await waitFor("the error", async () => /riposte\.server\.path setting points to \/nonexistent\/riposte/.test(await notificationsText()), 30_000);
      assert.match(await notificationsText(), /Fix or clear the setting/);
      assert.match(await statusLabel(), /Riposte: failed/);
      await shot("server-path-missing");
    } finally {
      await setWorkspaceSetting("riposte.server.path", undefined);
    }
    const toast = page.locator(".notification-toast", { hasText: "server settings changed" }).first();
    await toast.waitFor({ state: "visible", timeout: 60_000 });
    await toast.getByRole("button", { name: "Restart Server" }).click();
    await waitFor("the server back", async () => /Riposte: running/.test(await statusLabel()), 60_000);
  });
});
