//! `textDocument/documentSymbol`.

use std::sync::Arc;

use riposte_core::SourceFile;
use riposte_core::ide::{self, SymbolKind as Kind};
use riposte_core::source::PositionEncoding;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, SymbolKind,
};

use crate::convert;
use crate::session::Session;

pub async fn document_symbols(
    session: &Arc<Session>,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let symbols = super::on_playbook(
        session,
        &params.text_document.uri,
        "documentSymbol",
        |document, workspace, encoding| {
            let source = &document.source;
            ide::document_symbols(source, &workspace.workspace)
                .into_iter()
                .map(|symbol| to_lsp(source, symbol, encoding))
                .collect::<Vec<_>>()
        },
    )
    .await?;
    Ok(symbols.map(DocumentSymbolResponse::Nested))
}

#[allow(deprecated)] // `deprecated` is a required field of the type.
fn to_lsp(
    source: &SourceFile,
    symbol: ide::DocumentSymbol,
    encoding: PositionEncoding,
) -> DocumentSymbol {
    DocumentSymbol {
        name: symbol.name,
        detail: symbol.detail,
        kind: match symbol.kind {
            Kind::Function => SymbolKind::FUNCTION,
            Kind::Method => SymbolKind::METHOD,
            Kind::Class => SymbolKind::CLASS,
            Kind::Constant => SymbolKind::CONSTANT,
            Kind::Variable => SymbolKind::VARIABLE,
            Kind::Integration => SymbolKind::MODULE,
            Kind::Step => SymbolKind::EVENT,
        },
        tags: None,
        deprecated: None,
        range: convert::range(source, symbol.range, encoding),
        selection_range: convert::range(source, symbol.selection, encoding),
        children: Some(
            symbol
                .children
                .into_iter()
                .map(|child| to_lsp(source, child, encoding))
                .collect(),
        ),
    }
}
