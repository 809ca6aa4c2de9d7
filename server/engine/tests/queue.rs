//! The run queue on both stores, below the API: concurrent claims take each run exactly once
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), a lease that is not renewed puts the run back in
//! the queue and then fails it after the last attempt, and a worker that lost its lease cannot
//! record a result over another worker's.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use riposte_engine::store::{AlertFields, Finish, MatchedAction, MatchedRule, Store};
use riposte_engine_client::wire::{IntakeOutcome, RunState};
use support::*;

async fn store(backend: &Backend, dir: &std::path::Path) -> Store {
    Store::open(&backend.fresh_url(dir).await).await.unwrap()
}

fn alert(id: &str) -> AlertFields {
    AlertFields {
        id: id.into(),
        workspace: "default".into(),
        title: "t".into(),
        severity: "high".into(),
        status: "new".into(),
        provider: "p".into(),
        source: "graph".into(),
        fingerprint: format!("fp-{id}"),
        raw: "{}".into(),
    }
}

fn run_rule() -> Vec<MatchedRule> {
    vec![MatchedRule {
        name: "rule".into(),
        action: MatchedAction::RunPlaybook("pb".into()),
    }]
}

/// A playbook with an active version, so matches queue runs.
async fn playbook(store: &Store) {
    store
        .save_version(
            "pb",
            riposte_engine::store::NewVersion {
                source: "def run(alert, ctx):\n    pass\n".into(),
                docs: String::new(),
                diagnostics: Vec::new(),
                lines: 2,
                errors: 0,
                warnings: 0,
            },
            100,
        )
        .await
        .unwrap();
    store.activate("pb", 1).await.unwrap();
}

async fn concurrent_claims_take_each_run_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&backend, dir.path()).await);
    playbook(&store).await;
    const RUNS: usize = 40;
    for i in 0..RUNS {
        let delivery = store
            .ingest(&alert(&format!("a{i}")), &run_rule(), &[])
            .await
            .unwrap();
        assert_eq!(delivery.outcome, IntakeOutcome::Created);
        assert_eq!(delivery.runs.len(), 1);
    }
    // The same delivery again, concurrently: no second run.
    let again: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.ingest(&alert("a0"), &run_rule(), &[]).await })
        })
        .collect();
    for task in again {
        assert!(task.await.unwrap().unwrap().runs.is_empty());
    }

    let claimers: Vec<_> = (0..6)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    match store.claim_run(&format!("w{w}"), 60_000).await {
                        Ok(Some(run)) => mine.push(run.id),
                        Ok(None) => break,
                        // SQLite: a writer waited past the busy timeout; try again.
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in claimers {
        all.extend(task.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), RUNS, "every run claimed");
    assert_eq!(distinct.len(), RUNS, "no run claimed twice");
    store.close().await;
}

async fn expired_leases_requeue_then_fail(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&backend, dir.path()).await;
    playbook(&store).await;
    store.ingest(&alert("x"), &run_rule(), &[]).await.unwrap();

    // A worker claims with a short lease and "dies" (never renews).
    let first = store.claim_run("dead-1", 50).await.unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    assert!(
        store.claim_run("other", 50).await.unwrap().is_none(),
        "held"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.recover_expired(2).await.unwrap(), 1);
    let second = store.claim_run("dead-2", 50).await.unwrap().unwrap();
    assert_eq!((second.id, second.attempt), (first.id, 2));

    // The first worker wakes up: it no longer holds the run and cannot record a result.
    assert!(!store.renew_lease(&first, "dead-1", 1000).await.unwrap());
    let late = Finish {
        state: RunState::Succeeded,
        status: Some("succeeded".into()),
        error: None,
        playbook_version: Some(1),
        record: None,
        activity: Vec::new(),
    };
    assert!(!store.finish_run(&first, "dead-1", late).await.unwrap());

    // The second dies too: out of attempts, the run fails (it is not lost, and not retried).
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.recover_expired(2).await.unwrap(), 1);
    assert!(store.claim_run("w", 50).await.unwrap().is_none());
    let run = store.run(first.id).await.unwrap().unwrap();
    assert_eq!(run.summary.state, RunState::Failed);
    assert!(run.summary.error.unwrap().contains("lease expired"));
    let kinds: Vec<String> = store
        .activity("x")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "run_queued",
            "run_started",
            "run_requeued",
            "run_started",
            "run_finished"
        ]
    );
    store.close().await;
}

async fn a_run_waits_for_an_active_version(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&backend, dir.path()).await;
    // No playbook at all: the match is logged, nothing is queued.
    let delivery = store.ingest(&alert("y"), &run_rule(), &[]).await.unwrap();
    assert!(delivery.runs.is_empty());
    assert_eq!(delivery.matched, ["rule"]);
    let activity = store.activity("y").await.unwrap();
    assert!(
        activity[1].text.contains("is not in the engine"),
        "{activity:?}"
    );
    store.close().await;
}

async fn concurrent_saves_get_distinct_versions(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&backend, dir.path()).await);
    playbook(&store).await;
    let saves: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .save_version(
                        "pb",
                        riposte_engine::store::NewVersion {
                            source: format!("# {i}\ndef run(alert, ctx):\n    pass\n"),
                            docs: String::new(),
                            diagnostics: Vec::new(),
                            lines: 3,
                            errors: 0,
                            warnings: 0,
                        },
                        100,
                    )
                    .await
                    .map(|v| v.summary.version)
            })
        })
        .collect();
    let mut versions = Vec::new();
    for save in saves {
        versions.push(save.await.unwrap().unwrap());
    }
    versions.sort();
    assert_eq!(versions, (2..=9).collect::<Vec<u32>>());
    let detail = store.playbook_detail("pb").await.unwrap().unwrap();
    assert_eq!(detail.summary.latest_version, 9);
    assert_eq!(detail.summary.active_version, Some(1));
    store.close().await;
}

on_both_stores!(
    concurrent_saves_get_distinct_versions,
    concurrent_claims_take_each_run_once,
    expired_leases_requeue_then_fail,
    a_run_waits_for_an_active_version,
);
