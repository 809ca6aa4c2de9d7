// The agent chat panel's host: one WebviewPanel (`riposte.chat`) whose page (webview/main.ts)
// renders the view model of lib/chatState.ts, and the wiring to the language server's
// `riposte/chat/*` methods (docs/chat-protocol.md). The page never talks to the server: it posts
// the person's clicks here, and this side answers the server's approve / ask / switchToAct
// requests when the person decides. Nothing from the server reaches the page as markup.

import { randomBytes } from "node:crypto";
import * as path from "node:path";
import * as vscode from "vscode";

import {
  AUTO_APPROVE_CATEGORIES,
  ChatMethod,
  describeChatError,
  modelSettingsOf,
  obj,
  PROVIDERS,
  readApprovalRequest,
  readAutoApprove,
  readChatEvent,
  readPlan,
  readQuestion,
  readStartResult,
  readStatus,
  type AutoApproveCategory,
  type Decision,
  type Mode,
  type ModelSettings,
} from "../lib/chatProtocol";
import { initialChatView, isBusy, reduceChat, type ChatAction, type ChatView, type ModelSettingsView, type PageMessage } from "../lib/chatState";
import type { ChatConnection } from "./connection";

const SETTINGS = "riposte.agent";
const TASK_ENDED = "the chat panel left this task";

interface Pending<T> {
  chatId: string;
  resolve: (value: T) => void;
}

function readModelSettings(): ModelSettingsView {
  const c = vscode.workspace.getConfiguration(SETTINGS);
  return { provider: c.get<string>("provider") ?? "", model: c.get<string>("model") ?? "", baseUrl: c.get<string>("baseUrl") ?? "" };
}

function readAutoApproveSetting(): AutoApproveCategory[] {
  return readAutoApprove(vscode.workspace.getConfiguration(SETTINGS).get<unknown>("autoApprove"));
}

/** The page's script nonce: unguessable, so a script a model smuggled into the page cannot run. */
function nonce(): string {
  return randomBytes(18).toString("base64url");
}

