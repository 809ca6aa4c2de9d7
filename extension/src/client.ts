// The language client: finds `riposte`, checks its version, starts `riposte lsp`, restarts it
// when it crashes (a few times, then asks), and is the one way the rest of the extension talks to
// the server.

import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type Message,
  type ServerOptions,
} from "vscode-languageclient/node";

import { defaultDiscoveryInput, describeSource, resolveServer, type ServerProblem } from "./lib/discovery";
import { formatServerCrash, formatStartFailure, RESTART, SHOW_LOGS, type ServerState, type UserMessage } from "./lib/messages";
import { SecretRequestMethod, serverSettingsPayload, type ServerSettings } from "./lib/protocol";

const CRASH_WINDOW_MS = 3 * 60_000;
const MAX_RESTARTS = 3;
const OPEN_SETTINGS = "Open Settings";

export function readSettings(): ServerSettings {
  const c = vscode.workspace.getConfiguration("riposte");
  const list = (key: string) => (c.get<unknown[]>(key) ?? []).filter((v): v is string => typeof v === "string");
  return {
    server: { path: c.get<string>("server.path") ?? "" },
    python: { path: c.get<string>("python.path") ?? "" },
    engine: { url: c.get<string>("engine.url") ?? "" },
    logLevel: c.get<string>("logLevel") ?? "info",
    lint: { select: list("lint.select"), ignore: list("lint.ignore") },
  };
}

/**
 * The library's client, minus its own error pop-ups ("couldn't create connection to server"):
 * this extension says what went wrong itself, once, with "Show Logs" and "Restart Server".
 * Everything still goes to the output channel.
 */
class RiposteLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown): void {
    super.error(message, data, false);
  }
}

