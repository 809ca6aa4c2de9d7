// The chat panel's page (bundled to dist/chat.js): renders the host's view model
// (lib/chatState.ts) and posts the person's clicks back. It never talks to the server. Every
// string from the server goes into the DOM as text (createElement + textContent), never as
// markup; the one exception is the plan's diagram, which mermaid draws itself with
// `securityLevel: "strict"` (its own sanitiser). Items re-render only when their `rev` changes.

import {
  diffLines,
  formatModel,
  formatUsage,
  isBusy,
  type ChatItem,
  type ChatView,
  type HostMessage,
  type ModelSettingsView,
  type PageMessage,
} from "../../lib/chatState";
import { AUTO_APPROVE_CATEGORIES, type AutoApproveCategory } from "../../lib/chatProtocol";

interface VsCodeApi {
  postMessage(message: PageMessage): void;
}
interface MermaidApi {
  initialize(config: Record<string, unknown>): void;
  run(options: { nodes: HTMLElement[]; suppressErrors?: boolean }): Promise<void>;
}
declare function acquireVsCodeApi(): VsCodeApi;
// dist/mermaid.min.js, loaded before this script, sets `window.mermaid`.
const mermaidApi = (): MermaidApi | undefined => (window as unknown as { mermaid?: MermaidApi }).mermaid;

const vscode = acquireVsCodeApi();
const post = (m: PageMessage) => vscode.postMessage(m);

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes, never markup. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

function button(label: string, testid: string | undefined, onClick: () => void, cls = ""): HTMLButtonElement {
  const b = h("button", { type: "button", "data-testid": testid, class: cls || undefined }, label);
  b.addEventListener("click", onClick);
  return b;
}

// --- the fixed frame ---------------------------------------------------------------------------

const app = document.getElementById("app") ?? document.body;

const modelLine = h("div", { class: "model", "data-testid": "chat-model" }, "Asking the server which model is in use…");
const usageLine = h("div", { class: "usage", "data-testid": "chat-usage" });
const settingsToggle = button("Settings", undefined, () => (settingsBox.open = !settingsBox.open), "secondary small");
const newTaskButton = button("New task", "chat-new-task", () => post({ type: "newTask" }), "secondary small");
const header = h("header", {}, h("div", { class: "header-text" }, modelLine, usageLine), h("div", { class: "header-buttons" }, settingsToggle, newTaskButton));

const statusArea = h("div", { class: "status-area" });

const providerSelect = h(
  "select",
  { "data-testid": "chat-settings-provider", id: "provider" },
  h("option", { value: "" }, "The server's environment (RIPOSTE_LLM_*)"),
  h("option", { value: "openai-compatible" }, "OpenAI-compatible (OpenAI, Ollama, vLLM, LM Studio, LiteLLM…)"),
  h("option", { value: "anthropic" }, "Anthropic"),
  h("option", { value: "vscode-lm" }, "The editor's models (Copilot…)"),
);
const modelInput = h("input", { type: "text", "data-testid": "chat-settings-model", id: "model", placeholder: "model name, e.g. gpt-4.1, claude-sonnet-4-5, llama3.1" });
const baseUrlInput = h("input", { type: "text", "data-testid": "chat-settings-base-url", id: "base-url", placeholder: "empty: the provider's public endpoint" });
const currentSettings = (): ModelSettingsView => ({ provider: providerSelect.value, model: modelInput.value, baseUrl: baseUrlInput.value });
const settingsBox = h(
  "details",
  { class: "settings" },
  h("summary", {}, "Model settings"),
  h(
    "div",
    { class: "settings-grid" },
    h("label", { for: "provider" }, "Provider"),
    providerSelect,
    h("label", { for: "model" }, "Model"),
    modelInput,
    h("label", { for: "base-url" }, "Base URL"),
    baseUrlInput,
  ),
  h(
    "div",
    { class: "row" },
    button("Save", "chat-settings-save", () => {
      post({ type: "saveSettings", settings: currentSettings() });
      // Saved: give the room back to the conversation (the model line above says what is in use).
      settingsBox.open = false;
    }),
    button("Set API key…", "chat-settings-key", () => post({ type: "setKey", provider: providerSelect.value }), "secondary"),
    h("span", { class: "muted" }, "The key goes to the editor's secret store, never to the settings."),
  ),
);

const itemsBox = h("main", { class: "items", "aria-live": "polite" });

