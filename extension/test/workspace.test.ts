import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";

import { mermaidPlugin } from "../src/lib/markdownMermaid";
import {
  findWorkspaceRoot,
  listAlerts,
  listPlaybooks,
  listRules,
  listRuns,
  playbookTemplate,
  saveRunRecord,
  validatePlaybookName,
  writeNewFileAtomic,
} from "../src/lib/workspace";

const repo = path.resolve(__dirname, "..", "..");
const demo = path.join(repo, "fixtures", "workspace");

describe("reading the demo workspace", () => {
  test("finds the root, directly or one folder down", async () => {
    assert.equal(await findWorkspaceRoot([demo]), demo);
    assert.equal(await findWorkspaceRoot([path.join(repo, "fixtures")]), demo);
    assert.equal(await findWorkspaceRoot([os.tmpdir() + "/does-not-exist"]), undefined);
  });
  test("playbooks with their docs, rules with their playbook", async () => {
    const playbooks = await listPlaybooks(demo);
    assert.ok(playbooks.some((p) => p.name === "vt-url-enrichment"));
    const rules = await listRules(demo);
    const enrich = rules.find((r) => r.fileName === "enrich-urls.toml");
    assert.deepEqual({ name: enrich?.name, playbook: enrich?.playbook, enabled: enrich?.enabled }, { name: "Enrich URL evidence", playbook: "vt-url-enrichment", enabled: true });
  });
  test("saved alerts in both shapes", async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), "riposte-ws-"));
    try {
      await cp(path.join(repo, "fixtures", "alerts"), path.join(ws, "alerts"), { recursive: true });
      await writeFile(path.join(ws, "alerts", "broken.json"), "{ not json");
      const alerts = await listAlerts(ws);
      const graph = alerts.find((a) => a.fileName === "graph-phishing-url.json");
      assert.ok(graph?.id && graph.title);
      const sentinel = alerts.find((a) => a.fileName === "sentinel-securityalert-phishing.json");
      assert.ok(sentinel?.title);
      assert.ok(alerts.some((a) => a.fileName === "broken.json" && a.id === undefined));
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});

describe("run records on disk", () => {
  test("saved under .riposte/runs, listed newest first", async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), "riposte-runs-"));
    try {
      await saveRunRecord(ws, "a", { playbook: "a", status: "succeeded", started_at: "2026-11-01T00:00:00Z" }, new Date("2026-11-01T00:00:00Z"));
      await saveRunRecord(ws, "b", { playbook: "b", status: "failed", started_at: "2026-11-02T00:00:00Z" }, new Date("2026-11-02T00:00:00Z"));
      await mkdir(path.join(ws, ".riposte", "runs"), { recursive: true });
      await writeFile(path.join(ws, ".riposte", "runs", "junk.json"), "nope");
      const runs = await listRuns(ws);
      assert.deepEqual(runs.slice(0, 2).map((r) => r.summary.label), ["b", "a"]);
      assert.ok(runs.some((r) => r.summary.description === "unreadable run record"));
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});

describe("new files", () => {
  test("writeNewFileAtomic never overwrites and leaves no temporary file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "riposte-atomic-"));
    try {
      const f = path.join(dir, "x.py");
      await writeNewFileAtomic(f, "one");
      await assert.rejects(writeNewFileAtomic(f, "two"), /EEXIST/);
      assert.deepEqual(await readdir(dir), ["x.py"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  test("playbook names and template", () => {
    assert.equal(validatePlaybookName("vt-url-enrichment", []), undefined);
    assert.match(validatePlaybookName("VT URL", []) ?? "", /lower-case/);
    assert.match(validatePlaybookName("a", ["a"]) ?? "", /already exists/);
    assert.match(playbookTemplate('Say """hi"""'), /^"""Say '''hi'''"""\nfrom riposte import Alert, Context\n/);
  });
});

test("the markdown-it plugin turns mermaid fences into diagram blocks and leaves others alone", () => {
  const md = {
    renderer: {
      rules: {
        fence: (tokens: { info: string; content: string }[], idx: number) => `<pre><code>${tokens[idx]?.content ?? ""}</code></pre>`,
      } as { fence?: (...args: never[]) => string },
    },
  };
  const plugged = mermaidPlugin(md as never) as unknown as typeof md;
  const render = plugged.renderer.rules.fence as unknown as (t: { info: string; content: string }[], i: number, o: unknown, e: unknown, s: unknown) => string;
  assert.equal(render([{ info: "mermaid", content: 'flowchart TD\n  a["x < y"] --> b' }], 0, {}, {}, {}), '<pre class="mermaid riposte-mermaid">flowchart TD\n  a["x &lt; y"] --&gt; b</pre>\n');
  assert.equal(render([{ info: "python", content: "x" }], 0, {}, {}, {}), "<pre><code>x</code></pre>");
});
