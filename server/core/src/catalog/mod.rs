//! API catalogs: the endpoints an integration's API offers, so that the validator can check a
//! playbook's calls (RP006 unknown endpoint, RP007 missing required parameter), complete paths,
//! show hover, and document which endpoints a playbook calls and whether they change anything.
//!
//! A catalog is read from an OpenAPI 3 JSON document: one of the built-in documents embedded
//! below, or the user's own, whose text the caller reads (this crate does no I/O). Only what
//! validation needs is kept: method, path template, parameters, top-level body fields.
//!
//! How a call is matched (the runtime resolves the request path the same way, see
//! [`resolve_request_path`]):
//! 1. The request path is relative to the profile's `base_url`; when it already starts with the
//!    base URL's path, that prefix is not repeated.
//! 2. The full path is read against the catalog's server path (`servers[0].url`): a Graph profile
//!    with base `https://graph.microsoft.com` calling `/v1.0/users/x` and one with base
//!    `https://graph.microsoft.com/v1.0` calling `/users/x` both reach the catalog's
//!    `/users/{user-id}`. When the base URL is not under the server path at all (a proxy, another
//!    API version), the request path alone is matched, less a leading server path.
//! 3. Segment by segment: a template `{param}` takes any segment; a literal template segment takes
//!    an equal literal (case-sensitive) or an f-string hole. When several endpoints fit, the one
//!    with the most literal-to-literal agreements wins (`/users/delta` over `/users/{user-id}`
//!    for the literal `delta`), then the one that needed the fewest holes to stand in for literal
//!    text (`/users/{user-id}` over `/users/delta` for `f"/users/{x}"`).
//! 4. A path that starts with a hole (`f"{base}/users/{id}"`) may have anything in front, so its
//!    other segments are also matched against the end of each template.
//! 5. AWS Query APIs send every action to `/`: an endpoint with an `action` matches only a call
//!    whose `Action` is the same. A call whose action is unknown (not a literal) is
//!    [`Lookup::Ambiguous`], not an unknown endpoint.
//!
//! A trailing `/` on the call is ignored throughout.

mod openapi;
mod path;

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

pub use openapi::CatalogError;
pub use path::{PathPart, PathPattern, Segment, resolve_request_path};
use path::{
    Reading, Score, TemplateSegment, literal_segment_count, looks_like_placeholder, parse_template,
    text_distance, trim_trailing_slash,
};

/// The HTTP methods a playbook's integration client offers (`get`, `post`, `put`, `patch`,
/// `delete`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// `"get"`, `"GET"`, `"Get"`… (the client's method names are lower case, documents' upper).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether requests with this method change state by HTTP's convention. An endpoint can know
    /// better (a search sent with POST): see [`Endpoint::mutating`].
    pub fn is_mutating(self) -> bool {
        !matches!(self, HttpMethod::Get)
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The endpoints of one API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiCatalog {
    /// What the profile's `api` names: a built-in catalog's name, or the caller's name for a
    /// user document (its path, say).
    pub name: String,
    /// `info.title` of the document (the name when it has none).
    pub title: String,
    /// The path part of `servers[0].url`, without a trailing slash: `"/api/v3"`; `""` when none.
    pub server_path: String,
    /// Sorted by path, then action, then method.
    pub endpoints: Vec<Endpoint>,
}

/// One operation of the API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub method: HttpMethod,
    /// Path template relative to the catalog's server: `/urls/{id}`; `/` for an AWS Query action.
    pub path: String,
    /// The AWS Query `Action` this endpoint stands for (`ListUsers`), if any.
    pub action: Option<String>,
    /// One line: the operation's `summary` (else its description's first paragraph, else its
    /// `operationId`).
    pub summary: String,
    /// The `{params}` of the path template, in order.
    pub path_params: Vec<String>,
    /// Query parameters (for an action, `Action` itself is left out).
    pub query: Vec<Param>,
    /// Top-level properties of the JSON or form body.
    pub body: Vec<Param>,
    /// The document marks the request body as required.
    pub body_required: bool,
    /// Whether a call changes something, for dry runs and the docs: the operation's
    /// `x-riposte-mutating` when it has one (a read sent with POST, like Slack's
    /// `conversations.list`), else for an AWS action whether it is not a `List*`, `Get*` or
    /// `Describe*` one, else the method's convention.
    pub mutating: bool,
    /// `path` split into segments once, when the catalog is read (by `openapi::parse` or
    /// `ApiCatalog::from_digest`, the only ways one is made): every lookup compares a call with
    /// every endpoint's template.
    #[serde(skip)]
    template: Vec<TemplateSegment>,
}

