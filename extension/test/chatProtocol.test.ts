import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ResponseError } from "vscode-jsonrpc";

import { describeChatError, modelSettingsOf, readAutoApprove, readChatEvent, readStartResult, readStatus } from "../src/lib/chatProtocol";

describe("chat wire types", () => {
  test("reads the agent's events as the server sends them", () => {
    assert.deepEqual(readChatEvent({ type: "text_delta", text: "Hel" }), { type: "text_delta", text: "Hel" });
    assert.deepEqual(
      readChatEvent({ type: "approval_requested", request: { call_id: "c2", tool: "write_playbook", category: "edit", summary: "write playbooks/vt.py", detail: "+x" } }),
      { type: "approval_requested", request: { call_id: "c2", tool: "write_playbook", category: "edit", summary: "write playbooks/vt.py", detail: "+x" } },
    );
    assert.deepEqual(
      readChatEvent({ type: "usage", turn: { input_tokens: 10, output_tokens: 2 }, task: { input_tokens: 100, output_tokens: 20 }, today: 5000, daily_budget: 8000000, task_cost_usd: null }),
      { type: "usage", turn: { input_tokens: 10, output_tokens: 2 }, task: { input_tokens: 100, output_tokens: 20 }, today: 5000, daily_budget: 8000000, task_cost_usd: null },
    );
    assert.deepEqual(readChatEvent({ type: "finished", outcome: "plan_ready", message: "the plan is ready" }), { type: "finished", outcome: "plan_ready", message: "the plan is ready" });
    assert.deepEqual(readChatEvent({ type: "test_run", path: "playbooks/vt.py", dry_run: true, status: "succeeded", changes: ["POST /comments"] }), {
      type: "test_run",
      path: "playbooks/vt.py",
      dry_run: true,
      status: "succeeded",
      changes: ["POST /comments"],
    });
    assert.deepEqual(readChatEvent({ type: "diagnostics", path: "p.py", errors: 1, warnings: 0, items: [{ line: 3, column: 1, code: "RP001", severity: "error", message: "m" }] })?.type, "diagnostics");
  });

  test("unknown or malformed events are dropped, not guessed", () => {
    assert.equal(readChatEvent({ type: "something_new" }), undefined);
    assert.equal(readChatEvent({ type: "approval_requested", request: {} }), undefined);
    assert.equal(readChatEvent({ type: "question", question: { text: "no id" } }), undefined);
    assert.equal(readChatEvent("junk"), undefined);
  });

  test("status: the model in use, the how-to when there is none, today's use", () => {
    const s = readStatus({
      model: { provider: "openai-compatible", model: "gpt-4.1", baseUrl: "https://api.openai.com/v1", source: "settings", keyNeeded: true },
      noModel: null,
      running: "chat-3",
      usage: { today: 123456, dailyBudget: 8000000 },
    });
    assert.equal(s.model?.model, "gpt-4.1");
    assert.equal(s.model?.keyNeeded, true);
    assert.equal(s.running, "chat-3");
    assert.deepEqual(s.usage, { today: 123456, dailyBudget: 8000000 });
    const none = readStatus({ model: null, noModel: "Set RIPOSTE_LLM_PROVIDER…", running: null, usage: null });
    assert.equal(none.model, null);
    assert.equal(none.noModel, "Set RIPOSTE_LLM_PROVIDER…");
    assert.equal(none.usage, null);
  });

  test("start result", () => {
    assert.deepEqual(readStartResult({ chatId: "chat-4" }), { chatId: "chat-4" });
    assert.equal(readStartResult({}), undefined);
  });

  test("settings → ModelSettings: all empty is null (the server's environment), an empty base URL is null", () => {
    assert.equal(modelSettingsOf({ provider: "", model: " ", baseUrl: "" }), null);
    assert.deepEqual(modelSettingsOf({ provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: "" }), { provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: null });
    assert.deepEqual(modelSettingsOf({ provider: "openai-compatible", model: "llama3.1", baseUrl: "http://127.0.0.1:11434/v1 " }), {
      provider: "openai-compatible",
      model: "llama3.1",
      baseUrl: "http://127.0.0.1:11434/v1",
    });
  });

  test("auto-approve: known categories only, in a fixed order; a real run can never be in it", () => {
    assert.deepEqual(readAutoApprove(["test", "edit", "real_run", 3, "edit"]), ["edit", "test"]);
    assert.deepEqual(readAutoApprove(undefined), []);
  });
});

describe("failed chat requests", () => {
  test("method not found (a server without the chat) is a clear 'not available'", () => {
    const e = describeChatError("riposte/chat/status", new ResponseError(-32601, "Unhandled method riposte/chat/status"));
    assert.equal(e.kind, "unavailable");
    assert.match(e.message, /not available/);
    assert.match(e.message, /riposte\/chat\/status/);
  });

  test("RequestFailed carries the server's kind and message", () => {
    const e = describeChatError("riposte/chat/start", new ResponseError(-32803, "no model is configured: set RIPOSTE_LLM_PROVIDER", { kind: "no_model" }));
    assert.deepEqual(e, { kind: "no_model", message: "no model is configured: set RIPOSTE_LLM_PROVIDER" });
    assert.equal(describeChatError("riposte/chat/start", new ResponseError(-32803, "chat-3 is running", { kind: "running" })).kind, "running");
  });

  test("invalid params and anything else name the method", () => {
    assert.equal(describeChatError("riposte/chat/start", new ResponseError(-32602, "missing prompt")).kind, "invalid_params");
    const e = describeChatError("riposte/chat/start", new Error("the Riposte language server is not running"));
    assert.equal(e.kind, "failed");
    assert.match(e.message, /riposte\/chat\/start failed: the Riposte language server is not running/);
  });
});
