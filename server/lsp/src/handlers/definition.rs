//! `textDocument/definition`: from a profile name to `integrations/<file>.toml`.

use std::sync::Arc;

use riposte_core::SourceFile;
use riposte_core::ide;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{GotoDefinitionParams, GotoDefinitionResponse, LocationLink, Uri};

use crate::convert;
use crate::session::Session;

pub async fn definition(
    session: &Arc<Session>,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let at = params.text_document_position_params;
    let session_for_files = Arc::clone(session);
    let found = super::on_playbook(
        session,
        &at.text_document.uri,
        "definition",
        move |document, workspace, encoding| {
            let source = &document.source;
            let offset = convert::offset(source, at.position, encoding);
            let target = ide::definition(source, &workspace.workspace, offset)?;
            let root = workspace.root.as_ref()?;
            let path = root.join(&target.path);
            let uri = Uri::from_file_path(&path)?;
            // The open buffer when the profile is open, else the file on disk.
            let text = match session_for_files.snapshot(&uri) {
                Some(open) => open.source.text().to_string(),
                None => std::fs::read_to_string(&path).unwrap_or_default(),
            };
            let profile = SourceFile::new(text);
            let name = convert::range(&profile, ide::profile_name_range(profile.text()), encoding);
            Some(GotoDefinitionResponse::Link(vec![LocationLink {
                origin_selection_range: Some(convert::range(source, target.origin, encoding)),
                target_uri: uri,
                target_range: name,
                target_selection_range: name,
            }]))
        },
    )
    .await?;
    Ok(found.flatten())
}