/// A query parameter or a body field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Param {
    pub name: String,
    pub required: bool,
    /// One line from the document, possibly empty.
    pub description: String,
}

/// Where a call's target was found, or why it was not.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    Found(&'a Endpoint),
    /// The call fits several endpoints equally well, so which one it reaches is not known
    /// statically: `f"/{kind}/{id}"`, or an AWS Query call whose `Action` is not a literal.
    /// Neither an unknown endpoint nor grounds for a missing-parameter report.
    Ambiguous {
        candidates: Vec<&'a Endpoint>,
    },
    /// The path exists, but not with this method.
    MethodNotAllowed {
        allowed: Vec<HttpMethod>,
    },
    /// No endpoint fits; `suggestion` is the closest one when it is close enough to be a slip.
    NotFound {
        suggestion: Option<&'a Endpoint>,
    },
}

/// Where a parameter goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Body,
}

impl fmt::Display for ParamLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Body => "body",
        })
    }
}

/// A required parameter a call does not give.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingParam {
    pub name: String,
    pub location: ParamLocation,
    /// The path segment still holds a literal `{…}`: the string was probably meant to be an
    /// f-string, and the message should say to add the `f` prefix.
    pub forgotten_f_string: bool,
}

struct Builtin {
    name: &'static str,
    aliases: &'static [&'static str],
    /// The catalog as read from its OpenAPI document (`server/core/catalogs/<name>.json`), stored
    /// as the [`ApiCatalog`] itself in JSON (`builtin/<name>.json`): reading that costs a fraction
    /// of reading the document, which every `riposte check` did at start-up. A test keeps the two
    /// in step (`RIPOSTE_UPDATE_CATALOGS=1` rewrites the digests).
    digest: &'static str,
}

const BUILTINS: [Builtin; 6] = [
    Builtin {
        name: "microsoft-graph",
        aliases: &["graph"],
        digest: include_str!("builtin/microsoft-graph.json"),
    },
    Builtin {
        name: "virustotal",
        aliases: &[],
        digest: include_str!("builtin/virustotal.json"),
    },
    Builtin {
        name: "jira-cloud",
        aliases: &["jira"],
        digest: include_str!("builtin/jira-cloud.json"),
    },
    Builtin {
        name: "servicenow-table",
        aliases: &["servicenow"],
        digest: include_str!("builtin/servicenow-table.json"),
    },
    Builtin {
        name: "slack",
        aliases: &[],
        digest: include_str!("builtin/slack.json"),
    },
    Builtin {
        name: "aws-iam",
        aliases: &[],
        digest: include_str!("builtin/aws-iam.json"),
    },
];

const BUILTIN_NAMES: [&str; 6] = [
    BUILTINS[0].name,
    BUILTINS[1].name,
    BUILTINS[2].name,
    BUILTINS[3].name,
    BUILTINS[4].name,
    BUILTINS[5].name,
];

/// Each built-in is parsed on first use, once per process.
static PARSED: [OnceLock<Option<ApiCatalog>>; 6] = [const { OnceLock::new() }; 6];

/// A near miss costs less than this to be offered as "did you mean": less than one wholly wrong
/// segment.
const SUGGESTION_THRESHOLD: f64 = 1.0;
/// Extra cost of suggesting an endpoint with another method than the call's.
const OTHER_METHOD_COST: f64 = 0.5;
/// Action names are whole identifiers, so a relative spelling distance of 0.4 is as far as a
/// slip goes.
const ACTION_DISTANCE_WEIGHT: f64 = 2.5;

