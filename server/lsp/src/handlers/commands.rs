//! `workspace/executeCommand`: each command answers with JSON the extension can show, or a
//! JSON-RPC error that says what went wrong.
//!
//! - `riposte.check [{uri}]`: every playbook, profile and rule of the workspace (of `uri`, or of
//!   every known workspace), with per-file counts and findings.
//! - `riposte.docs {uri}`: regenerate `playbooks/<name>.md` (Markdown + Mermaid) from the buffer.
//! - `riposte.createProfile {name, uri}`: a skeleton `integrations/<stem>.toml`, through
//!   `workspace/applyEdit` (or written directly when the client cannot create files).
//! - `riposte.test {uri, alert, dryRun}`: runs the playbook through the runtime and answers its
//!   run record (`test_run.rs`).
//! - `riposte.save {uri}`, `riposte.deploy {uri}`: validate the buffer and store it in the engine
//!   (disabled; deploy also activates it), and the `riposte.engine.*` commands the extension's
//!   engine views use (`engine.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use riposte_core::source::PositionEncoding;
use riposte_core::{Diagnostic, Severity, SourceFile, check_playbook, check_playbook_bytes, ide};
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{
    CreateFile, CreateFileOptions, DocumentChangeOperation, DocumentChanges, ExecuteCommandParams,
    OneOf, OptionalVersionedTextDocumentIdentifier, Position, Range, ResourceOp, TextDocumentEdit,
    TextEdit, Uri, WorkspaceEdit,
};

use super::engine;
use crate::convert;
use crate::documents::Placement;
use crate::scheduler::{blocking, schedule_all};
use crate::session::Session;

pub const CHECK: &str = "riposte.check";
pub const DOCS: &str = "riposte.docs";
pub const SAVE: &str = "riposte.save";
pub const TEST: &str = "riposte.test";
pub const DEPLOY: &str = "riposte.deploy";
pub const CREATE_PROFILE: &str = "riposte.createProfile";
/// Panics on purpose, to prove a panic is contained (on only with `RIPOSTE_LSP_DEBUG=1`).
pub const DEBUG_PANIC: &str = "riposte.debug.panic";

pub const COMMANDS: &[&str] = &[
    CHECK,
    DOCS,
    SAVE,
    TEST,
    DEPLOY,
    CREATE_PROFILE,
    engine::PLAYBOOKS,
    engine::RULES,
    engine::RUNS,
    engine::RUN,
    engine::ACTIVITY,
    engine::ACTIVATE,
    engine::DEACTIVATE,
];

/// How long a request to the client may go unanswered.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// LSP's `RequestFailed`: the request was valid, but could not be carried out.
pub fn request_failed(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::ServerError(-32803),
        message: message.into().into(),
        data: None,
    }
}

pub async fn execute(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let argument = params.arguments.first().cloned().unwrap_or(Value::Null);
    tracing::info!("command {}", params.command);
    match params.command.as_str() {
        CHECK => check(session, &argument).await.map(Some),
        DOCS => docs(session, &argument).await.map(Some),
        CREATE_PROFILE => create_profile(session, &argument).await.map(Some),
        SAVE => engine::save(session, &argument, engine::Then::KeepDisabled)
            .await
            .map(Some),
        TEST => super::test_run::test(
            session,
            &argument,
            params.work_done_progress_params.work_done_token,
        )
        .await
        .map(Some),
        DEPLOY => engine::save(session, &argument, engine::Then::Activate)
            .await
            .map(Some),
        command if engine::COMMANDS.contains(&command) => {
            engine::execute(session, command, &argument).await.map(Some)
        }
        DEBUG_PANIC if session.debug_commands => blocking(DEBUG_PANIC, || -> Value {
            panic!("riposte.debug.panic was called")
        })
        .await
        .map(Some),
        other => Err(Error {
            code: ErrorCode::InvalidParams,
            message: format!(
                "unknown command `{other}`; the server offers {}",
                COMMANDS.join(", ")
            )
            .into(),
            data: None,
        }),
    }
}

/// A `uri` argument: `{"uri": "file:///…"}` or the string itself.
pub(super) fn uri_argument(argument: &Value) -> Option<Uri> {
    let text = argument.get("uri").unwrap_or(argument).as_str()?;
    text.parse().ok()
}

