// The activity-bar views: Playbooks, Integration Profiles, Automation Rules, Runs. They read the
// workspace on disk (lib/workspace.ts) and refresh when its files change.

import * as path from "node:path";
import * as vscode from "vscode";

import { authMethodInfo } from "./lib/profile";
import { secretKey } from "./lib/profileFlow";
import { listPlaybooks, listProfiles, listRules, listRuns, type ProfileEntry, type RunEntry } from "./lib/workspace";

export type PlaybookStatus = { state: string; at: number };

abstract class Provider<T> implements vscode.TreeDataProvider<T> {
  protected readonly emitter = new vscode.EventEmitter<T | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  constructor(protected readonly root: () => string | undefined) {}
  refresh(): void {
    this.emitter.fire(undefined);
  }
  abstract getTreeItem(element: T): vscode.TreeItem | Thenable<vscode.TreeItem>;
  abstract getChildren(element?: T): vscode.ProviderResult<T[]>;
}

export interface PlaybookNode {
  name: string;
  file: string;
  docs?: string;
  lastRun?: RunEntry;
  status?: PlaybookStatus;
}

export class PlaybooksProvider extends Provider<PlaybookNode> {
  constructor(
    root: () => string | undefined,
    private readonly statuses: () => Record<string, PlaybookStatus>,
  ) {
    super(root);
  }

  async getChildren(element?: PlaybookNode): Promise<PlaybookNode[]> {
    const root = this.root();
    if (element !== undefined || root === undefined) return [];
    const [playbooks, runs] = await Promise.all([listPlaybooks(root), listRuns(root, 500)]);
    const statuses = this.statuses();
    return playbooks.map((p) => {
      const lastRun = runs.find((r) => r.summary.playbook === p.name);
      const status = statuses[p.name];
      return { ...p, ...(lastRun ? { lastRun } : {}), ...(status ? { status } : {}) };
    });
  }

  getTreeItem(p: PlaybookNode): vscode.TreeItem {
    const item = new vscode.TreeItem(p.name, vscode.TreeItemCollapsibleState.None);
    const state = p.status?.state ?? "not deployed";
    const run = p.lastRun ? `last run: ${p.lastRun.summary.description}` : "never run";
    item.description = `${state} · ${run}`;
    item.tooltip = new vscode.MarkdownString(
      `**${p.name}** — \`playbooks/${path.basename(p.file)}\`\n\nStatus: ${state}${p.status ? "" : " (Save stores it disabled; Deploy/Activate turns it on)"}\n\n${
        p.lastRun ? `Last run: ${p.lastRun.summary.description}` : "Not run yet: Test Playbook runs it on an alert."
      }${p.docs ? `\n\nDocs: \`playbooks/${path.basename(p.docs)}\`` : ""}`,
    );
    item.resourceUri = vscode.Uri.file(p.file);
    item.contextValue = "playbook";
    const runStatus = p.lastRun?.summary.status;
    item.iconPath =
      runStatus === undefined
        ? new vscode.ThemeIcon("file-code")
        : ["succeeded", "ok"].includes(runStatus)
          ? new vscode.ThemeIcon("pass", new vscode.ThemeColor("testing.iconPassed"))
          : new vscode.ThemeIcon("error", new vscode.ThemeColor("testing.iconFailed"));
    item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.file(p.file)] };
    return item;
  }
}

export class ProfilesProvider extends Provider<ProfileEntry> {
  constructor(
    root: () => string | undefined,
    private readonly secrets: vscode.SecretStorage,
  ) {
    super(root);
  }

  async getChildren(element?: ProfileEntry): Promise<ProfileEntry[]> {
    const root = this.root();
    if (element !== undefined || root === undefined) return [];
    return listProfiles(root);
  }

  async getTreeItem(p: ProfileEntry): Promise<vscode.TreeItem> {
    if (!p.read.ok) {
      const item = new vscode.TreeItem(p.fileName, vscode.TreeItemCollapsibleState.None);
      item.description = `malformed: ${p.read.error}`;
      item.tooltip = `integrations/${p.fileName} cannot be read: ${p.read.error}.\nOpen it and fix it (the Problems view has the details), or delete it.`;
      item.iconPath = new vscode.ThemeIcon("warning", new vscode.ThemeColor("problemsWarningIcon.foreground"));
      item.contextValue = "profile-malformed";
      item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.file(p.file)] };
      return item;
    }
    const prof = p.read.profile;
    const item = new vscode.TreeItem(prof.name, vscode.TreeItemCollapsibleState.None);
    item.description = `${prof.method} · ${prof.baseUrl}`;
    const info = authMethodInfo(prof.method);
    const secretLines: string[] = [];
    for (const s of info?.secrets ?? []) {
      let present = false;
      try {
        present = (await this.secrets.get(secretKey({ name: prof.name, baseUrl: prof.baseUrl, method: prof.method }, s.key))) !== undefined;
      } catch {
        present = false;
      }
      secretLines.push(`- \`${s.key}\`: ${present ? "stored" : s.optional ? "not set (optional)" : "**not set**"}`);
    }
    item.tooltip = new vscode.MarkdownString(
      `**${prof.name}** — \`integrations/${p.fileName}\`\n\n${prof.description ? `${prof.description}\n\n` : ""}Base URL: \`${prof.baseUrl}\`\n\nAuth: ${
        info?.label ?? prof.method
      }${prof.api ? `\n\nAPI catalog: \`${prof.api}\`` : ""}\n\nSecrets (in the editor's secret store, never shown):\n${secretLines.join("\n")}`,
    );
    item.iconPath = new vscode.ThemeIcon("plug");
    item.contextValue = "profile";
    item.command = { command: "vscode.open", title: "Open", arguments: [vscode.Uri.file(p.file)] };
    return item;
  }
}