const modeButton = button("Plan", "chat-mode", () => {
  const next = modeButton.getAttribute("data-mode") === "act" ? "plan" : "act";
  post({ type: "setMode", mode: next });
});
modeButton.title = "Plan: read-only, ends with a plan. Act: writes and tests the playbook (with approvals).";
const autoBoxes = new Map<AutoApproveCategory, HTMLInputElement>();
const autoRow = h("div", { class: "auto" }, h("span", { class: "muted" }, "Auto-approve:"));
for (const c of AUTO_APPROVE_CATEGORIES) {
  const box = h("input", { type: "checkbox", "data-testid": `chat-auto-${c}`, id: `auto-${c}` });
  box.addEventListener("change", () => {
    post({ type: "setAutoApprove", autoApprove: AUTO_APPROVE_CATEGORIES.filter((k) => autoBoxes.get(k)?.checked === true) });
  });
  autoBoxes.set(c, box);
  autoRow.append(h("label", { for: `auto-${c}` }, box, c));
}
autoRow.title = "Approved without asking. A real run always asks.";
const prompt = h("textarea", { "data-testid": "chat-prompt", rows: "3", placeholder: "Describe the playbook: what alert, which integrations, what it should do. Ctrl+Enter sends." });
const send = () => {
  const text = prompt.value.trim();
  if (text === "") return;
  post({ type: "send", prompt: text });
  prompt.value = "";
};
const sendButton = button("Send", "chat-send", send);
const cancelButton = button("Cancel", "chat-cancel", () => post({ type: "cancel" }), "secondary");
prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (!sendButton.disabled) send();
  }
});
const footer = h("footer", {}, h("div", { class: "row controls" }, modeButton, autoRow), prompt, h("div", { class: "row" }, sendButton, cancelButton));

app.append(header, statusArea, settingsBox, itemsBox, footer);

// --- item renderers ----------------------------------------------------------------------------

function renderDiff(diff: string): HTMLElement {
  const pre = h("pre", { class: "diff", "data-testid": "chat-diff" });
  for (const line of diffLines(diff)) pre.append(h("span", { class: `diff-${line.kind}` }, line.text), "\n");
  return pre;
}

function renderLines(text: string): HTMLElement {
  const ul = h("ul", { class: "changes" });
  for (const line of text.split("\n").filter((l) => l.trim() !== "")) ul.append(h("li", {}, line));
  return ul;
}

const CATEGORY_LABEL: Record<string, string> = { edit: "Edit", fetch: "Fetch", test: "Dry run", real_run: "REAL RUN", unknown: "Call" };
const OUTCOME_LABEL: Record<string, string> = {
  completed: "Done: the playbook is written and validates",
  plan_ready: "Plan ready",
  problems_left: "Stopped with problems left",
  step_limit: "Stopped: step limit reached",
  stuck: "Stopped: the model was going round in circles",
  budget_exhausted: "Stopped: today's token budget is spent",
  cancelled: "Cancelled",
  provider_failed: "Stopped: the model provider failed",
  unanswered: "Stopped: a question was not answered",
};

function fileLink(file: string): HTMLElement {
  const a = h("a", { href: "#", class: "path" }, file);
  a.addEventListener("click", (e) => {
    e.preventDefault();
    post({ type: "openFile", path: file });
  });
  return a;
}

function renderApproval(item: Extract<ChatItem, { kind: "approval" }>): HTMLElement {
  const card = h("section", { class: `card approval ${item.category === "real_run" ? "danger" : ""}`, "data-testid": "chat-approval", "data-category": item.category, "data-state": item.state });
  card.append(h("div", { class: "card-title" }, h("span", { class: "badge" }, CATEGORY_LABEL[item.category] ?? item.category), " ", item.summary || item.tool));
  if (item.detail !== "") {
    if (item.category === "edit") card.append(renderDiff(item.detail));
    else if (item.category === "fetch") card.append(h("code", { class: "url" }, item.detail));
    else if (item.category === "real_run" || item.category === "test") card.append(renderLines(item.detail));
    else card.append(h("pre", {}, item.detail));
  }
  if (item.state === "pending" && item.awaiting) {
    const reason = h("input", { type: "text", class: "reason", placeholder: "Reason (optional; the model reads it)" });
    card.append(
      h(
        "div",
        { class: "row" },
        button(item.category === "real_run" ? "Approve real run" : "Approve", "chat-approve", () => post({ type: "approve", callId: item.callId })),
        button("Reject", "chat-reject", () => post({ type: "reject", callId: item.callId, reason: reason.value }), "secondary"),
        reason,
      ),
    );
  } else if (item.state === "pending") {
    card.append(h("div", { class: "muted" }, "Waiting for the server to ask…"));
  } else {
    const label = item.state === "auto" ? "auto-approved" : item.state;
    card.append(h("div", { class: `decision ${item.state}` }, label, item.state === "rejected" && item.reason ? `: ${item.reason}` : ""));
  }
  return card;
}

