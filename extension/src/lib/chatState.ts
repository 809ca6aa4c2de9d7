// The chat panel's state: a reducer from what happens (the server's events and requests, the
// person's clicks, start/status answers) to the view model the page renders, and the messages
// between the panel's host and its page. Every item has an `id` and a `rev` that changes when the
// item does, so the page re-renders only what changed (a rendered Mermaid diagram or a half-typed
// answer survives the next text delta). No `vscode` import: unit-tested in test/chatState.test.ts.

import type {
  ApprovalRequest,
  AutoApproveCategory,
  Category,
  ChatError,
  ChatEvent,
  DiagnosticItem,
  ModelInUse,
  Mode,
  Plan,
  Question,
  RefusedBy,
  StatusResult,
} from "./chatProtocol";

export type ToolState = "proposed" | "approved" | "auto" | "refused" | "done" | "error";
export type ApprovalState = "pending" | "approved" | "rejected" | "auto";

interface Base {
  id: string;
  rev: number;
}

export type ChatItem = Base &
  (
    | { kind: "user"; text: string }
    | { kind: "assistant"; text: string; streaming: boolean }
    | { kind: "tool"; callId: string; tool: string; args: string; state: ToolState; refusedBy?: RefusedBy; reason?: string; result?: string }
    | {
        kind: "approval";
        callId: string;
        tool: string;
        category: Category | "unknown";
        summary: string;
        detail: string;
        state: ApprovalState;
        /** The server is waiting for this card's answer (a `riposte/chat/approve` request is open). */
        awaiting: boolean;
        reason?: string;
      }
    | { kind: "file"; path: string; diff: string }
    | { kind: "diagnostics"; path: string; errors: number; warnings: number; items: DiagnosticItem[] }
    | { kind: "plan"; plan: Plan; state: "shown" | "asking" | "switched" | "kept" }
    | { kind: "question"; question: Question; state: "shown" | "asking" | "answered" | "declined"; answer?: string }
    | { kind: "test_run"; path: string; dryRun: boolean; status: string; changes: string[] }
    | { kind: "mode"; mode: Mode; reason: string }
    | { kind: "task"; provider: string; model: string; mode: Mode }
    | { kind: "notice"; message: string }
    | { kind: "error"; message: string }
    | { kind: "finished"; outcome: string; message: string }
  );

export interface UsageView {
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  today: number | null;
  dailyBudget: number | null;
}

export type StatusView =
  | { state: "loading" }
  | { state: "ready"; model: ModelInUse | null; noModel: string | null; running: string | null }
  | { state: "error"; error: ChatError };

export interface ModelSettingsView {
  provider: string;
  model: string;
  baseUrl: string;
}

export interface ChatView {
  /** The task the panel follows; `null` before the first start answers. */
  chatId: string | null;
  /** Ids of tasks the panel has left (New task): their late messages are dropped. */
  left: string[];
  phase: "idle" | "starting" | "running" | "cancelling";
  mode: Mode;
  autoApprove: AutoApproveCategory[];
  items: ChatItem[];
  usage: UsageView;
  status: StatusView;
  settings: ModelSettingsView;
  nextId: number;
}

export type ChatAction =
  | { type: "status"; status: StatusResult }
  | { type: "statusFailed"; error: ChatError }
  | { type: "settings"; settings: ModelSettingsView; autoApprove: AutoApproveCategory[] }
  | { type: "send"; prompt: string }
  | { type: "started"; chatId: string }
  | { type: "startFailed"; error: ChatError }
  /** A task the panel no longer follows (started, then left by New task before its answer came). */
  | { type: "leave"; chatId: string }
  | { type: "event"; chatId: string; event: ChatEvent }
  | { type: "approvalAsked"; chatId: string; request: ApprovalRequest }
  | { type: "approvalAnswered"; callId: string; approve: boolean; reason?: string }
  | { type: "questionAsked"; chatId: string; question: Question }
  | { type: "questionAnswered"; questionId: string; text: string | null }
  | { type: "switchAsked"; chatId: string; plan: Plan }
  | { type: "switchAnswered"; switchToAct: boolean }
  | { type: "setMode"; mode: Mode }
  | { type: "setAutoApprove"; autoApprove: AutoApproveCategory[] }
  | { type: "cancelling" }
  | { type: "error"; message: string }
  | { type: "newTask" };

