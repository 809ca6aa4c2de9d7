import assert from "node:assert/strict";
import { describe, test } from "node:test";

import type { ChatEvent } from "../src/lib/chatProtocol";
import { diffLines, formatUsage, initialChatView, isBusy, reduceChat, shortArguments, type ChatAction, type ChatItem, type ChatView } from "../src/lib/chatState";

const ev = (event: ChatEvent, chatId = "chat-1"): ChatAction => ({ type: "event", chatId, event });
const run = (actions: ChatAction[], from: ChatView = initialChatView()): ChatView => actions.reduce(reduceChat, from);
const of = <K extends ChatItem["kind"]>(view: ChatView, kind: K) => view.items.filter((i): i is Extract<ChatItem, { kind: K }> => i.kind === kind);

const DIFF = "--- a/playbooks/vt.py\n+++ b/playbooks/vt.py\n@@ -0,0 +1,2 @@\n+def run(ctx):\n+    pass\n";
const plan = {
  summary: "Enrich URL evidence with VirusTotal",
  steps: ["read the URLs", "look each up", "comment"],
  mermaid: "flowchart TD\n  A[alert] --> B[VirusTotal]",
  integrations: ["VirusTotal", "Sentinel"],
  missing_profiles: ["VirusTotal"],
};

// A whole task as the server sends it (docs/chat-protocol.md), with the panel's own actions between.
const recorded: ChatAction[] = [
  { type: "send", prompt: "Enrich URL evidence with VirusTotal" },
  // The server may send the first events before the start answer: the panel adopts the id.
  ev({ type: "task_started", task_id: "t1", prompt: "Enrich URL evidence with VirusTotal", mode: "plan", provider: "openai-compatible", model: "gpt-4.1" }),
  { type: "started", chatId: "chat-1" },
  ev({ type: "text_delta", text: "Let me " }),
  ev({ type: "text_delta", text: "look" }),
  ev({ type: "assistant_message", text: "Let me look at the integrations." }),
  ev({ type: "tool_call_proposed", call_id: "c1", tool: "list_integrations", arguments: "{}" }),
  ev({ type: "tool_result", call_id: "c1", tool: "list_integrations", is_error: false, content: "VirusTotal: missing" }),
  ev({ type: "tool_call_proposed", call_id: "c2", tool: "propose_plan", arguments: "{\"summary\":\"Enrich\"}" }),
  ev({ type: "plan", plan }),
  { type: "switchAsked", chatId: "chat-1", plan },
  { type: "switchAnswered", switchToAct: true },
  ev({ type: "mode_changed", mode: "act", reason: "the user approved the plan" }),
  ev({ type: "tool_result", call_id: "c2", tool: "propose_plan", is_error: false, content: "Plan recorded." }),
  ev({ type: "tool_call_proposed", call_id: "c3", tool: "write_playbook", arguments: "{\"path\":\"playbooks/vt.py\",\"code\":\"def run(ctx): ...\"}" }),
  ev({ type: "approval_requested", request: { call_id: "c3", tool: "write_playbook", category: "edit", summary: "write playbooks/vt.py", detail: DIFF } }),
  { type: "approvalAsked", chatId: "chat-1", request: { call_id: "c3", tool: "write_playbook", category: "edit", summary: "write playbooks/vt.py", detail: DIFF } },
  { type: "approvalAnswered", callId: "c3", approve: true },
  ev({ type: "tool_call_approved", call_id: "c3", automatically: false }),
  ev({ type: "file_written", path: "playbooks/vt.py", diff: DIFF }),
  ev({ type: "diagnostics", path: "playbooks/vt.py", errors: 0, warnings: 1, items: [{ line: 2, column: 5, code: "RP015", severity: "warning", message: "unused" }] }),
  ev({ type: "tool_result", call_id: "c3", tool: "write_playbook", is_error: false, content: "written; 0 errors" }),
  ev({ type: "tool_call_proposed", call_id: "c4", tool: "run_test", arguments: "{\"alert\":\"alerts/a.json\"}" }),
  ev({ type: "tool_call_approved", call_id: "c4", automatically: true }),
  ev({ type: "test_run", path: "playbooks/vt.py", dry_run: true, status: "succeeded", changes: ["POST /incidents/7/comments"] }),
  ev({ type: "tool_result", call_id: "c4", tool: "run_test", is_error: false, content: "dry run succeeded" }),
  ev({ type: "tool_call_proposed", call_id: "c5", tool: "run_test", arguments: "{\"dry_run\":false}" }),
  ev({ type: "approval_requested", request: { call_id: "c5", tool: "run_test", category: "real_run", summary: "real run", detail: "POST /incidents/7/comments" } }),
  { type: "approvalAsked", chatId: "chat-1", request: { call_id: "c5", tool: "run_test", category: "real_run", summary: "real run", detail: "POST /incidents/7/comments" } },
  { type: "approvalAnswered", callId: "c5", approve: false, reason: "not on production" },
  ev({ type: "tool_call_refused", call_id: "c5", tool: "run_test", by: "person", reason: "not on production" }),
  ev({ type: "tool_result", call_id: "c5", tool: "run_test", is_error: true, content: "the user rejected this run_test" }),
  // A late message of a task this panel never followed is dropped.
  ev({ type: "error", message: "from another task" }, "chat-0"),
  ev({ type: "usage", turn: { input_tokens: 900, output_tokens: 80 }, task: { input_tokens: 5200, output_tokens: 640 }, today: 120000, daily_budget: 8000000, task_cost_usd: 0.0213 }),
  ev({ type: "finished", outcome: "completed", message: "playbooks/vt.py is written and validates" }),
];

