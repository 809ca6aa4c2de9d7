//! `integrations/<name>.toml`: an integration profile, everything but its secrets.
//!
//! The secrets live in the editor's secret store, in `RIPOSTE_<PROFILE>_<FIELD>` environment
//! variables or in a 0600 secrets file outside the workspace; a profile that holds one is refused.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::lint::Rule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// https, or http for loopback hosts only. Immutable once created.
    pub base_url: String,
    /// A built-in catalog name or a path (relative to the workspace) to an OpenAPI 3 JSON document.
    #[serde(default)]
    pub api: Option<String>,
    /// Seconds before a request through this profile gives up (default 30).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    pub auth: Auth,
}

/// How the host authenticates requests. Immutable once created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    Oauth2ClientCredentials {
        token_url: String,
        #[serde(default)]
        scopes: Vec<String>,
    },
    ApiKey {
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        query: Option<String>,
    },
    AwsSigv4 {
        region: String,
        service: String,
    },
    Basic {},
    Bearer {},
    Hawk {
        #[serde(default = "default_hawk_algorithm")]
        algorithm: String,
    },
}

fn default_hawk_algorithm() -> String {
    "sha256".to_string()
}

/// The auth methods, as written in `auth.method`.
pub const AUTH_METHODS: &[&str] = &[
    "oauth2_client_credentials",
    "api_key",
    "aws_sigv4",
    "basic",
    "bearer",
    "hawk",
];

/// Every secret field of every method: a profile that contains one of these keys is refused.
const ALL_SECRET_FIELDS: &[&str] = &[
    "client_id",
    "client_secret",
    "api_key",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "username",
    "password",
    "token",
    "hawk_id",
    "hawk_key",
];

impl Auth {
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Oauth2ClientCredentials { .. } => "oauth2_client_credentials",
            Auth::ApiKey { .. } => "api_key",
            Auth::AwsSigv4 { .. } => "aws_sigv4",
            Auth::Basic {} => "basic",
            Auth::Bearer {} => "bearer",
            Auth::Hawk { .. } => "hawk",
        }
    }

    /// The secret fields this method needs, required ones first, then optional ones.
    pub fn secret_fields(&self) -> &'static [SecretField] {
        const OAUTH2: &[SecretField] = &[
            SecretField::required("client_id"),
            SecretField::required("client_secret"),
        ];
        const API_KEY: &[SecretField] = &[SecretField::required("api_key")];
        const AWS: &[SecretField] = &[
            SecretField::required("access_key_id"),
            SecretField::required("secret_access_key"),
            SecretField::optional("session_token"),
        ];
        const BASIC: &[SecretField] = &[
            SecretField::required("username"),
            SecretField::required("password"),
        ];
        const BEARER: &[SecretField] = &[SecretField::required("token")];
        const HAWK: &[SecretField] = &[
            SecretField::required("hawk_id"),
            SecretField::required("hawk_key"),
        ];
        match self {
            Auth::Oauth2ClientCredentials { .. } => OAUTH2,
            Auth::ApiKey { .. } => API_KEY,
            Auth::AwsSigv4 { .. } => AWS,
            Auth::Basic {} => BASIC,
            Auth::Bearer {} => BEARER,
            Auth::Hawk { .. } => HAWK,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretField {
    pub name: &'static str,
    pub required: bool,
}

impl SecretField {
    const fn required(name: &'static str) -> Self {
        Self {
            name,
            required: true,
        }
    }
    const fn optional(name: &'static str) -> Self {
        Self {
            name,
            required: false,
        }
    }
}

/// The environment variable that holds a profile's secret field headless:
/// `RIPOSTE_<PROFILE>_<FIELD>`, the profile name upper-cased with every non-alphanumeric turned into `_`.
pub fn secret_env_var(profile: &str, field: &str) -> String {
    let upper = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("RIPOSTE_{}_{}", upper(profile), upper(field))
}

/// How a profile name becomes its file's stem (`integrations/<stem>.toml`): lower-case ASCII
/// letters and digits, runs of other characters as one `-`. `"Microsoft Graph"` → `microsoft-graph`.
pub fn profile_file_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    stem.trim_matches('-').to_string()
}

/// Whether a host is loopback, where plain http is allowed (tests and local stand-ins).
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks a URL a profile will send credentials to: https, or http on loopback; no credentials,
/// query or fragment of its own. Returns what is wrong, in words for the profile's author.
pub fn check_endpoint_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|err| format!("`{url}` is not a URL ({err})"))?;
    let Some(host) = parsed.host() else {
        return Err(format!("`{url}` has no host"));
    };
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            return Err(format!(
                "`{url}` uses http: credentials would cross the network in clear; use https (http is allowed for loopback hosts only)"
            ));
        }
        other => return Err(format!("`{url}` uses `{other}:`; use https")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL carries credentials; remove them and store them as the profile's secrets"
                .to_string(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "`{url}` has a query or fragment; a base URL is scheme, host and path only"
        ));
    }
    Ok(parsed)
}

