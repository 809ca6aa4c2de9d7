// The Riposte commands. Each long one runs under a progress notification, asks the server to do
// the work, and shows what the server answered — including "not available yet: …" — as it is.

import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

import type { ServerManager } from "./client";
import { engineArgs } from "./engineViews";
import { checkFindings, formatCheckSummary, formatCommandError, NO_WORKSPACE_MESSAGE, SHOW_LOGS } from "./lib/messages";
import { authMethodInfo, replaceDescription, type ProfileSummary } from "./lib/profile";
import { commitProfile, editProfileChoice, newProfileFlow, secretKey, secretsFlow, storeSecrets, type SecretStore } from "./lib/profileFlow";
import { ServerCommand, type AlertSource, type DocsResult, type TestArgs } from "./lib/protocol";
import { formatChangeList, readRunRecord } from "./lib/runRecord";
import {
  CONFIG_FILE,
  DEFAULT_CONFIG,
  listAlerts,
  listPlaybooks,
  listProfiles,
  listRules,
  playbookTemplate,
  profileFilesIn,
  replaceFileAtomic,
  saveRunRecord,
  validatePlaybookName,
  writeNewFileAtomic,
} from "./lib/workspace";
import { vscodePrompter } from "./prompter";
import { openRunFile, showRunRecord } from "./runPanel";
import { countProblems } from "./status";
import type { PlaybookStatus } from "./views";

export interface App {
  context: vscode.ExtensionContext;
  server: ServerManager;
  output: vscode.OutputChannel;
  root(): string | undefined;
  /** Re-reads the workspace root (after riposte.toml appears) and refreshes the views. */
  refresh(): Promise<void>;
  secrets: SecretStore;
  setPlaybookStatus(name: string, status: PlaybookStatus): Promise<void>;
}

/** VS Code SecretStorage as the flows' SecretStore. */
export function secretStoreOf(storage: vscode.SecretStorage): SecretStore {
  return {
    get: async (key) => storage.get(key),
    store: async (key, value) => storage.store(key, value),
    delete: async (key) => storage.delete(key),
  };
}

async function showUserMessage(app: App, msg: ReturnType<typeof formatCommandError>): Promise<void> {
  await app.server.showMessage(msg);
}

function requireRoot(app: App): string | undefined {
  const root = app.root();
  if (root === undefined) {
    void vscode.window.showWarningMessage(NO_WORKSPACE_MESSAGE, "Initialize Workspace").then((a) => {
      if (a !== undefined) void vscode.commands.executeCommand("riposte.initWorkspace");
    });
  }
  return root;
}

function uriOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === "object" && arg !== null) {
    const o = arg as { file?: unknown; resourceUri?: unknown };
    if (typeof o.file === "string") return vscode.Uri.file(o.file);
    if (o.resourceUri instanceof vscode.Uri) return o.resourceUri;
  }
  return undefined;
}

/** The playbook a command is about: its argument, the active editor, or one picked from the list. */
async function targetPlaybook(app: App, arg: unknown, verb: string): Promise<vscode.Uri | undefined> {
  const root = requireRoot(app);
  if (root === undefined) return undefined;
  const explicit = uriOf(arg);
  if (explicit !== undefined) return explicit;
  const doc = vscode.window.activeTextEditor?.document;
  if (doc !== undefined && doc.languageId === "python" && doc.uri.scheme === "file") return doc.uri;
  const playbooks = await listPlaybooks(root);
  if (playbooks.length === 0) {
    void vscode.window.showWarningMessage("Riposte: there are no playbooks in playbooks/ yet. Create one with \"Riposte: New Playbook\".");
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    playbooks.map((p) => ({ label: p.name, description: `playbooks/${path.basename(p.file)}`, file: p.file })),
    { title: `Riposte: ${verb}`, placeHolder: "Which playbook?" },
  );
  return picked ? vscode.Uri.file(picked.file) : undefined;
}

async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc?.isDirty) await doc.save();
}

