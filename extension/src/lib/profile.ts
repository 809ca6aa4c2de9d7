// Integration profiles as the extension sees them: the auth methods with their settings and secret
// fields, validation of what a person types, the TOML the extension writes, and a tolerant reader
// for the Integration Profiles view. Mirrors server/core/src/formats/profile.rs and
// schemas/integration-profile.schema.json; `riposte check` stays the judge.
// No `vscode` import: unit-tested directly.

import { parse as parseToml } from "smol-toml";

export type AuthMethod = "oauth2_client_credentials" | "api_key" | "aws_sigv4" | "basic" | "bearer" | "hawk";

/** A non-secret setting of an auth method, written under `[auth]`. */
export interface AuthSetting {
  key: string;
  prompt: string;
  placeholder?: string;
  kind: "url" | "text" | "list" | "choice";
  choices?: string[];
  optional?: boolean;
  default?: string;
}

/** A secret field: kept in the editor's secret store, never written to the workspace. */
export interface SecretField {
  key: string;
  prompt: string;
  optional?: boolean;
}

export interface AuthMethodInfo {
  method: AuthMethod;
  label: string;
  detail: string;
  settings: AuthSetting[];
  secrets: SecretField[];
}

export const AUTH_METHODS: readonly AuthMethodInfo[] = [
  {
    method: "api_key",
    label: "API key",
    detail: "A key sent in a request header or a query parameter (VirusTotal, Slack webhooks, most SaaS APIs)",
    settings: [
      { key: "placement", prompt: "Where does the API send the key?", kind: "choice", choices: ["header", "query"], default: "header" },
      { key: "name", prompt: "Name of the header or query parameter that carries the key", placeholder: "x-apikey", kind: "text" },
    ],
    secrets: [{ key: "api_key", prompt: "API key" }],
  },
  {
    method: "oauth2_client_credentials",
    label: "OAuth 2.0 client credentials",
    detail: "A token from a token endpoint with a client ID and secret (Microsoft Graph, ServiceNow)",
    settings: [
      {
        key: "token_url",
        prompt: "Token endpoint URL",
        placeholder: "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token",
        kind: "url",
      },
      {
        key: "scopes",
        prompt: "Scopes, separated by spaces or commas (empty for none)",
        placeholder: "https://graph.microsoft.com/.default",
        kind: "list",
        optional: true,
      },
    ],
    secrets: [
      { key: "client_id", prompt: "Client ID" },
      { key: "client_secret", prompt: "Client secret" },
    ],
  },
  {
    method: "aws_sigv4",
    label: "AWS Signature Version 4",
    detail: "Requests signed with an AWS access key for one region and service",
    settings: [
      { key: "region", prompt: "AWS region", placeholder: "us-east-1", kind: "text", default: "us-east-1" },
      { key: "service", prompt: "AWS service", placeholder: "iam", kind: "text" },
    ],
    secrets: [
      { key: "access_key_id", prompt: "Access key ID" },
      { key: "secret_access_key", prompt: "Secret access key" },
      { key: "session_token", prompt: "Session token (optional: leave empty for long-lived keys)", optional: true },
    ],
  },
  {
    method: "basic",
    label: "HTTP Basic",
    detail: "A user name and password in an Authorization header (Jira Cloud with an API token)",
    settings: [],
    secrets: [
      { key: "username", prompt: "User name" },
      { key: "password", prompt: "Password or API token" },
    ],
  },
  {
    method: "bearer",
    label: "Bearer token",
    detail: "A static token sent as Authorization: Bearer (Slack bot tokens, JWTs)",
    settings: [],
    secrets: [{ key: "token", prompt: "Token" }],
  },
  {
    method: "hawk",
    label: "Hawk",
    detail: "Requests signed with Hawk HTTP authentication",
    settings: [{ key: "algorithm", prompt: "MAC algorithm", kind: "choice", choices: ["sha256", "sha1"], default: "sha256" }],
    secrets: [
      { key: "hawk_id", prompt: "Hawk ID" },
      { key: "hawk_key", prompt: "Hawk key" },
    ],
  },
];

export function authMethodInfo(method: string): AuthMethodInfo | undefined {
  return AUTH_METHODS.find((m) => m.method === method);
}

/** Every key the design calls a secret, whatever the method. */
export const ALL_SECRET_KEYS: ReadonlySet<string> = new Set(AUTH_METHODS.flatMap((m) => m.secrets.map((s) => s.key)));

