//! Editor features over one file and its workspace: completion, hover, go to definition,
//! document symbols, semantic tokens and code actions.
//!
//! Every function here is pure, like the rest of the core: it takes the file's text
//! ([`SourceFile`](crate::SourceFile)), the [`Workspace`](crate::Workspace) and a byte offset,
//! and returns plain data with byte ranges. The language server (`riposte_lsp`) only converts
//! positions and shapes; it holds no analysis of its own (as rust-analyzer's `ide` crate stands
//! to its LSP layer). The same functions can serve the browser build and the agent's tools.

mod actions;
mod analysis;
mod completion;
mod hover;
mod navigation;
mod requests;
mod scan;
mod semantic_tokens;
mod symbols;

pub use actions::{
    ActionCommand, CodeAction, CodeActionKind, ProfileSkeleton, code_actions, fix_all,
    profile_skeleton,
};
pub use completion::{CompletionItem, CompletionKind, completions};
pub(crate) use hover::request_path;
pub use hover::{HoverResult, hover};
pub use navigation::{NavigationTarget, definition, profile_name_range};
pub use semantic_tokens::{
    MODIFIER_DEFAULT_LIBRARY, SemanticToken, TOKEN_MODIFIERS, TOKEN_TYPES, TokenType,
    semantic_tokens,
};
pub use symbols::{DocumentSymbol, SymbolKind, document_symbols};

#[cfg(test)]
mod tests;
