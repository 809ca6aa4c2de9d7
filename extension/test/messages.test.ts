import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { checkFindings, formatCheckSummary, formatCommandError, formatServerCrash, statusBarText } from "../src/lib/messages";

describe("formatCommandError", () => {
  test("the server's 'not available yet' is shown as it is, as a warning", () => {
    const err = {
      code: -32803,
      message: "not available yet: `riposte.test` runs the playbook on an alert through the runtime, which the language server is not wired to yet",
    };
    const m = formatCommandError("Test Playbook", err);
    assert.equal(m.severity, "warning");
    assert.equal(
      m.text,
      "Riposte: Test Playbook is not available yet: `riposte.test` runs the playbook on an alert through the runtime, which the language server is not wired to yet.",
    );
  });

  test("an unknown command tells to update riposte", () => {
    const m = formatCommandError("Deploy/Activate", { code: -32602, message: "unknown command `riposte.deploy`; the server offers riposte.check" });
    assert.equal(m.severity, "error");
    assert.match(m.text, /Update riposte/);
    assert.deepEqual(m.actions, ["Show Logs"]);
  });

  test("a dead server offers a restart", () => {
    const m = formatCommandError("Check Workspace", new Error("Connection got disposed."));
    assert.match(m.text, /not running/);
    assert.deepEqual(m.actions, ["Restart Server", "Show Logs"]);
  });

  test("cancellation is not an error", () => {
    assert.equal(formatCommandError("Test Playbook", { code: -32800, message: "cancelled" }).severity, "info");
  });

  test("anything else keeps the server's words", () => {
    const m = formatCommandError("Generate Docs", { code: -32803, message: "x: playbook has a syntax error on line 3" });
    assert.equal(m.text, "Riposte: Generate Docs failed: x: playbook has a syntax error on line 3");
  });
});

describe("statusBarText", () => {
  test("running with problems shows the counts", () => {
    const s = statusBarText("running", { errors: 2, warnings: 1, others: 0 }, "riposte 0.1.0");
    assert.equal(s.text, "$(shield) Riposte $(error) 2 $(warning) 1");
    assert.match(s.tooltip, /2 errors, 1 warning from Riposte/);
  });
  test("running and clean", () => {
    assert.equal(statusBarText("running", { errors: 0, warnings: 0, others: 0 }).text, "$(shield) Riposte");
  });
  test("failed says why", () => {
    const s = statusBarText("failed", { errors: 0, warnings: 0, others: 0 }, "riposte was not found");
    assert.equal(s.text, "$(error) Riposte");
    assert.match(s.tooltip, /riposte was not found/);
  });
  test("no workspace names the next step", () => {
    assert.match(statusBarText("no-workspace", { errors: 0, warnings: 0, others: 0 }).tooltip, /Initialize Workspace/);
  });
});

describe("formatCheckSummary", () => {
  test("reads the language server's answer", () => {
    const result = {
      counts: { error: 1, warning: 2, info: 0 },
      workspaces: [{ root: "/ws", files: [{ path: "a" }, { path: "b" }, { path: "c" }], counts: { error: 1, warning: 2, info: 0 } }],
    };
    assert.equal(formatCheckSummary(result, { errors: 0, warnings: 0, others: 0 }), "Riposte: 1 error and 2 warnings in 3 files. They are listed in the Problems view.");
    const withFiles = {
      counts: { error: 1, warning: 2, info: 0 },
      workspaces: [
        {
          files: [
            { path: "playbooks/a.py", counts: { error: 0, warning: 2 } },
            { path: "integrations/b.toml", uri: "file:///ws/integrations/b.toml", counts: { error: 1, warning: 0 } },
            { path: "rules/c.toml", counts: { error: 0, warning: 0 } },
          ],
        },
      ],
    };
    assert.equal(
      formatCheckSummary(withFiles, { errors: 0, warnings: 0, others: 0 }),
      "Riposte: 1 error and 2 warnings in 3 files: integrations/b.toml (1 error), playbooks/a.py (2 warnings). Open a file to see its problems.",
    );
    assert.equal(checkFindings(withFiles)[0]?.uri, "file:///ws/integrations/b.toml");
  });
  test("clean", () => {
    assert.equal(formatCheckSummary({ counts: { error: 0, warning: 0 }, workspaces: [{ files: [{}] }] }, { errors: 0, warnings: 0, others: 0 }), "Riposte: the workspace is clean in 1 file.");
  });
  test("no structure: falls back to the Problems view's counts", () => {
    assert.match(formatCheckSummary(null, { errors: 3, warnings: 0, others: 0 }), /3 errors and 0 warnings/);
  });
});

test("formatServerCrash offers the logs and a restart", () => {
  const m = formatServerCrash(4, 3);
  assert.match(m.text, /4 times in the last 3 minutes/);
  assert.deepEqual(m.actions, ["Show Logs", "Restart Server"]);
});

describe("serverSettingsPayload", () => {
  test("empty lint lists are 'not set', never 'select nothing'", async () => {
    const { serverSettingsPayload } = await import("../src/lib/protocol");
    const p = serverSettingsPayload({ server: { path: "" }, python: { path: "" }, engine: { url: "" }, logLevel: "debug", lint: { select: [], ignore: [] }, trace: { server: "off" } });
    assert.deepEqual(p, { lint: { select: null, ignore: null }, logLevel: "debug", python: { path: null }, engine: { url: null }, server: { path: null } });
  });
  test("given lists pass through, trimmed", async () => {
    const { serverSettingsPayload } = await import("../src/lib/protocol");
    const p = serverSettingsPayload({ lint: { select: [" RP0 ", ""], ignore: ["RP015"] }, python: { path: "/usr/bin/python3" } });
    assert.deepEqual(p["lint"], { select: ["RP0"], ignore: ["RP015"] });
    assert.deepEqual(p["python"], { path: "/usr/bin/python3" });
    assert.equal(p["logLevel"], "info");
  });
  test("junk gives defaults", async () => {
    const { serverSettingsPayload } = await import("../src/lib/protocol");
    assert.deepEqual(serverSettingsPayload(null)["lint"], { select: null, ignore: null });
  });
});