async fn check(session: &Arc<Session>, argument: &Value) -> Result<Value> {
    let roots: Vec<Option<PathBuf>> = match uri_argument(argument) {
        Some(uri) => {
            let path = uri
                .to_file_path()
                .ok_or_else(|| request_failed(format!("{} is not a file URI", uri.as_str())))?
                .into_owned();
            let root =
                riposte_workspace::find_root(&path).or_else(|| Placement::of_path(&path).root);
            vec![Some(root.ok_or_else(|| {
                request_failed(format!(
                    "no Riposte workspace (riposte.toml) at or above {}",
                    path.display()
                ))
            })?)]
        }
        None => session.roots().into_iter().map(Some).collect(),
    };
    if roots.is_empty() {
        return Err(request_failed(
            "no Riposte workspace is open: open a folder with a riposte.toml, or pass {\"uri\": …}",
        ));
    }
    let encoding = session.encoding();
    let session = Arc::clone(session);
    blocking(CHECK, move || {
        let mut totals = Counts::default();
        let mut workspaces = Vec::new();
        for root in roots.into_iter().flatten() {
            let report = check_workspace(&session, &root, encoding);
            totals.add(&report.1);
            workspaces.push(report.0);
        }
        json!({ "workspaces": workspaces, "counts": totals.to_json() })
    })
    .await
}

#[derive(Default, Clone, Copy)]
struct Counts {
    error: usize,
    warning: usize,
    info: usize,
}

impl Counts {
    fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut counts = Counts::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => counts.error += 1,
                Severity::Warning => counts.warning += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }

    fn add(&mut self, other: &Counts) {
        self.error += other.error;
        self.warning += other.warning;
        self.info += other.info;
    }

    fn to_json(self) -> Value {
        json!({ "error": self.error, "warning": self.warning, "info": self.info })
    }
}

fn check_workspace(session: &Session, root: &Path, encoding: PositionEncoding) -> (Value, Counts) {
    let snapshot = session.workspace(Some(root));
    let mut totals = Counts::default();
    let mut files = Vec::new();
    let mut file_json = |path: &Path, source: &SourceFile, diagnostics: &[Diagnostic]| {
        let counts = Counts::of(diagnostics);
        totals.add(&counts);
        json!({
            "path": riposte_workspace::relative(root, path),
            "uri": Uri::from_file_path(path).map(|uri| uri.as_str().to_string()),
            "counts": counts.to_json(),
            "diagnostics": diagnostics.iter().map(|d| json!({
                "code": d.rule.code(),
                "severity": d.severity.as_str(),
                "message": d.message,
                "range": convert::range(source, d.range, encoding),
                "url": d.rule.doc_url(),
            })).collect::<Vec<_>>(),
        })
    };
    for playbook in &snapshot.playbooks {
        let open = Uri::from_file_path(playbook).and_then(|uri| session.snapshot(&uri));
        let (source, diagnostics) = match open {
            Some(open) => {
                let diagnostics = check_playbook(&open.source, &snapshot.workspace);
                ((*open.source).clone(), diagnostics)
            }
            None => match riposte_workspace::read_bytes(playbook) {
                Ok(bytes) => check_playbook_bytes(&bytes, &snapshot.workspace),
                Err(err) => {
                    tracing::warn!("{err}");
                    continue;
                }
            },
        };
        files.push(file_json(playbook, &source, &diagnostics));
    }
    for report in &snapshot.files {
        files.push(file_json(&report.path, &report.source, &report.diagnostics));
    }
    let config_error = snapshot.config_error.as_ref().map(|error| {
        totals.error += 1;
        json!({ "message": error.message })
    });
    let value = json!({
        "root": root.display().to_string(),
        "configError": config_error,
        "loadError": snapshot.load_error,
        "files": files,
        "counts": totals.to_json(),
    });
    (value, totals)
}

