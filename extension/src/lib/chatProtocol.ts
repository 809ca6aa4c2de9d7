// The wire types of the agent chat (docs/chat-protocol.md): the `riposte/chat/*` and `riposte/lm/*`
// methods between the extension and `riposte lsp`, the agent's events (docs/agent.md, snake_case
// as the agent serialises them), tolerant readers for what the server sends, and how a failed
// request is told to a person. No `vscode` import: shared with the unit tests and the webview.

export const ChatMethod = {
  status: "riposte/chat/status",
  start: "riposte/chat/start",
  cancel: "riposte/chat/cancel",
  setMode: "riposte/chat/setMode",
  setAutoApprove: "riposte/chat/setAutoApprove",
  event: "riposte/chat/event",
  approve: "riposte/chat/approve",
  ask: "riposte/chat/ask",
  switchToAct: "riposte/chat/switchToAct",
} as const;

export const LmMethod = {
  complete: "riposte/lm/complete",
  delta: "riposte/lm/delta",
  cancel: "riposte/lm/cancel",
} as const;

export type Mode = "plan" | "act";
export const AUTO_APPROVE_CATEGORIES = ["edit", "fetch", "test"] as const;
export type AutoApproveCategory = (typeof AUTO_APPROVE_CATEGORIES)[number];
export type Category = AutoApproveCategory | "real_run";

/** The providers the settings offer; the server also knows aliases of `openai-compatible`. */
export const PROVIDERS = ["openai-compatible", "anthropic", "vscode-lm"] as const;

/** `ModelSettings`: empty fields fall back to the server's environment. */
export interface ModelSettings {
  provider: string;
  model: string;
  baseUrl: string | null;
}

export interface StatusParams {
  workspace: string | null;
  model: ModelSettings | null;
}

export interface ModelInUse {
  provider: string;
  model: string;
  baseUrl: string | null;
  source: string;
  keyNeeded: boolean;
}

export interface DayUsage {
  today: number;
  dailyBudget: number;
}

export interface StatusResult {
  model: ModelInUse | null;
  noModel: string | null;
  running: string | null;
  usage: DayUsage | null;
}

export interface StartParams {
  workspace: string | null;
  prompt: string;
  mode: Mode;
  autoApprove: AutoApproveCategory[];
  model: ModelSettings | null;
}

export interface StartResult {
  chatId: string;
}

export interface ApprovalRequest {
  call_id: string;
  tool: string;
  category: Category;
  summary: string;
  detail: string;
}

export type Decision = { decision: "approve" } | { decision: "reject"; reason?: string };

export interface Question {
  id: string;
  text: string;
  choices: string[];
}

export interface Plan {
  summary: string;
  steps: string[];
  mermaid: string;
  integrations: string[];
  missing_profiles: string[];
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface DiagnosticItem {
  line: number;
  column: number;
  code: string;
  severity: string;
  message: string;
}

export type RefusedBy = "mode" | "person" | "guard";

/** The agent's events, tagged by `type` (server/agent/src/events.rs). */
export type ChatEvent =
  | { type: "task_started"; task_id: string; prompt: string; mode: Mode; provider: string; model: string }
  | { type: "mode_changed"; mode: Mode; reason: string }
  | { type: "text_delta"; text: string }
  | { type: "assistant_message"; text: string }
  | { type: "tool_call_proposed"; call_id: string; tool: string; arguments: string }
  | { type: "approval_requested"; request: ApprovalRequest }
  | { type: "tool_call_approved"; call_id: string; automatically: boolean }
  | { type: "tool_call_refused"; call_id: string; tool: string; by: RefusedBy; reason: string }
  | { type: "tool_result"; call_id: string; tool: string; is_error: boolean; content: string }
  | { type: "file_written"; path: string; diff: string }
  | { type: "diagnostics"; path: string; errors: number; warnings: number; items: DiagnosticItem[] }
  | { type: "plan"; plan: Plan }
  | { type: "question"; question: Question }
  | { type: "answer"; question_id: string; text: string }
  | { type: "test_run"; path: string; dry_run: boolean; status: string; changes: string[] }
  | { type: "usage"; turn: TokenUsage; task: TokenUsage; today: number; daily_budget: number; task_cost_usd: number | null }
  | { type: "notice"; message: string }
  | { type: "error"; message: string }
  | { type: "finished"; outcome: string; message: string };

export interface EventParams {
  chatId: string;
  event: ChatEvent;
}

// --- the editor's own models -------------------------------------------------------------------

export interface LmToolCall {
  id: string;
  name: string;
  /** JSON text as the model sent it. */
  arguments: string;
}

export type LmMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; tool_calls: LmToolCall[] }
  | { role: "tool"; call_id: string; content: string; is_error: boolean };

