//! `textDocument/hover`.

use std::sync::Arc;

use riposte_core::ide;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::convert;
use crate::session::Session;

pub async fn hover(session: &Arc<Session>, params: HoverParams) -> Result<Option<Hover>> {
    let at = params.text_document_position_params;
    let found = super::on_playbook(
        session,
        &at.text_document.uri,
        "hover",
        move |document, workspace, encoding| {
            let source = &document.source;
            let offset = convert::offset(source, at.position, encoding);
            ide::hover(source, &workspace.workspace, offset).map(|found| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: found.markdown,
                }),
                range: Some(convert::range(source, found.range, encoding)),
            })
        },
    )
    .await?;
    Ok(found.flatten())
}
