// The "New Integration Profile" and "Edit Integration Profile" flows, written against small
// interfaces (a prompter, the integrations folder, a secret store) so they run in unit tests with
// scripted answers. Rules kept here:
//   - cancelling at any step returns `undefined` and nothing has been written;
//   - secrets go to the secret store, never to the file, and are stored before the file is written,
//     so a secret store that refuses leaves no profile behind; a file that cannot be written takes
//     the secrets it stored back out;
//   - base URL and auth method never change in place: the edit flow offers a new profile instead.
// No `vscode` import.

import {
  AUTH_METHODS,
  authMethodInfo,
  profileFileStem,
  renderProfileToml,
  splitList,
  validateEndpointUrl,
  validateName,
  validateSecret,
  validateSetting,
  type AuthMethod,
  type ExistingProfile,
  type ProfileDraft,
  type ProfileSummary,
} from "./profile";

export interface InputOptions {
  title: string;
  step: number;
  totalSteps: number;
  prompt: string;
  value?: string;
  placeholder?: string;
  password?: boolean;
  validate?: (value: string) => string | undefined;
}

export interface PickItem<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

export interface PickOptions<T> {
  title: string;
  step: number;
  totalSteps: number;
  placeholder: string;
  items: PickItem<T>[];
}

/** How the flows ask a person. `undefined` means cancelled. */
export interface Prompter {
  input(options: InputOptions): Promise<string | undefined>;
  pick<T>(options: PickOptions<T>): Promise<T | undefined>;
  /** A modal question; `true` only if the person chose `action`. */
  confirm(message: string, detail: string, action: string): Promise<boolean>;
}

/** The workspace's integrations/ folder. */
export interface ProfileFiles {
  /** Writes a file that must not exist yet, atomically (all or nothing). */
  writeNew(file: string, text: string): Promise<void>;
  /** Replaces a file atomically. */
  replace(file: string, text: string): Promise<void>;
  remove(file: string): Promise<void>;
}

