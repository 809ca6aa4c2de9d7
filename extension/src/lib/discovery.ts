// Finding the `riposte` binary the way rust-analyzer and ruff-vscode do: the `riposte.server.path`
// setting, then the binary bundled in the extension, then `riposte` on PATH; then a `--version`
// check. No `vscode` import: the unit tests run this with real files and processes.

import { execFile } from "node:child_process";
import { constants as fsConstants, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ServerSource = "setting" | "bundled" | "path";

export interface ServerCandidate {
  path: string;
  source: ServerSource;
}

export interface DiscoveryInput {
  /** The raw `riposte.server.path` setting ("" when unset). */
  settingPath: string;
  /** Where the bundled binary would be (`<extension>/dist/server/riposte`). */
  bundledPath: string;
  /** The PATH the server would be started with. */
  pathEnv: string | undefined;
  platform: NodeJS.Platform;
  home: string;
  /** The first workspace folder, for `${workspaceFolder}` and relative setting paths. */
  workspaceFolder?: string;
}

export type ProblemKind =
  | "setting-path-missing"
  | "not-found"
  | "version-failed"
  | "version-unparsable"
  | "wrong-version";

/** A reason the server cannot start, with what a person should do next. */
export interface ServerProblem {
  kind: ProblemKind;
  /** One sentence: what is wrong. */
  message: string;
  /** One sentence: what to do next. */
  next: string;
  path?: string;
}

export type DiscoveryResult = { ok: true; server: ServerCandidate } | { ok: false; problem: ServerProblem };

export function executableName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "riposte.exe" : "riposte";
}

/** Expands `~`, `${userHome}` and `${workspaceFolder}`; a relative path is taken from the workspace folder. */
export function expandSettingPath(raw: string, home: string, workspaceFolder?: string): string {
  let p = raw.trim();
  if (p === "") return p;
  p = p.replace(/\$\{userHome\}/g, home);
  if (workspaceFolder !== undefined) p = p.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (p === "~") p = home;
  else if (p.startsWith("~/") || p.startsWith("~\\")) p = path.join(home, p.slice(2));
  if (!path.isAbsolute(p) && workspaceFolder !== undefined) p = path.join(workspaceFolder, p);
  return p;
}

export async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const st = await fs.stat(p);
    if (!st.isFile()) return false;
    if (process.platform === "win32") return true;
    await fs.access(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks `name` up on a PATH string. */
export async function searchPath(
  name: string,
  pathEnv: string | undefined,
  platform: NodeJS.Platform,
  isExecutable: (p: string) => Promise<boolean> = isExecutableFile,
): Promise<string | undefined> {
  if (!pathEnv) return undefined;
  const sep = platform === "win32" ? ";" : ":";
  for (const dir of pathEnv.split(sep)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Setting → bundled → PATH. A setting that points nowhere is an error, not a silent fallback. */
export async function findServer(
  input: DiscoveryInput,
  isExecutable: (p: string) => Promise<boolean> = isExecutableFile,
): Promise<DiscoveryResult> {
  const fromSetting = expandSettingPath(input.settingPath, input.home, input.workspaceFolder);
  if (fromSetting !== "") {
    if (await isExecutable(fromSetting)) return { ok: true, server: { path: fromSetting, source: "setting" } };
    return {
      ok: false,
      problem: {
        kind: "setting-path-missing",
        path: fromSetting,
        message: `The riposte.server.path setting points to ${fromSetting}, which is not an executable file.`,
        next: "Fix or clear the setting (cleared, the bundled binary or riposte on PATH is used).",
      },
    };
  }
  if (await isExecutable(input.bundledPath)) {
    return { ok: true, server: { path: input.bundledPath, source: "bundled" } };
  }
  const onPath = await searchPath(executableName(input.platform), input.pathEnv, input.platform, isExecutable);
  if (onPath !== undefined) return { ok: true, server: { path: onPath, source: "path" } };
  return {
    ok: false,
    problem: {
      kind: "not-found",
      message: "The riposte language server was not found: this extension has no bundled binary for this platform and riposte is not on PATH.",
      next: "Build it (cargo build --release --bin riposte) and set riposte.server.path to target/release/riposte, or put riposte on PATH.",
    },
  };
}

/** `riposte 0.1.0` (clap's `--version`) → `0.1.0`. */
export function parseVersion(output: string): string | undefined {
  const m = /\briposte(?:[ _-]cli)?\s+v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)/.exec(output);
  return m?.[1];
}

interface Semver {
  major: number;
  minor: number;
  patch: number;
}
function parseSemver(v: string): Semver | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/**
 * Whether a server version speaks the protocol this extension was built for: the same major
 * version, and while the major is 0 the same minor (0.x releases may change the protocol).
 */
export function isCompatible(serverVersion: string, extensionVersion: string): boolean {
  const s = parseSemver(serverVersion);
  const e = parseSemver(extensionVersion);
  if (!s || !e) return false;
  if (s.major !== e.major) return false;
  if (e.major === 0 && s.minor !== e.minor) return false;
  return true;
}

export interface VersionOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started or timed out. */
  error?: string;
}

/** Runs `<binary> --version` with a time limit. Never throws. */
export function runVersion(binary: string, timeoutMs = 10_000): Promise<VersionOutput> {
  return new Promise((resolve) => {
    execFile(binary, ["--version"], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
        const code = typeof e.code === "number" ? e.code : null;
        const reason = e.killed
          ? `it did not answer within ${Math.round(timeoutMs / 1000)} s`
          : typeof e.code === "string"
            ? `${e.code}: ${e.message}`
            : `exit code ${code ?? "unknown"}`;
        resolve({ code, stdout, stderr, error: reason });
        return;
      }
      resolve({ code: 0, stdout, stderr });
    });
  });
}