let mermaidSeq = 0;
function renderPlan(item: Extract<ChatItem, { kind: "plan" }>): HTMLElement {
  const { plan } = item;
  const card = h("section", { class: "card plan", "data-testid": "chat-plan", "data-state": item.state }, h("div", { class: "card-title" }, h("span", { class: "badge" }, "Plan"), " ", plan.summary));
  if (plan.steps.length > 0) {
    const ol = h("ol", {});
    for (const s of plan.steps) ol.append(h("li", {}, s));
    card.append(ol);
  }
  if (plan.integrations.length > 0) card.append(h("div", {}, h("span", { class: "muted" }, "Integrations: "), plan.integrations.join(", ")));
  for (const name of plan.missing_profiles) {
    const b = button(`Create profile "${name}"`, "chat-create-profile", () => post({ type: "createProfile", name }), "secondary small");
    b.setAttribute("data-profile", name);
    card.append(h("div", { class: "missing" }, h("span", { class: "warn" }, `Missing profile: ${name}`), " ", b));
  }
  if (plan.mermaid.trim() !== "") {
    const source = h("pre", { class: "mermaid-source", id: `mermaid-${++mermaidSeq}` }, plan.mermaid);
    card.append(h("div", { class: "mermaid-box", "data-testid": "chat-mermaid" }, source));
    afterInsert.push(() => drawMermaid(source));
  }
  if (item.state === "asking") {
    card.append(
      h(
        "div",
        { class: "row" },
        button("Switch to Act and write it", "chat-switch-to-act", () => post({ type: "switchToAct", switchToAct: true })),
        button("Keep the plan", "chat-keep-plan", () => post({ type: "switchToAct", switchToAct: false }), "secondary"),
      ),
    );
  } else if (item.state === "switched") card.append(h("div", { class: "decision approved" }, "Switched to Act"));
  else if (item.state === "kept") card.append(h("div", { class: "decision" }, "Plan kept"));
  return card;
}

function theme(): string {
  const cls = document.body.classList;
  if (cls.contains("vscode-high-contrast")) return "neutral";
  return cls.contains("vscode-dark") ? "dark" : "default";
}

let mermaidReady = false;
let drawing = Promise.resolve();
function drawMermaid(node: HTMLElement): void {
  const mermaid = mermaidApi();
  if (mermaid === undefined) {
    node.parentElement?.append(h("div", { class: "muted" }, "The diagram renderer (mermaid) did not load; its source is shown."));
    return;
  }
  if (!mermaidReady) {
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: theme() });
    mermaidReady = true;
  }
  node.classList.add("mermaid");
  drawing = drawing
    .then(() => mermaid.run({ nodes: [node], suppressErrors: false }))
    .catch((e: unknown) => {
      node.classList.remove("mermaid");
      node.parentElement?.append(h("div", { class: "warn" }, `The diagram could not be drawn (${e instanceof Error ? e.message : String(e)}); its source is shown.`));
    });
}

function renderQuestion(item: Extract<ChatItem, { kind: "question" }>): HTMLElement {
  const card = h("section", { class: "card question", "data-testid": "chat-question", "data-state": item.state }, h("div", { class: "card-title" }, h("span", { class: "badge" }, "Question"), " ", item.question.text));
  if (item.state === "asking") {
    const answer = (text: string | null) => post({ type: "answer", questionId: item.question.id, text });
    const choices = h("div", { class: "row wrap" });
    for (const c of item.question.choices) choices.append(button(c, "chat-answer-choice", () => answer(c), "secondary small"));
    if (item.question.choices.length > 0) card.append(choices);
    const input = h("input", { type: "text", "data-testid": "chat-answer-input", placeholder: "Your answer" });
    const submit = () => {
      if (input.value.trim() !== "") answer(input.value.trim());
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") submit();
    });
    card.append(h("div", { class: "row" }, input, button("Answer", "chat-answer-send", submit), button("Decline", undefined, () => answer(null), "secondary")));
  } else if (item.state === "answered") card.append(h("div", { class: "decision approved" }, `Answered: ${item.answer ?? ""}`));
  else if (item.state === "declined") card.append(h("div", { class: "decision rejected" }, "Not answered"));
  return card;
}