/** What the flow collects: the profile to write and the secrets to store. */
export interface ProfileDraft {
  name: string;
  description: string;
  baseUrl: string;
  api?: string;
  auth: { method: AuthMethod; settings: Record<string, string | string[]> };
  secrets: Record<string, string>;
}

/** How a profile name becomes its file stem; the same as `profile_file_stem` in core. */
export function profileFileStem(name: string): string {
  let stem = "";
  for (const c of name) {
    if (/^[A-Za-z0-9]$/.test(c)) stem += c.toLowerCase();
    else if (!stem.endsWith("-")) stem += "-";
  }
  return stem.replace(/^-+|-+$/g, "");
}

/** `RIPOSTE_<PROFILE>_<FIELD>`, as the headless runtime reads secrets. */
export function secretEnvVar(profile: string, field: string): string {
  const upper = (s: string) => s.replace(/[^A-Za-z0-9]/g, "_").toUpperCase();
  return `RIPOSTE_${upper(profile)}_${upper(field)}`;
}

export interface ExistingProfile {
  name: string;
  /** File name inside integrations/, e.g. `virustotal.toml`. */
  file: string;
}

export function validateName(name: string, existing: readonly ExistingProfile[]): string | undefined {
  const trimmed = name.trim();
  if (trimmed === "") return "A profile needs a name: playbooks call ctx.integration(\"<name>\").";
  if (trimmed.length > 64) return "Keep the name under 64 characters.";
  if (/["\\\n\r\t]/.test(trimmed)) return "The name cannot contain quotes, backslashes or control characters.";
  const stem = profileFileStem(trimmed);
  if (stem === "") return "The name needs at least one letter or digit (it also names integrations/<name>.toml).";
  const sameName = existing.find((p) => p.name.toLowerCase() === trimmed.toLowerCase());
  if (sameName) return `A profile named "${sameName.name}" already exists (${sameName.file}).`;
  const sameFile = existing.find((p) => p.file.toLowerCase() === `${stem}.toml`);
  if (sameFile) return `integrations/${stem}.toml already exists (profile "${sameFile.name}"); choose another name.`;
  return undefined;
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[0*:(0*:){0,6}0*1\])$/i;

/** https anywhere; http only for loopback hosts; no credentials, query or fragment. */
export function validateEndpointUrl(raw: string, what = "The base URL"): string | undefined {
  const value = raw.trim();
  if (value === "") return `${what} is required, e.g. https://api.example.com/v1.`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${what} must be an absolute URL such as https://api.example.com/v1.`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `${what} must use https (not ${url.protocol.replace(/:$/, "")}).`;
  if (url.protocol === "http:" && !LOOPBACK_HOST.test(url.hostname)) {
    return `${what} must use https; plain http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]).`;
  }
  if (url.username !== "" || url.password !== "") return `${what} must not contain a user name or password: those are secrets, entered in a later step.`;
  if (url.search !== "" || /\?/.test(value)) return `${what} must not contain a query string (an API key in the URL is a secret: use the api_key method with query = NAME).`;
  if (url.hash !== "" || value.includes("#")) return `${what} must not contain a fragment (#…).`;
  return undefined;
}

export function validateSetting(setting: AuthSetting, value: string): string | undefined {
  const v = value.trim();
  if (setting.kind === "url") return validateEndpointUrl(v, setting.prompt);
  if (setting.kind === "list") return undefined;
  if (v === "" && !setting.optional) return `${setting.prompt} is required.`;
  if (/["\\\n\r]/.test(v)) return "Quotes, backslashes and line breaks are not allowed here.";
  if (setting.kind === "choice" && setting.choices && !setting.choices.includes(v)) return `Choose one of ${setting.choices.join(", ")}.`;
  return undefined;
}

export function validateSecret(field: SecretField, value: string): string | undefined {
  if (value === "" && !field.optional) return `${field.prompt} is required (it is stored in the editor's secret store, never in the workspace).`;
  if (/[\r\n]/.test(value)) return "A secret cannot contain line breaks.";
  return undefined;
}

export function splitList(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A TOML basic string. */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return out + '"';
}

/** The profile's TOML: everything but the secrets. */
export function renderProfileToml(draft: ProfileDraft): string {
  const info = authMethodInfo(draft.auth.method);
  const lines: string[] = [];
  lines.push(`name = ${tomlString(draft.name.trim())}`);
  lines.push(`description = ${tomlString(draft.description.trim())}`);
  lines.push(`base_url = ${tomlString(draft.baseUrl.trim())}`);
  if (draft.api !== undefined && draft.api.trim() !== "") lines.push(`api = ${tomlString(draft.api.trim())}`);
  lines.push("");
  lines.push("# Secrets (" + (info?.secrets.map((s) => s.key).join(", ") ?? "") + ") are not written here: the editor keeps them");
  lines.push("# in its secret store; headless runs read RIPOSTE_<PROFILE>_<FIELD> environment variables.");
  lines.push("[auth]");
  lines.push(`method = ${tomlString(draft.auth.method)}`);
  const s = draft.auth.settings;
  switch (draft.auth.method) {
    case "api_key": {
      const placement = s["placement"] === "query" ? "query" : "header";
      lines.push(`${placement} = ${tomlString(String(s["name"] ?? ""))}`);
      break;
    }
    case "oauth2_client_credentials": {
      lines.push(`token_url = ${tomlString(String(s["token_url"] ?? ""))}`);
      const scopes = Array.isArray(s["scopes"]) ? s["scopes"] : splitList(s["scopes"] ?? "");
      if (scopes.length > 0) lines.push(`scopes = [${scopes.map(tomlString).join(", ")}]`);
      break;
    }
    case "aws_sigv4":
      lines.push(`region = ${tomlString(String(s["region"] ?? ""))}`);
      lines.push(`service = ${tomlString(String(s["service"] ?? ""))}`);
      break;
    case "hawk":
      lines.push(`algorithm = ${tomlString(String(s["algorithm"] ?? "sha256"))}`);
      break;
    case "basic":
    case "bearer":
      break;
  }
  return lines.join("\n") + "\n";
}

/** What the views and the secret handler need from a profile file. Never holds a secret. */
export interface ProfileSummary {
  name: string;
  description: string;
  baseUrl: string;
  method: string;
  api?: string;
}

export type ProfileRead = { ok: true; profile: ProfileSummary } | { ok: false; error: string };

/** Reads a profile file for display. A malformed file gives a message naming what to fix. */
export function readProfile(text: string): ProfileRead {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { ok: false, error: `not valid TOML: ${msg}` };
  }
  const name = doc["name"];
  if (typeof name !== "string" || name.trim() === "") return { ok: false, error: "missing `name` (a non-empty string)" };
  const baseUrl = doc["base_url"];
  if (typeof baseUrl !== "string") return { ok: false, error: "missing `base_url`" };
  const auth = doc["auth"];
  if (typeof auth !== "object" || auth === null || Array.isArray(auth)) return { ok: false, error: "missing the [auth] table" };
  const method = (auth as Record<string, unknown>)["method"];
  if (typeof method !== "string") return { ok: false, error: "missing `method` in [auth]" };
  if (authMethodInfo(method) === undefined) {
    return { ok: false, error: `unknown auth method "${method}" (one of ${AUTH_METHODS.map((m) => m.method).join(", ")})` };
  }
  for (const key of [...Object.keys(doc), ...Object.keys(auth)]) {
    if (ALL_SECRET_KEYS.has(key)) return { ok: false, error: `holds a secret (\`${key}\`): remove it from the file and store it with "Riposte: Set Integration Profile Secrets"` };
  }
  const description = typeof doc["description"] === "string" ? doc["description"] : "";
  const api = typeof doc["api"] === "string" ? doc["api"] : undefined;
  return { ok: true, profile: { name, description, baseUrl, method, ...(api !== undefined ? { api } : {}) } };
}

/** Replaces the description of an existing profile file, keeping everything else as written. */
export function replaceDescription(text: string, description: string): string {
  const line = `description = ${tomlString(description.trim())}`;
  const lines = text.split("\n");
  // Only the top-level table: stop at the first [table] header.
  const end = lines.findIndex((l) => /^\s*\[/.test(l));
  const top = end === -1 ? lines.length : end;
  for (let i = 0; i < top; i++) {
    if (/^\s*description\s*=/.test(lines[i] ?? "")) {
      lines[i] = line;
      return lines.join("\n");
    }
  }
  const nameLine = lines.findIndex((l, i) => i < top && /^\s*name\s*=/.test(l));
  lines.splice(nameLine === -1 ? 0 : nameLine + 1, 0, line);
  return lines.join("\n");
}
