//! The Graph poller: reads new and updated alerts from Microsoft Graph `security/alerts_v2`
//! through an integration profile (signed by the runtime's HTTP layer, with the engine's sealed
//! secrets) and feeds them to intake, exactly as `POST /api/alerts` would.
//!
//! Each round asks for `lastUpdateDateTime ge <watermark>` and follows `@odata.nextLink` to the
//! last page; the watermark (the newest `lastUpdateDateTime` taken) is persisted in the store
//! only after every page was taken in, so a crash re-reads rather than skips. `ge`, not `gt`:
//! alerts sharing the watermark's instant are read again and answered `duplicate` by intake.

use std::sync::Arc;
use std::time::Duration;

use riposte_runtime::IntegrationsSender;
use riposte_runtime::http::{OutgoingRequest, RequestBody};
use riposte_runtime::sender::RequestSender;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::EngineError;

/// What to poll.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// The Graph integration profile (in the engine or the workspace folder).
    pub profile: String,
    pub interval: Duration,
    /// The workspace name alerts are delivered for (rules' `workspaces`).
    pub workspace: String,
    /// Where a first poll starts (RFC 3339); the last day when absent.
    pub since: Option<String>,
}

/// At most this many pages per round, so one round cannot run forever on a looping nextLink.
const MAX_PAGES: usize = 200;

pub async fn poll(
    engine: Arc<Engine>,
    options: PollerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(profile = %options.profile, "Graph poller started");
    loop {
        match round(&engine, &options).await {
            Ok(taken) if taken > 0 => tracing::info!(taken, "Graph poll took alerts"),
            Ok(_) => {}
            Err(err) => tracing::warn!(profile = %options.profile, "Graph poll failed: {err}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(options.interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

fn watermark_key(profile: &str) -> String {
    format!("poller_watermark:{profile}")
}

/// One poll: every page since the watermark. Returns how many alerts were taken in.
pub async fn round(engine: &Engine, options: &PollerOptions) -> Result<usize, EngineError> {
    let key = watermark_key(&options.profile);
    let watermark = match engine.store.meta(&key).await? {
        Some(mark) => mark,
        None => options.since.clone().unwrap_or_else(|| {
            let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
            riposte_runtime::record::rfc3339(day_ago)
        }),
    };
    let loaded = engine.workspace(None).await?;
    let Some(profile) = loaded.workspace.profile(&options.profile) else {
        return Err(EngineError::NotFound(format!(
            "no integration profile `{}` to poll Microsoft Graph through: save one with PUT /api/profiles/{}",
            options.profile, options.profile
        )));
    };
    let base_has_version = url::Url::parse(&profile.profile.base_url)
        .map(|u| !u.path().trim_end_matches('/').is_empty())
        .unwrap_or(false);
    let first_path = if base_has_version {
        "/security/alerts_v2".to_string()
    } else {
        "/v1.0/security/alerts_v2".to_string()
    };
    let secrets = engine.run_secrets().await?;
    let sender = IntegrationsSender::from_workspace(&loaded.workspace, secrets)
        .map_err(EngineError::Internal)?;
    sender.check_profile(&options.profile).map_err(|f| {
        EngineError::BadRequest(format!("profile `{}`: {}", options.profile, f.message))
    })?;

    let mut next: Option<String> = None;
    let mut newest = watermark.clone();
    let mut taken = 0;
    for _ in 0..MAX_PAGES {
        let (path, query) = match &next {
            Some(link) => (link.clone(), Vec::new()),
            None => (
                first_path.clone(),
                vec![
                    (
                        "$filter".to_string(),
                        format!("lastUpdateDateTime ge {watermark}"),
                    ),
                    ("$top".to_string(), "100".to_string()),
                ],
            ),
        };
        let response = sender
            .send(OutgoingRequest {
                profile: options.profile.clone(),
                method: riposte_core::catalog::HttpMethod::Get,
                path,
                query,
                headers: vec![("accept".into(), "application/json".into())],
                body: RequestBody::Empty,
                timeout: None,
            })
            .await
            .map_err(|f| {
                EngineError::Unavailable(format!("Graph request failed: {}", f.message))
            })?;
        if !(200..300).contains(&response.status) {
            return Err(EngineError::Unavailable(format!(
                "Graph answered {} for {}",
                response.status, response.url
            )));
        }
        let page: serde_json::Value = serde_json::from_slice(&response.body).map_err(|err| {
            EngineError::Unavailable(format!("Graph's answer is not JSON: {err}"))
        })?;
        let alerts = page
            .get("value")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        for alert in &alerts {
            if let Some(updated) = alert.get("lastUpdateDateTime").and_then(|v| v.as_str())
                && updated > newest.as_str()
            {
                newest = updated.to_string();
            }
        }
        taken += alerts.len();
        let results = engine
            .intake(serde_json::Value::Array(alerts), &options.workspace)
            .await?;
        for rejected in results.iter().filter(|r| r.error.is_some()) {
            tracing::warn!(
                index = rejected.index,
                "Graph alert not taken: {}",
                rejected.error.as_deref().unwrap_or_default()
            );
        }
        next = page
            .get("@odata.nextLink")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    if newest != watermark {
        engine.store.set_meta(&key, &newest).await?;
    }
    Ok(taken)
}