function renderItem(item: ChatItem): HTMLElement {
  switch (item.kind) {
    case "user":
      return h("div", { class: "msg user" }, item.text);
    case "assistant":
      return h("div", { class: `msg assistant${item.streaming ? " streaming" : ""}`, "data-testid": "chat-assistant", "data-streaming": String(item.streaming) }, item.text);
    case "tool": {
      const line = h(
        "div",
        { class: `tool ${item.state}`, "data-testid": "chat-tool", "data-tool": item.tool, "data-state": item.state },
        h("span", { class: "tool-state" }, item.state),
        " ",
        h("span", { class: "tool-name" }, item.tool),
        " ",
        h("span", { class: "tool-args" }, item.args),
      );
      if (item.state === "refused") line.append(h("div", { class: "refused", "data-testid": "chat-refused", "data-by": item.refusedBy }, `refused by ${item.refusedBy ?? "?"}: ${item.reason ?? ""}`));
      if (item.result !== undefined && item.result !== "") line.append(h("details", { class: "result" }, h("summary", {}, item.state === "error" ? "error" : "result"), h("pre", {}, item.result)));
      return line;
    }
    case "approval":
      return renderApproval(item);
    case "file":
      return h("section", { class: "card file" }, h("div", { class: "card-title" }, h("span", { class: "badge" }, "Wrote"), " ", fileLink(item.path)), item.diff !== "" ? renderDiff(item.diff) : h("div", { class: "muted" }, "no change"));
    case "diagnostics": {
      const box = h(
        "section",
        { class: "card diagnostics", "data-testid": "chat-diagnostics", "data-errors": String(item.errors), "data-warnings": String(item.warnings) },
        h("div", { class: "card-title" }, fileLink(item.path), `: ${item.errors} error${item.errors === 1 ? "" : "s"}, ${item.warnings} warning${item.warnings === 1 ? "" : "s"}`),
      );
      if (item.items.length > 0) {
        const ul = h("ul", { class: "diag-list" });
        for (const d of item.items) ul.append(h("li", { class: `sev-${d.severity}` }, h("code", {}, d.code), ` line ${d.line}: `, d.message));
        box.append(ul);
      }
      return box;
    }
    case "plan":
      return renderPlan(item);
    case "question":
      return renderQuestion(item);
    case "test_run": {
      const box = h(
        "section",
        { class: "card test-run", "data-testid": "chat-test-run", "data-dry-run": String(item.dryRun), "data-status": item.status },
        h("div", { class: "card-title" }, h("span", { class: "badge" }, item.dryRun ? "Dry run" : "REAL RUN"), " ", fileLink(item.path), `: ${item.status}`),
      );
      if (item.changes.length > 0) {
        const ul = h("ul", { class: "changes" });
        for (const c of item.changes) ul.append(h("li", { "data-testid": "chat-change" }, c));
        box.append(h("div", { class: "muted" }, item.dryRun ? "Changes it would make (not sent):" : "Changes made:"), ul);
      } else box.append(h("div", { class: "muted" }, "No changes."));
      return box;
    }
    case "mode":
      return h("div", { class: "line mode" }, `Mode: ${item.mode === "act" ? "Act" : "Plan"}`, item.reason ? ` (${item.reason})` : "");
    case "task":
      return h("div", { class: "line muted" }, `Task started · ${item.provider} · ${item.model} · ${item.mode === "act" ? "Act" : "Plan"}`);
    case "notice":
      return h("div", { class: "line notice" }, item.message);
    case "error":
      return h("div", { class: "line error", "data-testid": "chat-error" }, item.message);
    case "finished":
      return h("div", { class: `finished ${item.outcome}`, "data-testid": "chat-finished", "data-outcome": item.outcome }, h("strong", {}, OUTCOME_LABEL[item.outcome] ?? item.outcome), item.message ? ` — ${item.message}` : "");
  }
}

// --- rendering the view ------------------------------------------------------------------------

const rendered = new Map<string, { rev: number; el: HTMLElement }>();
let afterInsert: (() => void)[] = [];
let shownSettings = "";

