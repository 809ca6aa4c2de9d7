// The engine views (`riposte serve`): Active Playbooks (with their versions), Automation Rules on
// the engine, Runs (with status icons), an alert's activity in a webview, and the commands
// Activate / Deactivate / Refresh / Set Engine Token. Every read and change is a `riposte.engine.*`
// command to the language server, which talks to the engine (docs/extension-protocol.md); the
// logic lives in lib/engine.ts.

import * as vscode from "vscode";

import type { ServerManager } from "./client";
import {
  EngineCommand,
  engineTokenKey,
  isTokenRefusal,
  normalizeEngineUrl,
  playbookRow,
  readActivity,
  readPlaybooks,
  readRules,
  readRuns,
  renderActivityHtml,
  ruleRow,
  runRow,
  versionRow,
  type EnginePlaybook,
  type EngineRule,
  type EngineRun,
  type EngineVersion,
  type Row,
} from "./lib/engine";
import { formatCommandError } from "./lib/messages";
import type { SecretStore } from "./lib/profileFlow";
import { showRunRecord } from "./runPanel";

export const SET_TOKEN = "Set Engine Token";
const DEFAULT_ENGINE_URL = "http://127.0.0.1:7878";

/** The `riposte.engine.url` setting; empty: the server decides (environment, riposte.toml, default). */
export function engineUrlSetting(): string {
  return (vscode.workspace.getConfiguration("riposte").get<string>("engine.url") ?? "").trim();
}

/** Arguments for an engine command: the setting's URL when there is one. */
export function engineArgs(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const url = engineUrlSetting();
  return url === "" ? extra : { ...extra, engineUrl: url };
}

interface Deps {
  server: ServerManager;
  output: vscode.OutputChannel;
  secrets: SecretStore;
}

function treeItem(row: Row, collapsible: vscode.TreeItemCollapsibleState): vscode.TreeItem {
  const item = new vscode.TreeItem(row.label, collapsible);
  item.description = row.description;
  item.tooltip = row.tooltip;
  item.iconPath = new vscode.ThemeIcon(row.icon, row.color !== undefined ? new vscode.ThemeColor(row.color) : undefined);
  item.contextValue = row.context;
  return item;
}

/** A message row in place of the list: the engine could not be asked, or it has nothing yet. */
interface Note {
  note: string;
  tooltip?: string;
}

abstract class EngineProvider<T> implements vscode.TreeDataProvider<T | Note> {
  private readonly emitter = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  /** The engine URL the last answer came from. */
  lastEngine: string | undefined;
  constructor(protected readonly deps: Deps) {}
  refresh(): void {
    this.emitter.fire(undefined);
  }
  protected async ask(command: string, args: Record<string, unknown>): Promise<unknown> {
    if (!this.deps.server.running) throw new Error("the language server is not running");
    const answer = await this.deps.server.executeCommand(command, [engineArgs(args)]);
    const engine = (answer as { engine?: unknown } | null)?.engine;
    if (typeof engine === "string") this.lastEngine = engine;
    return answer;
  }
  protected failed(err: unknown): Note[] {
    const text = err instanceof Error ? err.message : typeof err === "object" && err !== null && "message" in err ? String(err.message) : String(err);
    this.deps.output.appendLine(`[client] engine view: ${text}`);
    return [{ note: isTokenRefusal(err) ? "The engine refused the token: run “Riposte: Set Engine Token”." : text, tooltip: text }];
  }
  abstract getTreeItem(element: T | Note): vscode.TreeItem;
  abstract getChildren(element?: T | Note): Promise<(T | Note)[]>;
  protected noteItem(n: Note): vscode.TreeItem {
    const item = new vscode.TreeItem(n.note, vscode.TreeItemCollapsibleState.None);
    item.tooltip = n.tooltip ?? n.note;
    item.iconPath = new vscode.ThemeIcon("info");
    item.contextValue = "engineNote";
    return item;
  }
}

const isNote = (x: unknown): x is Note => typeof x === "object" && x !== null && "note" in x;

type PlaybookElement = EnginePlaybook | { playbook: string; version: EngineVersion };

