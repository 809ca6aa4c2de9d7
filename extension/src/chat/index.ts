// The agent chat's part of activation: the connection to the server's chat methods, the panel,
// the `vscode.lm` bridge, and the commands `riposte.openChat` and `riposte.setModelApiKey`.

import * as vscode from "vscode";

import type { ServerManager } from "../client";
import { PROVIDERS } from "../lib/chatProtocol";
import { llmKeyName } from "../lib/lmKey";
import type { SecretStore } from "../lib/profileFlow";
import { ChatController } from "./chatPanel";
import { chatConnection } from "./connection";
import { registerLmBridge } from "./lmBridge";

export interface ChatDeps {
  context: vscode.ExtensionContext;
  server: ServerManager;
  output: vscode.OutputChannel;
  secrets: SecretStore;
  root(): string | undefined;
}

/** The password box behind `riposte/secret {llm}` and "Set API key…"; `undefined` when declined. */
export function askModelKey(provider: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: `Riposte: API key for the ${provider} model provider`,
    prompt: `Kept in the editor's secret store (${llmKeyName(provider)}) and sent only to the Riposte language server, which uses it for the model's API. Escape to decline.`,
    password: true,
    ignoreFocusOut: true,
  });
}

async function setModelApiKey(deps: ChatDeps, arg: unknown): Promise<void> {
  let provider = typeof arg === "string" && arg.trim() !== "" ? arg.trim() : (vscode.workspace.getConfiguration("riposte.agent").get<string>("provider") ?? "");
  if (provider === "") {
    const picked = await vscode.window.showQuickPick(
      PROVIDERS.filter((p) => p !== "vscode-lm").map((p) => ({ label: p })),
      { title: "Riposte: Set Model API Key", placeHolder: "Which provider's key?" },
    );
    if (picked === undefined) return;
    provider = picked.label;
  }
  if (provider === "vscode-lm") {
    void vscode.window.showInformationMessage("Riposte: the editor's own models (vscode-lm) need no API key: the editor's model provider (Copilot…) signs in itself.");
    return;
  }
  const value = await askModelKey(provider);
  if (value === undefined) return;
  const key = llmKeyName(provider);
  try {
    if (value.trim() === "") {
      await deps.secrets.delete(key);
      void vscode.window.showInformationMessage(`Riposte: the ${provider} API key was removed from the editor's secret store.`);
    } else {
      await deps.secrets.store(key, value.trim());
      void vscode.window.showInformationMessage(`Riposte: the ${provider} API key is in the editor's secret store; the next chat task uses it.`);
    }
  } catch (e) {
    void vscode.window.showErrorMessage(
      `Riposte: the editor's secret store refused the key (${e instanceof Error ? e.message : String(e)}). On Linux, make a keyring available or start the editor with --password-store=basic.`,
    );
  }
}

export function registerChat(deps: ChatDeps): vscode.Disposable[] {
  const connection = chatConnection(deps.server);
  const chat = new ChatController(deps.context, connection, deps.output, () => deps.root());
  const lm = registerLmBridge(connection, deps.output);
  return [
    new vscode.Disposable(() => connection.dispose()),
    new vscode.Disposable(() => chat.dispose()),
    lm,
    vscode.commands.registerCommand("riposte.openChat", () => chat.open()),
    vscode.commands.registerCommand("riposte.setModelApiKey", (arg: unknown) => setModelApiKey(deps, arg)),
  ];
}
