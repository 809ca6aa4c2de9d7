import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";

import type { ProfileSummary } from "../src/lib/profile";
import {
  answerSecretRequest,
  commitProfile,
  editProfileChoice,
  newProfileFlow,
  secretKey,
  storeSecrets,
  type InputOptions,
  type PickOptions,
  type Prompter,
  type SecretStore,
} from "../src/lib/profileFlow";
import { profileFilesIn } from "../src/lib/workspace";

/** Answers from a script; `undefined` in the script means the person pressed Escape. */
function scripted(answers: (string | undefined)[], confirmAnswer = true): Prompter & { asked: string[] } {
  const queue = [...answers];
  const asked: string[] = [];
  return {
    asked,
    input(o: InputOptions) {
      asked.push(`input:${o.prompt}`);
      const a = queue.shift();
      if (a !== undefined && o.validate) {
        const err = o.validate(a);
        if (err !== undefined) throw new Error(`validation refused ${JSON.stringify(a)}: ${err}`);
      }
      return Promise.resolve(a);
    },
    pick<T>(o: PickOptions<T>) {
      asked.push(`pick:${o.placeholder}`);
      const a = queue.shift();
      if (a === undefined) return Promise.resolve(undefined);
      const item = o.items.find((i) => i.label === a || String(i.value) === a);
      if (!item) throw new Error(`no item ${a} in ${o.items.map((i) => i.label).join(", ")}`);
      return Promise.resolve(item.value);
    },
    confirm(message: string) {
      asked.push(`confirm:${message}`);
      return Promise.resolve(confirmAnswer);
    },
  };
}

class MemorySecrets implements SecretStore {
  map = new Map<string, string>();
  /** Keys containing this text are refused, as a keyring that is locked for them would. */
  refuse: string | undefined;
  get(key: string) {
    return Promise.resolve(this.map.get(key));
  }
  store(key: string, value: string) {
    if (this.refuse !== undefined && key.includes(this.refuse)) return Promise.reject(new Error("no keyring available (org.freedesktop.secrets)"));
    this.map.set(key, value);
    return Promise.resolve();
  }
  delete(key: string) {
    this.map.delete(key);
    return Promise.resolve();
  }
}

async function tempWorkspace(): Promise<string> {
  const ws = await mkdtemp(path.join(os.tmpdir(), "riposte-flow-"));
  await mkdir(path.join(ws, "integrations"));
  return ws;
}

const VT_ANSWERS = ["VirusTotal", "VT v3", "https://www.virustotal.com/api/v3", "api_key", "header", "x-apikey", "KEY-123"];

describe("newProfileFlow", () => {
  test("asks name, description, base URL, method, its settings and secrets", async () => {
    const p = scripted(VT_ANSWERS);
    const d = await newProfileFlow(p, []);
    assert.deepEqual(d, {
      name: "VirusTotal",
      description: "VT v3",
      baseUrl: "https://www.virustotal.com/api/v3",
      auth: { method: "api_key", settings: { placement: "header", name: "x-apikey" } },
      secrets: { api_key: "KEY-123" },
    });
    assert.equal(p.asked.length, 7);
  });

  test("oauth2: scopes are a list; both secrets asked", async () => {
    const d = await newProfileFlow(
      scripted(["Graph", "", "https://graph.microsoft.com", "oauth2_client_credentials", "https://login.microsoftonline.com/t/oauth2/v2.0/token", "a, b", "id", "sec"]),
      [],
    );
    assert.deepEqual(d?.auth.settings, { token_url: "https://login.microsoftonline.com/t/oauth2/v2.0/token", scopes: ["a", "b"] });
    assert.deepEqual(d?.secrets, { client_id: "id", client_secret: "sec" });
  });

  test("an optional secret left empty is not stored", async () => {
    const d = await newProfileFlow(scripted(["AWS", "", "https://iam.amazonaws.com", "aws_sigv4", "us-east-1", "iam", "AKIA", "s3cr3t", ""]), []);
    assert.deepEqual(d?.secrets, { access_key_id: "AKIA", secret_access_key: "s3cr3t" });
  });

  for (let step = 0; step < VT_ANSWERS.length; step++) {
    test(`cancelled at step ${step + 1}: nothing is written, nothing stored`, async () => {
      const answers: (string | undefined)[] = [...VT_ANSWERS.slice(0, step), undefined];
      const d = await newProfileFlow(scripted(answers), []);
      assert.equal(d, undefined);
    });
  }
});

