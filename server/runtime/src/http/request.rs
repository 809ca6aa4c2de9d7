//! From what a playbook asked for to the exact request that will be signed and sent: the URL on
//! the profile's host, the headers it may set, the body bytes.

use riposte_core::catalog::HttpMethod;
use riposte_core::catalog::resolve_request_path;
use riposte_core::formats::profile::{Auth, Profile};
use url::Url;

use super::error::SendError;
use super::types::{OutgoingRequest, RequestBody};
use crate::secrets::Redactor;

/// The request as it will go on the wire, before authentication adds its part.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub method: HttpMethod,
    pub url: Url,
    /// Lower-case names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Prepared {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value));
    }
}

/// Builds the request: URL, headers, body. Nothing secret is involved yet, so every refusal
/// here happens before any secret is read.
pub(crate) fn prepare(
    profile: &Profile,
    base: &Url,
    request: &OutgoingRequest,
    redactor: &Redactor,
) -> Result<Prepared, SendError> {
    let url = resolve_url(profile, base, &request.path, &request.query, redactor)?;
    let mut headers = check_headers(profile, &request.headers)?;
    let (content_type, body) = encode_body(&request.body);
    if let Some(content_type) = content_type
        && !headers.iter().any(|(name, _)| name == "content-type")
    {
        headers.push(("content-type".to_string(), content_type.to_string()));
    }
    Ok(Prepared {
        method: request.method,
        url,
        headers,
        body,
    })
}

/// The URL a request goes to: `path` under `base_url` (see [`resolve_request_path`]), or an
/// absolute URL, which must be on the profile's scheme, host and port.
pub(crate) fn resolve_url(
    profile: &Profile,
    base: &Url,
    path: &str,
    query: &[(String, String)],
    redactor: &Redactor,
) -> Result<Url, SendError> {
    let invalid = |problem: &str| SendError::InvalidPath {
        profile: profile.name.clone(),
        path: redactor.redact_url(path),
        problem: problem.to_string(),
    };
    if path.chars().any(|c| c.is_control()) {
        return Err(invalid("it contains control characters"));
    }
    let absolute = match Url::parse(path) {
        Ok(url) if !url.cannot_be_a_base() => Some(url),
        // `scheme://…` that does not parse is a broken URL, not a relative path.
        Err(err) if looks_absolute(path) => {
            return Err(invalid(&format!("it is not a valid URL ({err})")));
        }
        _ => None,
    };
    let mut url = match absolute {
        Some(url) => {
            if url.origin() != base.origin() {
                return Err(SendError::ForeignHost {
                    profile: profile.name.clone(),
                    allowed: base.origin().ascii_serialization(),
                    requested: redactor.redact_url(path),
                });
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(invalid(
                    "it carries credentials; the host adds them from the profile's secrets",
                ));
            }
            let mut url = url;
            url.set_fragment(None);
            url
        }
        None => {
            if path.starts_with("//") || path.starts_with("\\\\") || path.starts_with("/\\") {
                return Err(invalid(
                    "it starts with `//`, which names another host; write a path or a full URL",
                ));
            }
            let resolved = resolve_request_path(&profile.base_path(), path);
            let without_fragment = resolved.split('#').next().unwrap_or_default();
            let (path_part, query_part) = match without_fragment.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (without_fragment, None),
            };
            let mut url = base.clone();
            url.set_path(path_part);
            url.set_query(query_part.filter(|q| !q.is_empty()));
            url.set_fragment(None);
            url
        }
    };
    append_query(
        &mut url,
        query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    // Whatever the path did, the request stays on the profile's origin.
    if url.origin() != base.origin() {
        return Err(SendError::ForeignHost {
            profile: profile.name.clone(),
            allowed: base.origin().ascii_serialization(),
            requested: redactor.redact_url(url.as_str()),
        });
    }
    if let Auth::ApiKey {
        query: Some(name), ..
    } = &profile.auth
        && url.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case(name))
    {
        return Err(invalid(&format!(
            "the query parameter `{name}` carries the API key, which the host adds itself; remove it"
        )));
    }
    Ok(url)
}

/// Appends `pairs` to the URL's query, percent-encoding everything but RFC 3986's unreserved
/// characters (so a space is `%20`, not `+`): what every server decodes the same way, and what
/// AWS Signature V4 expects on the wire.
pub(crate) fn append_query<'a>(url: &mut Url, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let mut query = url.query().unwrap_or_default().to_string();
    let mut added = false;
    for (key, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&encode_component(key));
        query.push('=');
        query.push_str(&encode_component(value));
        added = true;
    }
    if added {
        url.set_query(Some(&query));
    }
}

fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `scheme://`, as an absolute URL starts.
fn looks_absolute(path: &str) -> bool {
    path.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

const CREDENTIALS: &str = "it carries credentials, which the host adds from the profile's secrets";

/// Why a playbook may not set a header, if it may not.
fn forbidden_reason(profile: &Profile, name: &str) -> Option<&'static str> {
    match name {
        "authorization"
        | "proxy-authorization"
        | "cookie"
        | "x-api-key"
        | "x-apikey"
        | "api-key"
        | "apikey"
        | "x-auth-token" => Some(CREDENTIALS),
        "host" | "content-length" | "transfer-encoding" | "connection" => {
            Some("the host sets it when it sends the request")
        }
        _ if name.starts_with("x-amz-") => {
            Some("AWS signing headers are set by the host when it signs the request")
        }
        _ => match &profile.auth {
            Auth::ApiKey {
                header: Some(header),
                ..
            } if header.eq_ignore_ascii_case(name) => Some(CREDENTIALS),
            _ => None,
        },
    }
}

/// The playbook's headers, lower-cased and checked.
pub(crate) fn check_headers(
    profile: &Profile,
    headers: &[(String, String)],
) -> Result<Vec<(String, String)>, SendError> {
    let mut checked: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.trim().to_ascii_lowercase();
        if let Some(reason) = forbidden_reason(profile, &lower) {
            return Err(SendError::ForbiddenHeader {
                profile: profile.name.clone(),
                header: lower,
                reason,
            });
        }
        let invalid = |problem: &str| SendError::InvalidHeader {
            profile: profile.name.clone(),
            header: lower.chars().take(100).collect(),
            problem: problem.to_string(),
        };
        if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
            return Err(invalid("not a valid header name"));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(invalid(
                "the value holds characters a header cannot carry (control characters or non-ASCII)",
            ));
        }
        checked.retain(|(n, _)| *n != lower);
        checked.push((lower, value.trim().to_string()));
    }
    Ok(checked)
}

/// The body's bytes and the content type that goes with them.
pub(crate) fn encode_body(body: &RequestBody) -> (Option<&'static str>, Vec<u8>) {
    match body {
        RequestBody::Empty => (None, Vec::new()),
        RequestBody::Json(value) => (
            Some("application/json"),
            serde_json::to_vec(value).unwrap_or_default(),
        ),
        RequestBody::Form(pairs) => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish();
            (
                Some("application/x-www-form-urlencoded"),
                encoded.into_bytes(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(base_url: &str) -> (Profile, Url) {
        let profile = Profile {
            name: "P".into(),
            description: String::new(),
            base_url: base_url.into(),
            api: None,
            timeout_secs: None,
            auth: Auth::ApiKey {
                header: None,
                query: Some("apikey".into()),
            },
        };
        let base = Url::parse(base_url).unwrap();
        (profile, base)
    }

    fn resolve(base_url: &str, path: &str) -> Result<String, SendError> {
        let (profile, base) = profile(base_url);
        resolve_url(&profile, &base, path, &[], &Redactor::new()).map(|u| u.to_string())
    }

    #[test]
    fn relative_paths_go_under_the_base_path() {
        assert_eq!(
            resolve("https://h.example/api/v3", "/urls/x").unwrap(),
            "https://h.example/api/v3/urls/x"
        );
        assert_eq!(
            resolve("https://h.example/api/v3/", "/api/v3/urls/x?a=1#f").unwrap(),
            "https://h.example/api/v3/urls/x?a=1"
        );
        assert_eq!(
            resolve("https://h.example", "users/a b").unwrap(),
            "https://h.example/users/a%20b"
        );
    }

    #[test]
    fn query_pairs_are_percent_encoded() {
        let (profile, base) = profile("https://h.example/api");
        let query = vec![
            ("q".to_string(), "a b+c/é".to_string()),
            ("x".to_string(), "1".to_string()),
        ];
        let url = resolve_url(&profile, &base, "/s?f=1", &query, &Redactor::new()).unwrap();
        assert_eq!(
            url.as_str(),
            "https://h.example/api/s?f=1&q=a%20b%2Bc%2F%C3%A9&x=1"
        );
    }

    #[test]
    fn other_hosts_are_refused() {
        for path in [
            "https://evil.example/x",
            "http://h.example/x",
            "https://h.example:8443/x",
            "https://h.example.evil.example/",
            "ftp://h.example/x",
        ] {
            let err = resolve("https://h.example/api", path).unwrap_err();
            assert!(
                matches!(err, SendError::ForeignHost { .. }),
                "{path}: {err}"
            );
        }
        assert!(matches!(
            resolve("https://h.example/api", "//evil.example/x").unwrap_err(),
            SendError::InvalidPath { .. }
        ));
        assert_eq!(
            resolve("https://h.example/api", "https://H.EXAMPLE:443/other").unwrap(),
            "https://h.example/other"
        );
    }

    #[test]
    fn the_api_key_parameter_is_the_host_s_business() {
        let err = resolve("https://h.example/api", "/x?APIKEY=stolen").unwrap_err();
        assert!(matches!(err, SendError::InvalidPath { .. }), "{err}");
        assert!(!err.to_string().contains("stolen"), "{err}");
    }
}