export interface LmToolSpec {
  name: string;
  description: string;
  parameters: unknown;
}

export interface LmCompleteParams {
  chatId: string;
  requestId: string;
  model: string;
  system: string;
  messages: LmMessage[];
  tools: LmToolSpec[];
  maxTokens: number | null;
}

export type LmStop = "end_turn" | "tool_use" | "max_tokens";

export interface LmCompleteResult {
  text: string;
  toolCalls: LmToolCall[];
  usage: { inputTokens: number; outputTokens: number };
  stop: LmStop;
}

export type LmErrorKind = "no_model" | "refused" | "failed";

// --- tolerant readers --------------------------------------------------------------------------

type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const mode = (v: unknown): Mode => (v === "act" ? "act" : "plan");

export function readApprovalRequest(v: unknown): ApprovalRequest | undefined {
  const o = obj(v);
  const callId = str(o["call_id"]);
  if (callId === "") return undefined;
  const c = o["category"];
  const category: Category = c === "edit" || c === "fetch" || c === "test" || c === "real_run" ? c : "real_run";
  return { call_id: callId, tool: str(o["tool"]), category, summary: str(o["summary"]), detail: str(o["detail"]) };
}

export function readQuestion(v: unknown): Question | undefined {
  const o = obj(v);
  const id = str(o["id"]);
  if (id === "") return undefined;
  return { id, text: str(o["text"]), choices: strs(o["choices"]) };
}

export function readPlan(v: unknown): Plan {
  const o = obj(v);
  return {
    summary: str(o["summary"]),
    steps: strs(o["steps"]),
    mermaid: str(o["mermaid"]),
    integrations: strs(o["integrations"]),
    missing_profiles: strs(o["missing_profiles"]),
  };
}

function readTokens(v: unknown): TokenUsage {
  const o = obj(v);
  return { input_tokens: num(o["input_tokens"]), output_tokens: num(o["output_tokens"]) };
}

/** One event as the server sent it; `undefined` for a shape this panel does not know. */
export function readChatEvent(v: unknown): ChatEvent | undefined {
  const o = obj(v);
  switch (o["type"]) {
    case "task_started":
      return { type: "task_started", task_id: str(o["task_id"]), prompt: str(o["prompt"]), mode: mode(o["mode"]), provider: str(o["provider"]), model: str(o["model"]) };
    case "mode_changed":
      return { type: "mode_changed", mode: mode(o["mode"]), reason: str(o["reason"]) };
    case "text_delta":
      return { type: "text_delta", text: str(o["text"]) };
    case "assistant_message":
      return { type: "assistant_message", text: str(o["text"]) };
    case "tool_call_proposed":
      return { type: "tool_call_proposed", call_id: str(o["call_id"]), tool: str(o["tool"]), arguments: str(o["arguments"]) };
    case "approval_requested": {
      const request = readApprovalRequest(o["request"]);
      return request === undefined ? undefined : { type: "approval_requested", request };
    }
    case "tool_call_approved":
      return { type: "tool_call_approved", call_id: str(o["call_id"]), automatically: o["automatically"] === true };
    case "tool_call_refused": {
      const by = o["by"] === "mode" || o["by"] === "guard" ? o["by"] : "person";
      return { type: "tool_call_refused", call_id: str(o["call_id"]), tool: str(o["tool"]), by, reason: str(o["reason"]) };
    }
    case "tool_result":
      return { type: "tool_result", call_id: str(o["call_id"]), tool: str(o["tool"]), is_error: o["is_error"] === true, content: str(o["content"]) };
    case "file_written":
      return { type: "file_written", path: str(o["path"]), diff: str(o["diff"]) };
    case "diagnostics":
      return {
        type: "diagnostics",
        path: str(o["path"]),
        errors: num(o["errors"]),
        warnings: num(o["warnings"]),
        items: (Array.isArray(o["items"]) ? o["items"] : []).map(obj).map((i) => ({
          line: num(i["line"]),
          column: num(i["column"]),
          code: str(i["code"]),
          severity: str(i["severity"]),
          message: str(i["message"]),
        })),
      };
    case "plan":
      return { type: "plan", plan: readPlan(o["plan"]) };
    case "question": {
      const question = readQuestion(o["question"]);
      return question === undefined ? undefined : { type: "question", question };
    }
    case "answer":
      return { type: "answer", question_id: str(o["question_id"]), text: str(o["text"]) };
    case "test_run":
      return { type: "test_run", path: str(o["path"]), dry_run: o["dry_run"] !== false, status: str(o["status"]), changes: strs(o["changes"]) };
    case "usage": {
      const cost = o["task_cost_usd"];
      return {
        type: "usage",
        turn: readTokens(o["turn"]),
        task: readTokens(o["task"]),
        today: num(o["today"]),
        daily_budget: num(o["daily_budget"]),
        task_cost_usd: typeof cost === "number" && Number.isFinite(cost) ? cost : null,
      };
    }
    case "notice":
      return { type: "notice", message: str(o["message"]) };
    case "error":
      return { type: "error", message: str(o["message"]) };
    case "finished":
      return { type: "finished", outcome: str(o["outcome"], "unknown"), message: str(o["message"]) };
    default:
      return undefined;
  }
}