describe("commitProfile", () => {
  test("writes integrations/<stem>.toml and stores the secrets apart", async () => {
    const ws = await tempWorkspace();
    try {
      const secrets = new MemorySecrets();
      const d = await newProfileFlow(scripted(VT_ANSWERS), []);
      assert.ok(d);
      const r = await commitProfile(d, profileFilesIn(ws), secrets);
      assert.deepEqual(r, { ok: true, file: "virustotal.toml" });
      const text = await readFile(path.join(ws, "integrations", "virustotal.toml"), "utf8");
      assert.ok(!text.includes("KEY-123"), "the secret must not be in the file");
      assert.match(text, /header = "x-apikey"/);
      const key = secretKey({ name: "VirusTotal", baseUrl: "https://www.virustotal.com/api/v3", method: "api_key" }, "api_key");
      assert.equal(secrets.map.get(key), "KEY-123");
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  test("a secret store that refuses: no file, no secret left behind", async () => {
    const ws = await tempWorkspace();
    try {
      const secrets = new MemorySecrets();
      secrets.refuse = '"client_secret"'; // the second secret is refused
      const d = await newProfileFlow(scripted(["Graph", "", "https://graph.microsoft.com", "oauth2_client_credentials", "https://login.example.com/token", "", "id", "sec"]), []);
      assert.ok(d);
      const r = await commitProfile(d, profileFilesIn(ws), secrets);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.stage, "secrets");
        assert.match(r.message, /refused to keep the client_secret of "Graph"/);
        assert.match(r.message, /Nothing was written/);
        assert.match(r.next, /password-store=basic/);
      }
      assert.deepEqual(await readdir(path.join(ws, "integrations")), []);
      assert.equal(secrets.map.size, 0);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  test("a file that cannot be written takes its secrets back out", async () => {
    const ws = await tempWorkspace();
    try {
      await writeFile(path.join(ws, "integrations", "virustotal.toml"), "# someone else's\n");
      const secrets = new MemorySecrets();
      const d = await newProfileFlow(scripted(VT_ANSWERS), []);
      assert.ok(d);
      const r = await commitProfile(d, profileFilesIn(ws), secrets);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.stage, "file");
      assert.equal(await readFile(path.join(ws, "integrations", "virustotal.toml"), "utf8"), "# someone else's\n");
      assert.equal(secrets.map.size, 0);
      assert.deepEqual((await readdir(path.join(ws, "integrations"))).sort(), ["virustotal.toml"], "no temporary file left");
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  test("replacing a profile: new file, old file and old secrets gone", async () => {
    const ws = await tempWorkspace();
    try {
      const secrets = new MemorySecrets();
      const first = await newProfileFlow(scripted(VT_ANSWERS), []);
      assert.ok(first);
      await commitProfile(first, profileFilesIn(ws), secrets);
      const old: ProfileSummary = { name: "VirusTotal", description: "VT v3", baseUrl: "https://www.virustotal.com/api/v3", method: "api_key" };
      // Same name, new base URL: the edit flow's "create new and delete old".
      const second = await newProfileFlow(scripted(["VirusTotal", "VT", "http://127.0.0.1:9999/api/v3", "bearer", "TOKEN"]), [], old);
      assert.ok(second);
      const r = await commitProfile(second, profileFilesIn(ws), secrets, { file: "virustotal.toml", profile: old });
      assert.deepEqual(r, { ok: true, file: "virustotal.toml" });
      const text = await readFile(path.join(ws, "integrations", "virustotal.toml"), "utf8");
      assert.match(text, /base_url = "http:\/\/127\.0\.0\.1:9999\/api\/v3"/);
      assert.match(text, /method = "bearer"/);
      assert.deepEqual([...secrets.map.values()], ["TOKEN"]);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});

describe("editing: base URL and auth method are immutable", () => {
  const profile: ProfileSummary = { name: "VirusTotal", description: "", baseUrl: "https://www.virustotal.com/api/v3", method: "api_key" };
  test("choosing the base URL offers create-new-and-delete-old", async () => {
    const p = scripted(["base_url"], true);
    assert.equal(await editProfileChoice(p, profile), "replace");
    assert.match(p.asked[1] ?? "", /cannot be changed/);
  });
  test("declining changes nothing", async () => {
    assert.equal(await editProfileChoice(scripted(["method"], false), profile), undefined);
  });
  test("description and secrets are editable in place", async () => {
    assert.equal(await editProfileChoice(scripted(["description"]), profile), "description");
    assert.equal(await editProfileChoice(scripted(["secrets"]), profile), "secrets");
  });
});

describe("storeSecrets", () => {
  test("all or nothing: a refusal restores the previous values", async () => {
    const secrets = new MemorySecrets();
    const p: ProfileSummary = { name: "Jira", description: "", baseUrl: "https://x.atlassian.net", method: "basic" };
    const k = (f: string) => secretKey({ name: p.name, baseUrl: p.baseUrl, method: p.method }, f);
    secrets.map.set(k("username"), "old-user");
    secrets.refuse = '"password"';
    const r = await storeSecrets(secrets, p, { username: "new-user", password: "pw" });
    assert.equal(r.ok, false);
    assert.equal(secrets.map.get(k("username")), "old-user");
    assert.equal(secrets.map.has(k("password")), false);
  });
});

describe("riposte/secret requests", () => {
  const vt: ProfileSummary = { name: "VirusTotal", description: "", baseUrl: "https://www.virustotal.com/api/v3", method: "api_key" };
  const find = (name: string) => Promise.resolve(name === "VirusTotal" ? vt : undefined);
  test("serves a stored secret of the profile's method", async () => {
    const s = new MemorySecrets();
    s.map.set(secretKey({ name: vt.name, baseUrl: vt.baseUrl, method: vt.method }, "api_key"), "K");
    assert.deepEqual(await answerSecretRequest({ profile: "VirusTotal", field: "api_key" }, find, s), { value: "K" });
  });
  test("refuses fields the method does not have, unknown profiles and junk", async () => {
    const s = new MemorySecrets();
    s.map.set(secretKey({ name: vt.name, baseUrl: vt.baseUrl, method: vt.method }, "password"), "should-not-leak");
    assert.equal(await answerSecretRequest({ profile: "VirusTotal", field: "password" }, find, s), null);
    assert.equal(await answerSecretRequest({ profile: "Nope", field: "api_key" }, find, s), null);
    assert.equal(await answerSecretRequest("junk", find, s), null);
    assert.equal(await answerSecretRequest({ profile: 1, field: [] }, find, s), null);
  });
  test("a secret stored for another base URL is not served", async () => {
    const s = new MemorySecrets();
    s.map.set(secretKey({ name: vt.name, baseUrl: "https://evil.example", method: vt.method }, "api_key"), "K");
    assert.equal(await answerSecretRequest({ profile: "VirusTotal", field: "api_key" }, find, s), null);
  });
  test("a missing secret is asked for, stored and returned; declined is null", async () => {
    const s = new MemorySecrets();
    assert.deepEqual(await answerSecretRequest({ profile: "VirusTotal", field: "api_key" }, find, s, () => Promise.resolve("typed")), { value: "typed" });
    assert.equal(s.map.size, 1);
    const s2 = new MemorySecrets();
    assert.equal(await answerSecretRequest({ profile: "VirusTotal", field: "api_key" }, find, s2, () => Promise.resolve(undefined)), null);
  });
  test("ask: false (an agent's dry run) answers from the store only and never prompts", async () => {
    let prompted = 0;
    const ask = () => {
      prompted += 1;
      return Promise.resolve("typed");
    };
    const empty = new MemorySecrets();
    assert.equal(await answerSecretRequest({ profile: "VirusTotal", field: "api_key", ask: false }, find, empty, ask), null);
    assert.equal(prompted, 0);
    assert.equal(empty.map.size, 0, "nothing is stored when nobody was asked");
    const stored = new MemorySecrets();
    stored.map.set(secretKey({ name: vt.name, baseUrl: vt.baseUrl, method: vt.method }, "api_key"), "K");
    assert.deepEqual(await answerSecretRequest({ profile: "VirusTotal", field: "api_key", ask: false }, find, stored, ask), { value: "K" });
    assert.equal(prompted, 0);
    // `ask: true` or no `ask` keeps the old behaviour: the person is asked.
    assert.deepEqual(await answerSecretRequest({ profile: "VirusTotal", field: "api_key", ask: true }, find, new MemorySecrets(), ask), { value: "typed" });
    assert.equal(prompted, 1);
  });
  test("the name the agent's plan suggests is offered first in a new profile", async () => {
    const prompter = scripted([undefined]);
    let offered: string | undefined;
    const original = prompter.input.bind(prompter);
    prompter.input = (o: InputOptions) => {
      offered ??= o.value;
      return original(o);
    };
    assert.equal(await newProfileFlow(prompter, [], undefined, "VirusTotal"), undefined);
    assert.equal(offered, "VirusTotal");
  });
});
