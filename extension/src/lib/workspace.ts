// Reading a Riposte workspace for the views (playbooks, profiles, rules, saved alerts, run
// records) and writing the few files the extension writes, atomically. Node's fs only; no `vscode`.

import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { parse as parseToml } from "smol-toml";

import { readProfile, type ProfileRead } from "./profile";
import type { ProfileFiles } from "./profileFlow";
import { summarizeRun, type RunSummary } from "./runRecord";

export const CONFIG_FILE = "riposte.toml";
/** Where run records live in a workspace (one JSON file per run; no secrets in them). */
export const RUNS_DIR = path.join(".riposte", "runs");

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The first folder (or direct sub-folder) that holds a riposte.toml. */
export async function findWorkspaceRoot(folders: readonly string[]): Promise<string | undefined> {
  for (const folder of folders) {
    if (await isFile(path.join(folder, CONFIG_FILE))) return folder;
  }
  for (const folder of folders) {
    let entries: string[];
    try {
      entries = await fs.readdir(folder);
    } catch {
      continue;
    }
    for (const e of entries.sort()) {
      if (e.startsWith(".") || e === "node_modules") continue;
      if (await isFile(path.join(folder, e, CONFIG_FILE))) return path.join(folder, e);
    }
  }
  return undefined;
}

async function listDir(dir: string, ext: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith(ext))
      .map((e) => e.name)
      .sort((a, b) => a.localeCompare(b));
  } catch {
    return [];
  }
}

export interface PlaybookEntry {
  name: string;
  file: string;
  docs?: string;
}

export async function listPlaybooks(root: string): Promise<PlaybookEntry[]> {
  const dir = path.join(root, "playbooks");
  const py = await listDir(dir, ".py");
  const md = new Set(await listDir(dir, ".md"));
  return py.map((f) => {
    const name = f.slice(0, -3);
    return { name, file: path.join(dir, f), ...(md.has(`${name}.md`) ? { docs: path.join(dir, `${name}.md`) } : {}) };
  });
}

export interface ProfileEntry {
  file: string;
  fileName: string;
  read: ProfileRead;
}

export async function listProfiles(root: string): Promise<ProfileEntry[]> {
  const dir = path.join(root, "integrations");
  const out: ProfileEntry[] = [];
  for (const f of await listDir(dir, ".toml")) {
    const file = path.join(dir, f);
    let read: ProfileRead;
    try {
      read = readProfile(await fs.readFile(file, "utf8"));
    } catch (e) {
      read = { ok: false, error: `unreadable: ${e instanceof Error ? e.message : String(e)}` };
    }
    out.push({ file, fileName: f, read });
  }
  return out;
}

export interface RuleEntry {
  file: string;
  fileName: string;
  name?: string;
  enabled?: boolean;
  playbook?: string;
  order?: number;
  error?: string;
}

export async function listRules(root: string): Promise<RuleEntry[]> {
  const dir = path.join(root, "rules");
  const out: RuleEntry[] = [];
  for (const f of await listDir(dir, ".toml")) {
    const file = path.join(dir, f);
    try {
      const doc = parseToml(await fs.readFile(file, "utf8")) as Record<string, unknown>;
      const actions = Array.isArray(doc["actions"]) ? (doc["actions"] as unknown[]) : [];
      const first = actions[0] as Record<string, unknown> | undefined;
      out.push({
        file,
        fileName: f,
        ...(typeof doc["name"] === "string" ? { name: doc["name"] } : {}),
        enabled: typeof doc["enabled"] === "boolean" ? doc["enabled"] : true,
        ...(typeof first?.["playbook"] === "string" ? { playbook: first["playbook"] } : {}),
        ...(typeof doc["order"] === "number" ? { order: doc["order"] } : {}),
      });
    } catch (e) {
      out.push({ file, fileName: f, error: e instanceof Error ? e.message.split("\n")[0] : String(e) });
    }
  }
  return out;
}

export interface AlertEntry {
  file: string;
  fileName: string;
  id?: string;
  title?: string;
  severity?: string;
}