export class ChatController implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private view: ChatView = initialChatView(readModelSettings(), readAutoApproveSetting());
  private posting: NodeJS.Timeout | undefined;
  /** Bumped by New task: a start answered after it belongs to a task the panel left. */
  private generation = 0;
  private cancelWhenStarted = false;
  /** Only the latest status answer counts (settings saved field by field ask several times). */
  private statusSeq = 0;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly approvals = new Map<string, Pending<Decision>>();
  private readonly questions = new Map<string, Pending<{ text: string | null }>>();
  private switchRequest: Pending<{ switch: boolean }> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly connection: ChatConnection,
    private readonly output: vscode.OutputChannel,
    private readonly root: () => string | undefined,
  ) {
    connection.onNotification(ChatMethod.event, (raw) => {
      const o = obj(raw);
      const event = readChatEvent(o["event"]);
      if (typeof o["chatId"] !== "string" || event === undefined) return;
      this.dispatch({ type: "event", chatId: o["chatId"], event });
    });
    connection.onRequest(ChatMethod.approve, (raw) => this.onApprove(raw));
    connection.onRequest(ChatMethod.ask, (raw) => this.onAsk(raw));
    connection.onRequest(ChatMethod.switchToAct, (raw) => this.onSwitch(raw));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(SETTINGS)) return;
        this.dispatch({ type: "settings", settings: readModelSettings(), autoApprove: readAutoApproveSetting() });
        clearTimeout(this.statusTimer);
        this.statusTimer = setTimeout(() => void this.refreshStatus(), 150);
      }),
    );
  }

  private log(line: string): void {
    // Methods and chat ids only: params and answers may quote the workspace.
    this.output.appendLine(`[chat] ${line}`);
  }

  private isOpen(): boolean {
    return this.panel !== undefined;
  }

  private dispatch(action: ChatAction): void {
    this.view = reduceChat(this.view, action);
    if (this.panel === undefined || this.posting !== undefined) return;
    // Coalesce bursts (text deltas) into one post.
    this.posting = setTimeout(() => {
      this.posting = undefined;
      void this.panel?.webview.postMessage({ type: "view", view: this.view });
    }, 16);
  }

  // --- server → client requests -----------------------------------------------------------------

  private onApprove(raw: unknown): Promise<Decision> {
    const o = obj(raw);
    const chatId = o["chatId"];
    const request = readApprovalRequest(o["request"]);
    if (typeof chatId !== "string" || request === undefined) return Promise.resolve({ decision: "reject", reason: "the chat panel could not read this approval request" });
    this.log(`riposte/chat/approve ${chatId}`);
    if (!this.isOpen() || !this.follows(chatId)) return Promise.resolve({ decision: "reject", reason: TASK_ENDED });
    return new Promise((resolve) => {
      this.approvals.set(request.call_id, { chatId, resolve });
      this.dispatch({ type: "approvalAsked", chatId, request });
    });
  }

  private onAsk(raw: unknown): Promise<{ text: string | null }> {
    const o = obj(raw);
    const chatId = o["chatId"];
    const question = readQuestion(o["question"]);
    if (typeof chatId !== "string" || question === undefined) return Promise.resolve({ text: null });
    this.log(`riposte/chat/ask ${chatId}`);
    if (!this.isOpen() || !this.follows(chatId)) return Promise.resolve({ text: null });
    return new Promise((resolve) => {
      this.questions.set(question.id, { chatId, resolve });
      this.dispatch({ type: "questionAsked", chatId, question });
    });
  }

  private onSwitch(raw: unknown): Promise<{ switch: boolean }> {
    const o = obj(raw);
    const chatId = o["chatId"];
    if (typeof chatId !== "string") return Promise.resolve({ switch: false });
    this.log(`riposte/chat/switchToAct ${chatId}`);
    if (!this.isOpen() || !this.follows(chatId)) return Promise.resolve({ switch: false });
    return new Promise((resolve) => {
      this.switchRequest?.resolve({ switch: false });
      this.switchRequest = { chatId, resolve };
      this.dispatch({ type: "switchAsked", chatId, plan: readPlan(o["plan"]) });
    });
  }

  private follows(chatId: string): boolean {
    if (this.view.left.includes(chatId)) return false;
    return this.view.chatId === chatId || (this.view.chatId === null && this.view.phase === "starting");
  }

  /** Answers everything still open as "no" (the person left the task or closed the panel). */
  private abandonPending(): void {
    for (const p of this.approvals.values()) p.resolve({ decision: "reject", reason: TASK_ENDED });
    for (const p of this.questions.values()) p.resolve({ text: null });
    this.switchRequest?.resolve({ switch: false });
    this.approvals.clear();
    this.questions.clear();
    this.switchRequest = undefined;
  }

  // --- the panel ------------------------------------------------------------------------------

  open(): void {
    if (this.panel !== undefined) {
      this.panel.reveal(vscode.ViewColumn.Beside);
      return;
    }
    const dist = vscode.Uri.joinPath(this.context.extensionUri, "dist");
    const panel = vscode.window.createWebviewPanel(
      "riposte.chat",
      "Riposte Agent",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [dist], enableFindWidget: true },
    );
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, "extension", "media", "riposte.svg");
    this.panel = panel;
    panel.webview.html = this.html(panel.webview, dist);
    panel.webview.onDidReceiveMessage((m: PageMessage) => void this.onPage(m).catch((e: unknown) => this.dispatch({ type: "error", message: errorText(e) })), undefined, this.disposables);
    panel.onDidDispose(() => {
      this.panel = undefined;
      clearTimeout(this.posting);
      this.posting = undefined;
      // The panel is this task's only front end: with it gone, nobody can approve or answer.
      if (this.view.chatId !== null && isBusy(this.view)) void this.cancelTask();
      this.abandonPending();
    });
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const n = nonce();
    const uri = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(dist, file)).toString();
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      // Mermaid puts a <style> in each SVG it draws.
      `style-src ${webview.cspSource} 'unsafe-inline'`,
      `font-src ${webview.cspSource}`,
      `script-src 'nonce-${n}'`,
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri("chat.css")}">
<title>Riposte Agent</title>
</head>
<body>
<div id="app"></div>
<script nonce="${n}" src="${uri("mermaid.min.js")}"></script>
<script nonce="${n}" src="${uri("chat.js")}"></script>
</body>
</html>`;
  }

  private async onPage(m: PageMessage): Promise<void> {
    switch (m.type) {
      case "ready":
        this.view = { ...this.view, settings: readModelSettings(), autoApprove: readAutoApproveSetting() };
        void this.panel?.webview.postMessage({ type: "view", view: this.view });
        await this.refreshStatus();
        return;
      case "send":
        return this.start(m.prompt);
      case "setMode":
        return this.setMode(m.mode);
      case "setAutoApprove":
        return this.setAutoApprove(m.autoApprove);
      case "approve":
      case "reject": {
        const pending = this.approvals.get(m.callId);
        this.approvals.delete(m.callId);
        const reason = m.type === "reject" && m.reason.trim() !== "" ? m.reason.trim() : undefined;
        this.dispatch({ type: "approvalAnswered", callId: m.callId, approve: m.type === "approve", ...(reason !== undefined ? { reason } : {}) });
        pending?.resolve(m.type === "approve" ? { decision: "approve" } : reason !== undefined ? { decision: "reject", reason } : { decision: "reject" });
        return;
      }
      case "answer": {
        const pending = this.questions.get(m.questionId);
        this.questions.delete(m.questionId);
        this.dispatch({ type: "questionAnswered", questionId: m.questionId, text: m.text });
        pending?.resolve({ text: m.text });
        return;
      }
      case "switchToAct": {
        const pending = this.switchRequest;
        this.switchRequest = undefined;
        this.dispatch({ type: "switchAnswered", switchToAct: m.switchToAct });
        pending?.resolve({ switch: m.switchToAct });
        return;
      }
      case "createProfile":
        await vscode.commands.executeCommand("riposte.newProfile", { name: m.name });
        return;
      case "newTask":
        return this.newTask();
      case "cancel":
        return this.cancelTask();
      case "saveSettings":
        return this.saveSettings(m.settings);
      case "setKey":
        await vscode.commands.executeCommand("riposte.setModelApiKey", m.provider);
        return;
      case "openSettings":
        await vscode.commands.executeCommand("workbench.action.openSettings", SETTINGS);
        return;
      case "pickProvider":
        await pickProvider();
        return;
      case "refreshStatus":
        return this.refreshStatus();
      case "openFile":
        return this.openFile(m.path);
    }
  }

  private workspaceUri(): string | null {
    const root = this.root();
    return root === undefined ? null : vscode.Uri.file(root).toString();
  }

  private modelSettings(): ModelSettings | null {
    return modelSettingsOf(readModelSettings());
  }

  async refreshStatus(): Promise<void> {
    if (this.panel === undefined) return;
    const seq = ++this.statusSeq;
    try {
      const result = await this.connection.request(ChatMethod.status, { workspace: this.workspaceUri(), model: this.modelSettings() });
      if (seq === this.statusSeq) this.dispatch({ type: "status", status: readStatus(result) });
    } catch (e) {
      this.log(`riposte/chat/status failed`);
      if (seq === this.statusSeq) this.dispatch({ type: "statusFailed", error: describeChatError(ChatMethod.status, e) });
    }
  }

  private async start(prompt: string): Promise<void> {
    const text = prompt.trim();
    if (text === "" || isBusy(this.view)) return;
    const generation = this.generation;
    this.cancelWhenStarted = false;
    this.dispatch({ type: "send", prompt: text });
    const params = { workspace: this.workspaceUri(), prompt: text, mode: this.view.mode, autoApprove: this.view.autoApprove, model: this.modelSettings() };
    let chatId: string;
    try {
      const started = readStartResult(await this.connection.request(ChatMethod.start, params));
      if (started === undefined) throw new Error("the server answered without a chatId");
      chatId = started.chatId;
    } catch (e) {
      this.log("riposte/chat/start failed");
      if (generation === this.generation) this.dispatch({ type: "startFailed", error: describeChatError(ChatMethod.start, e) });
      return;
    }
    this.log(`riposte/chat/start → ${chatId}`);
    if (generation !== this.generation) {
      // Left (New task) before the server answered: stop what it started.
      this.dispatch({ type: "leave", chatId });
      await this.connection.request(ChatMethod.cancel, { chatId }).catch(() => undefined);
      return;
    }
    this.dispatch({ type: "started", chatId });
    if (this.cancelWhenStarted) await this.cancelTask();
  }

  private async cancelTask(): Promise<void> {
    const chatId = this.view.chatId;
    if (!isBusy(this.view)) return;
    this.dispatch({ type: "cancelling" });
    if (chatId === null) {
      this.cancelWhenStarted = true;
      return;
    }
    try {
      await this.connection.request(ChatMethod.cancel, { chatId });
      this.log(`riposte/chat/cancel ${chatId}`);
    } catch (e) {
      this.dispatch({ type: "error", message: describeChatError(ChatMethod.cancel, e).message });
    }
  }

  private async newTask(): Promise<void> {
    if (isBusy(this.view)) {
      const yes = "Cancel Task and Start New";
      const a = await vscode.window.showWarningMessage("A task is running. Cancel it and clear the panel?", { modal: true }, yes);
      if (a !== yes) return;
      await this.cancelTask();
    }
    this.generation += 1;
    this.abandonPending();
    this.dispatch({ type: "newTask" });
    await this.refreshStatus();
  }

  private async setMode(mode: Mode): Promise<void> {
    this.dispatch({ type: "setMode", mode });
    const chatId = this.view.chatId;
    if (chatId === null || !isBusy(this.view)) return;
    try {
      await this.connection.request(ChatMethod.setMode, { chatId, mode });
    } catch (e) {
      this.dispatch({ type: "error", message: describeChatError(ChatMethod.setMode, e).message });
    }
  }

  private async setAutoApprove(list: AutoApproveCategory[]): Promise<void> {
    const autoApprove = AUTO_APPROVE_CATEGORIES.filter((c) => list.includes(c));
    this.dispatch({ type: "setAutoApprove", autoApprove });
    await vscode.workspace.getConfiguration(SETTINGS).update("autoApprove", autoApprove, vscode.ConfigurationTarget.Global);
    const chatId = this.view.chatId;
    if (chatId === null || !isBusy(this.view)) return;
    try {
      await this.connection.request(ChatMethod.setAutoApprove, { chatId, autoApprove });
    } catch (e) {
      this.dispatch({ type: "error", message: describeChatError(ChatMethod.setAutoApprove, e).message });
    }
  }

  private async saveSettings(s: ModelSettingsView): Promise<void> {
    const c = vscode.workspace.getConfiguration(SETTINGS);
    const provider = (PROVIDERS as readonly string[]).includes(s.provider) ? s.provider : "";
    // User settings: the model is a person's choice, not the repository's.
    await c.update("provider", provider, vscode.ConfigurationTarget.Global);
    await c.update("model", s.model.trim(), vscode.ConfigurationTarget.Global);
    await c.update("baseUrl", s.baseUrl.trim(), vscode.ConfigurationTarget.Global);
    this.dispatch({ type: "settings", settings: readModelSettings(), autoApprove: readAutoApproveSetting() });
    await this.refreshStatus();
  }

  /** Opens a file the agent wrote; only inside the workspace. */
  private async openFile(file: string): Promise<void> {
    const root = this.root();
    if (root === undefined) return;
    const full = path.resolve(root, file);
    if (full !== root && !full.startsWith(root + path.sep)) return;
    await vscode.window.showTextDocument(vscode.Uri.file(full), { viewColumn: vscode.ViewColumn.One, preview: true });
  }

  dispose(): void {
    clearTimeout(this.statusTimer);
    this.abandonPending();
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** "Pick provider" from the setup card: a quick pick that writes `riposte.agent.provider`. */
export async function pickProvider(): Promise<void> {
  const items: (vscode.QuickPickItem & { value: string })[] = [
    { label: "OpenAI-compatible", description: "openai-compatible", detail: "OpenAI, Azure, or a local server: Ollama, vLLM, llama.cpp, LM Studio, LiteLLM", value: "openai-compatible" },
    { label: "Anthropic", description: "anthropic", detail: "Claude models through Anthropic's API", value: "anthropic" },
    { label: "The editor's models", description: "vscode-lm", detail: "Copilot or another chat model provider installed in the editor; no key needed", value: "vscode-lm" },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: "Riposte: model provider for the agent" });
  if (picked === undefined) return;
  await vscode.workspace.getConfiguration(SETTINGS).update("provider", picked.value, vscode.ConfigurationTarget.Global);
}