function renderItems(items: ChatItem[]): void {
  const nearBottom = itemsBox.scrollHeight - itemsBox.scrollTop - itemsBox.clientHeight < 80;
  const keep = new Set(items.map((i) => i.id));
  for (const [id, r] of rendered) {
    if (!keep.has(id)) {
      r.el.remove();
      rendered.delete(id);
    }
  }
  let previous: HTMLElement | null = null;
  for (const item of items) {
    const have = rendered.get(item.id);
    let el: HTMLElement;
    if (have !== undefined && have.rev === item.rev) el = have.el;
    else {
      el = renderItem(item);
      if (have !== undefined) have.el.replaceWith(el);
      rendered.set(item.id, { rev: item.rev, el });
    }
    if (el.parentElement !== itemsBox || el.previousElementSibling !== previous) {
      if (previous === null) itemsBox.prepend(el);
      else previous.after(el);
    }
    previous = el;
  }
  const run = afterInsert;
  afterInsert = [];
  for (const f of run) f();
  if (nearBottom) itemsBox.scrollTop = itemsBox.scrollHeight;
}

let shownStatus = "";
function renderStatus(view: ChatView): void {
  const s = view.status;
  // Rebuilt only when it changes: a text delta must not reopen the settings the person closed.
  const key = JSON.stringify(s);
  if (key === shownStatus) return;
  shownStatus = key;
  statusArea.replaceChildren();
  if (s.state === "loading") {
    modelLine.textContent = "Asking the server which model is in use…";
    return;
  }
  if (s.state === "error") {
    modelLine.textContent = "Model: unknown (the server did not answer)";
    statusArea.append(h("div", { class: "line error", "data-testid": "chat-error" }, s.error.message, " ", button("Retry", undefined, () => post({ type: "refreshStatus" }), "secondary small")));
    return;
  }
  if (s.model !== null) {
    modelLine.textContent = `Model: ${formatModel(s.model)}`;
    return;
  }
  modelLine.textContent = "No model configured";
  statusArea.append(
    h(
      "section",
      { class: "card setup", "data-testid": "chat-setup" },
      h("div", { class: "card-title" }, "Point Riposte at a model"),
      h("pre", { class: "howto" }, s.noModel ?? "No model is configured: choose a provider and model in the settings below, or set RIPOSTE_LLM_PROVIDER and RIPOSTE_LLM_MODEL for the server."),
      h("div", { class: "row" }, button("Choose provider…", undefined, () => post({ type: "pickProvider" })), button("Open settings", undefined, () => post({ type: "openSettings" }), "secondary")),
    ),
  );
  settingsBox.open = true;
}

function renderView(view: ChatView): void {
  renderStatus(view);
  const u = view.usage;
  usageLine.setAttribute("data-input-tokens", String(u.inputTokens));
  usageLine.setAttribute("data-output-tokens", String(u.outputTokens));
  usageLine.setAttribute("data-today", u.today === null ? "" : String(u.today));
  usageLine.setAttribute("data-budget", u.dailyBudget === null ? "" : String(u.dailyBudget));
  usageLine.setAttribute("data-cost", u.costUsd === null ? "" : String(u.costUsd));
  usageLine.textContent = formatUsage(u);

  const settings = JSON.stringify(view.settings);
  if (settings !== shownSettings) {
    shownSettings = settings;
    providerSelect.value = view.settings.provider;
    modelInput.value = view.settings.model;
    baseUrlInput.value = view.settings.baseUrl;
  }

  const busy = isBusy(view);
  modeButton.setAttribute("data-mode", view.mode);
  modeButton.textContent = view.mode === "act" ? "Act" : "Plan";
  modeButton.className = `mode ${view.mode}`;
  for (const [c, box] of autoBoxes) {
    const on = view.autoApprove.includes(c);
    if (box.checked !== on) box.checked = on;
  }
  sendButton.disabled = busy;
  cancelButton.disabled = !busy || view.phase === "cancelling";
  cancelButton.textContent = view.phase === "cancelling" ? "Cancelling…" : "Cancel";
  document.body.setAttribute("data-phase", view.phase);
  renderItems(view.items);
}

window.addEventListener("message", (e: MessageEvent<HostMessage>) => {
  const m = e.data;
  if (m.type === "view") renderView(m.view);
});
post({ type: "ready" });

export {};
