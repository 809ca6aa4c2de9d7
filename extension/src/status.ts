// The status bar item: server state and the number of Riposte problems.

import * as vscode from "vscode";

import type { ServerManager } from "./client";
import { statusBarText, type ProblemCounts } from "./lib/messages";

export function countProblems(): ProblemCounts {
  const counts: ProblemCounts = { errors: 0, warnings: 0, others: 0 };
  for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
    for (const d of diagnostics) {
      const code = typeof d.code === "object" ? d.code.value : d.code;
      const ours = d.source?.toLowerCase().startsWith("riposte") === true || (typeof code === "string" && /^RP\d{3}$/.test(code));
      if (!ours) continue;
      if (d.severity === vscode.DiagnosticSeverity.Error) counts.errors++;
      else if (d.severity === vscode.DiagnosticSeverity.Warning) counts.warnings++;
      else counts.others++;
    }
  }
  return counts;
}

export function createStatusBar(server: ServerManager): vscode.Disposable {
  const item = vscode.window.createStatusBarItem("riposte.status", vscode.StatusBarAlignment.Left, 10);
  item.name = "Riposte";
  const update = () => {
    const { text, tooltip } = statusBarText(server.state, countProblems(), server.detail);
    item.text = text;
    item.tooltip = tooltip;
    // Screen readers (and the e2e test) read the state in words: "Riposte: running. …".
    item.accessibilityInformation = { label: `Riposte: ${server.state}. ${tooltip.split("\n").slice(1).join(" ")}`.trim(), role: "button" };
    item.command = server.state === "stopped" ? "riposte.restartServer" : server.state === "no-workspace" ? "riposte.initWorkspace" : "riposte.showLogs";
    item.backgroundColor = server.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    item.show();
  };
  update();
  const subs = [server.onDidChangeState(update), vscode.languages.onDidChangeDiagnostics(update)];
  return vscode.Disposable.from(item, ...subs);
}
