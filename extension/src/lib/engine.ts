// The engine (`riposte serve`) as the extension's engine views see it, without `vscode`: the
// `riposte.engine.*` server commands and their answers (the engine's wire types,
// server/engine_client/src/wire.rs), read tolerantly; the tree rows; the engine token's place in
// the secret store and the answer to the server's `riposte/secret {engine, field: "token"}`; and
// an alert's activity as HTML (no scripts, everything escaped). Unit-tested in test/engine.test.ts.

import { escapeHtml } from "./runRecord";
import type { SecretStore } from "./profileFlow";

/** Server commands behind the engine views (server/lsp/src/handlers/engine.rs). */
export const EngineCommand = {
  playbooks: "riposte.engine.playbooks",
  rules: "riposte.engine.rules",
  runs: "riposte.engine.runs",
  run: "riposte.engine.run",
  activity: "riposte.engine.activity",
  activate: "riposte.engine.activate",
  deactivate: "riposte.engine.deactivate",
} as const;

export interface EngineVersion {
  version: number;
  active: boolean;
  errors: number;
  warnings: number;
  lines: number;
  createdAt: string;
}

export interface EnginePlaybook {
  name: string;
  activeVersion: number | undefined;
  latestVersion: number;
  updatedAt: string;
  versions: EngineVersion[];
}

export interface EngineRule {
  name: string;
  enabled: boolean;
  order: number;
  trigger: string;
  action: string;
  playbook: string | undefined;
  problem: string | undefined;
}

export type RunState = "queued" | "running" | "succeeded" | "failed";

export interface EngineRun {
  id: number;
  alertId: string;
  rule: string;
  playbook: string;
  playbookVersion: number | undefined;
  state: RunState;
  status: string | undefined;
  error: string | undefined;
  queuedAt: string;
  finishedAt: string | undefined;
}

