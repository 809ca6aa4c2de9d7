// The editor's own models for the agent (`"provider": "vscode-lm"`, docs/chat-protocol.md): the
// server sends each model turn as `riposte/lm/complete`; this runs it on `vscode.lm` (Copilot or
// any other chat model provider in the editor), streams the text back as `riposte/lm/delta`, and
// answers with the whole turn. `riposte/lm/cancel` stops it. Conversion is in lib/lmConvert.ts.

import * as vscode from "vscode";
import { LSPErrorCodes, ResponseError } from "vscode-languageclient/node";

import { LmMethod, obj, type LmCompleteParams, type LmCompleteResult, type LmErrorKind } from "../lib/chatProtocol";
import { lmErrorKind, LmTurn, modelSelectors, NO_EDITOR_MODEL, readLmComplete, toLmMessages, toLmTools, type LmChatMessage } from "../lib/lmConvert";
import type { ChatConnection } from "./connection";

function failure(kind: LmErrorKind, message: string): ResponseError<{ kind: LmErrorKind }> {
  return new ResponseError(LSPErrorCodes.RequestFailed, message, { kind });
}

function toVscodeMessages(messages: LmChatMessage[]): vscode.LanguageModelChatMessage[] {
  return messages.map((m) => {
    if (m.role === "assistant") {
      const parts = m.parts.map((p) =>
        p.kind === "toolCall" ? new vscode.LanguageModelToolCallPart(p.callId, p.name, p.input) : new vscode.LanguageModelTextPart(p.kind === "text" ? p.value : p.content),
      );
      return vscode.LanguageModelChatMessage.Assistant(parts);
    }
    const parts = m.parts.map((p) =>
      p.kind === "toolResult"
        ? new vscode.LanguageModelToolResultPart(p.callId, [new vscode.LanguageModelTextPart(p.content)])
        : new vscode.LanguageModelTextPart(p.kind === "text" ? p.value : JSON.stringify(p.input)),
    );
    return vscode.LanguageModelChatMessage.User(parts);
  });
}

async function selectModel(name: string): Promise<vscode.LanguageModelChat | undefined> {
  for (const selector of modelSelectors(name)) {
    const models = await vscode.lm.selectChatModels(selector);
    if (models[0] !== undefined) return models[0];
  }
  return undefined;
}

async function countAll(model: vscode.LanguageModelChat, messages: vscode.LanguageModelChatMessage[], token: vscode.CancellationToken): Promise<number> {
  let total = 0;
  for (const m of messages) total += await model.countTokens(m, token);
  return total;
}

export function registerLmBridge(connection: ChatConnection, output: vscode.OutputChannel): vscode.Disposable {
  const running = new Map<string, vscode.CancellationTokenSource>();

  const complete = async (params: LmCompleteParams): Promise<LmCompleteResult> => {
    const model = await selectModel(params.model);
    if (model === undefined) {
      throw failure(
        "no_model",
        params.model.trim() === "" ? NO_EDITOR_MODEL : `The editor has no chat model with id or family "${params.model}". ${NO_EDITOR_MODEL}`,
      );
    }
    const source = new vscode.CancellationTokenSource();
    running.set(params.requestId, source);
    try {
      const messages = toVscodeMessages(toLmMessages(params.system, params.messages));
      const tools = toLmTools(params.tools);
      const response = await model.sendRequest(
        messages,
        {
          justification: "Riposte's agent writes a playbook with this model, in the chat panel you started.",
          ...(tools.length > 0 ? { tools } : {}),
        },
        source.token,
      );
      const turn = new LmTurn();
      for await (const part of response.stream) {
        if (part instanceof vscode.LanguageModelTextPart) {
          turn.addText(part.value);
          void connection.notify(LmMethod.delta, { requestId: params.requestId, text: part.value }).catch(() => undefined);
        } else if (part instanceof vscode.LanguageModelToolCallPart) {
          turn.addToolCall(part.callId, part.name, part.input);
        }
      }
      if (source.token.isCancellationRequested) throw failure("failed", "cancelled");
      // vscode.lm reports no usage: the editor's own estimate (countTokens), as the protocol says.
      const inputTokens = await countAll(model, messages, source.token).catch(() => 0);
      const outputTokens = await Promise.resolve(model.countTokens(turn.outputText(), source.token)).catch(() => 0);
      return turn.result({ inputTokens, outputTokens });
    } catch (e) {
      if (e instanceof ResponseError) throw e;
      if (e instanceof vscode.LanguageModelError) {
        const kind = lmErrorKind(e.code);
        throw failure(
          kind,
          kind === "refused"
            ? `The editor did not let Riposte use ${model.name} (${e.message}). Allow it when the editor asks, or choose another provider.`
            : `${model.name} failed: ${e.message}`,
        );
      }
      throw failure("failed", `${model.name} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      running.delete(params.requestId);
      source.dispose();
    }
  };

  connection.onRequest(LmMethod.complete, async (raw: unknown) => {
    const params = readLmComplete(raw);
    if (params === undefined) throw new ResponseError(-32602, "riposte/lm/complete: the params are not {requestId, model, system, messages, tools}");
    // Method and request id only: the messages may quote the workspace.
    output.appendLine(`[chat] riposte/lm/complete ${params.requestId} (${params.chatId})`);
    return complete(params);
  });
  connection.onNotification(LmMethod.cancel, (raw: unknown) => {
    const id = obj(raw)["requestId"];
    if (typeof id === "string") running.get(id)?.cancel();
  });
  return new vscode.Disposable(() => {
    for (const s of running.values()) s.cancel();
    running.clear();
  });
}
