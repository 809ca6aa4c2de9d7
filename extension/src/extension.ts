// Riposte for VS Code: a thin shell around `riposte lsp`. Activation wires the language client,
// the status bar, the views, the commands, the `riposte/secret` handler, the agent chat panel and
// the Markdown preview's Mermaid plugin; the work itself is done by the server.

import * as vscode from "vscode";

import { askModelKey, registerChat } from "./chat";
import { ServerManager } from "./client";
import { registerCommands, secretStoreOf, type App } from "./commands";
import { registerEngineViews } from "./engineViews";
import { answerEngineTokenRequest, isEngineTokenRequest } from "./lib/engine";
import { answerLlmKeyRequest, isLlmKeyRequest } from "./lib/lmKey";
import { mermaidPlugin, type MarkdownItLike } from "./lib/markdownMermaid";
import { answerSecretRequest } from "./lib/profileFlow";
import { findWorkspaceRoot, listProfiles } from "./lib/workspace";
import { createStatusBar } from "./status";
import { PlaybooksProvider, ProfilesProvider, RulesProvider, RunsProvider, type PlaybookStatus } from "./views";

const STATUS_KEY = "riposte.playbookStatus";

let manager: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<{ extendMarkdownIt<T extends MarkdownItLike>(md: T): T }> {
  const output = vscode.window.createOutputChannel("Riposte");
  context.subscriptions.push(output);
  const secrets = secretStoreOf(context.secrets);

  let root: string | undefined;
  const folders = () => (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath);
  root = await findWorkspaceRoot(folders());

  const findProfile = async (name: string) => {
    if (root === undefined) return undefined;
    for (const e of await listProfiles(root)) if (e.read.ok && e.read.profile.name === name) return e.read.profile;
    return undefined;
  };
  const askSecret = async (profile: { name: string; baseUrl: string }, field: string) => {
    output.appendLine(`[client] the server asked for the ${field} of "${profile.name}"; none is stored, asking`);
    return vscode.window.showInputBox({
      title: `Riposte needs a secret for "${profile.name}"`,
      prompt: `The ${field} of "${profile.name}" (${profile.baseUrl}). It is kept in the editor's secret store and sent only to the Riposte server for requests to that host. Escape to decline.`,
      password: true,
      ignoreFocusOut: true,
    });
  };
  const server = new ServerManager(context, output, () => root, (params) => {
    // The engine's token (`{engine, field: "token"}`), from the secret store only.
    if (isEngineTokenRequest(params)) return answerEngineTokenRequest(params, secrets);
    // The model provider's key for an agent task (`{llm, field: "api_key"}`): stored, else asked.
    if (isLlmKeyRequest(params)) {
      output.appendLine(`[client] riposte/secret request: the ${params.llm} model key`);
      return answerLlmKeyRequest(params, secrets, (provider) => Promise.resolve(askModelKey(provider)));
    }
    const p = params as { profile?: unknown; field?: unknown; ask?: unknown } | null;
    output.appendLine(`[client] riposte/secret request: profile=${JSON.stringify(p?.profile)} field=${JSON.stringify(p?.field)}${p?.ask === false ? " (store only)" : ""}`);
    return answerSecretRequest(params, findProfile, secrets, askSecret);
  });
  manager = server;
  context.subscriptions.push(server);

  const statuses = (): Record<string, PlaybookStatus> => context.workspaceState.get<Record<string, PlaybookStatus>>(STATUS_KEY) ?? {};
  const playbooks = new PlaybooksProvider(() => root, statuses);
  const profiles = new ProfilesProvider(() => root, context.secrets);
  const rules = new RulesProvider(() => root);
  const runs = new RunsProvider(() => root);
  const providers = [playbooks, profiles, rules, runs];
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider("riposte.playbooks", playbooks),
    vscode.window.registerTreeDataProvider("riposte.profiles", profiles),
    vscode.window.registerTreeDataProvider("riposte.rules", rules),
    vscode.window.registerTreeDataProvider("riposte.runs", runs),
  );

  const engineViews = registerEngineViews({ server, output, secrets });
  context.subscriptions.push(...engineViews.disposables);

  const refresh = async () => {
    root = await findWorkspaceRoot(folders());
    await vscode.commands.executeCommand("setContext", "riposte.active", root !== undefined);
    for (const p of providers) p.refresh();
    engineViews.refresh();
  };

  const app: App = {
    context,
    server,
    output,
    root: () => root,
    refresh,
    secrets,
    setPlaybookStatus: async (name, status) => {
      await context.workspaceState.update(STATUS_KEY, { ...statuses(), [name]: status });
    },
  };
  context.subscriptions.push(...registerCommands(app), createStatusBar(server));
  context.subscriptions.push(...registerChat({ context, server, output, secrets, root: () => root }));

  // Keep the views current; start the server when a riposte.toml appears.
  const watcher = vscode.workspace.createFileSystemWatcher("**/{riposte.toml,playbooks/*,integrations/*.toml,rules/*.toml,alerts/*.json,.riposte/runs/*.json}");
  let pending: NodeJS.Timeout | undefined;
  const onChange = (uri: vscode.Uri) => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      void refresh().then(async () => {
        if (uri.path.endsWith("/riposte.toml") && root !== undefined && server.state !== "running" && server.state !== "starting") await server.start();
      });
    }, 200);
  };
  watcher.onDidCreate(onChange);
  watcher.onDidChange(onChange);
  watcher.onDidDelete(onChange);
  context.subscriptions.push(watcher, { dispose: () => clearTimeout(pending) });
  context.subscriptions.push(vscode.workspace.onDidChangeWorkspaceFolders(() => void refresh()));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("riposte.server.path") || e.affectsConfiguration("riposte.logLevel")) {
        const a = await vscode.window.showInformationMessage("Riposte: the server settings changed. Restart the language server to apply them?", "Restart Server");
        if (a) await server.restart();
      }
    }),
  );

  await refresh();
  output.appendLine(`[client] Riposte ${String((context.extension.packageJSON as { version?: string }).version)} activated; workspace: ${root ?? "none (no riposte.toml)"}`);
  if (root !== undefined) void server.start();

  return {
    extendMarkdownIt<T extends MarkdownItLike>(md: T): T {
      return mermaidPlugin(md);
    },
  };
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
}
