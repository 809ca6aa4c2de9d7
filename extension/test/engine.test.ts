import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  answerEngineTokenRequest,
  engineTokenKey,
  isEngineTokenRequest,
  isTokenRefusal,
  playbookRow,
  readActivity,
  readPlaybooks,
  readRules,
  readRuns,
  renderActivityHtml,
  ruleRow,
  runRow,
  versionRow,
} from "../src/lib/engine";
import type { SecretStore } from "../src/lib/profileFlow";

function memoryStore(initial: Record<string, string> = {}): SecretStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    get: (k) => Promise.resolve(data.get(k)),
    store: (k, v) => {
      data.set(k, v);
      return Promise.resolve();
    },
    delete: (k) => {
      data.delete(k);
      return Promise.resolve();
    },
  };
}

// As `riposte.engine.playbooks` answers (PlaybookDetail from wire.rs).
const playbooksAnswer = {
  engine: "http://127.0.0.1:7878",
  playbooks: [
    {
      name: "hello",
      active_version: 2,
      latest_version: 3,
      created_at: "2026-11-22T10:00:00Z",
      updated_at: "2026-11-22T10:05:00Z",
      versions: [
        { version: 3, active: false, lines: 7, errors: 1, warnings: 0, created_at: "2026-11-22T10:05:00Z" },
        { version: 2, active: true, lines: 7, errors: 0, warnings: 2, created_at: "2026-11-22T10:01:00Z" },
      ],
    },
    { name: "idle", active_version: null, latest_version: 1, created_at: "t", updated_at: "t", versions: [] },
    { bogus: true },
  ],
};

describe("engine answers", () => {
  test("playbooks with versions and active state", () => {
    const [hello, idle, ...rest] = readPlaybooks(playbooksAnswer);
    assert.equal(rest.length, 0, "an entry without a name is skipped");
    assert.ok(hello && idle);
    assert.equal(hello.activeVersion, 2);
    assert.equal(idle.activeVersion, undefined);
    assert.equal(playbookRow(hello).description, "active: v2 · latest v3");
    assert.equal(playbookRow(hello).context, "enginePlaybook-active");
    assert.equal(playbookRow(idle).description, "inactive · latest v1");
    assert.equal(playbookRow(idle).context, "enginePlaybook-inactive");
    const [v3, v2] = hello.versions;
    assert.ok(v3 && v2);
    assert.equal(versionRow("hello", v3).context, "engineVersion-invalid", "a version with errors offers no Activate");
    assert.match(versionRow("hello", v3).tooltip, /cannot be activated/);
    assert.equal(versionRow("hello", v2).description, "active · 2 warnings · 7 lines");
  });

  test("rules in evaluation order, with why one cannot fire", () => {
    const rules = readRules({
      rules: [
        { name: "a", enabled: true, order: 10, trigger: "alert_created", action: "run_playbook", playbook: "hello", problem: null },
        { name: "b", enabled: false, order: 20, trigger: "alert_updated", action: "run_playbook", playbook: "gone", problem: "playbook `gone` has no active version" },
      ],
    });
    assert.deepEqual(
      rules.map((r) => ruleRow(r).description),
      ["enabled · #10 · → hello", "disabled · #20 · → gone · cannot fire"],
    );
    const second = rules[1];
    assert.ok(second);
    assert.equal(ruleRow(second).icon, "warning");
  });

  test("runs with a status icon per state", () => {
    const runs = readRuns({
      runs: [
        { id: 3, alert_id: "al-1", rule: "a", playbook: "hello", playbook_version: 2, state: "running", status: null, error: null, attempt: 1, queued_at: "q" },
        { id: 2, alert_id: "al-1", rule: "a", playbook: "hello", playbook_version: 2, state: "failed", status: "timeout", error: "ran out of time", attempt: 1, queued_at: "q", finished_at: "f" },
        { id: 1, alert_id: "al-0", rule: "a", playbook: "hello", playbook_version: null, state: "queued", queued_at: "q" },
        { id: 0, state: "weird", queued_at: "q" },
      ],
    });
    assert.deepEqual(
      runs.map((r) => runRow(r).icon),
      ["sync~spin", "error", "clock", "error"],
    );
    const second = runs[1];
    assert.ok(second);
    const failed = runRow(second);
    assert.equal(failed.label, "#2 hello v2");
    assert.equal(failed.description, "failed (timeout) · alert al-1");
    assert.match(failed.tooltip, /ran out of time/);
    assert.equal(failed.color, "testing.iconFailed");
  });

  test("activity is rendered escaped, without scripts", () => {
    const activity = readActivity({
      alert_id: "al-<1>",
      entries: [
        { id: 1, at: "2026-11-22T10:00:00Z", kind: "received", text: "alert received", run_id: null, rule: null, data: {} },
        { id: 2, at: "2026-11-22T10:00:01Z", kind: "comment", text: "<script>alert(1)</script>", run_id: 7, rule: "a", data: {} },
      ],
    });
    assert.equal(activity.entries.length, 2);
    const html = renderActivityHtml(activity, { cspSource: "vscode-resource:", engine: "http://127.0.0.1:7878" });
    assert.ok(!html.includes("<script>"), html);
    assert.match(html, /&lt;script&gt;/);
    assert.match(html, /run #7/);
    assert.match(html, /al-&lt;1&gt;/);
    assert.match(html, /default-src 'none'/);
    assert.match(renderActivityHtml({ alertId: "x", entries: [] }, { cspSource: "c" }), /No activity recorded/);
  });
});

describe("the engine token", () => {
  test("is served from the secret store by engine URL, and never asked for", async () => {
    const store = memoryStore({ [engineTokenKey("http://127.0.0.1:7878/")]: "fake-token" });
    assert.equal(engineTokenKey("http://127.0.0.1:7878/"), engineTokenKey(" http://127.0.0.1:7878"));
    assert.deepEqual(await answerEngineTokenRequest({ engine: "http://127.0.0.1:7878", field: "token" }, store), { value: "fake-token" });
    assert.equal(await answerEngineTokenRequest({ engine: "http://127.0.0.1:9999", field: "token" }, store), null);
    assert.equal(await answerEngineTokenRequest({ profile: "VirusTotal", field: "api_key" }, store), null);
    assert.equal(isEngineTokenRequest({ profile: "VirusTotal", field: "api_key" }), false);
    const failing: SecretStore = {
      get: () => Promise.reject(new Error("keyring locked")),
      store: () => Promise.resolve(),
      delete: () => Promise.resolve(),
    };
    assert.equal(await answerEngineTokenRequest({ engine: "http://x", field: "token" }, failing), null);
  });

  test("a 401 from the engine is recognised, from data or from the message", () => {
    assert.ok(isTokenRefusal({ message: "x", data: { engineStatus: 401 } }));
    assert.ok(isTokenRefusal(new Error("the engine at http://127.0.0.1:7878 refused the token (401 unauthorized): …")));
    assert.ok(!isTokenRefusal({ message: "cannot reach the engine", data: { engineStatus: null } }));
  });
});
