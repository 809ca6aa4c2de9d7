import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { formatChangeList, readRunRecord, renderRunRecordHtml, summarizeRun } from "../src/lib/runRecord";

const dryRun = {
  playbook: "phishing-sender-disable",
  status: "succeeded",
  dry_run: true,
  started_at: "2026-11-22T10:00:00Z",
  duration_ms: 812,
  alert: { id: "da6375", title: "Phishing <b>email</b>" },
  trace: [{ name: "look up sender", status: "ok", duration_ms: 120, children: [{ name: "graph", duration_ms: 80 }] }],
  requests: [
    { profile: "Microsoft Graph", method: "GET", url: "https://graph.microsoft.com/v1.0/users/x", status: 200, duration_ms: 40 },
    { profile: "Microsoft Graph", method: "PATCH", url: "https://graph.microsoft.com/v1.0/users/x", planned: true },
  ],
  comments: ["Disabled x"],
  updates: [{ status: "resolved", classification: "truePositive" }],
  logs: [{ level: "info", message: "sender is internal", fields: { upn: "x@contoso.com" } }],
  output: { disabled: true },
};

describe("readRunRecord", () => {
  test("reads a dry run and derives its change list", () => {
    const r = readRunRecord(dryRun);
    assert.equal(r.status, "succeeded");
    assert.equal(r.dryRun, true);
    assert.equal(r.durationMs, 812);
    assert.equal(r.trace[0]?.children[0]?.name, "graph");
    assert.equal(r.requests[1]?.planned, true);
    assert.equal(r.requests[0]?.planned, false);
    assert.deepEqual(
      r.changes.map((c) => c.description),
      [
        "PATCH https://graph.microsoft.com/v1.0/users/x (Microsoft Graph)",
        'Comment on the alert: "Disabled x"',
        'Update the alert: status = "resolved", classification = "truePositive"',
      ],
    );
  });
  test("an explicit changes list wins; camelCase is read too", () => {
    const r = readRunRecord({ status: "succeeded", dryRun: true, changes: [{ kind: "comment", text: "hi" }, "custom change"], durationSecs: 2 });
    assert.deepEqual(r.changes.map((c) => c.description), ['Comment on the alert: "hi"', "custom change"]);
    assert.equal(r.durationMs, 2000);
  });
  test("junk does not throw", () => {
    for (const junk of [null, 42, "x", [], { trace: "no", requests: {} }]) {
      const r = readRunRecord(junk);
      assert.equal(typeof r.status, "string");
    }
  });
  test("errors with a traceback", () => {
    const r = readRunRecord({ status: "failed", error: { type: "KeyError", message: "'data'", traceback: [{ line: 12, function: "run", text: "report['data']" }] } });
    assert.equal(r.error?.type, "KeyError");
    assert.equal(r.error?.traceback[0]?.line, 12);
  });
});

describe("formatChangeList", () => {
  test("lists the planned changes", () => {
    const { message, detail } = formatChangeList(readRunRecord(dryRun));
    assert.equal(message, "The dry run plans 3 changes. Approve the real run?");
    assert.match(detail, /^1\. PATCH https:\/\/graph\.microsoft\.com\/v1\.0\/users\/x \(Microsoft Graph\)\n2\. Comment/);
    assert.match(detail, /1 read request/);
  });
  test("no changes", () => {
    assert.equal(formatChangeList(readRunRecord({ status: "succeeded", dry_run: true })).message, "The dry run plans no changes.");
  });
  test("a failed dry run says so", () => {
    assert.match(formatChangeList(readRunRecord({ status: "failed", error: "boom" })).message, /ended failed: boom/);
  });
  test("long lists are cut", () => {
    const changes = Array.from({ length: 30 }, (_, i) => `change ${i}`);
    const { detail } = formatChangeList(readRunRecord({ status: "succeeded", changes }), 5);
    assert.match(detail, /… and 25 more/);
  });
});

