//! `textDocument/semanticTokens/full`: the core's tokens, delta-encoded in the client's units.

use std::sync::Arc;

use riposte_core::ide;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokens, SemanticTokensLegend,
    SemanticTokensParams, SemanticTokensResult,
};

use crate::convert;
use crate::session::Session;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: ide::TOKEN_TYPES
            .iter()
            .map(|name| SemanticTokenType::new(name))
            .collect(),
        token_modifiers: ide::TOKEN_MODIFIERS
            .iter()
            .map(|name| SemanticTokenModifier::new(name))
            .collect(),
    }
}

pub async fn semantic_tokens(
    session: &Arc<Session>,
    params: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>> {
    let tokens = super::on_playbook(
        session,
        &params.text_document.uri,
        "semanticTokens",
        |document, workspace, encoding| {
            let source = &document.source;
            let mut data = Vec::new();
            let (mut line, mut start) = (0, 0);
            for token in ide::semantic_tokens(source, &workspace.workspace) {
                let from = convert::position(source, token.range.start(), encoding);
                let to = convert::position(source, token.range.end(), encoding);
                if to.line != from.line || to.character <= from.character {
                    continue;
                }
                let delta_line = from.line - line;
                let delta_start = if delta_line == 0 {
                    from.character - start
                } else {
                    from.character
                };
                data.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: to.character - from.character,
                    token_type: token.token_type as u32,
                    token_modifiers_bitset: token.modifiers,
                });
                (line, start) = (from.line, from.character);
            }
            SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data,
            })
        },
    )
    .await?;
    Ok(tokens)
}
