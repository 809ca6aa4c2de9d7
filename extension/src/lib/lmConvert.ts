// The agent's model turn (`riposte/lm/complete`, docs/chat-protocol.md) in the shape `vscode.lm`
// takes, and the editor model's streamed parts back into the agent's answer. Pure: the bridge
// (src/chat/lmBridge.ts) maps these parts one to one onto LanguageModelTextPart /
// LanguageModelToolCallPart / LanguageModelToolResultPart. No `vscode` import (unit-tested in
// test/lmConvert.test.ts).

import { obj, type LmCompleteParams, type LmCompleteResult, type LmErrorKind, type LmMessage, type LmToolCall, type LmToolSpec } from "./chatProtocol";

export type LmPart =
  | { kind: "text"; value: string }
  | { kind: "toolCall"; callId: string; name: string; input: object }
  | { kind: "toolResult"; callId: string; content: string };

export interface LmChatMessage {
  role: "user" | "assistant";
  parts: LmPart[];
}

export interface LmToolDecl {
  name: string;
  description: string;
  inputSchema: object;
}

export const NO_EDITOR_MODEL =
  "The editor offers no chat model to Riposte. Install and sign in to an extension that provides one (GitHub Copilot Chat, or any other chat model provider), or choose another provider in the chat panel's settings.";

/** A tool call's JSON text as the object `vscode.lm` wants; text that is not a JSON object is kept under `arguments`. */
export function toolInput(json: string): object {
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch {
    // fall through: the model's own invalid JSON goes back to it as it was
  }
  return { arguments: json };
}

/**
 * The agent's conversation as editor messages. `vscode.lm` has no system role, so the system
 * prompt is the first user message; a tool result is a user-role part, and consecutive messages
 * of one role are merged (several results of one turn go back as one message, as the API wants).
 */
export function toLmMessages(system: string, messages: readonly LmMessage[]): LmChatMessage[] {
  const out: LmChatMessage[] = [];
  const add = (role: "user" | "assistant", parts: LmPart[]) => {
    if (parts.length === 0) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  };
  if (system.trim() !== "") add("user", [{ kind: "text", value: system }]);
  for (const m of messages) {
    if (m.role === "user") add("user", [{ kind: "text", value: m.content }]);
    else if (m.role === "assistant") {
      const parts: LmPart[] = m.content !== "" ? [{ kind: "text", value: m.content }] : [];
      for (const call of m.tool_calls) parts.push({ kind: "toolCall", callId: call.id, name: call.name, input: toolInput(call.arguments) });
      add("assistant", parts);
    } else {
      add("user", [{ kind: "toolResult", callId: m.call_id, content: m.is_error ? `Error: ${m.content}` : m.content }]);
    }
  }
  return out;
}

export function toLmTools(tools: readonly LmToolSpec[]): LmToolDecl[] {
  return tools.map((t) => {
    const schema = t.parameters;
    return { name: t.name, description: t.description, inputSchema: typeof schema === "object" && schema !== null && !Array.isArray(schema) ? schema : { type: "object" } };
  });
}

/** Collects a streamed answer into the agent's result. */
export class LmTurn {
  private text = "";
  private readonly calls: LmToolCall[] = [];

  addText(piece: string): void {
    this.text += piece;
  }

  addToolCall(callId: string, name: string, input: unknown): void {
    this.calls.push({ id: callId, name, arguments: JSON.stringify(input ?? {}) });
  }

  result(usage: { inputTokens: number; outputTokens: number }): LmCompleteResult {
    return { text: this.text, toolCalls: this.calls.slice(), usage, stop: this.calls.length > 0 ? "tool_use" : "end_turn" };
  }

  /** Everything the model said, for counting its tokens. */
  outputText(): string {
    return this.text + this.calls.map((c) => c.name + c.arguments).join("");
  }
}

/** How to pick the model: by id first, then by family; empty means the first one the editor offers. */
export function modelSelectors(model: string): ({ id: string } | { family: string } | undefined)[] {
  const m = model.trim();
  return m === "" ? [undefined] : [{ id: m }, { family: m }];
}

/** `vscode.LanguageModelError.code` as the protocol's `data.kind`. */
export function lmErrorKind(code: unknown): LmErrorKind {
  if (code === "NotFound") return "no_model";
  if (code === "NoPermissions" || code === "Blocked") return "refused";
  return "failed";
}

/** The `riposte/lm/complete` params, read tolerantly; `undefined` when they are not that shape. */
export function readLmComplete(v: unknown): LmCompleteParams | undefined {
  const o = obj(v);
  const requestId = o["requestId"];
  if (typeof requestId !== "string" || !Array.isArray(o["messages"])) return undefined;
  const s = (x: unknown) => (typeof x === "string" ? x : "");
  const messages: LmMessage[] = [];
  for (const raw of o["messages"] as unknown[]) {
    const m = obj(raw);
    if (m["role"] === "user") messages.push({ role: "user", content: s(m["content"]) });
    else if (m["role"] === "assistant") {
      const calls = (Array.isArray(m["tool_calls"]) ? (m["tool_calls"] as unknown[]) : []).map(obj).map((c) => ({ id: s(c["id"]), name: s(c["name"]), arguments: s(c["arguments"]) }));
      messages.push({ role: "assistant", content: s(m["content"]), tool_calls: calls });
    } else if (m["role"] === "tool") messages.push({ role: "tool", call_id: s(m["call_id"]), content: s(m["content"]), is_error: m["is_error"] === true });
    else return undefined;
  }
  const tools = (Array.isArray(o["tools"]) ? (o["tools"] as unknown[]) : []).map(obj).map((t) => ({ name: s(t["name"]), description: s(t["description"]), parameters: t["parameters"] }));
  const max = o["maxTokens"];
  return {
    chatId: s(o["chatId"]),
    requestId,
    model: s(o["model"]),
    system: s(o["system"]),
    messages,
    tools,
    maxTokens: typeof max === "number" ? max : null,
  };
}
