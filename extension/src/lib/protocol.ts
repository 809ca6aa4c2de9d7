// What the extension and `riposte lsp` say to each other beyond standard LSP.
// docs/extension-protocol.md is the prose version of this file; keep them in step.
// No `vscode` import here: this module is shared with the unit tests.

/** Custom commands the server offers through `workspace/executeCommand`. */
export const ServerCommand = {
  check: "riposte.check",
  docs: "riposte.docs",
  save: "riposte.save",
  test: "riposte.test",
  deploy: "riposte.deploy",
  createProfile: "riposte.createProfile",
} as const;
export type ServerCommandName = (typeof ServerCommand)[keyof typeof ServerCommand];

/** Server → client request: the value of one secret field of one integration profile. */
export const SecretRequestMethod = "riposte/secret";
export interface SecretRequestParams {
  /** The profile's `name` as written in `integrations/<file>.toml`. */
  profile: string;
  /** A secret field of the profile's auth method, e.g. `api_key`, `client_secret`. */
  field: string;
  /** `false`: answer from the secret store only, never prompt (an agent task's dry run). */
  ask?: boolean;
}
/**
 * The other shapes of `riposte/secret`: `{engine, field: "token"}` (lib/engine.ts) and
 * `{llm: provider, field: "api_key"}`, the model provider's key (lib/lmKey.ts), answered
 * `{value: ""}` when there is none.
 */
/** `null` when the editor has no value (the user declined or the field is not a secret of the profile). */
export type SecretRequestResult = { value: string } | null;

/** Where a test run's alert comes from. */
export type AlertSource =
  | { kind: "file"; path: string }
  | { kind: "id"; id: string; source?: string };

/** Arguments of `riposte.test`. */
export interface TestArgs {
  uri: string;
  alert: AlertSource;
  /** `true`: the dry run (every mutating call recorded, not sent). `false`: the approved real run. */
  dryRun: boolean;
}

/** Arguments of `riposte.docs`, `riposte.save`, `riposte.deploy`. */
export interface PlaybookArgs {
  uri: string;
}

/** What `riposte.docs` answers (fields are optional: older servers answer less). */
export interface DocsResult {
  /** file URI or path of the Markdown written. */
  uri?: string;
  path?: string;
  changed?: boolean;
}

/** What `riposte.check` answers. */
export interface CheckResult {
  files?: number;
  errors?: number;
  warnings?: number;
  infos?: number;
  diagnostics?: number;
}

/** The settings the server reads (initializationOptions and `workspace/configuration` section `riposte`). */
export interface ServerSettings {
  server: { path: string };
  python: { path: string };
  engine: { url: string };
  logLevel: string;
  lint: { select: string[]; ignore: string[] };
}

/**
 * What is sent to the server, as `initializationOptions` and as the answer to
 * `workspace/configuration` (section `riposte`). The server treats a given `lint.select` /
 * `lint.ignore` as replacing `riposte.toml`'s lists, so an empty list (the settings' default) is
 * sent as `null`, "not set", never as "select nothing". Empty paths and URLs are `null` too.
 */
export function serverSettingsPayload(raw: unknown): Record<string, unknown> {
  const o = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
  const sub = (key: string): Record<string, unknown> => {
    const v = o[key];
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  };
  const list = (v: unknown): string[] | null => {
    if (!Array.isArray(v)) return null;
    const items = v.filter((x): x is string => typeof x === "string" && x.trim() !== "").map((x) => x.trim());
    return items.length > 0 ? items : null;
  };
  const text = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  const lint = sub("lint");
  return {
    lint: { select: list(lint["select"] ?? o["lint.select"]), ignore: list(lint["ignore"] ?? o["lint.ignore"]) },
    logLevel: text(o["logLevel"]) ?? "info",
    python: { path: text(sub("python")["path"] ?? o["python.path"]) },
    engine: { url: text(sub("engine")["url"] ?? o["engine.url"]) },
    server: { path: text(sub("server")["path"] ?? o["server.path"]) },
  };
}
