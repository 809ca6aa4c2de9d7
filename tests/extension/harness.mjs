// What the extension's end-to-end specs share: where code-server, Node 24, the .vsix and Chromium
// are, a free loopback port, polling with a deadline, and the workbench actions every spec does
// (screenshots, the command palette, notifications, the status bar, the Riposte views).

import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";

export const repo = path.resolve(import.meta.dirname, "..", "..");
export const artifacts = path.join(repo, "tests", "extension", "artifacts");
export const CODE_SERVER = process.env.CODE_SERVER ?? path.join(repo, ".cache", "code-server", "node_modules", ".bin", "code-server");
export const NODE24_BIN = process.env.NODE24_BIN ?? path.join(repo, ".cache", "node24", "node_modules", "node", "bin");
export const VSIX = process.env.RIPOSTE_VSIX ?? path.join(repo, "riposte.vsix");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const KEEP = process.env.E2E_KEEP === "1";
/** The environment code-server runs in: Node 24 first on PATH. */
export const env = { ...process.env, PATH: `${NODE24_BIN}${path.delimiter}${process.env.PATH ?? ""}` };

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port: p } = srv.address();
      srv.close(() => resolve(p));
    });
  });
}

export async function waitFor(what, fn, timeoutMs = 60_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e?.fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/**
 * The workbench actions on the page `currentPage()` returns (a spec opens its page in `before`,
 * after these are bound).
 */
export function workbench(currentPage) {
  async function shot(name) {
    await mkdir(artifacts, { recursive: true });
    const file = path.join(artifacts, `${name}.png`);
    await currentPage().screenshot({ path: file });
    console.log(`# screenshot: ${path.relative(repo, file)}`);
    return file;
  }

  /**
   * Runs a command from the command palette by its title. The palette lists a command only once
   * its `when` clause holds (the language server is up), which on a loaded machine can take longer
   * than one look: the palette is reopened up to three times.
   */
  async function runCommand(title) {
    const page = currentPage();
    for (let attempt = 1; ; attempt++) {
      await page.keyboard.press("Escape");
      await page.keyboard.press("F1");
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible", timeout: 15_000 });
      await input.fill(`>${title}`);
      const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
      try {
        await row.waitFor({ state: "visible", timeout: 15_000 });
      } catch (e) {
        if (attempt < 3) continue;
        await shot("command-missing");
        throw e;
      }
      await page.keyboard.press("Enter");
      return;
    }
  }

  async function notificationsText() {
    return currentPage()
      .locator(".notification-toast, .notifications-center .notification-list-item")
      .allInnerTexts()
      .then((t) => t.join("\n"))
      .catch(() => "");
  }

  async function statusLabel() {
    const status = currentPage().locator(".statusbar-item", { hasText: "Riposte" }).first();
    return (await status.locator("[aria-label]").first().getAttribute("aria-label").catch(() => null)) ?? (await status.getAttribute("aria-label")) ?? "";
  }

  /** Opens the Riposte activity-bar container (a second click on its icon would close it). */
  async function showRiposteViews() {
    const page = currentPage();
    await page.keyboard.press("Escape");
    const open = await page
      .locator(".sidebar .composite.title")
      .innerText()
      .then((t) => /riposte/i.test(t))
      .catch(() => false);
    if (!open || !(await page.locator(".sidebar").isVisible().catch(() => false))) {
      await page.locator(".activitybar .action-item a[aria-label^='Riposte']").first().click();
    }
    await page.locator(".sidebar .pane", { hasText: "Integration Profiles" }).first().waitFor({ state: "visible", timeout: 20_000 });
  }

  return { shot, runCommand, notificationsText, statusLabel, showRiposteViews };
}
