// The flows' Prompter on VS Code's input boxes and quick picks: "step n of m" titles, validation
// as you type, and Escape (or focus loss is ignored) meaning "cancel".

import * as vscode from "vscode";

import type { InputOptions, PickOptions, Prompter } from "./lib/profileFlow";

export const vscodePrompter: Prompter = {
  input(options: InputOptions): Promise<string | undefined> {
    return new Promise((resolve) => {
      const box = vscode.window.createInputBox();
      box.title = options.title;
      box.step = options.step;
      box.totalSteps = options.totalSteps;
      box.prompt = options.prompt;
      box.placeholder = options.placeholder;
      box.value = options.value ?? "";
      box.password = options.password ?? false;
      box.ignoreFocusOut = true;
      let done = false;
      const finish = (v: string | undefined) => {
        if (done) return;
        done = true;
        resolve(v);
        box.dispose();
      };
      const validate = (v: string) => {
        box.validationMessage = options.validate?.(v);
      };
      box.onDidChangeValue(validate);
      box.onDidAccept(() => {
        const err = options.validate?.(box.value);
        if (err !== undefined) {
          box.validationMessage = err;
          return;
        }
        finish(box.value);
      });
      box.onDidHide(() => finish(undefined));
      box.show();
    });
  },

  pick<T>(options: PickOptions<T>): Promise<T | undefined> {
    return new Promise((resolve) => {
      type Item = vscode.QuickPickItem & { value: T };
      const qp = vscode.window.createQuickPick<Item>();
      qp.title = options.title;
      qp.step = options.step;
      qp.totalSteps = options.totalSteps;
      qp.placeholder = options.placeholder;
      qp.ignoreFocusOut = true;
      qp.matchOnDescription = true;
      qp.items = options.items.map((i) => ({ label: i.label, description: i.description, detail: i.detail, value: i.value }));
      let done = false;
      const finish = (v: T | undefined) => {
        if (done) return;
        done = true;
        resolve(v);
        qp.dispose();
      };
      qp.onDidAccept(() => finish(qp.selectedItems[0]?.value));
      qp.onDidHide(() => finish(undefined));
      qp.show();
    });
  },

  async confirm(message: string, detail: string, action: string): Promise<boolean> {
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
    return choice === action;
  },
};