export interface ActivityEntry {
  at: string;
  kind: string;
  text: string;
  runId: number | undefined;
  rule: string | undefined;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** `riposte.engine.playbooks` → `{engine, playbooks: [PlaybookDetail]}`. */
export function readPlaybooks(answer: unknown): EnginePlaybook[] {
  return arr(obj(answer)["playbooks"])
    .map(obj)
    .filter((p) => typeof p["name"] === "string")
    .map((p) => ({
      name: str(p["name"]) ?? "",
      activeVersion: num(p["active_version"]),
      latestVersion: num(p["latest_version"]) ?? 0,
      updatedAt: str(p["updated_at"]) ?? "",
      versions: arr(p["versions"])
        .map(obj)
        .filter((v) => num(v["version"]) !== undefined)
        .map((v) => ({
          version: num(v["version"]) ?? 0,
          active: v["active"] === true,
          errors: num(v["errors"]) ?? 0,
          warnings: num(v["warnings"]) ?? 0,
          lines: num(v["lines"]) ?? 0,
          createdAt: str(v["created_at"]) ?? "",
        })),
    }));
}

/** `riposte.engine.rules` → `{engine, rules: [RuleInfo]}`, in evaluation order. */
export function readRules(answer: unknown): EngineRule[] {
  return arr(obj(answer)["rules"])
    .map(obj)
    .filter((r) => typeof r["name"] === "string")
    .map((r) => ({
      name: str(r["name"]) ?? "",
      enabled: r["enabled"] === true,
      order: num(r["order"]) ?? 0,
      trigger: str(r["trigger"]) ?? "",
      action: str(r["action"]) ?? "",
      playbook: str(r["playbook"]),
      problem: str(r["problem"]),
    }));
}

const STATES: readonly string[] = ["queued", "running", "succeeded", "failed"];

/** `riposte.engine.runs` → `{engine, runs: [RunSummary]}`, newest first. */
export function readRuns(answer: unknown): EngineRun[] {
  return arr(obj(answer)["runs"])
    .map(obj)
    .filter((r) => num(r["id"]) !== undefined)
    .map((r) => {
      const state = str(r["state"]) ?? "";
      return {
        id: num(r["id"]) ?? 0,
        alertId: str(r["alert_id"]) ?? "",
        rule: str(r["rule"]) ?? "",
        playbook: str(r["playbook"]) ?? "",
        playbookVersion: num(r["playbook_version"]),
        state: (STATES.includes(state) ? state : "failed") as RunState,
        status: str(r["status"]),
        error: str(r["error"]),
        queuedAt: str(r["queued_at"]) ?? "",
        finishedAt: str(r["finished_at"]),
      };
    });
}

/** `riposte.engine.activity` → `{alert_id, entries: [ActivityEntry]}`, oldest first. */
export function readActivity(answer: unknown): { alertId: string; entries: ActivityEntry[] } {
  const o = obj(answer);
  return {
    alertId: str(o["alert_id"]) ?? "",
    entries: arr(o["entries"])
      .map(obj)
      .map((e) => ({
        at: str(e["at"]) ?? "",
        kind: str(e["kind"]) ?? "",
        text: str(e["text"]) ?? "",
        runId: num(e["run_id"]),
        rule: str(e["rule"]),
      })),
  };
}

/** A tree row: label, description, tooltip and a codicon name with its theme colour. */
export interface Row {
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  color?: string;
  /** The tree item's `contextValue` (menus key on it). */
  context: string;
}

export function playbookRow(p: EnginePlaybook): Row {
  const active = p.activeVersion !== undefined;
  return {
    label: p.name,
    description: active ? `active: v${p.activeVersion}${p.latestVersion !== p.activeVersion ? ` · latest v${p.latestVersion}` : ""}` : `inactive · latest v${p.latestVersion}`,
    tooltip: active
      ? `${p.name}: version ${p.activeVersion} is active; rules that name it run it on matching alerts.`
      : `${p.name}: no active version; rules that name it queue nothing. Activate turns the latest version on.`,
    icon: active ? "circle-filled" : "circle-outline",
    ...(active ? { color: "testing.iconPassed" } : {}),
    context: active ? "enginePlaybook-active" : "enginePlaybook-inactive",
  };
}

export function versionRow(name: string, v: EngineVersion): Row {
  const findings = v.errors > 0 ? `${v.errors} error${v.errors === 1 ? "" : "s"}` : v.warnings > 0 ? `${v.warnings} warning${v.warnings === 1 ? "" : "s"}` : "clean";
  return {
    label: `v${v.version}`,
    description: `${v.active ? "active" : "disabled"} · ${findings} · ${v.lines} lines`,
    tooltip: `${name} version ${v.version}, saved ${v.createdAt}${v.errors > 0 ? " — it has errors, so it cannot be activated" : ""}`,
    icon: v.active ? "pass-filled" : v.errors > 0 ? "error" : "circle-outline",
    ...(v.active ? { color: "testing.iconPassed" } : v.errors > 0 ? { color: "testing.iconFailed" } : {}),
    context: v.errors > 0 ? "engineVersion-invalid" : v.active ? "engineVersion-active" : "engineVersion",
  };
}

export function ruleRow(r: EngineRule): Row {
  const target = r.action === "run_playbook" ? `→ ${r.playbook ?? "?"}` : r.action;
  return {
    label: r.name,
    description: `${r.enabled ? "enabled" : "disabled"} · #${r.order} · ${target}${r.problem ? " · cannot fire" : ""}`,
    tooltip: `${r.name}: on ${r.trigger.replace(/_/g, " ")}, ${target}${r.problem ? `\nCannot fire now: ${r.problem}` : ""}`,
    icon: r.problem ? "warning" : r.enabled ? "zap" : "circle-slash",
    ...(r.problem ? { color: "problemsWarningIcon.foreground" } : {}),
    context: "engineRule",
  };
}

/** Codicon and colour by run state: queued/running spin, succeeded passes, failed fails. */
export function runIcon(state: RunState): { icon: string; color?: string } {
  switch (state) {
    case "queued":
      return { icon: "clock" };
    case "running":
      return { icon: "sync~spin" };
    case "succeeded":
      return { icon: "pass", color: "testing.iconPassed" };
    case "failed":
      return { icon: "error", color: "testing.iconFailed" };
  }
}

export function runRow(r: EngineRun): Row {
  const version = r.playbookVersion !== undefined ? ` v${r.playbookVersion}` : "";
  const status = r.status !== undefined && r.status !== r.state ? ` (${r.status})` : "";
  return {
    label: `#${r.id} ${r.playbook}${version}`,
    description: `${r.state}${status} · alert ${r.alertId}`,
    tooltip: `Run ${r.id} of ${r.playbook}${version} on alert ${r.alertId}, by rule ${r.rule}\nQueued ${r.queuedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}${r.error ? `\n${r.error}` : ""}`,
    ...runIcon(r.state),
    context: "engineRun",
  };
}

/** Where the engine token for `url` is kept in the editor's secret store. */
export function engineTokenKey(url: string): string {
  return `riposte.engine.token:${normalizeEngineUrl(url)}`;
}

/** The URL as the server names it: trimmed, no trailing slash. */
export function normalizeEngineUrl(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

/** True when a `riposte/secret` request is for the engine's token rather than a profile's secret. */
export function isEngineTokenRequest(params: unknown): params is { engine: string; field: "token" } {
  const o = obj(params);
  return typeof o["engine"] === "string" && o["field"] === "token";
}

/**
 * The answer to `riposte/secret {engine, field: "token"}`: the stored token for that engine URL, or
 * `null`. Never asks: the views refresh often, and an engine on loopback may need no token; a 401
 * tells the person to run "Set Engine Token".
 */
export async function answerEngineTokenRequest(params: unknown, secrets: SecretStore): Promise<{ value: string } | null> {
  if (!isEngineTokenRequest(params)) return null;
  try {
    const value = await secrets.get(engineTokenKey(params.engine));
    return value !== undefined && value !== "" ? { value } : null;
  } catch {
    return null;
  }
}

/** True when a server error is the engine refusing the token (401) — offer "Set Engine Token". */
export function isTokenRefusal(err: unknown): boolean {
  const data = obj(obj(err)["data"]);
  if (data["engineStatus"] === 401 || data["engineStatus"] === 403) return true;
  const message = str(obj(err)["message"]) ?? (err instanceof Error ? err.message : "");
  return /refused the token \(401/.test(message);
}

/** An alert's activity log as a self-contained page (no scripts; CSP allows only inline styles). */
export function renderActivityHtml(activity: { alertId: string; entries: ActivityEntry[] }, opts: { cspSource: string; engine?: string }): string {
  const rows = activity.entries
    .map(
      (e) =>
        `<tr class="kind-${escapeHtml(e.kind.replace(/[^a-z_]/g, ""))}"><td class="muted">${escapeHtml(e.at)}</td><td><span class="badge">${escapeHtml(e.kind)}</span></td><td>${escapeHtml(e.text)}${
          e.runId !== undefined ? ` <span class="muted">run #${e.runId}</span>` : ""
        }${e.rule ? ` <span class="muted">rule ${escapeHtml(e.rule)}</span>` : ""}</td></tr>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${opts.cspSource} 'unsafe-inline';">
<title>Activity of ${escapeHtml(activity.alertId)}</title>
<style>
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
table { border-collapse: collapse; width: 100%; }
td { padding: 4px 8px; vertical-align: top; border-bottom: 1px solid var(--vscode-panel-border); }
.muted { color: var(--vscode-descriptionForeground); }
.badge { border-radius: 3px; padding: 1px 6px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.kind-error .badge { background: var(--vscode-testing-iconFailed); }
.kind-run_finished .badge { background: var(--vscode-testing-iconPassed); }
</style></head><body>
<h2>Activity of alert <code>${escapeHtml(activity.alertId)}</code></h2>
${opts.engine ? `<p class="muted">From the engine at ${escapeHtml(opts.engine)}, oldest first.</p>` : ""}
${activity.entries.length === 0 ? "<p>No activity recorded for this alert yet.</p>" : `<table>\n${rows}\n</table>`}
</body></html>`;
}
