//! Workers: claim a queued run, hold its lease while the runtime runs the playbook's active
//! version against the stored alert, then record the run and what it did on the alert's activity
//! log. A worker that cannot renew its lease cancels its run and records nothing, because another
//! worker may already own the run; the run record itself comes from the runtime, redacted.

use std::sync::Arc;
use std::time::Duration;

use riposte_engine_client::wire::RunState;
use riposte_runtime::record::Outcome;
use riposte_runtime::{AlertInput, Cancel, IntegrationsSender, RunRequest, Status};
use riposte_workspace::PLAYBOOKS_DIR;
use serde_json::json;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::{ClaimedRun, Finish};

/// How often an idle worker looks at the queue when nothing woke it.
const POLL: Duration = Duration::from_millis(500);

/// Runs until `shutdown` turns true; finishes the run in hand first.
pub async fn work(engine: Arc<Engine>, name: String, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(worker = %name, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(err) = engine
            .store
            .recover_expired(engine.options().max_attempts)
            .await
        {
            tracing::warn!(worker = %name, "cannot recover expired runs: {err}");
        }
        let lease_ms = engine.options().lease.as_millis() as i64;
        match engine.store.claim_run(&name, lease_ms).await {
            Ok(Some(run)) => {
                execute(&engine, &name, run).await;
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(worker = %name, "cannot claim a run: {err}"),
        }
        tokio::select! {
            _ = engine.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!(worker = %name, "worker stopped");
}

async fn execute(engine: &Arc<Engine>, worker: &str, run: ClaimedRun) {
    let cancel = Cancel::new();
    let lease = engine.options().lease;
    let renewer = {
        let engine = engine.clone();
        let run = run.clone();
        let worker = worker.to_string();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match engine
                    .store
                    .renew_lease(&run, &worker, lease.as_millis() as i64)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(run = run.id, "lease lost: cancelling the run");
                        cancel.cancel();
                        return;
                    }
                    // The store is briefly away: keep trying until the lease runs out.
                    Err(err) => tracing::warn!(run = run.id, "cannot renew the lease: {err}"),
                }
            }
        })
    };
    let finish = match perform(engine, &run, cancel).await {
        Ok(finish) => finish,
        Err((version, err)) => Finish {
            state: RunState::Failed,
            status: None,
            error: Some(err.to_string()),
            playbook_version: version,
            record: None,
            activity: Vec::new(),
        },
    };
    renewer.abort();
    // The store may be restarting: keep the result and retry for as long as the lease would
    // have lasted; past that the run is requeued by whoever recovers it.
    let deadline = tokio::time::Instant::now() + lease;
    loop {
        match engine.store.finish_run(&run, worker, finish.clone()).await {
            Ok(true) => tracing::info!(run = run.id, "run finished"),
            Ok(false) => tracing::warn!(
                run = run.id,
                "run finished after its lease was lost: result discarded"
            ),
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(run = run.id, "cannot record the run yet: {err}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(err) => tracing::error!(run = run.id, "cannot record the run: {err}"),
        }
        break;
    }
}

/// Runs the claimed run; the error carries the version it was about to run, if known.
async fn perform(
    engine: &Engine,
    run: &ClaimedRun,
    cancel: Cancel,
) -> Result<Finish, (Option<u32>, EngineError)> {
    let active = engine
        .store
        .active_version(&run.playbook)
        .await
        .map_err(|e| (None, e.into()))?
        .ok_or_else(|| {
            (
                None,
                EngineError::NotFound(format!(
                    "playbook `{}` has no active version (deactivated or deleted after the run was queued)",
                    run.playbook
                )),
            )
        })?;
    let version = Some(active.version);
    let raw = engine
        .store
        .alert_raw(&run.alert_id)
        .await
        .map_err(|e| (version, e.into()))?
        .ok_or_else(|| {
            (
                version,
                EngineError::NotFound(format!("alert `{}` is no longer stored", run.alert_id)),
            )
        })?;
    let loaded = engine
        .workspace(Some((&run.playbook, &active.source)))
        .await
        .map_err(|e| (version, e))?;
    let secrets = engine.run_secrets().await.map_err(|e| (version, e))?;
    let sender = IntegrationsSender::from_workspace(&loaded.workspace, secrets)
        .map_err(|e| (version, EngineError::Internal(e)))?;
    let playbook_path = loaded
        .root
        .join(PLAYBOOKS_DIR)
        .join(format!("{}.py", run.playbook));
    let request = RunRequest {
        playbook: playbook_path,
        source: Some(active.source),
        display_path: Some(format!(
            "{PLAYBOOKS_DIR}/{}.py (version {})",
            run.playbook, active.version
        )),
        workspace: Arc::new(loaded),
        alert: AlertInput::Json {
            text: raw,
            label: format!("alert {}", run.alert_id),
        },
        dry_run: false,
        timeout: None,
        sender: Arc::new(sender),
        progress: None,
        cancel: Some(cancel),
    };
    let record = riposte_runtime::run_playbook(request)
        .await
        .map_err(|err| {
            (
                version,
                EngineError::BadRequest(format!("the run could not start: {err}")),
            )
        })?;

    let mut activity = Vec::new();
    for comment in &record.comments {
        if comment.outcome == Outcome::Planned {
            continue;
        }
        activity.push((
            "comment".to_string(),
            comment.text.clone(),
            json!({"target": comment.target, "outcome": comment.outcome, "error": comment.error}),
        ));
    }
    for update in &record.updates {
        if update.outcome == Outcome::Planned {
            continue;
        }
        let listed: Vec<String> = update
            .fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} = {}",
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        activity.push((
            "alert_update".to_string(),
            format!("the playbook updated the alert: {}", listed.join(", ")),
            serde_json::Value::Object(update.fields.clone()),
        ));
    }
    let state = if record.status == Status::Succeeded {
        RunState::Succeeded
    } else {
        RunState::Failed
    };
    let status = serde_json::to_value(record.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string));
    Ok(Finish {
        state,
        status,
        error: if state == RunState::Failed {
            record.message.clone()
        } else {
            None
        },
        playbook_version: version,
        record: serde_json::to_value(&record).ok(),
        activity,
    })
}