describe("renderRunRecordHtml", () => {
  test("escapes everything from the record and runs no script", () => {
    const html = renderRunRecordHtml(readRunRecord({ ...dryRun, logs: [{ level: "info", message: "<script>alert(1)</script>" }] }), { cspSource: "vscode-resource:" });
    assert.ok(!html.includes("<script>alert(1)"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(html.includes("Phishing &lt;b&gt;email&lt;/b&gt;"));
    assert.match(html, /default-src 'none'/);
    assert.ok(!/<script/i.test(html));
  });
  test("shows the trace, requests, changes, logs and return value", () => {
    const html = renderRunRecordHtml(readRunRecord(dryRun), { cspSource: "x" });
    for (const s of ["Changes the real run would make", "look up sender", "planned, not sent", "sender is internal", "&quot;disabled&quot;: true", "dry run"]) {
      assert.ok(html.includes(s), `missing ${s}`);
    }
  });
});

test("summarizeRun", () => {
  const s = summarizeRun(dryRun, "2026-11-22T10-00-00-000Z-phishing-sender-disable.json", 0);
  assert.equal(s.label, "phishing-sender-disable");
  assert.equal(s.description, "succeeded (dry run) · 812 ms · alert da6375");
  assert.equal(summarizeRun({ status: "failed" }, "2026-11-22T10-00-00-000Z-vt.json", 5).label, "vt");
});

describe("the runtime's record (riposte test --format json)", () => {
  // Trimmed from a real `riposte test --dry-run --format json` run against a loopback stand-in.
  const record = {
    playbook: "playbooks/enrich.py",
    status: "succeeded",
    dry_run: true,
    started_at: "2026-11-22T02:31:57.292Z",
    duration_ms: 379.689,
    alert: { id: "fa6c1d9f5e", title: "Email messages containing malicious URL removed after delivery", shape: "graph" },
    python: { executable: "/usr/bin/python3.11", version: "3.11.7" },
    isolation: { process_group: true, network_namespace: true, landlock_abi: 7, seccomp: true, rlimits: false },
    trace: [
      { kind: "step", name: "Look up URLs", duration_ms: 36.02, children: [{ kind: "request", index: 0 }, { kind: "log", index: 0 }] },
      { kind: "step", name: "Report", duration_ms: 0.7, children: [{ kind: "comment", index: 0 }, { kind: "request", index: 1 }] },
    ],
    requests: [
      { profile: "Stand-in", method: "GET", url: "http://127.0.0.1:18931/api/lookup?url=x", outcome: "sent", mutating: false, status: 200, duration_ms: 35 },
      { profile: "Stand-in", method: "POST", url: "http://127.0.0.1:18931/api/cases", outcome: "planned", mutating: true, duration_ms: 0 },
    ],
    comments: [{ text: "verdicts: malicious", target: "record", outcome: "recorded" }],
    updates: [],
    logs: [{ at_ms: 110.3, message: "looked up", fields: { verdict: "malicious" } }],
    changes: [
      { kind: "comment", outcome: "recorded", description: 'comment on the alert (record): "verdicts: malicious"' },
      { kind: "request", outcome: "planned", description: "POST http://127.0.0.1:18931/api/cases (Stand-in)" },
    ],
    result: { urls: 1 },
    output: { stdout: "", stderr: "", stdout_bytes: 0, stderr_bytes: 0 },
  };

  test("reads requests' outcomes, resolves trace references, keeps result and output apart", () => {
    const r = readRunRecord(record);
    assert.deepEqual(r.requests.map((q) => q.planned), [false, true]);
    assert.deepEqual(r.trace[0]?.children.map((c) => c.name), ["GET http://127.0.0.1:18931/api/lookup?url=x → 200", "log: looked up"]);
    assert.deepEqual(r.trace[1]?.children.map((c) => c.name), ["comment: verdicts: malicious", "POST http://127.0.0.1:18931/api/cases (planned, not sent)"]);
    assert.deepEqual(r.output, { urls: 1 });
    assert.equal(r.stdout, "");
    assert.equal(r.python, "3.11.7");
    assert.deepEqual(r.isolation, ["process group", "network namespace", "landlock abi", "seccomp"]);
    assert.equal(r.logs[0]?.time, "+110 ms");
    assert.equal(formatChangeList(r).message, "The dry run plans 2 changes. Approve the real run?");
    assert.equal(summarizeRun(record, "x.json", 0).label, "enrich");
  });

  test("a failed run's traceback (file, line, function, code)", () => {
    const html = renderRunRecordHtml(
      readRunRecord({
        status: "failed",
        error: { type: "KeyError", message: "'missing'", traceback: [{ file: "playbooks/boom.py", line: 8, function: "run", code: 'return data["missing"]' }] },
        output: { stdout: "debug print\n", stderr: "" },
      }),
      { cspSource: "x" },
    );
    assert.ok(html.includes("playbooks/boom.py, line 8, in run, return data[&quot;missing&quot;]"));
    assert.ok(html.includes("Printed output"));
    assert.ok(!html.includes("Return value"));
  });
});