impl Profile {
    /// Parses and validates a profile. Any problem is an RP101 diagnostic; the profile is returned
    /// only when it can be used.
    pub fn parse(text: &str) -> (Option<Profile>, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let invalid = |range: TextRange, message: String| {
            Diagnostic::new(Rule::InvalidProfile, range, message)
        };

        // A secret in the workspace is the worst mistake a profile can hold: say so before serde
        // reports a mere unknown key, and never repeat the value.
        if let Ok(table) = text.parse::<toml::Table>() {
            let auth = table.get("auth").and_then(|a| a.as_table());
            let keys = table.keys().chain(auth.into_iter().flat_map(|a| a.keys()));
            for key in keys {
                if ALL_SECRET_FIELDS.contains(&key.as_str()) {
                    let at = super::key_range(text, key);
                    let line_end = text[at.end().to_usize()..]
                        .find('\n')
                        .map_or(text.len(), |i| i + at.end().to_usize());
                    let value = TextRange::new(at.end(), super::to_size(line_end));
                    diagnostics.push(invalid(
                        at,
                        format!(
                            "`{key}` is a secret and secrets never live in the workspace: remove it and store it in the editor's secret store or in the environment variable RIPOSTE_<PROFILE>_{}",
                            key.to_ascii_uppercase()
                        ),
                    ).with_secret(value));
                }
            }
            if let Some(method) = auth.and_then(|a| a.get("method")).and_then(|m| m.as_str())
                && !AUTH_METHODS.contains(&method)
            {
                diagnostics.push(invalid(
                    super::key_range(text, "method"),
                    format!(
                        "unknown auth method `{method}`; use one of {}",
                        AUTH_METHODS.join(", ")
                    ),
                ));
            }
            if !diagnostics.is_empty() {
                return (None, diagnostics);
            }
        }

        let profile: Profile = match toml::from_str(text) {
            Ok(profile) => profile,
            Err(err) => {
                let range = super::toml_error_range(&err, text);
                diagnostics.push(invalid(
                    range,
                    format!(
                        "invalid integration profile: {}",
                        super::toml_error_message(&err)
                    ),
                ));
                return (None, diagnostics);
            }
        };

        if profile.name.trim().is_empty() {
            diagnostics.push(invalid(super::key_range(text, "name"), "`name` is empty; give the profile the name playbooks use in `ctx.integration(\"…\")`".into()));
        }
        if let Err(problem) = check_endpoint_url(&profile.base_url) {
            diagnostics.push(invalid(
                super::key_range(text, "base_url"),
                format!("base_url: {problem}"),
            ));
        }
        match &profile.auth {
            Auth::Oauth2ClientCredentials { token_url, .. } => {
                if let Err(problem) = check_endpoint_url(token_url) {
                    diagnostics.push(invalid(
                        super::key_range(text, "token_url"),
                        format!("token_url: {problem}"),
                    ));
                }
            }
            Auth::ApiKey { header, query } => match (header, query) {
                (Some(_), Some(_)) | (None, None) => diagnostics.push(invalid(
                    super::key_range(text, "auth"),
                    "api_key auth needs exactly one of `header = \"NAME\"` or `query = \"NAME\"`"
                        .into(),
                )),
                (Some(name), None) | (None, Some(name)) if name.trim().is_empty() => diagnostics
                    .push(invalid(
                        super::key_range(text, "auth"),
                        "the api_key header or query name is empty".into(),
                    )),
                _ => {}
            },
            Auth::AwsSigv4 { region, service } => {
                if region.trim().is_empty() || service.trim().is_empty() {
                    diagnostics.push(invalid(
                        super::key_range(text, "auth"),
                        "aws_sigv4 auth needs a non-empty `region` (e.g. \"us-east-1\") and `service` (e.g. \"iam\")".into(),
                    ));
                }
            }
            Auth::Hawk { algorithm } => {
                if algorithm != "sha256" && algorithm != "sha1" {
                    diagnostics.push(invalid(
                        super::key_range(text, "algorithm"),
                        format!("hawk algorithm `{algorithm}` is not supported; use \"sha256\" or \"sha1\""),
                    ));
                }
            }
            Auth::Basic {} | Auth::Bearer {} => {}
        }
        if let Some(api) = &profile.api
            && api.trim().is_empty()
        {
            diagnostics.push(invalid(super::key_range(text, "api"), "`api` is empty; name a built-in catalog or an OpenAPI JSON file, or remove the key".into()));
        }
        if diagnostics.is_empty() {
            (Some(profile), diagnostics)
        } else {
            (None, diagnostics)
        }
    }

    /// The host requests through this profile may go to.
    pub fn host(&self) -> Option<String> {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    }

    /// The path part of `base_url`, without a trailing slash ("" for none).
    pub fn base_path(&self) -> String {
        url::Url::parse(&self.base_url)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// Whether `api` names a file (rather than a built-in catalog).
    pub fn api_is_file(&self) -> bool {
        self.api
            .as_deref()
            .is_some_and(|api| api.ends_with(".json") || api.contains('/'))
    }
}
