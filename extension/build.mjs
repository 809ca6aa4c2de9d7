// Bundles the extension with esbuild: dist/extension.js (Node, CommonJS, `vscode` external), the
// Markdown preview script dist/mermaid-preview.js and the chat panel's page dist/chat.js (+
// dist/chat.css), and copies mermaid's browser bundle beside them. `--production` minifies
// without source maps; `--watch` rebuilds on change.
import { copyFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");
const require = createRequire(import.meta.url);

const common = {
  bundle: true,
  minify: production,
  sourcemap: production ? false : "linked",
  logLevel: "info",
  absWorkingDir: root,
};

const contexts = await Promise.all([
  esbuild.context({
    ...common,
    entryPoints: ["extension/src/extension.ts"],
    outfile: "dist/extension.js",
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
  }),
  esbuild.context({
    ...common,
    entryPoints: ["extension/src/preview/mermaid-preview.ts"],
    outfile: "dist/mermaid-preview.js",
    platform: "browser",
    format: "iife",
    target: "es2020",
  }),
  esbuild.context({
    ...common,
    entryPoints: ["extension/src/chat/webview/main.ts"],
    outfile: "dist/chat.js",
    platform: "browser",
    format: "iife",
    target: "es2020",
  }),
  esbuild.context({
    ...common,
    entryPoints: ["extension/src/chat/webview/chat.css"],
    outfile: "dist/chat.css",
    sourcemap: false,
  }),
]);

await mkdir(path.join(root, "dist"), { recursive: true });
await copyFile(require.resolve("mermaid/dist/mermaid.min.js"), path.join(root, "dist", "mermaid.min.js"));

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
