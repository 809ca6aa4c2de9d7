// A markdown-it plugin for VS Code's built-in Markdown preview: ```mermaid fences become
// `<pre class="mermaid">` blocks that the preview script (src/preview/mermaid-preview.ts, with the
// bundled mermaid.min.js) renders as diagrams. This is how `riposte docs` output shows its flow
// diagram in the preview people already use. No `vscode` import.

interface FenceToken {
  info: string;
  content: string;
}

type FenceRule = (tokens: FenceToken[], idx: number, options: unknown, env: unknown, self: { renderToken(tokens: FenceToken[], idx: number, options: unknown): string }) => string;

/** The part of markdown-it the plugin touches. */
export interface MarkdownItLike {
  renderer: { rules: { fence?: FenceRule } };
}

export function escapeForPre(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function isMermaidFence(info: string): boolean {
  return (info.trim().split(/\s+/)[0] ?? "").toLowerCase() === "mermaid";
}

export function mermaidPlugin<T extends MarkdownItLike>(md: T): T {
  const previous = md.renderer.rules.fence;
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    if (token !== undefined && isMermaidFence(token.info)) {
      return `<pre class="mermaid riposte-mermaid">${escapeForPre(token.content)}</pre>\n`;
    }
    return previous ? previous(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options);
  };
  return md;
}
