//! What crosses the bridge for an integration request, in the host's terms.

use std::time::Duration;

use riposte_core::catalog::HttpMethod;

/// A request a playbook asked for through `ctx.integration(profile).<method>(path, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingRequest {
    /// The integration profile's name, as passed to `ctx.integration`.
    pub profile: String,
    pub method: HttpMethod,
    /// As the playbook wrote it: relative to the profile's `base_url`, or an absolute URL (which
    /// must then be on the profile's host).
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Headers the playbook set; the host refuses ones that carry credentials.
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
    /// The playbook's `timeout=`; the profile's `timeout_secs` (default 30 s) otherwise.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    Empty,
    /// `json=`: sent as `application/json`.
    Json(serde_json::Value),
    /// `data=`: sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// The answer, as the playbook sees it (and the run record keeps, redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingResponse {
    pub status: u16,
    /// Lower-cased names; never `set-cookie`, `authorization` or other credential-bearing headers.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
    /// The URL that was requested, with credentials and signed query parameters redacted.
    pub url: String,
}