/** Host → page. */
export type HostMessage = { type: "view"; view: ChatView };

/** Page → host. */
export type PageMessage =
  | { type: "ready" }
  | { type: "send"; prompt: string }
  | { type: "setMode"; mode: Mode }
  | { type: "setAutoApprove"; autoApprove: AutoApproveCategory[] }
  | { type: "approve"; callId: string }
  | { type: "reject"; callId: string; reason: string }
  | { type: "answer"; questionId: string; text: string | null }
  | { type: "switchToAct"; switchToAct: boolean }
  | { type: "createProfile"; name: string }
  | { type: "newTask" }
  | { type: "cancel" }
  | { type: "saveSettings"; settings: ModelSettingsView }
  | { type: "setKey"; provider: string }
  | { type: "openSettings" }
  | { type: "pickProvider" }
  | { type: "refreshStatus" }
  | { type: "openFile"; path: string };

export function initialChatView(settings: ModelSettingsView = { provider: "", model: "", baseUrl: "" }, autoApprove: AutoApproveCategory[] = []): ChatView {
  return {
    chatId: null,
    left: [],
    phase: "idle",
    mode: "plan",
    autoApprove,
    items: [],
    usage: { inputTokens: 0, outputTokens: 0, costUsd: null, today: null, dailyBudget: null },
    status: { state: "loading" },
    settings,
    nextId: 1,
  };
}

/** The category an auto-approved call had: the event names only the call, the tool names the category. */
export function categoryOfTool(tool: string): Category | "unknown" {
  if (tool === "write_playbook" || tool === "write_docs") return "edit";
  if (tool === "fetch_url") return "fetch";
  if (tool === "run_test") return "test";
  return "unknown";
}

