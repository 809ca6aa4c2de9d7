// The chat's line to the language server: requests and notifications beside the LSP traffic, and
// handlers for what the server asks (`riposte/chat/*`, `riposte/lm/*`). Handlers are installed on
// every language client the ServerManager creates (a restart makes a new one), so the chat keeps
// working across server restarts.

import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

import type { ServerManager } from "../client";

type Handler = (params: unknown) => unknown;

export interface ChatConnection {
  /** Starts the server if needed; rejects with the server's error (a ResponseError) as is. */
  request(method: string, params: unknown, token?: vscode.CancellationToken): Promise<unknown>;
  notify(method: string, params: unknown): Promise<void>;
  onRequest(method: string, handler: Handler): void;
  onNotification(method: string, handler: Handler): void;
}

/** The ServerManager's current LanguageClient (a restart makes a new one). */
function currentClient(server: ServerManager): LanguageClient | undefined {
  return server.languageClient;
}

export function chatConnection(server: ServerManager): ChatConnection & { dispose(): void } {
  const requests = new Map<string, Handler>();
  const notifications = new Map<string, Handler>();
  const wired = new WeakSet<LanguageClient>();

  const wire = (): LanguageClient | undefined => {
    const client = currentClient(server);
    if (client === undefined || wired.has(client)) return client;
    wired.add(client);
    // LanguageClient keeps these across its own restarts and installs them when it connects.
    for (const [method, handler] of requests) client.onRequest(method, handler);
    for (const [method, handler] of notifications) client.onNotification(method, handler);
    return client;
  };
  const subscription = server.onDidChangeState(() => void wire());

  const running = async (): Promise<LanguageClient> => {
    if (!server.running) await server.start();
    const client = wire();
    if (client === undefined || !client.isRunning()) {
      throw new Error(`the Riposte language server is not running${server.detail ? ` (${server.detail})` : ""}. Run "Riposte: Restart Server", or see "Riposte: Show Logs".`);
    }
    return client;
  };

  return {
    async request(method, params, token) {
      const client = await running();
      // An `undefined` token would be sent as a second positional parameter (params become an
      // array), which the server cannot read as its params object.
      return token === undefined ? await client.sendRequest<unknown>(method, params) : await client.sendRequest<unknown>(method, params, token);
    },
    async notify(method, params) {
      const client = await running();
      await client.sendNotification(method, params);
    },
    onRequest(method, handler) {
      requests.set(method, handler);
      const client = currentClient(server);
      if (client !== undefined && wired.has(client)) client.onRequest(method, handler);
    },
    onNotification(method, handler) {
      notifications.set(method, handler);
      const client = currentClient(server);
      if (client !== undefined && wired.has(client)) client.onNotification(method, handler);
    },
    dispose() {
      subscription.dispose();
    },
  };
}
