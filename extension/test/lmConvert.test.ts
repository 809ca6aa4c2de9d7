import assert from "node:assert/strict";
import { describe, test } from "node:test";

import type { LmMessage } from "../src/lib/chatProtocol";
import { lmErrorKind, LmTurn, modelSelectors, readLmComplete, toLmMessages, toLmTools, toolInput } from "../src/lib/lmConvert";

// A conversation as the agent sends it in riposte/lm/complete (snake_case, docs/chat-protocol.md).
const messages: LmMessage[] = [
  { role: "user", content: "Enrich URL evidence with VirusTotal" },
  { role: "assistant", content: "Looking at the integrations.", tool_calls: [{ id: "c1", name: "list_integrations", arguments: "{}" }] },
  { role: "tool", call_id: "c1", content: "VirusTotal (api_key)", is_error: false },
  { role: "assistant", content: "", tool_calls: [
    { id: "c2", name: "read_file", arguments: "{\"path\":\"riposte.toml\"}" },
    { id: "c3", name: "read_file", arguments: "{\"path\":\".env\"}" },
  ] },
  { role: "tool", call_id: "c2", content: "[workspace]", is_error: false },
  { role: "tool", call_id: "c3", content: "refused: secrets file", is_error: true },
  { role: "user", content: "Use the comment API too" },
];

describe("agent messages → vscode.lm messages", () => {
  test("system first as a user message, tool calls on the assistant, results as user parts, same roles merged", () => {
    const out = toLmMessages("You are Riposte's playbook author.", messages);
    assert.deepEqual(
      out.map((m) => m.role),
      ["user", "assistant", "user", "assistant", "user"],
    );
    assert.deepEqual(out[0], {
      role: "user",
      parts: [
        { kind: "text", value: "You are Riposte's playbook author." },
        { kind: "text", value: "Enrich URL evidence with VirusTotal" },
      ],
    });
    assert.deepEqual(out[1], {
      role: "assistant",
      parts: [
        { kind: "text", value: "Looking at the integrations." },
        { kind: "toolCall", callId: "c1", name: "list_integrations", input: {} },
      ],
    });
    assert.deepEqual(out[2]?.parts, [{ kind: "toolResult", callId: "c1", content: "VirusTotal (api_key)" }]);
    // An empty assistant text is left out; both calls of one turn stay in one message.
    assert.deepEqual(out[3]?.parts, [
      { kind: "toolCall", callId: "c2", name: "read_file", input: { path: "riposte.toml" } },
      { kind: "toolCall", callId: "c3", name: "read_file", input: { path: ".env" } },
    ]);
    // Both results and the next user text go back as one user message; an error result says so.
    assert.deepEqual(out[4]?.parts, [
      { kind: "toolResult", callId: "c2", content: "[workspace]" },
      { kind: "toolResult", callId: "c3", content: "Error: refused: secrets file" },
      { kind: "text", value: "Use the comment API too" },
    ]);
  });

  test("no system prompt: the conversation starts with the user's message", () => {
    const out = toLmMessages("  ", [{ role: "user", content: "hi" }]);
    assert.deepEqual(out, [{ role: "user", parts: [{ kind: "text", value: "hi" }] }]);
  });

  test("arguments that are not a JSON object go back to the model as they were", () => {
    assert.deepEqual(toolInput("{\"a\":1}"), { a: 1 });
    assert.deepEqual(toolInput("{broken"), { arguments: "{broken" });
    assert.deepEqual(toolInput("[1,2]"), { arguments: "[1,2]" });
  });

  test("tool specs: parameters become inputSchema; a missing schema is an empty object schema", () => {
    const schema = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };
    assert.deepEqual(toLmTools([
      { name: "read_file", description: "Read a workspace file", parameters: schema },
      { name: "validate", description: "Validate", parameters: null },
    ]), [
      { name: "read_file", description: "Read a workspace file", inputSchema: schema },
      { name: "validate", description: "Validate", inputSchema: { type: "object" } },
    ]);
  });
});

describe("the editor model's answer → riposte/lm/complete result", () => {
  test("text pieces are joined, tool calls carry JSON text, stop says tool_use", () => {
    const turn = new LmTurn();
    turn.addText("I will ");
    turn.addText("write it.");
    turn.addToolCall("call_9", "write_playbook", { path: "playbooks/vt.py", code: "print(1)" });
    assert.deepEqual(turn.result({ inputTokens: 1200, outputTokens: 310 }), {
      text: "I will write it.",
      toolCalls: [{ id: "call_9", name: "write_playbook", arguments: "{\"path\":\"playbooks/vt.py\",\"code\":\"print(1)\"}" }],
      usage: { inputTokens: 1200, outputTokens: 310 },
      stop: "tool_use",
    });
    assert.match(turn.outputText(), /write_playbook/);
  });

  test("text only ends the turn", () => {
    const turn = new LmTurn();
    turn.addText("done");
    assert.equal(turn.result({ inputTokens: 1, outputTokens: 1 }).stop, "end_turn");
  });

  test("model selection: id, then family; empty takes the first model", () => {
    assert.deepEqual(modelSelectors("gpt-4o"), [{ id: "gpt-4o" }, { family: "gpt-4o" }]);
    assert.deepEqual(modelSelectors(""), [undefined]);
  });

  test("LanguageModelError codes map to the protocol's kinds", () => {
    assert.equal(lmErrorKind("NotFound"), "no_model");
    assert.equal(lmErrorKind("NoPermissions"), "refused");
    assert.equal(lmErrorKind("Blocked"), "refused");
    assert.equal(lmErrorKind("Unknown"), "failed");
    assert.equal(lmErrorKind(undefined), "failed");
  });

  test("reads the request params and refuses other shapes", () => {
    const params = readLmComplete({ chatId: "chat-4", requestId: "lm-17", model: "gpt-4o", system: "S", messages, tools: [{ name: "t", description: "d", parameters: {} }], maxTokens: 8192 });
    assert.equal(params?.requestId, "lm-17");
    assert.equal(params?.messages.length, messages.length);
    assert.deepEqual(params?.messages[1], messages[1]);
    assert.equal(params?.maxTokens, 8192);
    assert.equal(readLmComplete({ requestId: "x" }), undefined);
    assert.equal(readLmComplete({ requestId: "x", messages: [{ role: "system", content: "no" }] }), undefined);
  });
});