/** A tool call's arguments in one short line: the JSON's values, not its punctuation. */
export function shortArguments(json: string, max = 120): string {
  let text: string;
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      text = Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${k}=${typeof x === "string" ? x : JSON.stringify(x)}`)
        .join(" ");
    } else {
      text = JSON.stringify(v);
    }
  } catch {
    text = json;
  }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function shorten(text: string, max: number): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

type NewItem = ChatItem extends infer I ? (I extends ChatItem ? Omit<I, "id" | "rev"> : never) : never;

function push(view: ChatView, item: NewItem): ChatView {
  const id = `i${view.nextId}`;
  return { ...view, nextId: view.nextId + 1, items: [...view.items, { ...item, id, rev: 0 }] };
}

/** Replaces the last item matching `match` with `change(item)`, bumping its `rev`. */
function update<K extends ChatItem["kind"]>(
  view: ChatView,
  kind: K,
  match: (item: Extract<ChatItem, { kind: K }>) => boolean,
  change: (item: Extract<ChatItem, { kind: K }>) => Extract<ChatItem, { kind: K }>,
): ChatView | undefined {
  for (let i = view.items.length - 1; i >= 0; i--) {
    const item = view.items[i];
    if (item !== undefined && item.kind === kind && match(item as Extract<ChatItem, { kind: K }>)) {
      const next = change(item as Extract<ChatItem, { kind: K }>);
      const items = view.items.slice();
      items[i] = { ...next, rev: item.rev + 1 };
      return { ...view, items };
    }
  }
  return undefined;
}

function find<K extends ChatItem["kind"]>(view: ChatView, kind: K, match: (item: Extract<ChatItem, { kind: K }>) => boolean): Extract<ChatItem, { kind: K }> | undefined {
  for (let i = view.items.length - 1; i >= 0; i--) {
    const item = view.items[i];
    if (item !== undefined && item.kind === kind && match(item as Extract<ChatItem, { kind: K }>)) return item as Extract<ChatItem, { kind: K }>;
  }
  return undefined;
}

/**
 * Whether a message about `chatId` is for the task this panel follows. While a start is
 * pending, the first task id seen is adopted (the server may send events before its answer).
 */
function follow(view: ChatView, chatId: string): ChatView | undefined {
  if (view.left.includes(chatId)) return undefined;
  if (view.chatId === chatId) return view;
  if (view.chatId === null && view.phase === "starting") return { ...view, chatId };
  return undefined;
}

function approvalCard(view: ChatView, request: ApprovalRequest, awaiting: boolean): ChatView {
  const existing = update(
    view,
    "approval",
    (a) => a.callId === request.call_id,
    (a) => ({ ...a, category: request.category, summary: request.summary, detail: request.detail, awaiting: a.state === "pending" && (a.awaiting || awaiting) }),
  );
  if (existing !== undefined) return existing;
  return push(view, {
    kind: "approval",
    callId: request.call_id,
    tool: request.tool,
    category: request.category,
    summary: request.summary,
    detail: request.detail,
    state: "pending",
    awaiting,
  });
}

function onEvent(view: ChatView, event: ChatEvent): ChatView {
  switch (event.type) {
    case "task_started":
      return push({ ...view, mode: event.mode, phase: view.phase === "starting" ? "running" : view.phase }, { kind: "task", provider: event.provider, model: event.model, mode: event.mode });
    case "mode_changed":
      return push({ ...view, mode: event.mode }, { kind: "mode", mode: event.mode, reason: event.reason });
    case "text_delta":
      return (
        update(
          view,
          "assistant",
          (a) => a.streaming,
          (a) => ({ ...a, text: a.text + event.text }),
        ) ?? push(view, { kind: "assistant", text: event.text, streaming: true })
      );
    case "assistant_message":
      return (
        update(
          view,
          "assistant",
          (a) => a.streaming,
          (a) => ({ ...a, text: event.text, streaming: false }),
        ) ?? push(view, { kind: "assistant", text: event.text, streaming: false })
      );
    case "tool_call_proposed":
      return push(endStreaming(view), { kind: "tool", callId: event.call_id, tool: event.tool, args: shortArguments(event.arguments), state: "proposed" });
    case "approval_requested":
      return approvalCard(view, event.request, false);
    case "tool_call_approved": {
      const state: ToolState = event.automatically ? "auto" : "approved";
      let next = update(view, "tool", (t) => t.callId === event.call_id, (t) => ({ ...t, state })) ?? view;
      const card = update(next, "approval", (a) => a.callId === event.call_id, (a) => ({ ...a, state: event.automatically ? "auto" : "approved", awaiting: false }));
      if (card !== undefined) return card;
      if (event.automatically) {
        const tool = find(next, "tool", (t) => t.callId === event.call_id);
        next = push(next, {
          kind: "approval",
          callId: event.call_id,
          tool: tool?.tool ?? "",
          category: categoryOfTool(tool?.tool ?? ""),
          summary: tool !== undefined ? `${tool.tool} ${tool.args}`.trim() : event.call_id,
          detail: "",
          state: "auto",
          awaiting: false,
        });
      }
      return next;
    }
    case "tool_call_refused": {
      const next =
        update(view, "tool", (t) => t.callId === event.call_id, (t) => ({ ...t, state: "refused", refusedBy: event.by, reason: event.reason })) ??
        push(view, { kind: "tool", callId: event.call_id, tool: event.tool, args: "", state: "refused", refusedBy: event.by, reason: event.reason });
      return update(next, "approval", (a) => a.callId === event.call_id, (a) => ({ ...a, state: "rejected", awaiting: false, reason: a.reason ?? event.reason })) ?? next;
    }
    case "tool_result":
      return (
        update(
          view,
          "tool",
          (t) => t.callId === event.call_id,
          (t) => ({ ...t, state: t.state === "refused" ? "refused" : event.is_error ? "error" : "done", result: shorten(event.content, 400) }),
        ) ?? view
      );
    case "file_written":
      return push(view, { kind: "file", path: event.path, diff: event.diff });
    case "diagnostics":
      return push(view, { kind: "diagnostics", path: event.path, errors: event.errors, warnings: event.warnings, items: event.items });
    case "plan":
      return push(endStreaming(view), { kind: "plan", plan: event.plan, state: "shown" });
    case "question":
      return find(view, "question", (q) => q.question.id === event.question.id) !== undefined ? view : push(endStreaming(view), { kind: "question", question: event.question, state: "shown" });
    case "answer":
      return update(view, "question", (q) => q.question.id === event.question_id, (q) => ({ ...q, state: "answered", answer: event.text })) ?? view;
    case "test_run":
      return push(view, { kind: "test_run", path: event.path, dryRun: event.dry_run, status: event.status, changes: event.changes });
    case "usage":
      return {
        ...view,
        usage: {
          inputTokens: event.task.input_tokens,
          outputTokens: event.task.output_tokens,
          costUsd: event.task_cost_usd,
          today: event.today,
          dailyBudget: event.daily_budget,
        },
      };
    case "notice":
      return push(view, { kind: "notice", message: event.message });
    case "error":
      return push(view, { kind: "error", message: event.message });
    case "finished":
      return push(closeOpenQuestions(endStreaming({ ...view, phase: "idle" })), { kind: "finished", outcome: event.outcome, message: event.message });
  }
}

function endStreaming(view: ChatView): ChatView {
  return update(view, "assistant", (a) => a.streaming, (a) => ({ ...a, streaming: false })) ?? view;
}

/** After the task ends nothing is waiting: an undecided card counts as rejected (as the server counts it). */
function closeOpenQuestions(view: ChatView): ChatView {
  let changed = false;
  const items = view.items.map((item): ChatItem => {
    if (item.kind === "approval" && item.state === "pending") {
      changed = true;
      return { ...item, state: "rejected", awaiting: false, reason: item.reason ?? "not decided: the task ended", rev: item.rev + 1 };
    }
    if (item.kind === "question" && (item.state === "asking" || item.state === "shown")) {
      changed = true;
      return { ...item, state: "declined", rev: item.rev + 1 };
    }
    if (item.kind === "plan" && item.state === "asking") {
      changed = true;
      return { ...item, state: "shown", rev: item.rev + 1 };
    }
    return item;
  });
  return changed ? { ...view, items } : view;
}

export function reduceChat(view: ChatView, action: ChatAction): ChatView {
  switch (action.type) {
    case "status":
      return {
        ...view,
        status: { state: "ready", model: action.status.model, noModel: action.status.noModel, running: action.status.running },
        usage: action.status.usage !== null ? { ...view.usage, today: action.status.usage.today, dailyBudget: action.status.usage.dailyBudget } : view.usage,
      };
    case "statusFailed":
      return { ...view, status: { state: "error", error: action.error } };
    case "settings":
      return { ...view, settings: action.settings, autoApprove: action.autoApprove };
    case "send":
      return push({ ...view, phase: "starting", chatId: null }, { kind: "user", text: action.prompt });
    case "started":
      if (view.left.includes(action.chatId)) return view;
      return { ...view, chatId: action.chatId, phase: view.phase === "starting" ? "running" : view.phase };
    case "leave":
      return view.left.includes(action.chatId) ? view : { ...view, left: [...view.left, action.chatId], ...(view.chatId === action.chatId ? { chatId: null, phase: "idle" as const } : {}) };
    case "startFailed":
      return push({ ...view, phase: "idle" }, { kind: "error", message: action.error.message });
    case "event": {
      const followed = follow(view, action.chatId);
      return followed === undefined ? view : onEvent(followed, action.event);
    }
    case "approvalAsked": {
      const followed = follow(view, action.chatId);
      return followed === undefined ? view : approvalCard(followed, action.request, true);
    }
    case "approvalAnswered":
      return (
        update(
          view,
          "approval",
          (a) => a.callId === action.callId,
          (a) => ({ ...a, state: action.approve ? "approved" : "rejected", awaiting: false, ...(action.reason ? { reason: action.reason } : {}) }),
        ) ?? view
      );
    case "questionAsked": {
      const followed = follow(view, action.chatId);
      if (followed === undefined) return view;
      const withItem = find(followed, "question", (q) => q.question.id === action.question.id) !== undefined ? followed : onEvent(followed, { type: "question", question: action.question });
      return update(withItem, "question", (q) => q.question.id === action.question.id, (q) => ({ ...q, state: "asking" })) ?? withItem;
    }
    case "questionAnswered":
      return (
        update(
          view,
          "question",
          (q) => q.question.id === action.questionId,
          (q) => (action.text === null ? { ...q, state: "declined" } : { ...q, state: "answered", answer: action.text }),
        ) ?? view
      );
    case "switchAsked": {
      const followed = follow(view, action.chatId);
      if (followed === undefined) return view;
      const withPlan = find(followed, "plan", () => true) !== undefined ? followed : onEvent(followed, { type: "plan", plan: action.plan });
      return update(withPlan, "plan", () => true, (p) => ({ ...p, plan: action.plan, state: "asking" })) ?? withPlan;
    }
    case "switchAnswered":
      return update(view, "plan", (p) => p.state === "asking", (p) => ({ ...p, state: action.switchToAct ? "switched" : "kept" })) ?? view;
    case "setMode":
      return { ...view, mode: action.mode };
    case "setAutoApprove":
      return { ...view, autoApprove: action.autoApprove };
    case "cancelling":
      return view.phase === "idle" ? view : { ...view, phase: "cancelling" };
    case "error":
      return push(view, { kind: "error", message: action.message });
    case "newTask": {
      // A new task starts in Plan, the safe default, whatever the last one switched to.
      const left = view.chatId !== null ? [...view.left, view.chatId] : view.left;
      return { ...initialChatView(view.settings, view.autoApprove), left, status: view.status, usage: { ...initialChatView().usage, today: view.usage.today, dailyBudget: view.usage.dailyBudget }, nextId: view.nextId };
    }
  }
}

/** True while a task runs or is being started: Send is off, Cancel is on, mode/auto-approve go to the server. */
export function isBusy(view: ChatView): boolean {
  return view.phase !== "idle";
}

/** Tokens as people read them: 1234 → "1.2k", 8000000 → "8M". */
export function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${trim(n / 1_000_000)}M`;
  if (n >= 1_000) return `${trim(n / 1_000)}k`;
  return String(n);
}

