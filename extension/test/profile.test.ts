import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "smol-toml";

import {
  AUTH_METHODS,
  profileFileStem,
  readProfile,
  renderProfileToml,
  replaceDescription,
  secretEnvVar,
  tomlString,
  validateEndpointUrl,
  validateName,
  type AuthMethod,
  type ProfileDraft,
} from "../src/lib/profile";

const repo = path.resolve(__dirname, "..", "..");

describe("names", () => {
  test("file stems as core makes them", () => {
    assert.equal(profileFileStem("Microsoft Graph"), "microsoft-graph");
    assert.equal(profileFileStem("  AWS IAM (prod) "), "aws-iam-prod");
    assert.equal(profileFileStem("VirusTotal"), "virustotal");
    assert.equal(profileFileStem("***"), "");
  });
  test("secret environment variables", () => {
    assert.equal(secretEnvVar("VirusTotal", "api_key"), "RIPOSTE_VIRUSTOTAL_API_KEY");
    assert.equal(secretEnvVar("Microsoft Graph", "client_secret"), "RIPOSTE_MICROSOFT_GRAPH_CLIENT_SECRET");
  });
  test("validateName refuses blanks, duplicates and file clashes", () => {
    const existing = [{ name: "VirusTotal", file: "virustotal.toml" }];
    assert.match(validateName("  ", existing) ?? "", /needs a name/);
    assert.match(validateName("virustotal", existing) ?? "", /already exists/);
    assert.match(validateName("Virus-Total", [{ name: "Other", file: "virus-total.toml" }]) ?? "", /virus-total\.toml already exists/);
    assert.match(validateName("a\"b", existing) ?? "", /quotes/);
    assert.match(validateName("!!!", existing) ?? "", /letter or digit/);
    assert.equal(validateName("Jira Cloud", existing), undefined);
  });
});

describe("validateEndpointUrl", () => {
  test("https anywhere, http only on loopback", () => {
    assert.equal(validateEndpointUrl("https://www.virustotal.com/api/v3"), undefined);
    assert.equal(validateEndpointUrl("http://127.0.0.1:8080/api"), undefined);
    assert.equal(validateEndpointUrl("http://localhost:9000"), undefined);
    assert.equal(validateEndpointUrl("http://[::1]:9000/"), undefined);
    assert.match(validateEndpointUrl("http://example.com") ?? "", /only for loopback/);
    assert.match(validateEndpointUrl("ftp://example.com") ?? "", /https/);
  });
  test("no credentials, query or fragment", () => {
    assert.match(validateEndpointUrl("https://user:pw@example.com") ?? "", /user name or password/);
    assert.match(validateEndpointUrl("https://example.com/?apikey=x") ?? "", /query string/);
    assert.match(validateEndpointUrl("https://example.com/#x") ?? "", /fragment/);
    assert.match(validateEndpointUrl("example.com") ?? "", /absolute URL/);
    assert.match(validateEndpointUrl("") ?? "", /required/);
  });
});

test("tomlString escapes what TOML needs", () => {
  const s = 'a "quoted" \\ path\nline\ttab\u0001';
  assert.equal((parse(`x = ${tomlString(s)}`) as { x: string }).x, s);
});

function draft(method: AuthMethod): ProfileDraft {
  const settings: Record<AuthMethod, Record<string, string | string[]>> = {
    api_key: { placement: "header", name: "x-apikey" },
    oauth2_client_credentials: { token_url: "https://login.example.com/token", scopes: ["https://graph.microsoft.com/.default"] },
    aws_sigv4: { region: "us-east-1", service: "iam" },
    basic: {},
    bearer: {},
    hawk: { algorithm: "sha256" },
  };
  return {
    name: `Test ${method}`,
    description: 'Says "hi"',
    baseUrl: "https://api.example.com/v1",
    auth: { method, settings: settings[method] },
    secrets: { api_key: "SECRET-VALUE-123" },
  };
}

