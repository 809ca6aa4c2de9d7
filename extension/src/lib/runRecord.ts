// Run records (issue 4's `riposte test --format json`, the LSP's `riposte.test` answer, later the
// engine's runs): a tolerant reader, the change list a dry run plans, a one-line summary, and the
// HTML of the run view. The reader accepts snake_case and camelCase and ignores what it does not
// know, so a record from a newer runtime still shows. No `vscode` import.

export interface RunStep {
  name: string;
  status?: string;
  durationMs?: number;
  children: RunStep[];
}

export interface RunRequest {
  profile?: string;
  method: string;
  url: string;
  status?: number;
  durationMs?: number;
  /** Recorded but not sent (dry run). */
  planned: boolean;
  error?: string;
}

export interface RunChange {
  kind: string;
  description: string;
}

export interface RunLog {
  level: string;
  message: string;
  time?: string;
  fields?: Record<string, unknown>;
}

export interface RunError {
  type?: string;
  message: string;
  traceback: { line?: number; function?: string; text?: string; file?: string }[];
}

export interface RunRecord {
  id?: string;
  playbook?: string;
  alert?: { id?: string; title?: string; source?: string };
  status: string;
  dryRun: boolean;
  startedAt?: string;
  durationMs?: number;
  trace: RunStep[];
  requests: RunRequest[];
  changes: RunChange[];
  logs: RunLog[];
  comments: string[];
  output?: unknown;
  hasOutput: boolean;
  /** What the playbook printed (a playbook should use ctx.log). */
  stdout: string;
  stderr: string;
  /** Python version of the run, when the record says. */
  python?: string;
  /** The protections the run had (network namespace, landlock, seccomp, …). */
  isolation: string[];
  error?: RunError;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (k in o) return o[k];
  return undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
function durationOf(o: Obj): number | undefined {
  const ms = num(pick(o, "duration_ms", "durationMs", "elapsed_ms"));
  if (ms !== undefined) return ms;
  const secs = num(pick(o, "duration_secs", "duration_s", "durationSecs", "duration"));
  return secs !== undefined ? secs * 1000 : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Names a trace node that points into the record's lists (`{kind: "request", index: 0}`). */
type RefResolver = (kind: string, index: number) => string | undefined;

function readStep(v: unknown, resolve: RefResolver = () => undefined): RunStep | undefined {
  if (typeof v === "string") return { name: v, children: [] };
  if (!isObj(v)) return undefined;
  const kind = str(pick(v, "kind"));
  const index = num(pick(v, "index"));
  const referenced = kind !== undefined && kind !== "step" && index !== undefined ? resolve(kind, index) : undefined;
  const name = str(pick(v, "name", "step", "label")) ?? referenced ?? (kind !== undefined ? `${kind}${index !== undefined ? ` #${index + 1}` : ""}` : "(step)");
  const status = str(pick(v, "status", "outcome"));
  const durationMs = durationOf(v);
  const children = arr(pick(v, "children", "steps")).map((c) => readStep(c, resolve)).filter((s): s is RunStep => s !== undefined);
  return { name, children, ...(status !== undefined ? { status } : {}), ...(durationMs !== undefined ? { durationMs } : {}) };
}

function readRequest(v: unknown, recordDry: boolean): RunRequest | undefined {
  if (!isObj(v)) return undefined;
  const method = (str(pick(v, "method")) ?? "GET").toUpperCase();
  const url = str(pick(v, "url", "path")) ?? "";
  const response = pick(v, "response");
  const status = num(pick(v, "status", "status_code")) ?? (isObj(response) ? num(response["status"]) : undefined);
  const plannedFlag = pick(v, "planned", "dry_run", "dryRun", "simulated");
  const sentFlag = pick(v, "sent");
  const outcome = str(pick(v, "outcome"));
  const planned =
    outcome !== undefined
      ? outcome === "planned"
      : typeof plannedFlag === "boolean"
        ? plannedFlag
        : typeof sentFlag === "boolean"
          ? !sentFlag
          : recordDry && MUTATING.has(method);
  const profile = str(pick(v, "profile", "integration"));
  const error = str(pick(v, "error")) ?? (outcome !== undefined && !["planned", "sent", "recorded"].includes(outcome) ? outcome : undefined);
  const durationMs = durationOf(v);
  return {
    method,
    url,
    planned,
    ...(profile !== undefined ? { profile } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

function describeChange(v: unknown): RunChange | undefined {
  if (typeof v === "string") return { kind: "change", description: v };
  if (!isObj(v)) return undefined;
  const kind = str(pick(v, "kind", "type")) ?? "change";
  const explicit = str(pick(v, "description", "summary"));
  if (explicit !== undefined) return { kind, description: explicit };
  if (kind === "comment") return { kind, description: `Comment on the alert: "${str(pick(v, "text", "comment")) ?? ""}"` };
  if (kind === "update_alert" || kind === "alert_update") {
    const fields = pick(v, "fields", "changes", "update");
    const parts = isObj(fields)
      ? Object.entries(fields)
          .filter(([, val]) => val !== null && val !== undefined)
          .map(([k, val]) => `${k} = ${JSON.stringify(val)}`)
      : [];
    return { kind, description: `Update the alert: ${parts.join(", ") || "(fields not listed)"}` };
  }
  const req = readRequest(v, true);
  if (req !== undefined && (req.url !== "" || kind === "request")) {
    return { kind: "request", description: `${req.method} ${req.url}${req.profile ? ` (${req.profile})` : ""}` };
  }
  return { kind, description: JSON.stringify(v) };
}

/** Reads whatever the runtime sent; never throws. */
export function readRunRecord(raw: unknown): RunRecord {
  const o: Obj = isObj(raw) ? (isObj(raw["record"]) ? raw["record"] : raw) : {};
  const dryRun = Boolean(pick(o, "dry_run", "dryRun") ?? (str(pick(o, "mode")) === "dry_run" || str(pick(o, "mode")) === "dry-run"));
  const alertRaw = pick(o, "alert");
  const alert = isObj(alertRaw)
    ? {
        ...(str(pick(alertRaw, "id")) !== undefined ? { id: str(pick(alertRaw, "id")) } : {}),
        ...(str(pick(alertRaw, "title")) !== undefined ? { title: str(pick(alertRaw, "title")) } : {}),
        ...(str(pick(alertRaw, "source", "file")) !== undefined ? { source: str(pick(alertRaw, "source", "file")) } : {}),
      }
    : typeof alertRaw === "string"
      ? { id: alertRaw }
      : undefined;
  const requests = arr(pick(o, "requests", "http")).map((r) => readRequest(r, dryRun)).filter((r): r is RunRequest => r !== undefined);
  const comments = arr(pick(o, "comments")).map((c) => (isObj(c) ? (str(pick(c, "text", "comment")) ?? JSON.stringify(c)) : String(c)));
  const updates = arr(pick(o, "updates", "alert_updates", "alertUpdates"));

  let changes = arr(pick(o, "changes", "planned_changes", "plannedChanges")).map(describeChange).filter((c): c is RunChange => c !== undefined);
  if (changes.length === 0) {
    // Derive the change list: mutating requests, comments and alert updates.
    changes = [
      ...requests.filter((r) => MUTATING.has(r.method)).map((r) => ({ kind: "request", description: `${r.method} ${r.url}${r.profile ? ` (${r.profile})` : ""}` })),
      ...comments.map((c) => ({ kind: "comment", description: `Comment on the alert: "${c}"` })),
      ...updates.map((u) => describeChange(isObj(u) ? { kind: "update_alert", fields: u["fields"] ?? u } : u)).filter((c): c is RunChange => c !== undefined),
    ];
  }

  const logs: RunLog[] = arr(pick(o, "logs", "log")).map((l) => {
    if (!isObj(l)) return { level: "info", message: String(l) };
    const fields = pick(l, "fields", "extra");
    const atMs = num(pick(l, "at_ms", "atMs"));
    const time = str(pick(l, "time", "timestamp", "at")) ?? (atMs !== undefined ? `+${formatDuration(atMs)}` : undefined);
    return {
      level: str(pick(l, "level")) ?? "info",
      message: str(pick(l, "message", "msg")) ?? JSON.stringify(l),
      ...(time !== undefined ? { time } : {}),
      ...(isObj(fields) ? { fields } : {}),
    };
  });

  const errRaw = pick(o, "error", "exception");
  let error: RunError | undefined;
  if (typeof errRaw === "string") error = { message: errRaw, traceback: [] };
  else if (isObj(errRaw)) {
    const tb = pick(errRaw, "traceback", "frames");
    const type = str(pick(errRaw, "type", "kind", "exception"));
    error = {
      message: str(pick(errRaw, "message", "msg")) ?? JSON.stringify(errRaw),
      traceback:
        typeof tb === "string"
          ? tb.split("\n").filter((t) => t !== "").map((text) => ({ text }))
          : arr(tb).map((f) =>
              isObj(f)
                ? {
                    ...(num(pick(f, "line", "lineno")) !== undefined ? { line: num(pick(f, "line", "lineno")) } : {}),
                    ...(str(pick(f, "function", "name")) !== undefined ? { function: str(pick(f, "function", "name")) } : {}),
                    ...(str(pick(f, "text", "code", "source")) !== undefined ? { text: str(pick(f, "text", "code", "source")) } : {}),
                    ...(str(pick(f, "file", "filename")) !== undefined ? { file: str(pick(f, "file", "filename")) } : {}),
                  }
                : { text: String(f) },
            ),
      ...(type !== undefined ? { type } : {}),
    };
  }

  // The return value is `result` (the runtime) or `return_value`; `output` is either the return
  // value (older shapes) or what the playbook printed ({stdout, stderr}).
  const rawOutput = pick(o, "output");
  const printed = isObj(rawOutput) && ("stdout" in rawOutput || "stderr" in rawOutput) ? rawOutput : undefined;
  const hasOutput = "result" in o || "return_value" in o || "returnValue" in o || ("output" in o && printed === undefined);
  const output = "result" in o || "return_value" in o || "returnValue" in o ? pick(o, "result", "return_value", "returnValue") : printed === undefined ? rawOutput : undefined;
  const stdout = printed !== undefined ? (str(printed["stdout"]) ?? "") : "";
  const stderr = printed !== undefined ? (str(printed["stderr"]) ?? "") : "";
  const pythonRaw = pick(o, "python");
  const python = isObj(pythonRaw) ? str(pythonRaw["version"]) : undefined;
  const isolationRaw = pick(o, "isolation");
  const isolation = isObj(isolationRaw)
    ? Object.entries(isolationRaw)
        .filter(([, v]) => v === true || (typeof v === "number" && v > 0))
        .map(([k]) => k.replace(/_/g, " "))
    : [];
  const resolve: RefResolver = (kind, index) => {
    if (kind === "request") {
      const r = requests[index];
      return r ? `${r.method} ${r.url}${r.planned ? " (planned, not sent)" : r.status !== undefined ? ` → ${r.status}` : ""}` : undefined;
    }
    if (kind === "log") {
      const l = logs[index];
      return l ? `log: ${l.message}` : undefined;
    }
    if (kind === "comment") {
      const c = comments[index];
      return c !== undefined ? `comment: ${c}` : undefined;
    }
    if (kind === "update" || kind === "update_alert") return "update the alert";
    return undefined;
  };
  const id = str(pick(o, "id", "run_id", "runId"));
  const playbook = str(pick(o, "playbook", "playbook_name"));
  const startedAt = str(pick(o, "started_at", "startedAt", "started", "start"));
  const durationMs = durationOf(o);
  return {
    status: str(pick(o, "status", "outcome")) ?? "unknown",
    dryRun,
    trace: arr(pick(o, "trace", "steps"))
      .map((t) => readStep(t, resolve))
      .filter((s): s is RunStep => s !== undefined),
    requests,
    changes,
    logs,
    comments,
    hasOutput,
    stdout,
    stderr,
    isolation,
    ...(python !== undefined ? { python } : {}),
    ...(hasOutput ? { output } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(playbook !== undefined ? { playbook } : {}),
    ...(alert !== undefined ? { alert } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

/** The text of the approval modal after a dry run. */
export function formatChangeList(record: RunRecord, maxItems = 20): { message: string; detail: string } {
  const n = record.changes.length;
  const reads = record.requests.filter((r) => !MUTATING.has(r.method)).length;
  const readNote = reads > 0 ? ` (it also made ${reads} read request${reads === 1 ? "" : "s"}, which the real run repeats)` : "";
  if (record.status !== "succeeded" && record.status !== "ok" && record.status !== "unknown") {
    return {
      message: `The dry run ended ${record.status}${record.error ? `: ${record.error.message}` : ""}.`,
      detail: n > 0 ? `Before it stopped it planned ${n} change${n === 1 ? "" : "s"}:\n${listLines(record, maxItems)}\n\nRun for real anyway?` : "Run for real anyway?",
    };
  }
  if (n === 0) {
    return {
      message: "The dry run plans no changes.",
      detail: `The real run would send no POST/PUT/PATCH/DELETE, comment or alert update${readNote}. Run it for real?`,
    };
  }
  return {
    message: `The dry run plans ${n} change${n === 1 ? "" : "s"}. Approve the real run?`,
    detail: `${listLines(record, maxItems)}${readNote ? `\n\nNote: ${readNote.trim().replace(/^\(|\)$/g, "")}.` : ""}`,
  };
}

function listLines(record: RunRecord, maxItems: number): string {
  const lines = record.changes.slice(0, maxItems).map((c, i) => `${i + 1}. ${c.description}`);
  if (record.changes.length > maxItems) lines.push(`… and ${record.changes.length - maxItems} more (all listed in the run record)`);
  return lines.join("\n");
}

export interface RunSummary {
  label: string;
  description: string;
  status: string;
  playbook?: string;
  sortKey: number;
}

/** One line for the Runs view and the Playbooks view's "last run". */
export function summarizeRun(raw: unknown, fileName: string, mtimeMs: number): RunSummary {
  if (raw === undefined) return { label: fileName, description: "unreadable run record", status: "unknown", sortKey: mtimeMs };
  const r = readRunRecord(raw);
  const started = r.startedAt !== undefined ? Date.parse(r.startedAt) : NaN;
  const playbook = r.playbook !== undefined ? r.playbook.replace(/^.*[\\/]/, "").replace(/\.py$/, "") : fileName.replace(/^\d{4}-\d\d-\d\dT[\d-]+Z-/, "").replace(/\.json$/, "");
  const parts = [r.dryRun ? `${r.status} (dry run)` : r.status];
  if (r.durationMs !== undefined) parts.push(formatDuration(r.durationMs));
  if (r.alert?.id) parts.push(`alert ${r.alert.id}`);
  return {
    label: playbook,
    description: parts.join(" · "),
    status: r.status,
    playbook,
    sortKey: Number.isNaN(started) ? mtimeMs : started,
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function statusClass(status: string): string {
  if (["succeeded", "ok", "success"].includes(status)) return "ok";
  if (["failed", "timeout", "memory", "killed", "blocked", "error"].includes(status)) return "bad";
  return "neutral";
}

function renderSteps(steps: RunStep[]): string {
  if (steps.length === 0) return "";
  return `<ul class="steps">${steps
    .map(
      (s) =>
        `<li><span class="step-name">${escapeHtml(s.name)}</span>${s.status ? ` <span class="badge ${statusClass(s.status)}">${escapeHtml(s.status)}</span>` : ""}${
          s.durationMs !== undefined ? ` <span class="muted">${escapeHtml(formatDuration(s.durationMs))}</span>` : ""
        }${renderSteps(s.children)}</li>`,
    )
    .join("")}</ul>`;
}

/** The run view's HTML. Everything from the record is escaped; the page runs no script. */
export function renderRunRecordHtml(record: RunRecord, options: { cspSource: string; title?: string }): string {
  const r = record;
  const title = options.title ?? `Run of ${r.playbook ?? "playbook"}`;
  const meta: string[] = [];
  if (r.alert?.id || r.alert?.title) meta.push(`Alert: <b>${escapeHtml(r.alert.title ?? "")}</b>${r.alert.id ? ` <code>${escapeHtml(r.alert.id)}</code>` : ""}`);
  if (r.startedAt) meta.push(`Started: ${escapeHtml(r.startedAt)}`);
  if (r.durationMs !== undefined) meta.push(`Duration: ${escapeHtml(formatDuration(r.durationMs))}`);
  if (r.id) meta.push(`Run <code>${escapeHtml(r.id)}</code>`);
  if (r.python) meta.push(`Python ${escapeHtml(r.python)}`);
  const sandbox = r.isolation.length > 0 ? `<p class="muted">Sandbox: ${escapeHtml(r.isolation.join(", "))}</p>` : "";

  const section = (heading: string, body: string, count?: number) =>
    `<section><h2>${escapeHtml(heading)}${count !== undefined ? ` <span class="muted">(${count})</span>` : ""}</h2>${body}</section>`;
  const none = (what: string) => `<p class="muted">${escapeHtml(what)}</p>`;

  const requests =
    r.requests.length === 0
      ? none("No integration requests.")
      : `<table><thead><tr><th>Method</th><th>URL</th><th>Profile</th><th>Status</th><th>Time</th></tr></thead><tbody>${r.requests
          .map(
            (q) =>
              `<tr><td><code>${escapeHtml(q.method)}</code></td><td class="url">${escapeHtml(q.url)}</td><td>${escapeHtml(q.profile ?? "")}</td><td>${
                q.planned ? '<span class="badge neutral">planned, not sent</span>' : q.error ? `<span class="badge bad">${escapeHtml(q.error)}</span>` : escapeHtml(q.status !== undefined ? String(q.status) : "")
              }</td><td>${escapeHtml(formatDuration(q.durationMs))}</td></tr>`,
          )
          .join("")}</tbody></table>`;

  const changes =
    r.changes.length === 0
      ? none(r.dryRun ? "The real run would make no changes." : "No changes.")
      : `<ol>${r.changes.map((c) => `<li>${escapeHtml(c.description)}</li>`).join("")}</ol>`;

  const logs =
    r.logs.length === 0
      ? none("No log lines.")
      : `<table class="logs"><tbody>${r.logs
          .map(
            (l) =>
              `<tr><td class="muted">${escapeHtml(l.time ?? "")}</td><td><span class="level ${escapeHtml(l.level)}">${escapeHtml(l.level)}</span></td><td>${escapeHtml(l.message)}${
                l.fields && Object.keys(l.fields).length > 0 ? ` <code class="muted">${escapeHtml(JSON.stringify(l.fields))}</code>` : ""
              }</td></tr>`,
          )
          .join("")}</tbody></table>`;

  const error = r.error
    ? section(
        "Error",
        `<p class="error"><b>${escapeHtml(r.error.type ?? "Error")}</b>: ${escapeHtml(r.error.message)}</p>${
          r.error.traceback.length > 0
            ? `<pre>${r.error.traceback
                .map((f) =>
                  escapeHtml(
                    [f.file ?? (f.line !== undefined ? "playbook" : ""), f.line !== undefined ? `line ${f.line}` : "", f.function ? `in ${f.function}` : "", f.text ?? ""]
                      .filter((x) => x !== "")
                      .join(f.text && f.line === undefined ? "" : ", "),
                  ),
                )
                .join("\n")}</pre>`
            : ""
        }`,
      )
    : "";

  const output = r.hasOutput ? section("Return value", `<pre>${escapeHtml(JSON.stringify(r.output ?? null, null, 2))}</pre>`) : "";
  const printed =
    r.stdout !== "" || r.stderr !== ""
      ? section(
          "Printed output",
          `${r.stdout !== "" ? `<p class="muted">stdout</p><pre>${escapeHtml(r.stdout)}</pre>` : ""}${r.stderr !== "" ? `<p class="muted">stderr</p><pre>${escapeHtml(r.stderr)}</pre>` : ""}`,
        )
      : "";

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${options.cspSource} 'unsafe-inline'; img-src ${options.cspSource} data:;">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1.2em 2em; line-height: 1.45; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em; border-bottom: 1px solid var(--vscode-panel-border, #8884); padding-bottom: .2em; }
.muted { color: var(--vscode-descriptionForeground); }
.badge { display: inline-block; padding: 0 .5em; border-radius: 3px; font-size: .9em; }
.badge.ok { background: var(--vscode-testing-iconPassed, #2e7d32); color: #fff; }
.badge.bad { background: var(--vscode-testing-iconFailed, #c62828); color: #fff; }
.badge.neutral { background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .2em .6em .2em 0; vertical-align: top; }
th { color: var(--vscode-descriptionForeground); font-weight: normal; border-bottom: 1px solid var(--vscode-panel-border, #8884); }
td.url { word-break: break-all; font-family: var(--vscode-editor-font-family); }
code, pre { font-family: var(--vscode-editor-font-family); }
pre { background: var(--vscode-textCodeBlock-background); padding: .6em; overflow-x: auto; }
.level { font-family: var(--vscode-editor-font-family); text-transform: uppercase; font-size: .85em; }
.level.error { color: var(--vscode-errorForeground); } .level.warn, .level.warning { color: var(--vscode-editorWarning-foreground); }
.error { color: var(--vscode-errorForeground); }
ul.steps { list-style: none; padding-left: 1.1em; margin: .2em 0; } ul.steps li::before { content: "▸ "; color: var(--vscode-descriptionForeground); }
</style></head>
<body>
<h1>${escapeHtml(title)} <span class="badge ${statusClass(r.status)}">${escapeHtml(r.status)}</span>${r.dryRun ? ' <span class="badge neutral">dry run</span>' : ""}</h1>
<p class="muted">${meta.join(" · ")}</p>
${sandbox}
${error}
${section(r.dryRun ? "Changes the real run would make" : "Changes made", changes, r.changes.length)}
${section("Trace", r.trace.length === 0 ? none("No steps recorded (ctx.step marks them).") : renderSteps(r.trace), r.trace.length)}
${section("Requests", requests, r.requests.length)}
${section("Logs", logs, r.logs.length)}
${output}
${printed}
</body></html>`;
}