function trim(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1).replace(/\.0$/, "");
}

/** The usage line: "task 1.2k in / 310 out · $0.004 · today 120k / 8M". */
export function formatUsage(u: UsageView): string {
  const parts = [`task ${formatTokens(u.inputTokens)} in / ${formatTokens(u.outputTokens)} out`];
  if (u.costUsd !== null) parts.push(`$${u.costUsd < 0.01 ? u.costUsd.toFixed(4) : u.costUsd.toFixed(2)}`);
  if (u.today !== null) parts.push(`today ${formatTokens(u.today)}${u.dailyBudget !== null ? ` / ${formatTokens(u.dailyBudget)}` : ""}`);
  return parts.join(" · ");
}

/** The model-in-use line. */
export function formatModel(m: ModelInUse): string {
  const where = m.baseUrl !== null && m.baseUrl !== "" ? ` at ${m.baseUrl}` : "";
  const source = m.source === "environment" ? "from the server's environment" : m.source === "settings" ? "from the settings" : m.source;
  return `${m.provider} · ${m.model || "(first model offered)"}${where}${source ? ` (${source})` : ""}`;
}

/** Unified diff lines with their kind, for +/- colouring. */
export function diffLines(diff: string): { kind: "add" | "del" | "hunk" | "meta" | "context"; text: string }[] {
  return diff
    .replace(/\n$/, "")
    .split("\n")
    .map((text) => {
      if (text.startsWith("+++") || text.startsWith("---")) return { kind: "meta" as const, text };
      if (text.startsWith("@@")) return { kind: "hunk" as const, text };
      if (text.startsWith("+")) return { kind: "add" as const, text };
      if (text.startsWith("-")) return { kind: "del" as const, text };
      return { kind: "context" as const, text };
    });
}
