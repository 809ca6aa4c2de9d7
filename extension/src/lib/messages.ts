// Words the extension shows people: errors from the server, the status bar, summaries.
// Each error says what went wrong and what to do next. No `vscode` import.

import type { CheckResult } from "./protocol";

/** LSP/JSON-RPC error codes the extension tells apart. */
export const ErrorCodes = {
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestFailed: -32803,
  ServerCancelled: -32802,
  RequestCancelled: -32800,
  ContentModified: -32801,
} as const;

export interface ErrorLike {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

function messageOf(err: unknown): string {
  if (typeof err === "string") return err;
  if (typeof err === "object" && err !== null) {
    const m = (err as ErrorLike).message;
    if (typeof m === "string") return m;
  }
  return String(err);
}

function codeOf(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null) {
    const c = (err as ErrorLike).code;
    if (typeof c === "number") return c;
  }
  return undefined;
}

export interface UserMessage {
  severity: "error" | "warning" | "info";
  text: string;
  actions: string[];
}

export const SHOW_LOGS = "Show Logs";
export const RESTART = "Restart Server";

/**
 * An error from a server command (`riposte.test` …) as a person should read it. The server's
 * own text is kept: "not available yet: …" is shown as it is, as a warning, not hidden.
 */
export function formatCommandError(title: string, err: unknown): UserMessage {
  const msg = messageOf(err).trim();
  const code = codeOf(err);
  if (/^not available/i.test(msg)) {
    return { severity: "warning", text: `Riposte: ${title} is ${msg.replace(/\.?$/, ".")}`, actions: [] };
  }
  if (code === ErrorCodes.RequestCancelled || code === ErrorCodes.ServerCancelled) {
    return { severity: "info", text: `Riposte: ${title} was cancelled.`, actions: [] };
  }
  if (code === ErrorCodes.MethodNotFound || /unknown command|command .* not found|no handler/i.test(msg)) {
    return {
      severity: "error",
      text: `Riposte: ${title}: this riposte server does not offer the command (${msg}). Update riposte to the version that matches the extension.`,
      actions: [SHOW_LOGS],
    };
  }
  if (/connection (got )?(closed|disposed)|client is not running|not running|stopped/i.test(msg)) {
    return {
      severity: "error",
      text: `Riposte: ${title}: the language server is not running (${msg}). Restart it, and read the logs if it stops again.`,
      actions: [RESTART, SHOW_LOGS],
    };
  }
  return { severity: "error", text: `Riposte: ${title} failed: ${msg || "no message from the server"}`, actions: [SHOW_LOGS] };
}

export type ServerState = "starting" | "running" | "stopped" | "failed" | "no-workspace";

export interface ProblemCounts {
  errors: number;
  warnings: number;
  others: number;
}