export class EnginePlaybooksProvider extends EngineProvider<PlaybookElement> {
  async getChildren(element?: PlaybookElement | Note): Promise<(PlaybookElement | Note)[]> {
    if (element !== undefined) {
      if (isNote(element) || "version" in element) return [];
      return element.versions.map((version) => ({ playbook: element.name, version }));
    }
    try {
      const playbooks = readPlaybooks(await this.ask(EngineCommand.playbooks, {}));
      return playbooks.length > 0 ? playbooks : [{ note: "No playbooks on the engine yet: Save or Deploy one." }];
    } catch (err) {
      return this.failed(err);
    }
  }
  getTreeItem(element: PlaybookElement | Note): vscode.TreeItem {
    if (isNote(element)) return this.noteItem(element);
    if ("version" in element) {
      const item = treeItem(versionRow(element.playbook, element.version), vscode.TreeItemCollapsibleState.None);
      item.id = `engine-playbook:${element.playbook}:v${element.version.version}`;
      return item;
    }
    const item = treeItem(playbookRow(element), element.versions.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `engine-playbook:${element.name}`;
    return item;
  }
}

export class EngineRulesProvider extends EngineProvider<EngineRule> {
  async getChildren(element?: EngineRule | Note): Promise<(EngineRule | Note)[]> {
    if (element !== undefined) return [];
    try {
      const rules = readRules(await this.ask(EngineCommand.rules, {}));
      return rules.length > 0 ? rules : [{ note: "No automation rules on the engine: `riposte rule deploy` saves rules/*.toml." }];
    } catch (err) {
      return this.failed(err);
    }
  }
  getTreeItem(element: EngineRule | Note): vscode.TreeItem {
    if (isNote(element)) return this.noteItem(element);
    return treeItem(ruleRow(element), vscode.TreeItemCollapsibleState.None);
  }
}

export class EngineRunsProvider extends EngineProvider<EngineRun> {
  async getChildren(element?: EngineRun | Note): Promise<(EngineRun | Note)[]> {
    if (element !== undefined) return [];
    try {
      const runs = readRuns(await this.ask(EngineCommand.runs, { limit: 50 }));
      return runs.length > 0 ? runs : [{ note: "No runs yet: a run is queued when an alert matches an enabled rule whose playbook is active." }];
    } catch (err) {
      return this.failed(err);
    }
  }
  getTreeItem(element: EngineRun | Note): vscode.TreeItem {
    if (isNote(element)) return this.noteItem(element);
    const item = treeItem(runRow(element), vscode.TreeItemCollapsibleState.None);
    item.id = `engine-run:${element.id}`;
    item.command = { command: "riposte.showEngineRun", title: "Show Run", arguments: [element] };
    return item;
  }
}

const activityPanels = new Map<string, vscode.WebviewPanel>();

export interface EngineViews {
  disposables: vscode.Disposable[];
  refresh(): void;
}

/** Registers the engine views and their commands. */
export function registerEngineViews(deps: Deps): EngineViews {
  const playbooks = new EnginePlaybooksProvider(deps);
  const rules = new EngineRulesProvider(deps);
  const runs = new EngineRunsProvider(deps);
  const providers = [playbooks, rules, runs];
  const refresh = () => {
    for (const p of providers) p.refresh();
  };

  const run = async (title: string, command: string, args: Record<string, unknown>): Promise<unknown> => {
    try {
      return await deps.server.executeCommand(command, [engineArgs(args)]);
    } catch (err) {
      deps.output.appendLine(`[client] ${command} failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
      if (isTokenRefusal(err)) {
        const msg = formatCommandError(title, err);
        const action = await vscode.window.showErrorMessage(msg.text, SET_TOKEN);
        if (action === SET_TOKEN) await vscode.commands.executeCommand("riposte.setEngineToken");
      } else {
        await deps.server.showMessage(formatCommandError(title, err));
      }
      return undefined;
    }
  };
  const nameOf = (arg: unknown): string | undefined => {
    if (typeof arg === "object" && arg !== null) {
      const o = arg as { name?: unknown; playbook?: unknown };
      if (typeof o.name === "string") return o.name;
      if (typeof o.playbook === "string") return o.playbook;
    }
    return undefined;
  };
  const versionOf = (arg: unknown): number | undefined => {
    const v = (arg as { version?: { version?: unknown } } | null)?.version?.version;
    return typeof v === "number" ? v : undefined;
  };

  const runsView = vscode.window.createTreeView("riposte.engine.runs", { treeDataProvider: runs });
  const reg = (id: string, fn: (...args: unknown[]) => unknown) => vscode.commands.registerCommand(id, fn);
  const disposables: vscode.Disposable[] = [
    vscode.window.registerTreeDataProvider("riposte.engine.playbooks", playbooks),
    vscode.window.registerTreeDataProvider("riposte.engine.rules", rules),
    runsView,
    reg("riposte.refreshEngine", refresh),
    reg("riposte.activatePlaybook", async (arg) => {
      const name = nameOf(arg) ?? (await vscode.window.showInputBox({ title: "Riposte: Activate", prompt: "The playbook's name on the engine" }));
      if (!name) return;
      const version = versionOf(arg);
      const ok = await vscode.window.showWarningMessage(
        `Activate ${name}${version !== undefined ? ` version ${version}` : " (latest version)"}?`,
        { modal: true, detail: "Once active, the automation rules that name it run it on every matching alert, for real (no dry run)." },
        "Activate",
      );
      if (ok !== "Activate") return;
      const answer = await run("Activate", EngineCommand.activate, version !== undefined ? { name, version } : { name });
      if (answer === undefined) return;
      refresh();
      const message = (answer as { message?: unknown }).message;
      void vscode.window.showInformationMessage(`Riposte: ${typeof message === "string" ? message : `${name} is active.`}`);
    }),
    reg("riposte.deactivatePlaybook", async (arg) => {
      const name = nameOf(arg) ?? (await vscode.window.showInputBox({ title: "Riposte: Deactivate", prompt: "The playbook's name on the engine" }));
      if (!name) return;
      const answer = await run("Deactivate", EngineCommand.deactivate, { name });
      if (answer === undefined) return;
      refresh();
      const message = (answer as { message?: unknown }).message;
      void vscode.window.showInformationMessage(`Riposte: ${typeof message === "string" ? message : `${name} is deactivated.`}`);
    }),
    reg("riposte.showEngineRun", async (arg) => {
      const id = (arg as { id?: unknown } | null)?.id;
      if (typeof id !== "number") return;
      const detail = (await run("Show Run", EngineCommand.run, { id })) as { record?: unknown; alert_id?: unknown; playbook?: unknown; state?: unknown } | undefined;
      if (detail === undefined) return;
      if (detail.record !== null && detail.record !== undefined) {
        showRunRecord(detail.record, `engine-run-${id}`, `Engine run #${id} of ${String(detail.playbook)}`);
      } else {
        void vscode.window.showInformationMessage(`Riposte: run #${id} is ${String(detail.state)}; its record comes when it finishes.`);
      }
      if (typeof detail.alert_id === "string") await vscode.commands.executeCommand("riposte.showAlertActivity", detail.alert_id);
    }),
    reg("riposte.showAlertActivity", async (arg) => {
      let alert = typeof arg === "string" ? arg : (arg as { alertId?: unknown } | null)?.alertId;
      if (typeof alert !== "string") alert = await vscode.window.showInputBox({ title: "Riposte: Alert Activity", prompt: "The alert's id" });
      if (typeof alert !== "string" || alert === "") return;
      const answer = await run("Alert Activity", EngineCommand.activity, { alert });
      if (answer === undefined) return;
      const activity = readActivity(answer);
      let panel = activityPanels.get(alert);
      if (panel === undefined) {
        panel = vscode.window.createWebviewPanel("riposte.activity", `Activity: ${alert}`, vscode.ViewColumn.Beside, { enableScripts: false, enableFindWidget: true });
        const key = alert;
        activityPanels.set(key, panel);
        panel.onDidDispose(() => activityPanels.delete(key));
      } else {
        panel.reveal();
      }
      const engine = runs.lastEngine ?? (engineUrlSetting() || undefined);
      panel.webview.html = renderActivityHtml(activity, { cspSource: panel.webview.cspSource, ...(engine !== undefined ? { engine } : {}) });
    }),
    reg("riposte.setEngineToken", async () => {
      const url = await vscode.window.showInputBox({
        title: "Riposte: Set Engine Token (1/2)",
        prompt: "The engine's URL (as `riposte serve` printed it)",
        value: engineUrlSetting() || runs.lastEngine || playbooks.lastEngine || DEFAULT_ENGINE_URL,
        ignoreFocusOut: true,
      });
      if (!url) return;
      const token = await vscode.window.showInputBox({
        title: "Riposte: Set Engine Token (2/2)",
        prompt: `The bearer token of ${normalizeEngineUrl(url)}. It is kept in the editor's secret store and sent only to the Riposte server for that engine. Empty: forget the stored token.`,
        password: true,
        ignoreFocusOut: true,
      });
      if (token === undefined) return;
      const key = engineTokenKey(url);
      try {
        if (token === "") await deps.secrets.delete(key);
        else await deps.secrets.store(key, token);
      } catch (e) {
        void vscode.window.showErrorMessage(`Riposte: the editor's secret store refused the token (${e instanceof Error ? e.message : String(e)}); set RIPOSTE_ENGINE_TOKEN for the server instead.`);
        return;
      }
      void vscode.window.showInformationMessage(token === "" ? `Riposte: the token of ${normalizeEngineUrl(url)} is forgotten.` : `Riposte: the token of ${normalizeEngineUrl(url)} is stored.`);
      refresh();
    }),
  ];
  // Runs change on their own: refresh the Runs view while it is visible.
  const timer = setInterval(() => {
    if (deps.server.running && runsView.visible) runs.refresh();
  }, 5000);
  disposables.push(new vscode.Disposable(() => clearInterval(timer)));
  return { disposables, refresh };
}