async fn docs(session: &Arc<Session>, argument: &Value) -> Result<Value> {
    let uri = uri_argument(argument).ok_or_else(|| {
        Error::invalid_params(
            "riposte.docs takes the playbook: {\"uri\": \"file:///…/playbooks/x.py\"}",
        )
    })?;
    let path = uri
        .to_file_path()
        .ok_or_else(|| request_failed(format!("{} is not a file URI", uri.as_str())))?
        .into_owned();
    let session = Arc::clone(session);
    blocking(DOCS, move || -> Result<Value> {
        let placement = Placement::of_path(&path);
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .filter(|_| path.extension().is_some_and(|e| e == "py"))
            .ok_or_else(|| request_failed(format!("{} is not a Python playbook", path.display())))?
            .to_string();
        let source = match session.snapshot(&uri) {
            Some(open) => (*open.source).clone(),
            None => {
                let bytes = riposte_workspace::read_bytes(&path)
                    .map_err(|err| request_failed(err.to_string()))?;
                let (source, invalid) = SourceFile::from_bytes(&bytes);
                if invalid.is_some() || bytes.contains(&0) {
                    return Err(request_failed(format!(
                        "{} is not UTF-8 text",
                        path.display()
                    )));
                }
                source
            }
        };
        let snapshot = session.workspace(placement.root.as_deref());
        let markdown = riposte_core::docs::render(&name, &source, &snapshot.workspace)
            .map_err(|error| request_failed(format!("{name}: {error}")))?;
        let target = path.with_extension("md");
        let current = std::fs::read(&target)
            .ok()
            .is_some_and(|bytes| String::from_utf8_lossy(&bytes).replace("\r\n", "\n") == markdown);
        if !current {
            std::fs::write(&target, &markdown).map_err(|err| {
                request_failed(format!("cannot write {}: {err}", target.display()))
            })?;
        }
        Ok(json!({
            "path": target.display().to_string(),
            "uri": Uri::from_file_path(&target).map(|uri| uri.as_str().to_string()),
            "written": !current,
            "bytes": markdown.len(),
        }))
    })
    .await?
}

async fn create_profile(session: &Arc<Session>, argument: &Value) -> Result<Value> {
    let name = argument
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::invalid_params(
                "riposte.createProfile takes {\"name\": \"Profile\", \"uri\": \"file:///…\"}",
            )
        })?;
    let skeleton = ide::profile_skeleton(name).ok_or_else(|| {
        request_failed(format!(
            "`{name}` makes no file name: use letters or digits"
        ))
    })?;
    let root = uri_argument(argument)
        .and_then(|uri| Placement::of(&uri).root)
        .or_else(|| session.roots().into_iter().next())
        .ok_or_else(|| {
            request_failed(
                "no Riposte workspace to create the profile in: pass the playbook's {\"uri\"}",
            )
        })?;
    let path = root.join(&skeleton.path);
    if path.exists() {
        return Err(request_failed(format!(
            "{} already exists: a profile file for `{name}` is there (is its `name` spelled differently?)",
            skeleton.path
        )));
    }
    let uri = Uri::from_file_path(&path)
        .ok_or_else(|| request_failed(format!("{} has no file URI", path.display())))?;
    let caps = session.caps();
    let via = if caps.apply_edit && caps.create_files {
        let edit = WorkspaceEdit {
            document_changes: Some(DocumentChanges::Operations(vec![
                DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
                    uri: uri.clone(),
                    options: Some(CreateFileOptions {
                        overwrite: Some(false),
                        ignore_if_exists: Some(false),
                    }),
                    annotation_id: None,
                })),
                DocumentChangeOperation::Edit(TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri: uri.clone(),
                        version: None,
                    },
                    edits: vec![OneOf::Left(TextEdit {
                        range: Range::new(Position::new(0, 0), Position::new(0, 0)),
                        new_text: skeleton.text.clone(),
                    })],
                }),
            ])),
            ..WorkspaceEdit::default()
        };
        let answer = tokio::time::timeout(CLIENT_TIMEOUT, session.client.apply_edit(edit))
            .await
            .map_err(|_| {
                request_failed(
                    "the client did not answer workspace/applyEdit in time; nothing was created",
                )
            })?
            .map_err(|err| {
                request_failed(format!("workspace/applyEdit failed: {}", err.message))
            })?;
        if !answer.applied {
            return Err(request_failed(format!(
                "the client did not create {}: {}",
                skeleton.path,
                answer
                    .failure_reason
                    .unwrap_or_else(|| "no reason given".to_string())
            )));
        }
        "workspace/applyEdit"
    } else {
        let target = path.clone();
        let text = skeleton.text.clone();
        blocking(CREATE_PROFILE, move || {
            std::fs::create_dir_all(target.parent().unwrap_or(Path::new(".")))
                .and_then(|()| std::fs::write(&target, text))
        })
        .await?
        .map_err(|err| request_failed(format!("cannot write {}: {err}", path.display())))?;
        "disk"
    };
    session.invalidate(&root);
    schedule_all(session, Some(&root));
    Ok(json!({
        "name": name,
        "path": skeleton.path,
        "uri": uri.as_str(),
        "via": via,
    }))
}