describe("the chat reducer on a recorded task", () => {
  const view = run(recorded);

  test("follows the task and ends idle", () => {
    assert.equal(view.chatId, "chat-1");
    assert.equal(view.phase, "idle");
    assert.equal(isBusy(view), false);
    assert.equal(view.mode, "act");
  });

  test("streamed text is assembled, then replaced by the whole message", () => {
    const assistant = of(view, "assistant");
    assert.equal(assistant.length, 1);
    assert.equal(assistant[0]?.text, "Let me look at the integrations.");
    assert.equal(assistant[0]?.streaming, false);
    const mid = run(recorded.slice(0, 5));
    assert.equal(of(mid, "assistant")[0]?.text, "Let me look");
    assert.equal(of(mid, "assistant")[0]?.streaming, true);
  });

  test("each tool call ends in its state", () => {
    const tools = Object.fromEntries(of(view, "tool").map((t) => [t.callId, t]));
    assert.equal(tools["c1"]?.state, "done");
    assert.equal(tools["c3"]?.state, "done");
    assert.equal(tools["c3"]?.args, "path=playbooks/vt.py code=def run(ctx): ...");
    assert.equal(tools["c4"]?.state, "done");
    assert.equal(tools["c5"]?.state, "refused");
    assert.equal(tools["c5"]?.refusedBy, "person");
    assert.equal(tools["c5"]?.reason, "not on production");
  });

  test("approval cards: approved by the person, auto-approved, rejected with the reason", () => {
    const cards = of(view, "approval");
    assert.deepEqual(
      cards.map((c) => [c.callId, c.category, c.state, c.awaiting]),
      [
        ["c3", "edit", "approved", false],
        ["c4", "test", "auto", false],
        ["c5", "real_run", "rejected", false],
      ],
    );
    assert.equal(cards[0]?.detail, DIFF);
    assert.equal(cards[2]?.reason, "not on production");
    // While the server waits, the card is answerable.
    const waiting = run(recorded.slice(0, 17));
    const card = of(waiting, "approval")[0];
    assert.equal(card?.state, "pending");
    assert.equal(card?.awaiting, true);
  });

  test("plan, file, diagnostics, test run, usage, outcome", () => {
    const p = of(view, "plan")[0];
    assert.equal(p?.state, "switched");
    assert.deepEqual(p?.plan.missing_profiles, ["VirusTotal"]);
    assert.equal(of(view, "file")[0]?.path, "playbooks/vt.py");
    assert.equal(of(view, "diagnostics")[0]?.items[0]?.code, "RP015");
    const t = of(view, "test_run")[0];
    assert.equal(t?.dryRun, true);
    assert.deepEqual(t?.changes, ["POST /incidents/7/comments"]);
    assert.deepEqual(view.usage, { inputTokens: 5200, outputTokens: 640, costUsd: 0.0213, today: 120000, dailyBudget: 8000000 });
    assert.equal(formatUsage(view.usage), "task 5.2k in / 640 out · $0.02 · today 120k / 8M");
    assert.equal(of(view, "error").length, 0, "the other task's error was dropped");
    const last = view.items[view.items.length - 1];
    assert.equal(last?.kind, "finished");
    assert.equal(last?.kind === "finished" ? last.outcome : "", "completed");
  });

  test("items only change rev when they change", () => {
    const before = run(recorded.slice(0, 10));
    const after = reduceChat(before, ev({ type: "notice", message: "trimmed" }));
    assert.equal(after.items.length, before.items.length + 1);
    for (let i = 0; i < before.items.length; i++) assert.equal(after.items[i], before.items[i]);
  });
});