/** Runs a server command under a progress notification; shows the server's error as it is. */
async function runServerCommand<T>(app: App, title: string, progressTitle: string, command: string, args: unknown[]): Promise<T | undefined> {
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Riposte: ${progressTitle}`, cancellable: true },
      (_progress, token) => app.server.executeCommand<T>(command, args, token),
    );
  } catch (err) {
    app.output.appendLine(`[client] ${command} failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
    await showUserMessage(app, formatCommandError(title, err));
    return undefined;
  }
}

function playbookName(uri: vscode.Uri): string {
  return path.basename(uri.fsPath, ".py");
}

export function registerCommands(app: App): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  return [
    reg("riposte.showLogs", () => app.output.show(true)),
    reg("riposte.restartServer", async () => {
      await app.refresh();
      if (requireRoot(app) === undefined) return;
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Riposte: restarting the language server" }, () =>
        app.server.restart(),
      );
    }),
    reg("riposte.refreshViews", () => app.refresh()),
    reg("riposte.initWorkspace", () => initWorkspace(app)),
    reg("riposte.newPlaybook", () => newPlaybook(app)),
    reg("riposte.checkWorkspace", () => checkWorkspace(app)),
    reg("riposte.generateDocs", (arg) => generateDocs(app, arg)),
    reg("riposte.testPlaybook", (arg) => testPlaybook(app, arg)),
    reg("riposte.savePlaybook", (arg) => saveOrDeploy(app, arg, "save")),
    reg("riposte.deployPlaybook", (arg) => saveOrDeploy(app, arg, "deploy")),
    reg("riposte.openRule", (arg) => openRule(app, arg)),
    reg("riposte.openRun", async (arg) => {
      const uri = uriOf(arg);
      if (uri) await openRunFile(uri);
    }),
    // The chat's plan passes `{name}` for a profile it found missing.
    reg("riposte.newProfile", (arg) => newProfile(app, undefined, suggestedName(arg))),
    reg("riposte.editProfile", (arg) => editProfile(app, arg)),
    reg("riposte.setProfileSecrets", (arg) => setProfileSecrets(app, arg)),
    reg("riposte.deleteProfile", (arg) => deleteProfile(app, arg)),
  ];
}

async function initWorkspace(app: App): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder === undefined) {
    void vscode.window.showWarningMessage("Riposte: open a folder first (File > Open Folder); riposte.toml is written at its root.");
    return;
  }
  const file = path.join(folder.uri.fsPath, CONFIG_FILE);
  try {
    await writeNewFileAtomic(file, DEFAULT_CONFIG);
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === "EEXIST";
    void vscode.window.showErrorMessage(
      exists ? `Riposte: ${CONFIG_FILE} already exists in ${folder.name}.` : `Riposte: could not write ${file}: ${e instanceof Error ? e.message : String(e)}.`,
    );
    if (!exists) return;
  }
  for (const dir of ["playbooks", "integrations", "rules", "alerts"]) await fs.mkdir(path.join(folder.uri.fsPath, dir), { recursive: true });
  await app.refresh();
  await app.server.start();
  await vscode.window.showTextDocument(vscode.Uri.file(file));
}