export interface RuleNode {
  file: string;
  fileName: string;
  name?: string;
  enabled?: boolean;
  playbook?: string;
  error?: string;
}

export class RulesProvider extends Provider<RuleNode> {
  async getChildren(element?: RuleNode): Promise<RuleNode[]> {
    const root = this.root();
    if (element !== undefined || root === undefined) return [];
    return listRules(root);
  }

  getTreeItem(r: RuleNode): vscode.TreeItem {
    const item = new vscode.TreeItem(r.name ?? r.fileName, vscode.TreeItemCollapsibleState.None);
    if (r.error !== undefined) {
      item.description = `malformed: ${r.error}`;
      item.iconPath = new vscode.ThemeIcon("warning");
    } else {
      item.description = `${r.playbook ? `→ ${r.playbook}` : "no playbook"}${r.enabled === false ? " · disabled" : ""}`;
      item.iconPath = new vscode.ThemeIcon(r.enabled === false ? "circle-slash" : "zap");
    }
    item.tooltip = `rules/${r.fileName}`;
    item.contextValue = "rule";
    item.command = { command: "riposte.openRule", title: "Open Rule", arguments: [vscode.Uri.file(r.file)] };
    return item;
  }
}

export class RunsProvider extends Provider<RunEntry> {
  async getChildren(element?: RunEntry): Promise<RunEntry[]> {
    const root = this.root();
    if (element !== undefined || root === undefined) return [];
    return listRuns(root, 50);
  }

  getTreeItem(r: RunEntry): vscode.TreeItem {
    const item = new vscode.TreeItem(r.summary.label, vscode.TreeItemCollapsibleState.None);
    item.description = r.summary.description;
    item.tooltip = `${path.basename(r.file)}\n${r.summary.description}`;
    const ok = ["succeeded", "ok"].includes(r.summary.status);
    item.iconPath = ok ? new vscode.ThemeIcon("pass", new vscode.ThemeColor("testing.iconPassed")) : new vscode.ThemeIcon("error", new vscode.ThemeColor("testing.iconFailed"));
    item.contextValue = "run";
    item.command = { command: "riposte.openRun", title: "Open Run Record", arguments: [vscode.Uri.file(r.file)] };
    return item;
  }
}
