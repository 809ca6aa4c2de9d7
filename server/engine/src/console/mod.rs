//! The console: one read-only page served by the engine, showing playbooks, rules, recent runs
//! and an alert's activity timeline. The page is static (`console.html`, `console.js`, embedded);
//! the script reads the JSON API with a token the user types in (kept in the tab's
//! `sessionStorage`), and writes every value with `textContent`, never as HTML. The
//! Content-Security-Policy allows scripts from the engine only.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const HTML: &str = include_str!("console.html");
const SCRIPT: &str = include_str!("console.js");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(page))
        .route("/console/", get(page))
        .route("/console/alerts/{id}", get(page))
        .route("/console/console.js", get(script))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        HTML,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SCRIPT,
    )
        .into_response()
}