impl ApiCatalog {
    /// A built-in catalog by name or alias, case-insensitive: `microsoft-graph` (`graph`),
    /// `virustotal`, `jira-cloud` (`jira`), `servicenow-table` (`servicenow`), `slack`, `aws-iam`.
    pub fn builtin(name: &str) -> Option<&'static ApiCatalog> {
        let name = name.trim();
        let index = BUILTINS.iter().position(|builtin| {
            builtin.name.eq_ignore_ascii_case(name)
                || builtin.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })?;
        let builtin = &BUILTINS[index];
        // The embedded digests are checked by the tests; a broken one reads as "no such
        // catalog" rather than taking the language server down.
        PARSED[index]
            .get_or_init(|| ApiCatalog::from_digest(builtin.digest).ok())
            .as_ref()
    }

    /// A catalog from its own JSON form (what `serde_json` writes of an [`ApiCatalog`]).
    fn from_digest(text: &str) -> Result<ApiCatalog, serde_json::Error> {
        let mut catalog: ApiCatalog = serde_json::from_str(text)?;
        for endpoint in &mut catalog.endpoints {
            endpoint.template = parse_template(&endpoint.path);
        }
        Ok(catalog)
    }

    /// The canonical names of the built-in catalogs (aliases left out).
    pub fn builtin_names() -> &'static [&'static str] {
        &BUILTIN_NAMES
    }

    /// Reads an OpenAPI 3.0 or 3.1 document in JSON. `name` is what the catalog is called in
    /// messages (the profile's `api` value, say).
    pub fn from_openapi(name: &str, text: &str) -> Result<ApiCatalog, CatalogError> {
        openapi::parse(name, text)
    }

    /// Whether the API is an AWS-style Query API, where the `Action` parameter picks the operation.
    pub fn is_action_based(&self) -> bool {
        self.endpoints.iter().any(|e| e.action.is_some())
    }

    /// The endpoints a call with this method can reach, in catalog order (for completion).
    pub fn endpoints_for(&self, method: HttpMethod) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().filter(move |e| e.method == method)
    }

    /// Finds the endpoint a call targets. `path` is the request path as the playbook wrote it;
    /// `base_path` is the path part of the profile's `base_url` (`"/api/v3"`, or `""`); `action`
    /// is the literal `Action` from the call's `params`/`data`, when there is one (an `Action=`
    /// in the path's own query string is used otherwise). See the module documentation for the
    /// matching rule.
    pub fn lookup(
        &self,
        method: HttpMethod,
        path: &PathPattern,
        base_path: &str,
        action: Option<&str>,
    ) -> Lookup<'_> {
        let action = action.or_else(|| path.query_value("Action"));
        let readings = path.catalog_readings(base_path, &self.server_path);

        // Every endpoint that fits some reading, with how well; an earlier (more exact) reading
        // wins a tie.
        let mut fits: Vec<(Score, Reverse<usize>, &Endpoint)> = Vec::new();
        let mut needs_action: Vec<&Endpoint> = Vec::new();
        let mut allowed = BTreeSet::new();
        for (index, reading) in readings.iter().enumerate() {
            for endpoint in &self.endpoints {
                let Some(score) = reading.matches(&endpoint.template) else {
                    continue;
                };
                let action_unknown = match (endpoint.action.as_deref(), action) {
                    (Some(want), Some(given)) if want != given => continue,
                    (Some(_), None) => true,
                    _ => false,
                };
                if endpoint.method != method {
                    allowed.insert(endpoint.method);
                } else if action_unknown {
                    if !needs_action.iter().any(|e| std::ptr::eq(*e, endpoint)) {
                        needs_action.push(endpoint);
                    }
                } else {
                    fits.push((score, Reverse(index), endpoint));
                }
            }
        }

        if let Some(&(best_score, best_reading, _)) = fits.iter().max_by_key(|(s, r, _)| (*s, *r)) {
            let mut top: Vec<&Endpoint> = Vec::new();
            for (score, reading, endpoint) in fits {
                if score == best_score
                    && reading == best_reading
                    && !top.iter().any(|e| std::ptr::eq(*e, endpoint))
                {
                    top.push(endpoint);
                }
            }
            return if top.len() == 1 {
                Lookup::Found(top[0])
            } else {
                Lookup::Ambiguous { candidates: top }
            };
        }
        if !needs_action.is_empty() {
            return Lookup::Ambiguous {
                candidates: needs_action,
            };
        }
        if !allowed.is_empty() {
            return Lookup::MethodNotAllowed {
                allowed: allowed.into_iter().collect(),
            };
        }
        Lookup::NotFound {
            suggestion: self.suggest(method, &readings, action),
        }
    }

    fn suggest(
        &self,
        method: HttpMethod,
        readings: &[Reading],
        action: Option<&str>,
    ) -> Option<&Endpoint> {
        let mut best: Option<(f64, &Endpoint)> = None;
        for endpoint in &self.endpoints {
            let action_cost = match (endpoint.action.as_deref(), action) {
                (Some(want), Some(given)) => text_distance(want, given) * ACTION_DISTANCE_WEIGHT,
                // Without an action there is nothing to compare an action endpoint with.
                (Some(_), None) => continue,
                (None, _) => 0.0,
            };
            let path_cost = readings
                .iter()
                .map(|reading| reading.distance(&endpoint.template))
                .fold(f64::INFINITY, f64::min);
            let method_cost = if endpoint.method == method {
                0.0
            } else {
                OTHER_METHOD_COST
            };
            let cost = path_cost + action_cost + method_cost;
            // A template's parameters fit anything, so a near miss must rest on its fixed
            // segments: half a wrong segment for each, up to the threshold. An action's name
            // is evidence of its own.
            let limit = if endpoint.action.is_some() {
                SUGGESTION_THRESHOLD
            } else {
                (0.5 * literal_segment_count(&endpoint.template) as f64).min(SUGGESTION_THRESHOLD)
            };
            if cost < limit && best.is_none_or(|(best_cost, _)| cost < best_cost) {
                best = Some((cost, endpoint));
            }
        }
        best.map(|(_, endpoint)| endpoint)
    }
}