/** The status bar item: `$(check) Riposte` / `$(error) Riposte 2 ⚠ 1` and a tooltip. */
export function statusBarText(state: ServerState, counts: ProblemCounts, detail?: string): { text: string; tooltip: string } {
  const problems = counts.errors + counts.warnings + counts.others;
  const countText = problems === 0 ? "" : ` ${counts.errors > 0 ? `$(error) ${counts.errors}` : ""}${counts.warnings > 0 ? ` $(warning) ${counts.warnings}` : ""}${
    counts.others > 0 ? ` $(info) ${counts.others}` : ""
  }`.replace(/\s+/g, " ").trimEnd();
  const problemLine =
    problems === 0
      ? "No Riposte problems in open files."
      : `${plural(counts.errors, "error")}, ${plural(counts.warnings, "warning")}${counts.others > 0 ? `, ${plural(counts.others, "hint")}` : ""} from Riposte.`;
  switch (state) {
    case "starting":
      return { text: "$(sync~spin) Riposte", tooltip: `Riposte language server is starting…${detail ? `\n${detail}` : ""}` };
    case "running":
      return { text: `$(shield) Riposte${countText}`, tooltip: `Riposte language server is running${detail ? ` (${detail})` : ""}.\n${problemLine}\nClick for the logs.` };
    case "stopped":
      return { text: "$(debug-stop) Riposte", tooltip: `Riposte language server is stopped.${detail ? `\n${detail}` : ""}\nClick to restart it.` };
    case "failed":
      return { text: "$(error) Riposte", tooltip: `Riposte language server failed: ${detail ?? "see the logs"}.\nClick for the logs.` };
    case "no-workspace":
      return { text: "$(shield) Riposte: no riposte.toml", tooltip: "No riposte.toml in this workspace: Riposte is idle. Run \"Riposte: Initialize Workspace\" to create one." };
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export interface CheckFinding {
  path: string;
  uri?: string;
  errors: number;
  warnings: number;
}

/** The files of a `riposte.check` answer that have errors or warnings, worst first. */
export function checkFindings(result: unknown): CheckFinding[] {
  const r = typeof result === "object" && result !== null ? (result as { workspaces?: unknown }) : {};
  const out: CheckFinding[] = [];
  for (const w of Array.isArray(r.workspaces) ? (r.workspaces as unknown[]) : []) {
    const files = typeof w === "object" && w !== null ? (w as { files?: unknown }).files : undefined;
    for (const f of Array.isArray(files) ? (files as unknown[]) : []) {
      if (typeof f !== "object" || f === null) continue;
      const file = f as { path?: unknown; uri?: unknown; counts?: { error?: unknown; warning?: unknown } };
      const errors = typeof file.counts?.error === "number" ? file.counts.error : 0;
      const warnings = typeof file.counts?.warning === "number" ? file.counts.warning : 0;
      if (errors + warnings === 0 || typeof file.path !== "string") continue;
      out.push({ path: file.path, errors, warnings, ...(typeof file.uri === "string" ? { uri: file.uri } : {}) });
    }
  }
  return out.sort((a, b) => b.errors - a.errors || b.warnings - a.warnings || a.path.localeCompare(b.path));
}

/**
 * After `riposte.check`: the server answers `{counts: {error, warning, info}, workspaces: [{files}]}`;
 * flat `{errors, warnings, files}` is read too. Missing counts fall back to the Problems view's.
 * Names the files with findings: the Problems view lists only the files that are open.
 */
export function formatCheckSummary(result: unknown, counts: ProblemCounts): string {
  const r = (typeof result === "object" && result !== null ? result : {}) as CheckResult & {
    counts?: { error?: unknown; warning?: unknown };
    workspaces?: unknown;
  };
  const nested = typeof r.counts === "object" && r.counts !== null ? r.counts : {};
  const errors = typeof nested.error === "number" ? nested.error : typeof r.errors === "number" ? r.errors : counts.errors;
  const warnings = typeof nested.warning === "number" ? nested.warning : typeof r.warnings === "number" ? r.warnings : counts.warnings;
  let fileCount: number | undefined = typeof r.files === "number" ? r.files : undefined;
  if (Array.isArray(r.workspaces)) {
    fileCount = 0;
    for (const w of r.workspaces as unknown[]) {
      const files = typeof w === "object" && w !== null ? (w as { files?: unknown }).files : undefined;
      if (Array.isArray(files)) fileCount += files.length;
    }
  }
  const files = fileCount !== undefined ? ` in ${plural(fileCount, "file")}` : "";
  if (errors === 0 && warnings === 0) return `Riposte: the workspace is clean${files}.`;
  const findings = checkFindings(result);
  if (findings.length === 0) return `Riposte: ${plural(errors, "error")} and ${plural(warnings, "warning")}${files}. They are listed in the Problems view.`;
  const shown = findings.slice(0, 3).map((f) => `${f.path} (${[f.errors > 0 ? plural(f.errors, "error") : "", f.warnings > 0 ? plural(f.warnings, "warning") : ""].filter((x) => x !== "").join(", ")})`);
  const more = findings.length > 3 ? ` and ${plural(findings.length - 3, "more file")}` : "";
  return `Riposte: ${plural(errors, "error")} and ${plural(warnings, "warning")}${files}: ${shown.join(", ")}${more}. Open a file to see its problems.`;
}

export function formatServerCrash(crashes: number, windowMinutes: number): UserMessage {
  return {
    severity: "error",
    text: `The Riposte language server stopped unexpectedly ${crashes === 1 ? "once" : `${crashes} times`} in the last ${windowMinutes} minutes and will not be restarted automatically. Diagnostics are off until it runs again.`,
    actions: [SHOW_LOGS, RESTART],
  };
}

export function formatStartFailure(err: unknown, serverPath: string): UserMessage {
  return {
    severity: "error",
    text: `The Riposte language server (${serverPath}) could not start: ${messageOf(err)}. Check that this riposte has the \`lsp\` subcommand and see the logs for what it printed.`,
    actions: [SHOW_LOGS, RESTART],
  };
}

export const NO_WORKSPACE_MESSAGE =
  "Riposte: this workspace has no riposte.toml, so Riposte has nothing to check. Open the folder of a Riposte workspace, or create one here with \"Riposte: Initialize Workspace\".";
