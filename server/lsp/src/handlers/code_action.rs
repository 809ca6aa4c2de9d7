//! `textDocument/codeAction`: the core's actions for the diagnostics in the range, and
//! `source.fixAll.riposte` (every safe fix).

use std::collections::HashMap;
use std::sync::Arc;

use riposte_core::ide::{self, ActionCommand, CodeActionKind as Kind};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    WorkspaceEdit,
};

use crate::convert;
use crate::documents::DocumentKind;
use crate::scheduler::blocking;
use crate::session::Session;

/// `source.fixAll.riposte`.
pub const FIX_ALL: CodeActionKind = CodeActionKind::new("source.fixAll.riposte");

pub async fn code_action(
    session: &Arc<Session>,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let uri = params.text_document.uri.clone();
    let Some(document) = session.snapshot(&uri) else {
        return Ok(None);
    };
    if document.placement.kind != DocumentKind::Playbook {
        return Ok(None);
    }
    let Some(validation) = super::diagnostics::current_validation(session, &uri).await? else {
        return Ok(None);
    };
    let wants = |kind: &CodeActionKind| {
        params.context.only.as_ref().is_none_or(|only| {
            only.iter().any(|wanted| {
                kind.as_str() == wanted.as_str()
                    || kind.as_str().starts_with(&format!("{}.", wanted.as_str()))
            })
        })
    };
    let quick_fixes = wants(&CodeActionKind::QUICKFIX);
    let fix_all = wants(&FIX_ALL);
    let encoding = session.encoding();
    let session = Arc::clone(session);
    let actions = blocking("codeAction", move || {
        if validation.version != document.version {
            return Vec::new();
        }
        let source = &document.source;
        let workspace = session.workspace(document.placement.root.as_deref());
        let range = convert::text_range(source, params.range, encoding);
        let edit_of = |edits: &[riposte_core::Edit]| {
            (!edits.is_empty()).then(|| WorkspaceEdit {
                changes: Some(HashMap::from([(
                    uri.clone(),
                    edits
                        .iter()
                        .map(|edit| convert::text_edit(source, edit, encoding))
                        .collect(),
                )])),
                ..WorkspaceEdit::default()
            })
        };
        let mut actions = Vec::new();
        if quick_fixes {
            for (found, shown) in validation.diagnostics.iter().zip(&validation.lsp) {
                let touches =
                    found.range.start() <= range.end() && range.start() <= found.range.end();
                if !touches {
                    continue;
                }
                for action in ide::code_actions(source, &workspace.workspace, found) {
                    let command = action.command.map(|command| match command {
                        ActionCommand::CreateProfile { name, .. } => Command {
                            title: action.title.clone(),
                            command: super::commands::CREATE_PROFILE.to_string(),
                            arguments: Some(vec![
                                serde_json::json!({ "name": name, "uri": uri.as_str() }),
                            ]),
                        },
                    });
                    actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: action.title,
                        kind: Some(match action.kind {
                            Kind::QuickFix => CodeActionKind::QUICKFIX,
                            Kind::SourceFixAll => FIX_ALL,
                        }),
                        diagnostics: Some(vec![shown.clone()]),
                        edit: edit_of(&action.edits),
                        command,
                        is_preferred: action.preferred.then_some(true),
                        ..CodeAction::default()
                    }));
                }
            }
        }
        if fix_all {
            let edits = ide::fix_all(&validation.diagnostics);
            if !edits.is_empty() {
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: "Riposte: fix all safely fixable problems".to_string(),
                    kind: Some(FIX_ALL),
                    edit: edit_of(&edits),
                    ..CodeAction::default()
                }));
            }
        }
        actions
    })
    .await?;
    Ok(Some(actions))
}