/** The editor's secret store (VS Code SecretStorage in the extension). */
export interface SecretStore {
  get(key: string): Promise<string | undefined>;
  store(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * The secret store key of one field. It binds the secret to the profile's name, base URL and auth
 * method, so a profile recreated elsewhere with the same name (another workspace, a new base URL)
 * never receives a secret meant for another host.
 */
export function secretKey(profile: { name: string; baseUrl: string; method: string }, field: string): string {
  return `riposte.secret:${JSON.stringify([profile.name, profile.baseUrl.replace(/\/+$/, ""), profile.method, field])}`;
}

const NEW_TITLE = "New Integration Profile";

/**
 * Asks everything a new profile needs. `prefill` comes from the profile being replaced;
 * `suggestedName` is the name offered first (the agent's plan names the profiles it misses).
 */
export async function newProfileFlow(
  prompter: Prompter,
  existing: readonly ExistingProfile[],
  prefill?: Partial<ProfileSummary>,
  suggestedName?: string,
): Promise<ProfileDraft | undefined> {
  const title = prefill?.name ? `Replace Integration Profile "${prefill.name}"` : NEW_TITLE;
  // Steps: name, description, base URL, auth method, then settings and secrets of the method.
  const fixedSteps = 4;
  let total = fixedSteps + 2;

  const name = await prompter.input({
    title,
    step: 1,
    totalSteps: total,
    prompt: "Name playbooks use in ctx.integration(\"…\")",
    placeholder: "VirusTotal",
    value: prefill?.name ?? suggestedName,
    validate: (v) => validateName(v, existing),
  });
  if (name === undefined) return undefined;

  const description = await prompter.input({
    title,
    step: 2,
    totalSteps: total,
    prompt: "What the API is and what the team uses it for (optional)",
    placeholder: "VirusTotal v3: file, URL, IP and domain reputation",
    value: prefill?.description,
  });
  if (description === undefined) return undefined;

  const baseUrl = await prompter.input({
    title,
    step: 3,
    totalSteps: total,
    prompt: "Base URL every request path is appended to (https; http only for loopback). It cannot change later.",
    placeholder: "https://www.virustotal.com/api/v3",
    value: prefill?.baseUrl,
    validate: (v) => validateEndpointUrl(v),
  });
  if (baseUrl === undefined) return undefined;

  const method = await prompter.pick<AuthMethod>({
    title,
    step: 4,
    totalSteps: total,
    placeholder: "Auth method (it cannot change later)",
    items: AUTH_METHODS.map((m) => ({
      label: m.label,
      description: m.method,
      detail: `${m.detail}. Secrets: ${m.secrets.map((s) => s.key).join(", ")}`,
      value: m.method,
    })),
  });
  if (method === undefined) return undefined;
  const info = authMethodInfo(method);
  if (info === undefined) return undefined;
  total = fixedSteps + info.settings.length + info.secrets.length;
  let step = fixedSteps;

  const settings: Record<string, string | string[]> = {};
  for (const setting of info.settings) {
    step += 1;
    let value: string | undefined;
    if (setting.kind === "choice" && setting.choices) {
      value = await prompter.pick<string>({
        title,
        step,
        totalSteps: total,
        placeholder: setting.prompt,
        items: setting.choices.map((c) => ({ label: c, value: c, ...(c === setting.default ? { description: "default" } : {}) })),
      });
    } else {
      // The api_key header/query name: its prompt depends on the placement chosen just before.
      const prompt =
        method === "api_key" && setting.key === "name"
          ? settings["placement"] === "query"
            ? "Name of the query parameter that carries the key"
            : "Name of the request header that carries the key"
          : setting.prompt;
      value = await prompter.input({
        title,
        step,
        totalSteps: total,
        prompt,
        placeholder: method === "api_key" && setting.key === "name" && settings["placement"] === "query" ? "key" : setting.placeholder,
        value: setting.default,
        validate: (v) => validateSetting(setting, v),
      });
    }
    if (value === undefined) return undefined;
    settings[setting.key] = setting.kind === "list" ? splitList(value) : value.trim();
  }

  const secrets: Record<string, string> = {};
  for (const field of info.secrets) {
    step += 1;
    const value = await prompter.input({
      title,
      step,
      totalSteps: total,
      prompt: `${field.prompt} — kept in the editor's secret store, never written to the workspace`,
      password: true,
      validate: (v) => validateSecret(field, v),
    });
    if (value === undefined) return undefined;
    if (value !== "") secrets[field.key] = value;
  }

  return {
    name: name.trim(),
    description: description.trim(),
    baseUrl: baseUrl.trim(),
    ...(prefill?.api !== undefined ? { api: prefill.api } : {}),
    auth: { method, settings },
    secrets,
  };
}

export type CommitResult =
  | { ok: true; file: string }
  | { ok: false; stage: "secrets" | "file"; message: string; next: string };

/**
 * Stores the secrets, then writes `integrations/<stem>.toml`. On failure, undoes what it did.
 * `replacing`: the profile this one replaces; its file and secrets are removed once the new
 * profile is in place.
 */
export async function commitProfile(
  draft: ProfileDraft,
  files: ProfileFiles,
  secrets: SecretStore,
  replacing?: { file: string; profile: ProfileSummary },
): Promise<CommitResult> {
  const file = `${profileFileStem(draft.name)}.toml`;
  const identity = { name: draft.name, baseUrl: draft.baseUrl, method: draft.auth.method };
  const stored: string[] = [];
  for (const [field, value] of Object.entries(draft.secrets)) {
    const key = secretKey(identity, field);
    try {
      await secrets.store(key, value);
      stored.push(key);
    } catch (e) {
      await removeAll(secrets, stored);
      return {
        ok: false,
        stage: "secrets",
        message: `The editor's secret store refused to keep the ${field} of "${draft.name}" (${errorText(e)}). Nothing was written.`,
        next: "Make a secret store available (on Linux a keyring such as gnome-keyring, or start code-server/VS Code with --password-store=basic) and run the command again.",
      };
    }
  }
  try {
    if (replacing !== undefined && replacing.file === file) await files.replace(file, renderProfileToml(draft));
    else await files.writeNew(file, renderProfileToml(draft));
  } catch (e) {
    await removeAll(secrets, stored);
    return {
      ok: false,
      stage: "file",
      message: `Could not write integrations/${file} (${errorText(e)}). No profile was created and its secrets were removed from the secret store.`,
      next: "Check that the integrations/ folder is writable and that no file of that name exists, then run the command again.",
    };
  }
  if (replacing !== undefined) {
    if (replacing.file !== file) {
      try {
        await files.remove(replacing.file);
      } catch (e) {
        return {
          ok: false,
          stage: "file",
          message: `Created integrations/${file}, but could not delete the old integrations/${replacing.file} (${errorText(e)}).`,
          next: `Delete integrations/${replacing.file} by hand.`,
        };
      }
    }
    const old = replacing.profile;
    const oldInfo = authMethodInfo(old.method);
    const sameIdentity = old.name === draft.name && old.baseUrl === draft.baseUrl && old.method === draft.auth.method;
    if (oldInfo !== undefined && !sameIdentity) {
      await removeAll(
        secrets,
        oldInfo.secrets.map((s) => secretKey({ name: old.name, baseUrl: old.baseUrl, method: old.method }, s.key)),
      );
    }
  }
  return { ok: true, file };
}

async function removeAll(secrets: SecretStore, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    try {
      await secrets.delete(key);
    } catch {
      // A store that refuses to delete has nothing we can do about it; the key names no value.
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export type EditChoice = "description" | "secrets" | "replace";

/**
 * What to change in an existing profile. Base URL and auth method are immutable: choosing them
 * (or "replace") asks whether to create a new profile and delete this one.
 */
export async function editProfileChoice(prompter: Prompter, profile: ProfileSummary): Promise<EditChoice | undefined> {
  const picked = await prompter.pick<"description" | "secrets" | "base_url" | "method">({
    title: `Edit Integration Profile "${profile.name}"`,
    step: 1,
    totalSteps: 1,
    placeholder: "What to change",
    items: [
      { label: "Description", description: profile.description || "(none)", value: "description" },
      { label: "Secrets", description: authMethodInfo(profile.method)?.secrets.map((s) => s.key).join(", ") ?? "", value: "secrets" },
      { label: "Base URL", description: `${profile.baseUrl} — immutable: needs a new profile`, value: "base_url" },
      { label: "Auth method", description: `${profile.method} — immutable: needs a new profile`, value: "method" },
    ],
  });
  if (picked === undefined) return undefined;
  if (picked === "description" || picked === "secrets") return picked;
  const what = picked === "base_url" ? "base URL" : "auth method";
  const ok = await prompter.confirm(
    `The ${what} of "${profile.name}" cannot be changed.`,
    `A profile's base URL and auth method are fixed once it exists: its stored secrets are bound to them, and a silent change could send a credential to another host. Create a new profile (starting from this one) and delete "${profile.name}" once the new one is saved?`,
    "Create New and Delete Old",
  );
  return ok ? "replace" : undefined;
}

/** Asks new values for a profile's secret fields; empty keeps the stored value. */
export async function secretsFlow(
  prompter: Prompter,
  profile: ProfileSummary,
  has: (field: string) => Promise<boolean>,
): Promise<Record<string, string> | undefined> {
  const info = authMethodInfo(profile.method);
  if (info === undefined) return undefined;
  const out: Record<string, string> = {};
  let step = 0;
  for (const field of info.secrets) {
    step += 1;
    const present = await has(field.key);
    const value = await prompter.input({
      title: `Secrets of "${profile.name}"`,
      step,
      totalSteps: info.secrets.length,
      prompt: present
        ? `${field.prompt} — a value is stored; leave empty to keep it`
        : `${field.prompt} — kept in the editor's secret store, never written to the workspace`,
      password: true,
      validate: (v) => (present && v === "" ? undefined : validateSecret(field, v)),
    });
    if (value === undefined) return undefined;
    if (value !== "") out[field.key] = value;
  }
  return out;
}

/** Stores a set of secrets all or nothing: on a refusal, restores what was there before. */
export async function storeSecrets(
  secrets: SecretStore,
  profile: ProfileSummary,
  values: Record<string, string>,
): Promise<{ ok: true } | { ok: false; message: string; next: string }> {
  const identity = { name: profile.name, baseUrl: profile.baseUrl, method: profile.method };
  const done: { key: string; previous: string | undefined }[] = [];
  for (const [field, value] of Object.entries(values)) {
    const key = secretKey(identity, field);
    let previous: string | undefined;
    try {
      previous = await secrets.get(key);
      await secrets.store(key, value);
      done.push({ key, previous });
    } catch (e) {
      for (const d of done.reverse()) {
        try {
          if (d.previous === undefined) await secrets.delete(d.key);
          else await secrets.store(d.key, d.previous);
        } catch {
          // best effort
        }
      }
      return {
        ok: false,
        message: `The editor's secret store refused to keep the ${field} of "${profile.name}" (${errorText(e)}). No secret was changed.`,
        next: "Make a secret store available (on Linux a keyring such as gnome-keyring, or start code-server/VS Code with --password-store=basic) and try again.",
      };
    }
  }
  return { ok: true };
}

/**
 * What the client answers to a `riposte/secret` request. Only fields of the profile's auth method
 * are served. A missing value is asked of the person (`ask`), stored, and returned; declined, `null`.
 * A request with `"ask": false` (an agent's dry run, docs/chat-protocol.md) is answered from the
 * store only: nobody is prompted.
 */
export async function answerSecretRequest(
  params: unknown,
  findProfile: (name: string) => Promise<ProfileSummary | undefined>,
  secrets: SecretStore,
  ask?: (profile: ProfileSummary, field: string) => Promise<string | undefined>,
): Promise<{ value: string } | null> {
  if (typeof params !== "object" || params === null) return null;
  const { profile: name, field, ask: mayAsk } = params as { profile?: unknown; field?: unknown; ask?: unknown };
  if (typeof name !== "string" || typeof field !== "string") return null;
  const profile = await findProfile(name);
  if (profile === undefined) return null;
  const info = authMethodInfo(profile.method);
  if (info === undefined || !info.secrets.some((s) => s.key === field)) return null;
  const key = secretKey({ name: profile.name, baseUrl: profile.baseUrl, method: profile.method }, field);
  let value: string | undefined;
  try {
    value = await secrets.get(key);
  } catch {
    value = undefined;
  }
  if (value !== undefined) return { value };
  if (ask === undefined || mayAsk === false) return null;
  const entered = await ask(profile, field);
  if (entered === undefined || entered === "") return null;
  try {
    await secrets.store(key, entered);
  } catch {
    // Still answer this request; the person is told by the caller that it was not kept.
  }
  return { value: entered };
}