async function newPlaybook(app: App): Promise<void> {
  const root = requireRoot(app);
  if (root === undefined) return;
  const existing = (await listPlaybooks(root)).map((p) => p.name);
  const name = await vscodePrompter.input({
    title: "New Playbook",
    step: 1,
    totalSteps: 2,
    prompt: "File name (playbooks/<name>.py)",
    placeholder: "vt-url-enrichment",
    validate: (v) => validatePlaybookName(v, existing),
  });
  if (name === undefined) return;
  const description = await vscodePrompter.input({
    title: "New Playbook",
    step: 2,
    totalSteps: 2,
    prompt: "What it does, in one sentence (its docstring; the docs start from it)",
    placeholder: "Enrich URL evidence with VirusTotal and comment on the incident.",
  });
  if (description === undefined) return;
  const file = path.join(root, "playbooks", `${name.trim()}.py`);
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Riposte: creating playbooks/${name.trim()}.py` }, () =>
      writeNewFileAtomic(file, playbookTemplate(description)),
    );
  } catch (e) {
    void vscode.window.showErrorMessage(`Riposte: could not create ${file}: ${e instanceof Error ? e.message : String(e)}. Nothing was written.`);
    return;
  }
  await app.refresh();
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(file));
  const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
}

async function checkWorkspace(app: App): Promise<void> {
  const root = requireRoot(app);
  if (root === undefined) return;
  const result = await runServerCommand<unknown>(app, "Check Workspace", "checking the workspace…", ServerCommand.check, [{ uri: vscode.Uri.file(root).toString() }]);
  if (result === undefined) return;
  const summary = formatCheckSummary(result, countProblems());
  const first = checkFindings(result)[0];
  const openFirst = first ? `Open ${path.basename(first.path)}` : undefined;
  const action = await vscode.window.showInformationMessage(summary, ...(openFirst ? [openFirst] : []), "Show Problems");
  if (action === "Show Problems") await vscode.commands.executeCommand("workbench.actions.view.problems");
  else if (action !== undefined && first) {
    const uri = first.uri ? vscode.Uri.parse(first.uri) : vscode.Uri.file(path.join(root, first.path));
    await vscode.window.showTextDocument(uri);
    await vscode.commands.executeCommand("workbench.actions.view.problems");
  }
}

async function generateDocs(app: App, arg: unknown): Promise<void> {
  const uri = await targetPlaybook(app, arg, "Generate Docs");
  if (uri === undefined) return;
  await saveIfDirty(uri);
  const result = await runServerCommand<DocsResult | null>(
    app,
    "Generate Docs",
    `documenting ${playbookName(uri)}…`,
    ServerCommand.docs,
    [{ uri: uri.toString() }],
  );
  if (result === undefined) return;
  let md: vscode.Uri;
  if (result?.uri) md = vscode.Uri.parse(result.uri);
  else if (result?.path) md = vscode.Uri.file(path.isAbsolute(result.path) ? result.path : path.join(path.dirname(uri.fsPath), result.path));
  else md = vscode.Uri.file(uri.fsPath.replace(/\.py$/, ".md"));
  app.output.appendLine(`[client] docs written: ${md.fsPath}`);
  await vscode.commands.executeCommand("markdown.showPreviewToSide", md);
  await app.refresh();
}

type AlertPick = vscode.QuickPickItem & { source?: AlertSource; action?: "id" | "file" };

async function askAlert(app: App, root: string): Promise<AlertSource | undefined> {
  const alerts = await listAlerts(root);
  const items: AlertPick[] = [
    ...alerts.map((a) => ({
      label: a.title ?? a.fileName,
      description: `alerts/${a.fileName}`,
      detail: [a.severity, a.id].filter((x) => x !== undefined).join(" · ") || undefined,
      source: { kind: "file" as const, path: a.file },
    })),
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(search) Enter an alert ID…", detail: "Fetched through an alert-source profile (Microsoft Graph security/alerts_v2)", action: "id" },
    { label: "$(file) Choose an alert file…", detail: "A JSON alert in Graph alerts_v2 or Sentinel SecurityAlert shape", action: "file" },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: "Test Playbook: which alert?",
    placeHolder: alerts.length > 0 ? "A saved alert from alerts/, an alert ID, or a file" : "No saved alerts in alerts/: enter an alert ID or choose a file",
    ignoreFocusOut: true,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked === undefined) return undefined;
  if (picked.source) return picked.source;
  if (picked.action === "file") {
    const files = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { "Alert JSON": ["json"] }, defaultUri: vscode.Uri.file(path.join(root, "alerts")) });
    const f = files?.[0];
    return f ? { kind: "file", path: f.fsPath } : undefined;
  }
  const id = await vscode.window.showInputBox({
    title: "Test Playbook: alert ID",
    prompt: "The alert's ID (Microsoft Graph alerts_v2 id)",
    placeHolder: "da637551227677560813_-961444813",
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === "" ? "Enter an alert ID." : /\s/.test(v.trim()) ? "An alert ID has no spaces." : undefined),
  });
  if (id === undefined) return undefined;
  // The alert source: a profile that can fetch alerts. Ask only when there is a choice.
  const sources = (await listProfiles(root)).flatMap((p) => (p.read.ok && p.read.profile.method === "oauth2_client_credentials" ? [p.read.profile] : []));
  let source: string | undefined;
  if (sources.length === 1) source = sources[0]?.name;
  else if (sources.length > 1) {
    const s = await vscode.window.showQuickPick(
      sources.map((p) => ({ label: p.name, description: p.baseUrl })),
      { title: "Test Playbook: fetch the alert through which profile?", ignoreFocusOut: true },
    );
    if (s === undefined) return undefined;
    source = s.label;
  }
  app.output.appendLine(`[client] test alert id ${id.trim()}${source ? ` via ${source}` : ""}`);
  return { kind: "id", id: id.trim(), ...(source !== undefined ? { source } : {}) };
}

async function testPlaybook(app: App, arg: unknown): Promise<void> {
  const uri = await targetPlaybook(app, arg, "Test Playbook");
  const root = app.root();
  if (uri === undefined || root === undefined) return;
  await saveIfDirty(uri);
  const alert = await askAlert(app, root);
  if (alert === undefined) return;
  const name = playbookName(uri);
  const base: Omit<TestArgs, "dryRun"> = { uri: uri.toString(), alert };

  const dry = await runServerCommand<unknown>(app, "Test Playbook", `dry run of ${name} (mutating calls are recorded, not sent)…`, ServerCommand.test, [
    { ...base, dryRun: true } satisfies TestArgs,
  ]);
  if (dry === undefined) return;
  const dryRecord = readRunRecord(dry);
  const dryFile = await keepRecord(app, root, name, dry);
  const { message, detail } = formatChangeList(dryRecord);
  const choice = await vscode.window.showInformationMessage(message, { modal: true, detail }, "Approve");
  if (choice !== "Approve") {
    showRunRecord(dry, dryFile ?? `${name}-dry-run`, `Dry run of ${name}`);
    void vscode.window.showInformationMessage(`Riposte: the real run of ${name} was cancelled; nothing was sent. The dry run's record is open.`);
    return;
  }
  const real = await runServerCommand<unknown>(app, "Test Playbook", `running ${name}…`, ServerCommand.test, [{ ...base, dryRun: false } satisfies TestArgs]);
  if (real === undefined) return;
  const realFile = await keepRecord(app, root, name, real);
  showRunRecord(real, realFile ?? `${name}-run`, `Run of ${name}`);
  const rec = readRunRecord(real);
  const ok = ["succeeded", "ok"].includes(rec.status);
  const show = ok ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  void show(`Riposte: ${name} ${rec.status}${rec.error ? `: ${rec.error.message}` : ""}.`);
}