export function readStatus(v: unknown): StatusResult {
  const o = obj(v);
  const m = o["model"];
  const u = o["usage"];
  const mo = obj(m);
  const uo = obj(u);
  return {
    model:
      typeof m === "object" && m !== null
        ? {
            provider: str(mo["provider"]),
            model: str(mo["model"]),
            baseUrl: typeof mo["baseUrl"] === "string" ? mo["baseUrl"] : null,
            source: str(mo["source"]),
            keyNeeded: mo["keyNeeded"] === true,
          }
        : null,
    noModel: typeof o["noModel"] === "string" ? o["noModel"] : null,
    running: typeof o["running"] === "string" ? o["running"] : null,
    usage: typeof u === "object" && u !== null ? { today: num(uo["today"]), dailyBudget: num(uo["dailyBudget"]) } : null,
  };
}

export function readStartResult(v: unknown): StartResult | undefined {
  const id = obj(v)["chatId"];
  return typeof id === "string" && id !== "" ? { chatId: id } : undefined;
}

/** The auto-approve setting as categories, in a fixed order, unknown values dropped. */
export function readAutoApprove(v: unknown): AutoApproveCategory[] {
  const given = strs(v);
  return AUTO_APPROVE_CATEGORIES.filter((c) => given.includes(c));
}

/** The `riposte.agent.*` settings as `ModelSettings`; `null` when none is set (the server's environment decides). */
export function modelSettingsOf(raw: { provider?: unknown; model?: unknown; baseUrl?: unknown }): ModelSettings | null {
  const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
  const provider = text(raw.provider);
  const model = text(raw.model);
  const baseUrl = text(raw.baseUrl);
  if (provider === "" && model === "" && baseUrl === "") return null;
  return { provider, model, baseUrl: baseUrl === "" ? null : baseUrl };
}

// --- failed requests ---------------------------------------------------------------------------

/** Why a chat request failed: the server's `data.kind`, or one of the panel's own. */
export type ChatErrorKind =
  | "running"
  | "no_model"
  | "no_key"
  | "bad_model"
  | "no_workspace"
  | "empty_prompt"
  | "invalid_params"
  | "unavailable"
  | "no_server"
  | "failed";

export interface ChatError {
  kind: ChatErrorKind;
  message: string;
}

const SERVER_KINDS: readonly string[] = ["running", "no_model", "no_key", "bad_model", "no_workspace", "empty_prompt"];
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;

/**
 * A rejected request as a person reads it. "Method not found" means this `riposte` has no chat
 * (an older server): said plainly, with what to do, rather than as a JSON-RPC code.
 */
export function describeChatError(method: string, err: unknown): ChatError {
  const o = obj(err);
  const code = typeof o["code"] === "number" ? o["code"] : undefined;
  const message = err instanceof Error ? err.message : str(o["message"], String(err));
  if (code === METHOD_NOT_FOUND) {
    return {
      kind: "unavailable",
      message: `The agent chat is not available: this riposte server does not answer ${method} (method not found). Update riposte to a version with the chat (riposte.server.path, or the bundled binary).`,
    };
  }
  const kind = obj(o["data"])["kind"];
  if (typeof kind === "string" && SERVER_KINDS.includes(kind)) return { kind: kind as ChatErrorKind, message };
  if (code === INVALID_PARAMS) return { kind: "invalid_params", message: `The server refused the ${method} request: ${message}` };
  return { kind: "failed", message: `${method} failed: ${message}` };
}
