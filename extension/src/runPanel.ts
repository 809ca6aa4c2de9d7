// The run record view: one webview per record, no scripts, everything escaped
// (lib/runRecord.ts renders it).

import * as path from "node:path";
import * as vscode from "vscode";

import { readRunRecord, renderRunRecordHtml } from "./lib/runRecord";

const panels = new Map<string, vscode.WebviewPanel>();

export function showRunRecord(record: unknown, key: string, title?: string): vscode.WebviewPanel {
  const parsed = readRunRecord(record);
  const name = parsed.playbook !== undefined ? path.basename(parsed.playbook, ".py") : path.basename(key, ".json");
  const heading = title ?? `${parsed.dryRun ? "Dry run" : "Run"} of ${name}`;
  let panel = panels.get(key);
  if (panel === undefined) {
    panel = vscode.window.createWebviewPanel("riposte.run", heading, vscode.ViewColumn.Active, {
      enableScripts: false,
      enableFindWidget: true,
      retainContextWhenHidden: false,
    });
    panels.set(key, panel);
    panel.onDidDispose(() => panels.delete(key));
  } else {
    panel.reveal();
  }
  panel.title = heading;
  panel.webview.html = renderRunRecordHtml(parsed, { cspSource: panel.webview.cspSource, title: heading });
  return panel;
}

export async function openRunFile(uri: vscode.Uri): Promise<void> {
  let record: unknown;
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    record = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    void vscode.window.showErrorMessage(
      `Riposte: ${path.basename(uri.fsPath)} is not a readable run record (${e instanceof Error ? e.message : String(e)}). Open it as text to see what it holds.`,
    );
    return;
  }
  showRunRecord(record, uri.fsPath);
}
