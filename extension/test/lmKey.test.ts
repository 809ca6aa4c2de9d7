import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { answerLlmKeyRequest, isLlmKeyRequest, llmKeyName } from "../src/lib/lmKey";
import type { SecretStore } from "../src/lib/profileFlow";

function memoryStore(initial: Record<string, string> = {}, refuseStore = false): SecretStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    get: (k) => Promise.resolve(data.get(k)),
    store: (k, v) => {
      if (refuseStore) return Promise.reject(new Error("no keyring"));
      data.set(k, v);
      return Promise.resolve();
    },
    delete: (k) => {
      data.delete(k);
      return Promise.resolve();
    },
  };
}

describe("riposte/secret for the model provider's key", () => {
  test("recognises {llm, field: api_key} and nothing else", () => {
    assert.equal(isLlmKeyRequest({ llm: "anthropic", field: "api_key" }), true);
    assert.equal(isLlmKeyRequest({ llm: "", field: "api_key" }), false);
    assert.equal(isLlmKeyRequest({ llm: "anthropic", field: "token" }), false);
    assert.equal(isLlmKeyRequest({ profile: "VirusTotal", field: "api_key" }), false);
    assert.equal(isLlmKeyRequest({ engine: "http://127.0.0.1:7878", field: "token" }), false);
    assert.equal(isLlmKeyRequest(null), false);
  });

  test("one key per provider, under riposte.llm.<provider>", () => {
    assert.equal(llmKeyName("anthropic"), "riposte.llm.anthropic");
    assert.equal(llmKeyName(" OpenAI-Compatible "), "riposte.llm.openai-compatible");
  });

  test("a stored key is answered without asking", async () => {
    const store = memoryStore({ "riposte.llm.anthropic": "sk-test-fake-1" });
    let asked = 0;
    const answer = await answerLlmKeyRequest({ llm: "anthropic" }, store, () => {
      asked += 1;
      return Promise.resolve("other");
    });
    assert.deepEqual(answer, { value: "sk-test-fake-1" });
    assert.equal(asked, 0);
  });

  test("no stored key: the person is asked, and what they enter is kept for the next task", async () => {
    const store = memoryStore();
    const asked: string[] = [];
    const answer = await answerLlmKeyRequest({ llm: "openai-compatible" }, store, (p) => {
      asked.push(p);
      return Promise.resolve("  sk-test-fake-2 ");
    });
    assert.deepEqual(answer, { value: "sk-test-fake-2" });
    assert.deepEqual(asked, ["openai-compatible"]);
    assert.equal(store.data.get("riposte.llm.openai-compatible"), "sk-test-fake-2");
  });

  test("Escape answers an empty value and stores nothing", async () => {
    const store = memoryStore();
    assert.deepEqual(await answerLlmKeyRequest({ llm: "anthropic" }, store, () => Promise.resolve(undefined)), { value: "" });
    assert.deepEqual(await answerLlmKeyRequest({ llm: "anthropic" }, store, () => Promise.resolve("")), { value: "" });
    assert.equal(store.data.size, 0);
  });

  test("a secret store that refuses still answers this request", async () => {
    const store = memoryStore({}, true);
    assert.deepEqual(await answerLlmKeyRequest({ llm: "anthropic" }, store, () => Promise.resolve("sk-test-fake-3")), { value: "sk-test-fake-3" });
    assert.equal(store.data.size, 0);
  });

  test("a profile's secret is not served as the model key", async () => {
    const store = memoryStore({ 'riposte.secret:["anthropic","https://x","bearer","api_key"]': "profile-secret" });
    assert.deepEqual(await answerLlmKeyRequest({ llm: "anthropic" }, store, () => Promise.resolve(undefined)), { value: "" });
  });
});