impl Endpoint {
    /// `POST /users/{user-id}/sendMail`, or `POST / Action=UpdateLoginProfile`.
    pub fn label(&self) -> String {
        match &self.action {
            Some(action) => format!("{} {} Action={action}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// Every parameter a call must give, path parameters first (for hover).
    pub fn required_params(&self) -> Vec<(ParamLocation, &str)> {
        let path = self
            .path_params
            .iter()
            .map(|name| (ParamLocation::Path, name.as_str()));
        let query = self
            .query
            .iter()
            .filter(|p| p.required)
            .map(|p| (ParamLocation::Query, p.name.as_str()));
        let body = self
            .body
            .iter()
            .filter(|p| p.required)
            .map(|p| (ParamLocation::Body, p.name.as_str()));
        path.chain(query).chain(body).collect()
    }

    /// The required parameters a call to this endpoint leaves out (RP007).
    ///
    /// `path` is the call's path as written (the template is lined up with its last segments, so
    /// a base-path prefix does not matter). `given_query`/`given_body` are the keys of the
    /// `params=` and `json=`/`data=` dicts: `Some(&[])` when the argument is absent, `None` when
    /// it is not a literal dict, in which case nothing that could be in it is reported. For an
    /// AWS action, parameters may come either way, so query and body keys are pooled, and a
    /// flattened key (`Tags.member.1.Key`) gives its parameter (`Tags`).
    ///
    /// A path parameter is missing when its segment is empty (`/users//messages`) or still holds
    /// a literal `{…}` (`"/users/{upn}"` without the `f` prefix: `forgotten_f_string`).
    pub fn missing_required(
        &self,
        path: &PathPattern,
        given_query: Option<&[String]>,
        given_body: Option<&[String]>,
    ) -> Vec<MissingParam> {
        let mut missing = Vec::new();
        let mut report = |name: &str, location, forgotten_f_string| {
            if !missing.iter().any(|m: &MissingParam| m.name == name) {
                missing.push(MissingParam {
                    name: name.to_owned(),
                    location,
                    forgotten_f_string,
                });
            }
        };

        let template = &self.template;
        let call = trim_trailing_slash(&path.segments);
        if let Some(aligned) = call
            .len()
            .checked_sub(template.len())
            .map(|skip| &call[skip..])
        {
            for (segment, given) in template.iter().zip(aligned) {
                let forgotten = match given {
                    Segment::Literal(text) if text.is_empty() => Some(false),
                    Segment::Literal(text) if looks_like_placeholder(text) => Some(true),
                    _ => None,
                };
                if let Some(forgotten) = forgotten {
                    for name in segment.params() {
                        report(name, ParamLocation::Path, forgotten);
                    }
                }
            }
        }

        let in_path_query = |name: &str| path.query.iter().any(|(key, _)| key == name);
        let required_query = self.query.iter().filter(|p| p.required);
        let required_body = self.body.iter().filter(|p| p.required);
        if self.action.is_some() {
            let (Some(query), Some(body)) = (given_query, given_body) else {
                return missing;
            };
            if path.opaque_query {
                return missing;
            }
            let gives = |name: &str| {
                in_path_query(name)
                    || query.iter().chain(body).any(|key| {
                        key == name
                            || key
                                .strip_prefix(name)
                                .is_some_and(|rest| rest.starts_with('.'))
                    })
            };
            for param in required_query {
                if !gives(&param.name) {
                    report(&param.name, ParamLocation::Query, false);
                }
            }
            for param in required_body {
                if !gives(&param.name) {
                    report(&param.name, ParamLocation::Body, false);
                }
            }
            return missing;
        }

        if let Some(query) = given_query
            && !path.opaque_query
        {
            for param in required_query {
                if !in_path_query(&param.name) && !query.contains(&param.name) {
                    report(&param.name, ParamLocation::Query, false);
                }
            }
        }
        if let Some(body) = given_body {
            for param in required_body {
                if !body.contains(&param.name) {
                    report(&param.name, ParamLocation::Body, false);
                }
            }
        }
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI documents the built-in digests are read from, in `BUILTINS` order.
    const DOCUMENTS: [&str; 6] = [
        include_str!("../../catalogs/microsoft-graph.json"),
        include_str!("../../catalogs/virustotal.json"),
        include_str!("../../catalogs/jira-cloud.json"),
        include_str!("../../catalogs/servicenow-table.json"),
        include_str!("../../catalogs/slack.json"),
        include_str!("../../catalogs/aws-iam.json"),
    ];

    #[test]
    fn builtin_digests_are_their_documents_read() {
        let update = std::env::var_os("RIPOSTE_UPDATE_CATALOGS").is_some();
        for (builtin, document) in BUILTINS.iter().zip(DOCUMENTS) {
            let read = openapi::parse(builtin.name, document)
                .unwrap_or_else(|err| panic!("{} does not read: {err}", builtin.name));
            if update {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("src/catalog/builtin")
                    .join(format!("{}.json", builtin.name));
                let text = serde_json::to_string_pretty(&read).expect("a catalog serializes");
                std::fs::write(&path, text + "\n").expect("the digest is writable");
                continue;
            }
            let digest = ApiCatalog::from_digest(builtin.digest).unwrap_or_else(|err| {
                panic!("the digest of {} does not read: {err}", builtin.name)
            });
            assert!(
                digest == read,
                "src/catalog/builtin/{}.json is out of date with its OpenAPI document: run the core's tests with RIPOSTE_UPDATE_CATALOGS=1",
                builtin.name
            );
            assert!(
                !digest.endpoints.is_empty(),
                "{} has endpoints",
                builtin.name
            );
        }
    }
}