async function keepRecord(app: App, root: string, playbook: string, record: unknown): Promise<string | undefined> {
  try {
    const file = await saveRunRecord(root, playbook, record);
    await app.refresh();
    return file;
  } catch (e) {
    app.output.appendLine(`[client] could not save the run record: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

async function saveOrDeploy(app: App, arg: unknown, which: "save" | "deploy"): Promise<void> {
  const title = which === "save" ? "Save Playbook" : "Deploy/Activate";
  const uri = await targetPlaybook(app, arg, title);
  if (uri === undefined) return;
  const name = playbookName(uri);
  await saveIfDirty(uri);
  if (which === "deploy") {
    const ok = await vscode.window.showWarningMessage(
      `Activate ${name}?`,
      { modal: true, detail: "Once active, the automation rules that name it run it on every matching alert, for real (no dry run)." },
      "Activate",
    );
    if (ok !== "Activate") return;
  }
  const result = await runServerCommand<unknown>(
    app,
    title,
    which === "save" ? `saving ${name} (stored disabled)…` : `activating ${name}…`,
    which === "save" ? ServerCommand.save : ServerCommand.deploy,
    [engineArgs({ uri: uri.toString() })],
  );
  if (result === undefined) return;
  const r = (typeof result === "object" && result !== null ? result : {}) as { status?: unknown; message?: unknown; version?: unknown };
  const state = typeof r.status === "string" ? r.status : which === "save" ? "disabled" : "active";
  await app.setPlaybookStatus(name, { state, at: Date.now() });
  await app.refresh();
  void vscode.window.showInformationMessage(
    typeof r.message === "string" ? `Riposte: ${r.message}` : which === "save" ? `Riposte: ${name} is saved, disabled. Deploy/Activate turns it on.` : `Riposte: ${name} is active.`,
  );
}

async function openRule(app: App, arg: unknown): Promise<void> {
  const root = requireRoot(app);
  if (root === undefined) return;
  let uri = uriOf(arg);
  if (uri === undefined) {
    const rules = await listRules(root);
    if (rules.length === 0) {
      void vscode.window.showInformationMessage("Riposte: there are no automation rules in rules/ yet.");
      return;
    }
    const picked = await vscode.window.showQuickPick(
      rules.map((r) => ({ label: r.name ?? r.fileName, description: r.playbook ? `→ ${r.playbook}` : (r.error ?? ""), detail: `rules/${r.fileName}`, file: r.file })),
      { title: "Open Rule", matchOnDescription: true },
    );
    if (picked === undefined) return;
    uri = vscode.Uri.file(picked.file);
  }
  await vscode.window.showTextDocument(uri);
}

async function existingProfiles(root: string) {
  const entries = await listProfiles(root);
  return {
    entries,
    existing: entries.map((e) => ({ name: e.read.ok ? e.read.profile.name : e.fileName.replace(/\.toml$/, ""), file: e.fileName })),
  };
}

async function reportCommit(app: App, result: Awaited<ReturnType<typeof commitProfile>>, root: string, verb: string): Promise<void> {
  if (!result.ok) {
    await showUserMessage(app, { severity: "error", text: `Riposte: ${result.message} ${result.next}`, actions: [SHOW_LOGS] });
    return;
  }
  await app.refresh();
  const file = vscode.Uri.file(path.join(root, "integrations", result.file));
  void vscode.window.showInformationMessage(`Riposte: ${verb} integrations/${result.file}; its secrets are in the editor's secret store.`, "Open").then((a) => {
    if (a) void vscode.window.showTextDocument(file);
  });
}