/** Saved alerts (`alerts/*.json`), Graph or SecurityAlert shape; unreadable files are listed bare. */
export async function listAlerts(root: string): Promise<AlertEntry[]> {
  const dir = path.join(root, "alerts");
  const out: AlertEntry[] = [];
  for (const f of await listDir(dir, ".json")) {
    const file = path.join(dir, f);
    const entry: AlertEntry = { file, fileName: f };
    try {
      const doc = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
      const id = doc["id"] ?? doc["SystemAlertId"];
      const title = doc["title"] ?? doc["AlertName"] ?? doc["DisplayName"];
      const severity = doc["severity"] ?? doc["AlertSeverity"];
      if (typeof id === "string") entry.id = id;
      if (typeof title === "string") entry.title = title;
      if (typeof severity === "string") entry.severity = severity;
    } catch {
      // listed without details; the server says what is wrong when it is used
    }
    out.push(entry);
  }
  return out;
}

export interface RunEntry {
  file: string;
  summary: RunSummary;
}

/** Run records, newest first. */
export async function listRuns(root: string, limit = 50): Promise<RunEntry[]> {
  const dir = path.join(root, RUNS_DIR);
  const files = await listDir(dir, ".json");
  const out: RunEntry[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    try {
      const stat = await fs.stat(file);
      const record: unknown = JSON.parse(await fs.readFile(file, "utf8"));
      out.push({ file, summary: summarizeRun(record, f, stat.mtimeMs) });
    } catch {
      out.push({ file, summary: summarizeRun(undefined, f, 0) });
    }
  }
  out.sort((a, b) => b.summary.sortKey - a.summary.sortKey || b.file.localeCompare(a.file));
  return out.slice(0, limit);
}

/** Writes a file that must not exist yet: written beside it, then linked into place. */
export async function writeNewFileAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  await fs.writeFile(tmp, text, { flag: "wx" });
  try {
    await fs.link(tmp, file); // fails with EEXIST rather than overwrite
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Replaces a file's content atomically (write beside, rename over). */
export async function replaceFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  await fs.writeFile(tmp, text, { flag: "wx" });
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** integrations/ of a workspace as the profile flow's file store. */
export function profileFilesIn(root: string): ProfileFiles {
  const dir = path.join(root, "integrations");
  const inside = (file: string) => {
    const full = path.join(dir, file);
    if (path.dirname(full) !== dir) throw new Error(`refusing a path outside integrations/: ${file}`);
    return full;
  };
  return {
    writeNew: (file, text) => writeNewFileAtomic(inside(file), text),
    replace: (file, text) => replaceFileAtomic(inside(file), text),
    remove: (file) => fs.rm(inside(file)),
  };
}

/** Saves a run record under .riposte/runs/ and returns its path. */
export async function saveRunRecord(root: string, playbook: string, record: unknown, now = new Date()): Promise<string> {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const safe = playbook.replace(/[^A-Za-z0-9_-]+/g, "-");
  const file = path.join(root, RUNS_DIR, `${stamp}-${safe}.json`);
  await writeNewFileAtomic(file, JSON.stringify(record, null, 2) + "\n");
  return file;
}

export const DEFAULT_CONFIG = `# Riposte workspace: limits, lint selection, Python version, engine URL.
# Formats: https://riposte.dev/schemas/riposte.schema.json (also in the extension).

[python]
version = "3.11"

[limits]
max_lines = 5000
run_timeout_secs = 600

[lint]
select = ["RP"]
`;

/** The starting text of `playbooks/<name>.py`. */
export function playbookTemplate(description: string): string {
  const doc = description.trim() === "" ? "Describe what this playbook does." : description.trim().replace(/"""/g, "'''");
  return `"""${doc}"""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    with ctx.step("triage"):
        ctx.log("handling alert", alert_id=alert.id, severity=alert.severity)
`;
}

export function validatePlaybookName(name: string, existing: readonly string[]): string | undefined {
  const n = name.trim();
  if (n === "") return "A playbook needs a name; it becomes playbooks/<name>.py.";
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(n)) return "Use lower-case letters, digits, - and _ (it becomes playbooks/<name>.py), e.g. vt-url-enrichment.";
  if (n.length > 80) return "Keep the name under 80 characters.";
  if (existing.includes(n)) return `playbooks/${n}.py already exists.`;
  return undefined;
}
