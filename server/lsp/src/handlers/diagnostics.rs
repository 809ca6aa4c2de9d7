//! `textDocument/diagnostic` (pull), for clients that ask instead of being told.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentDiagnosticParams, DocumentDiagnosticReport, DocumentDiagnosticReportResult,
    FullDocumentDiagnosticReport, RelatedFullDocumentDiagnosticReport,
    RelatedUnchangedDocumentDiagnosticReport, UnchangedDocumentDiagnosticReport, Uri,
};

use crate::scheduler::{Validation, blocking, validate};
use crate::session::Session;

pub async fn document_diagnostic(
    session: &Arc<Session>,
    params: DocumentDiagnosticParams,
) -> Result<DocumentDiagnosticReportResult> {
    let uri = params.text_document.uri;
    let Some(validation) = current_validation(session, &uri).await? else {
        return Ok(full(None, Vec::new()));
    };
    let result_id = format!("{}:{}", validation.version, validation.generation);
    if params.previous_result_id.as_deref() == Some(result_id.as_str()) {
        return Ok(DocumentDiagnosticReportResult::Report(
            DocumentDiagnosticReport::Unchanged(RelatedUnchangedDocumentDiagnosticReport {
                related_documents: None,
                unchanged_document_diagnostic_report: UnchangedDocumentDiagnosticReport {
                    result_id,
                },
            }),
        ));
    }
    Ok(full(Some(result_id), validation.lsp.clone()))
}

/// The validation of the document's current version: the stored one, or a fresh one (stored for
/// code actions and the next pull). `None` when the document is not open.
pub async fn current_validation(
    session: &Arc<Session>,
    uri: &Uri,
) -> Result<Option<Arc<Validation>>> {
    if let Some(validation) = session.validated(uri) {
        return Ok(Some(validation));
    }
    let Some(document) = session.snapshot(uri) else {
        return Ok(None);
    };
    let validation = {
        let session = Arc::clone(session);
        Arc::new(blocking("diagnostics", move || validate(&session, &document)).await?)
    };
    session.store_validation(uri, &validation);
    Ok(Some(validation))
}

fn full(
    result_id: Option<String>,
    items: Vec<tower_lsp_server::ls_types::Diagnostic>,
) -> DocumentDiagnosticReportResult {
    DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
        RelatedFullDocumentDiagnosticReport {
            related_documents: None,
            full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id, items },
        },
    ))
}
