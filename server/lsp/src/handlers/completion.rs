//! `textDocument/completion`.

use std::sync::Arc;

use riposte_core::ide::{self, CompletionKind};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, MarkupContent, MarkupKind, TextEdit,
};

use crate::convert;
use crate::session::Session;

/// Typing these opens completion: members, string contents, path segments.
pub const TRIGGER_CHARACTERS: &[&str] = &[".", "\"", "'", "/"];

pub async fn completion(
    session: &Arc<Session>,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let at = params.text_document_position;
    let items = super::on_playbook(
        session,
        &at.text_document.uri,
        "completion",
        move |document, workspace, encoding| {
            let source = &document.source;
            let offset = convert::offset(source, at.position, encoding);
            ide::completions(source, &workspace.workspace, offset)
                .into_iter()
                .map(|item| CompletionItem {
                    kind: Some(match item.kind {
                        CompletionKind::Method => CompletionItemKind::METHOD,
                        CompletionKind::Attribute => CompletionItemKind::PROPERTY,
                        CompletionKind::Profile => CompletionItemKind::MODULE,
                        CompletionKind::Path => CompletionItemKind::VALUE,
                        CompletionKind::EntityKind => CompletionItemKind::ENUM_MEMBER,
                    }),
                    detail: item.detail,
                    documentation: item.documentation.map(|value| {
                        Documentation::MarkupContent(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value,
                        })
                    }),
                    sort_text: item.sort_text,
                    text_edit: item.replace.map(|range| {
                        CompletionTextEdit::Edit(TextEdit {
                            range: convert::range(source, range, encoding),
                            new_text: item.label.clone(),
                        })
                    }),
                    label: item.label,
                    ..CompletionItem::default()
                })
                .collect::<Vec<_>>()
        },
    )
    .await?;
    Ok(items
        .filter(|items| !items.is_empty())
        .map(CompletionResponse::Array))
}