/** Judges the output of `--version`. */
export function checkVersionOutput(
  server: ServerCandidate,
  out: VersionOutput,
  extensionVersion: string,
): { ok: true; version: string } | { ok: false; problem: ServerProblem } {
  const where = `${server.path} (${describeSource(server.source)})`;
  if (out.error !== undefined) {
    const stderr = out.stderr.trim();
    return {
      ok: false,
      problem: {
        kind: "version-failed",
        path: server.path,
        message: `${where} failed to run \`--version\`: ${out.error}${stderr ? ` — ${firstLine(stderr)}` : ""}.`,
        next: "Check that it is a riposte binary built for this machine, or point riposte.server.path at one that is.",
      },
    };
  }
  const version = parseVersion(out.stdout);
  if (version === undefined) {
    return {
      ok: false,
      problem: {
        kind: "version-unparsable",
        path: server.path,
        message: `${where} answered \`--version\` with "${firstLine(out.stdout.trim()) || "nothing"}", not "riposte X.Y.Z": it is not a riposte binary.`,
        next: "Point riposte.server.path at the riposte binary (cargo build --release --bin riposte).",
      },
    };
  }
  if (!isCompatible(version, extensionVersion)) {
    return {
      ok: false,
      problem: {
        kind: "wrong-version",
        path: server.path,
        message: `${where} is version ${version}; this extension (${extensionVersion}) needs riposte ${compatibleRange(extensionVersion)}.`,
        next: `Install riposte ${compatibleRange(extensionVersion)} (or the extension that matches ${version}) and restart the server.`,
      },
    };
  }
  return { ok: true, version };
}

export function compatibleRange(extensionVersion: string): string {
  const e = parseSemver(extensionVersion);
  if (!e) return extensionVersion;
  return e.major === 0 ? `${e.major}.${e.minor}.x` : `${e.major}.x`;
}

export function describeSource(source: ServerSource): string {
  switch (source) {
    case "setting":
      return "from riposte.server.path";
    case "bundled":
      return "bundled with the extension";
    case "path":
      return "found on PATH";
  }
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Discovery and the version check together: what the client runs before starting the server. */
export async function resolveServer(
  input: DiscoveryInput,
  extensionVersion: string,
  deps: {
    isExecutable?: (p: string) => Promise<boolean>;
    runVersion?: (p: string) => Promise<VersionOutput>;
  } = {},
): Promise<{ ok: true; server: ServerCandidate; version: string } | { ok: false; problem: ServerProblem }> {
  const found = await findServer(input, deps.isExecutable ?? isExecutableFile);
  if (!found.ok) return found;
  const out = await (deps.runVersion ?? runVersion)(found.server.path);
  const checked = checkVersionOutput(found.server, out, extensionVersion);
  if (!checked.ok) return checked;
  return { ok: true, server: found.server, version: checked.version };
}

export function defaultDiscoveryInput(settingPath: string, extensionPath: string, workspaceFolder?: string): DiscoveryInput {
  return {
    settingPath,
    bundledPath: path.join(extensionPath, "dist", "server", executableName(process.platform)),
    pathEnv: process.env["PATH"],
    platform: process.platform,
    home: os.homedir(),
    workspaceFolder,
  };
}
