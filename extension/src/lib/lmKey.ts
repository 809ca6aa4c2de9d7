// The model provider's API key in the editor's secret store: its key name, and the answer to the
// server's `riposte/secret {"llm": provider, "field": "api_key"}` (docs/chat-protocol.md,
// "Secrets"). The key never goes to the settings, a log or the webview. No `vscode` import.

import type { SecretStore } from "./profileFlow";

/** Where the key of `provider` is kept, e.g. `riposte.llm.anthropic`. */
export function llmKeyName(provider: string): string {
  return `riposte.llm.${provider.trim().toLowerCase()}`;
}

export function isLlmKeyRequest(params: unknown): params is { llm: string; field: "api_key" } {
  if (typeof params !== "object" || params === null) return false;
  const o = params as Record<string, unknown>;
  return typeof o["llm"] === "string" && o["llm"].trim() !== "" && o["field"] === "api_key";
}

/**
 * The stored key; with none stored, asks the person (`ask`, a password box) and keeps what they
 * enter. Declined (Escape or empty) or a store that fails: `{"value": ""}`, which the server
 * reports as "no key" with how to set one.
 */
export async function answerLlmKeyRequest(
  params: { llm: string },
  secrets: SecretStore,
  ask: (provider: string) => Promise<string | undefined>,
): Promise<{ value: string }> {
  const key = llmKeyName(params.llm);
  let stored: string | undefined;
  try {
    stored = await secrets.get(key);
  } catch {
    stored = undefined;
  }
  if (stored !== undefined && stored !== "") return { value: stored };
  const entered = (await ask(params.llm))?.trim();
  if (entered === undefined || entered === "") return { value: "" };
  try {
    await secrets.store(key, entered);
  } catch {
    // Still answer this request; the next task asks again.
  }
  return { value: entered };
}