export type SecretHandler = (params: unknown) => Promise<{ value: string } | null>;

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private stateValue: ServerState = "stopped";
  private detailValue: string | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeState = this.stateEmitter.event;
  private crashes: number[] = [];
  private starting: Promise<void> | undefined;
  private readonly traceChannel: vscode.OutputChannel;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.OutputChannel,
    private readonly root: () => string | undefined,
    private readonly secretHandler: SecretHandler,
  ) {
    this.traceChannel = vscode.window.createOutputChannel("Riposte Language Server Trace");
    context.subscriptions.push(this.traceChannel);
  }

  get state(): ServerState {
    return this.stateValue;
  }
  get detail(): string | undefined {
    return this.detailValue;
  }
  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** The current language client (a restart makes a new one), for the chat's custom methods (chat/connection.ts). */
  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  private setState(state: ServerState, detail?: string): void {
    this.stateValue = state;
    this.detailValue = detail;
    this.stateEmitter.fire();
  }

  private log(line: string): void {
    this.output.appendLine(`[client ${new Date().toISOString()}] ${line}`);
  }

  /** Starts the server if it is not running; concurrent calls share one start. */
  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.client !== undefined) return;
    const root = this.root();
    if (root === undefined) {
      this.setState("no-workspace");
      return;
    }
    this.setState("starting");
    const settings = readSettings();
    const ext = this.context.extension.packageJSON as { version?: string };
    const extensionVersion = ext.version ?? "0.0.0";
    const resolved = await resolveServer(defaultDiscoveryInput(settings.server.path, this.context.extensionPath, root), extensionVersion);
    if (!resolved.ok) {
      this.reportProblem(resolved.problem);
      return;
    }
    const { server, version } = resolved;
    this.log(`using riposte ${version} at ${server.path} (${describeSource(server.source)})`);

    const env: NodeJS.ProcessEnv = { ...process.env, RIPOSTE_LOG: settings.logLevel };
    const serverOptions: ServerOptions = {
      run: { command: server.path, args: ["lsp"], options: { cwd: root, env } },
      debug: { command: server.path, args: ["lsp"], options: { cwd: root, env: { ...env, RIPOSTE_LOG: "debug" } } },
    };
    const watcher = vscode.workspace.createFileSystemWatcher("**/{riposte.toml,integrations/*.toml,rules/*.toml,playbooks/*.py,apis/*.json}");
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "file", pattern: "**/riposte.toml" },
        { scheme: "file", pattern: "**/integrations/*.toml" },
        { scheme: "file", pattern: "**/rules/*.toml" },
      ],
      diagnosticCollectionName: "riposte",
      outputChannel: this.output,
      traceOutputChannel: this.traceChannel,
      revealOutputChannelOn: RevealOutputChannelOn.Never, // errors come as notifications with "Show Logs"
      // The server's stderr (RIPOSTE_LOG) already lands in the output channel: window/logMessage
      // would print every line twice.
      initializationOptions: { ...serverSettingsPayload(settings), logLevel: "off" },
      synchronize: { configurationSection: "riposte", fileEvents: watcher },
      middleware: {
        workspace: {
          // Answer `workspace/configuration` for section `riposte` in the server's terms (empty
          // lint lists mean "not set", not "select nothing").
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return result.map((value: unknown, i) => {
              const section = params.items[i]?.section;
              if (section !== "riposte" && section !== undefined) return value;
              const raw = section === undefined && typeof value === "object" && value !== null ? (value as Record<string, unknown>)["riposte"] : value;
              return { ...serverSettingsPayload(raw), logLevel: "off" };
            });
          },
        },
      },
      errorHandler: this.errorHandler(),
      initializationFailedHandler: (error) => {
        this.log(`initialization failed: ${String(error)}`);
        return false;
      },
      markdown: { isTrusted: false, supportHtml: false },
    };
    const client = new RiposteLanguageClient("riposte", "Riposte Language Server", serverOptions, clientOptions);
    client.onRequest(SecretRequestMethod, (params: unknown) => this.secretHandler(params));
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) this.setState("running", `riposte ${version}`);
      else if (e.newState === State.Starting) this.setState("starting");
      else if (this.stateValue !== "failed") this.setState("stopped");
    });
    this.client = client;
    try {
      await client.start();
      this.log("language server started");
    } catch (err) {
      this.log(`start failed: ${String(err)}`);
      this.client = undefined;
      watcher.dispose();
      try {
        await client.dispose(2000);
      } catch {
        // already gone
      }
      const msg = formatStartFailure(err, server.path);
      this.setState("failed", msg.text);
      void this.showMessage(msg);
      return;
    }
    this.context.subscriptions.push(watcher);
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (_error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult => {
        // Errors writing to or reading from the server: keep going unless they pile up.
        return { action: count !== undefined && count > 3 ? ErrorAction.Shutdown : ErrorAction.Continue, handled: true };
      },
      closed: (): CloseHandlerResult => {
        const now = Date.now();
        this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
        this.crashes.push(now);
        if (this.crashes.length <= MAX_RESTARTS) {
          this.log(`the language server stopped unexpectedly; restarting (${this.crashes.length}/${MAX_RESTARTS} in ${CRASH_WINDOW_MS / 60_000} min)`);
          void vscode.window
            .showWarningMessage("The Riposte language server stopped unexpectedly and was restarted.", SHOW_LOGS)
            .then((a) => (a === SHOW_LOGS ? this.output.show(true) : undefined));
          return { action: CloseAction.Restart, handled: true };
        }
        const msg = formatServerCrash(this.crashes.length, CRASH_WINDOW_MS / 60_000);
        this.log(msg.text);
        this.setState("failed", "it crashed repeatedly");
        void this.showMessage(msg);
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  private reportProblem(problem: ServerProblem): void {
    this.log(`${problem.message} ${problem.next}`);
    this.setState("failed", problem.message);
    void this.showMessage({ severity: "error", text: `Riposte: ${problem.message} ${problem.next}`, actions: [OPEN_SETTINGS, SHOW_LOGS] });
  }

  async showMessage(msg: UserMessage): Promise<void> {
    const show =
      msg.severity === "error" ? vscode.window.showErrorMessage : msg.severity === "warning" ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const action = await show(msg.text, ...msg.actions);
    if (action === SHOW_LOGS) this.output.show(true);
    else if (action === RESTART) await this.restart();
    else if (action === OPEN_SETTINGS) await vscode.commands.executeCommand("workbench.action.openSettings", "riposte.server");
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    try {
      if (client.isRunning()) await client.stop(5000);
    } catch (err) {
      this.log(`stop: ${String(err)}`);
    }
    try {
      await client.dispose(2000);
    } catch {
      // already stopped
    }
    this.setState("stopped");
  }

  async restart(): Promise<void> {
    this.log("restart requested");
    await this.starting?.catch(() => undefined);
    await this.stop();
    this.crashes = [];
    await this.start();
  }

  /** `workspace/executeCommand` on the server; rejects with the server's error as is. */
  async executeCommand<T = unknown>(command: string, args: unknown[], token?: vscode.CancellationToken): Promise<T> {
    if (this.client === undefined || !this.client.isRunning()) {
      await this.start();
    }
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      throw new Error(`the language server is not running${this.detailValue ? ` (${this.detailValue})` : ""}`);
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args }, token)) as T;
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
  }
}