describe("renderProfileToml", () => {
  for (const m of AUTH_METHODS) {
    test(`${m.method}: parses back, holds no secret`, () => {
      const text = renderProfileToml(draft(m.method));
      assert.ok(!text.includes("SECRET-VALUE-123"));
      const read = readProfile(text);
      assert.ok(read.ok, read.ok ? "" : read.error);
      if (read.ok) {
        assert.equal(read.profile.method, m.method);
        assert.equal(read.profile.baseUrl, "https://api.example.com/v1");
        assert.equal(read.profile.description, 'Says "hi"');
      }
    });
  }

  test("api_key in a query parameter", () => {
    const d = draft("api_key");
    d.auth.settings = { placement: "query", name: "key" };
    const doc = parse(renderProfileToml(d)) as { auth: Record<string, unknown> };
    assert.deepEqual({ ...doc.auth }, { method: "api_key", query: "key" });
  });

  // The Rust parser is the judge: what the flow writes must pass `riposte check` for every method.
  const binary = [path.join(repo, "target", "debug", "riposte"), path.join(repo, "target", "release", "riposte")].find((p) => existsSync(p));
  test("every method passes riposte check", { skip: binary === undefined ? "no target/{debug,release}/riposte built" : false }, async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), "riposte-profile-"));
    try {
      await writeFile(path.join(ws, "riposte.toml"), '[lint]\nselect = ["RP"]\n');
      await mkdir(path.join(ws, "integrations"));
      for (const m of AUTH_METHODS) {
        await writeFile(path.join(ws, "integrations", `${profileFileStem(`Test ${m.method}`)}.toml`), renderProfileToml(draft(m.method)));
      }
      const r = spawnSync(binary ?? "", ["check", ws, "--format", "json"], { encoding: "utf8" });
      assert.equal(r.status, 0, `riposte check said:\n${r.stdout}\n${r.stderr}`);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});

describe("readProfile: malformed files say what to fix", () => {
  test("not TOML", () => {
    const r = readProfile("name = \n[");
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /not valid TOML/);
  });
  test("missing pieces", () => {
    assert.deepEqual(readProfile('base_url = "https://x"'), { ok: false, error: "missing `name` (a non-empty string)" });
    assert.deepEqual(readProfile('name = "X"\nbase_url = "https://x"'), { ok: false, error: "missing the [auth] table" });
    const r = readProfile('name = "X"\nbase_url = "https://x"\n[auth]\nmethod = "magic"');
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /unknown auth method "magic"/);
  });
  test("a secret in the file is refused, without repeating it", () => {
    const r = readProfile('name = "X"\nbase_url = "https://x"\n[auth]\nmethod = "api_key"\nheader = "k"\napi_key = "hunter2"');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.error, /holds a secret \(`api_key`\)/);
      assert.ok(!r.error.includes("hunter2"));
    }
  });
  test("the demo workspace's profiles all read", async () => {
    const { listProfiles } = await import("../src/lib/workspace");
    const profiles = await listProfiles(path.join(repo, "fixtures", "workspace"));
    assert.ok(profiles.length >= 7);
    for (const p of profiles) assert.ok(p.read.ok, `${p.fileName}: ${p.read.ok ? "" : p.read.error}`);
  });
});

test("replaceDescription keeps the rest of the file", () => {
  const text = 'name = "VT"\ndescription = "old"\nbase_url = "https://x"\n\n[auth]\nmethod = "bearer"\ndescription = "not this one"\n';
  const out = replaceDescription(text, 'new "one"');
  assert.equal(out, 'name = "VT"\ndescription = "new \\"one\\""\nbase_url = "https://x"\n\n[auth]\nmethod = "bearer"\ndescription = "not this one"\n');
  assert.equal(replaceDescription('name = "VT"\n[auth]\n', "d"), 'name = "VT"\ndescription = "d"\n[auth]\n');
});