describe("the chat reducer's edges", () => {
  test("a task that ends while a card waits: the card counts as rejected, the question as declined", () => {
    const view = run([
      { type: "send", prompt: "x" },
      { type: "started", chatId: "chat-2" },
      { type: "approvalAsked", chatId: "chat-2", request: { call_id: "c1", tool: "fetch_url", category: "fetch", summary: "fetch", detail: "https://example.org" } },
      { type: "questionAsked", chatId: "chat-2", question: { id: "q1", text: "Which field?", choices: ["url", "domain"] } },
      ev({ type: "finished", outcome: "cancelled", message: "cancelled" }, "chat-2"),
    ]);
    const card = of(view, "approval")[0];
    assert.equal(card?.state, "rejected");
    assert.equal(card?.awaiting, false);
    assert.equal(of(view, "question")[0]?.state, "declined");
  });

  test("questions: asked, answered", () => {
    const view = run([
      { type: "send", prompt: "x" },
      { type: "started", chatId: "chat-2" },
      ev({ type: "question", question: { id: "q1", text: "Which field?", choices: ["url"] } }, "chat-2"),
      { type: "questionAsked", chatId: "chat-2", question: { id: "q1", text: "Which field?", choices: ["url"] } },
    ]);
    assert.equal(of(view, "question").length, 1);
    assert.equal(of(view, "question")[0]?.state, "asking");
    const answered = reduceChat(view, { type: "questionAnswered", questionId: "q1", text: "url" });
    assert.equal(of(answered, "question")[0]?.state, "answered");
    assert.equal(of(answered, "question")[0]?.answer, "url");
  });

  test("a failed start is an error line and the panel is idle again", () => {
    const view = run([
      { type: "send", prompt: "x" },
      { type: "startFailed", error: { kind: "unavailable", message: "The agent chat is not available" } },
    ]);
    assert.equal(view.phase, "idle");
    assert.deepEqual(of(view, "error").map((e) => e.message), ["The agent chat is not available"]);
  });

  test("New task clears the panel and drops the left task's late events", () => {
    const running = run([{ type: "send", prompt: "x" }, { type: "started", chatId: "chat-3" }, ev({ type: "text_delta", text: "hi" }, "chat-3")]);
    const fresh = run([{ type: "newTask" }, ev({ type: "text_delta", text: "late" }, "chat-3"), { type: "send", prompt: "y" }, ev({ type: "text_delta", text: "late again" }, "chat-3")], running);
    assert.deepEqual(fresh.left, ["chat-3"]);
    assert.deepEqual(fresh.items.map((i) => i.kind), ["user"]);
    assert.equal(fresh.chatId, null);
    assert.equal(run([{ type: "setMode", mode: "act" }, { type: "newTask" }]).mode, "plan", "a new task starts in Plan");
    const ids = new Set([...running.items, ...fresh.items].map((i) => i.id));
    assert.equal(ids.size, running.items.length + fresh.items.length, "item ids are never reused");
  });

  test("a start answered after New task is left", () => {
    const view = run([{ type: "send", prompt: "x" }, { type: "newTask" }, { type: "leave", chatId: "chat-5" }, { type: "started", chatId: "chat-5" }]);
    assert.equal(view.chatId, null);
    assert.equal(view.phase, "idle");
  });

  test("status: the model in use and today's budget", () => {
    const view = reduceChat(initialChatView(), {
      type: "status",
      status: { model: { provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: null, source: "settings", keyNeeded: true }, noModel: null, running: null, usage: { today: 10, dailyBudget: 8000000 } },
    });
    assert.equal(view.status.state, "ready");
    assert.equal(view.usage.today, 10);
    assert.equal(view.usage.dailyBudget, 8000000);
  });
});

describe("rendering helpers", () => {
  test("diff lines carry their kind", () => {
    assert.deepEqual(
      diffLines(DIFF).map((l) => l.kind),
      ["meta", "meta", "hunk", "add", "add"],
    );
    assert.deepEqual(diffLines("@@ -1 +1 @@\n-a\n+b\n c").map((l) => l.kind), ["hunk", "del", "add", "context"]);
  });

  test("short arguments", () => {
    assert.equal(shortArguments("{\"url\":\"https://x.example/a\"}"), "url=https://x.example/a");
    assert.equal(shortArguments("not json"), "not json");
    assert.equal(shortArguments(JSON.stringify({ code: "x".repeat(500) })).length, 120);
  });
});