function suggestedName(arg: unknown): string | undefined {
  const name = typeof arg === "object" && arg !== null ? (arg as { name?: unknown }).name : undefined;
  return typeof name === "string" && name.trim() !== "" ? name.trim() : undefined;
}

async function newProfile(app: App, replacing?: { file: string; profile: ProfileSummary }, name?: string): Promise<void> {
  const root = requireRoot(app);
  if (root === undefined) return;
  const { existing } = await existingProfiles(root);
  const others = replacing ? existing.filter((e) => e.file !== replacing.file) : existing;
  const draft = await newProfileFlow(vscodePrompter, others, replacing?.profile, name);
  if (draft === undefined) {
    app.output.appendLine("[client] new integration profile: cancelled, nothing written");
    return;
  }
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Riposte: saving profile "${draft.name}"` }, () =>
    commitProfile(draft, profileFilesIn(root), app.secrets, replacing),
  );
  await reportCommit(app, result, root, replacing ? `replaced integrations/${replacing.file} with` : "created");
}

async function pickProfile(app: App, arg: unknown, title: string): Promise<{ file: string; fileName: string; profile: ProfileSummary } | undefined> {
  const root = requireRoot(app);
  if (root === undefined) return undefined;
  const entries = await listProfiles(root);
  const argFile = uriOf(arg)?.fsPath;
  const fromArg = argFile ? entries.find((e) => e.file === argFile) : undefined;
  const chosen =
    fromArg ??
    (await vscode.window.showQuickPick(
      entries.map((e) => ({ label: e.read.ok ? e.read.profile.name : e.fileName, description: e.read.ok ? e.read.profile.baseUrl : `malformed: ${e.read.error}`, entry: e })),
      { title, placeHolder: entries.length === 0 ? "No profiles in integrations/ yet" : "Which profile?" },
    ))?.entry;
  if (chosen === undefined) return undefined;
  if (!chosen.read.ok) {
    const open = await vscode.window.showErrorMessage(
      `Riposte: integrations/${chosen.fileName} is malformed (${chosen.read.error}). Fix the file first; the Problems view has the details.`,
      "Open File",
    );
    if (open) await vscode.window.showTextDocument(vscode.Uri.file(chosen.file));
    return undefined;
  }
  return { file: chosen.file, fileName: chosen.fileName, profile: chosen.read.profile };
}

async function editProfile(app: App, arg: unknown): Promise<void> {
  const root = app.root();
  const target = await pickProfile(app, arg, "Edit Integration Profile");
  if (target === undefined || root === undefined) return;
  const choice = await editProfileChoice(vscodePrompter, target.profile);
  if (choice === undefined) return;
  if (choice === "secrets") return setProfileSecrets(app, vscode.Uri.file(target.file));
  if (choice === "replace") return newProfile(app, { file: target.fileName, profile: target.profile });
  const description = await vscodePrompter.input({
    title: `Edit Integration Profile "${target.profile.name}"`,
    step: 1,
    totalSteps: 1,
    prompt: "Description",
    value: target.profile.description,
  });
  if (description === undefined) return;
  try {
    const text = await fs.readFile(target.file, "utf8");
    await replaceFileAtomic(target.file, replaceDescription(text, description));
  } catch (e) {
    void vscode.window.showErrorMessage(`Riposte: could not update integrations/${target.fileName}: ${e instanceof Error ? e.message : String(e)}. The file is unchanged.`);
    return;
  }
  await app.refresh();
}

async function setProfileSecrets(app: App, arg: unknown): Promise<void> {
  const target = await pickProfile(app, arg, "Set Integration Profile Secrets");
  if (target === undefined) return;
  const p = target.profile;
  const values = await secretsFlow(vscodePrompter, p, async (field) => (await app.secrets.get(secretKey({ name: p.name, baseUrl: p.baseUrl, method: p.method }, field))) !== undefined);
  if (values === undefined || Object.keys(values).length === 0) return;
  const result = await storeSecrets(app.secrets, p, values);
  if (!result.ok) {
    await showUserMessage(app, { severity: "error", text: `Riposte: ${result.message} ${result.next}`, actions: [SHOW_LOGS] });
    return;
  }
  await app.refresh();
  void vscode.window.showInformationMessage(`Riposte: stored ${Object.keys(values).join(", ")} for "${p.name}" in the editor's secret store.`);
}

