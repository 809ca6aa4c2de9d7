// Runs inside VS Code's Markdown preview (contributed through `markdown.previewScripts`, after the
// bundled mermaid.min.js): renders the `<pre class="mermaid">` blocks the markdown-it plugin emits,
// again each time the preview updates, in the editor's light or dark colours.

interface MermaidApi {
  initialize(config: Record<string, unknown>): void;
  run(options: { querySelector?: string; nodes?: HTMLElement[]; suppressErrors?: boolean }): Promise<void>;
}

declare global {
  interface Window {
    mermaid?: MermaidApi;
  }
}

function theme(): string {
  const cls = document.body.classList;
  if (cls.contains("vscode-high-contrast")) return "neutral";
  return cls.contains("vscode-dark") ? "dark" : "default";
}

let rendering = Promise.resolve();

function render(): void {
  const mermaid = window.mermaid;
  if (!mermaid) return;
  const nodes = Array.from(document.querySelectorAll<HTMLElement>("pre.riposte-mermaid:not([data-processed])"));
  if (nodes.length === 0) return;
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: theme() });
  rendering = rendering
    .then(() => mermaid.run({ nodes, suppressErrors: true }))
    .catch((e: unknown) => {
      console.error("riposte: mermaid failed", e);
    });
}

window.addEventListener("vscode.markdown.updateContent", render);
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
else render();

export {};
