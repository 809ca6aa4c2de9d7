// What the extension's end-to-end specs share: where code-server, Node 24, the .vsix and Chromium
// are, a free loopback port, polling with a deadline, starting the editor (the .vsix installed in
// a fresh user-data folder, code-server on 127.0.0.1, headless Chromium on it) and the workbench
// actions every spec does (screenshots, the command palette, notifications, the status bar, the
// Riposte views).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { access, constants, mkdir, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { chromium } from "playwright-core";

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

/** User settings every spec starts from: no tours, updates, telemetry or built-in AI features. */
const BASE_SETTINGS = {
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "update.mode": "none",
  "chat.disableAIFeatures": true,
  "editor.minimap.enabled": false,
  "window.zoomLevel": 0,
};

/**
 * Installs the .vsix into a fresh user-data folder under `tmp`, starts code-server on 127.0.0.1
 * with `workspace` open and opens it in headless Chromium. `settings` are added to the user
 * settings; `serverEnv` replaces code-server's environment (the language server inherits it).
 * `close()` stops Chromium and the whole code-server process group.
 */
export async function launchEditor({ tmp, workspace, settings = {}, serverEnv = env, prerequisites = [] }) {
  for (const [what, p] of [
    ["code-server (run scripts/extension-setup.sh)", CODE_SERVER],
    ["Node 24 (run scripts/extension-setup.sh)", path.join(NODE24_BIN, "node")],
    ["the .vsix (npm run package)", VSIX],
    ["Chromium (apt-get install chromium)", CHROMIUM],
    ...prerequisites,
  ]) {
    assert.ok(existsSync(p), `missing ${what}: ${p}`);
  }
  const userData = path.join(tmp, "user-data");
  const extensionsDir = path.join(tmp, "extensions");
  await mkdir(path.join(userData, "User"), { recursive: true });
  await writeFile(path.join(userData, "User", "settings.json"), JSON.stringify({ ...BASE_SETTINGS, ...settings }, null, 2));
  const install = spawnSync(CODE_SERVER, ["--install-extension", VSIX, "--user-data-dir", userData, "--extensions-dir", extensionsDir], {
    env,
    encoding: "utf8",
    timeout: 180_000,
  });
  assert.equal(install.status, 0, `code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);
  const installed = (await readdir(extensionsDir)).find((d) => d.startsWith("riposte.riposte-"));
  assert.ok(installed, `the extension is not in ${extensionsDir}: ${install.stdout}`);
  // The bundled server must arrive executable.
  await access(path.join(extensionsDir, installed, "dist", "server", "riposte"), constants.X_OK);

  const port = await freePort();
  const xdg = path.join(tmp, "xdg");
  let log = "";
  const codeServer = spawn(
    CODE_SERVER,
    ["--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override", "--user-data-dir", userData, "--extensions-dir", extensionsDir, workspace],
    {
      env: { ...serverEnv, XDG_CONFIG_HOME: path.join(xdg, "config"), XDG_DATA_HOME: path.join(xdg, "data"), PASSWORD: "" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  codeServer.stdout.on("data", (d) => (log += d));
  codeServer.stderr.on("data", (d) => (log += d));
  let browser;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    if (codeServer.exitCode !== null) return;
    for (const signal of ["SIGTERM", "SIGKILL"]) {
      try {
        process.kill(-codeServer.pid, signal);
      } catch {
        return; // gone
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  try {
    await waitFor(
      "code-server to listen",
      async () => {
        if (codeServer.exitCode !== null) throw Object.assign(new Error(`code-server exited ${codeServer.exitCode}:\n${log}`), { fatal: true });
        const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return r?.ok;
      },
      60_000,
    );
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 120_000 });
    return { page, browser, codeServer, extensionsDir, port, log: () => log, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Debian's Chromium, headless, with nothing that reaches beyond this machine. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
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