async function deleteProfile(app: App, arg: unknown): Promise<void> {
  const root = requireRoot(app);
  if (root === undefined) return;
  const argFile = uriOf(arg)?.fsPath;
  const entries = await listProfiles(root);
  const entry = argFile ? entries.find((e) => e.file === argFile) : undefined;
  const chosen =
    entry ??
    (await vscode.window.showQuickPick(
      entries.map((e) => ({ label: e.read.ok ? e.read.profile.name : e.fileName, description: `integrations/${e.fileName}`, entry: e })),
      { title: "Delete Integration Profile" },
    ))?.entry;
  if (chosen === undefined) return;
  const label = chosen.read.ok ? `"${chosen.read.profile.name}"` : `integrations/${chosen.fileName}`;
  const ok = await vscode.window.showWarningMessage(
    `Delete the integration profile ${label}?`,
    { modal: true, detail: `integrations/${chosen.fileName} is deleted and its secrets are removed from the editor's secret store. Playbooks that call it will show RP005 until a profile of that name exists again.` },
    "Delete",
  );
  if (ok !== "Delete") return;
  try {
    await fs.rm(chosen.file);
  } catch (e) {
    void vscode.window.showErrorMessage(`Riposte: could not delete integrations/${chosen.fileName}: ${e instanceof Error ? e.message : String(e)}.`);
    return;
  }
  if (chosen.read.ok) {
    const p = chosen.read.profile;
    for (const s of authMethodInfo(p.method)?.secrets ?? []) {
      try {
        await app.secrets.delete(secretKey({ name: p.name, baseUrl: p.baseUrl, method: p.method }, s.key));
      } catch {
        // nothing stored
      }
    }
  }
  await app.refresh();
}

