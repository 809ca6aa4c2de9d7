//! `hawk`: a Hawk `Authorization` header (MAC over time, nonce, method, path and query, host,
//! port and, for a request with a body, the payload hash). SHA-256 is done by the `hawk` crate;
//! SHA-1, which that crate does not offer, by the same normalised string and `ring`'s HMAC.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Position;

use super::super::request::Prepared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha256,
    Sha1,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sha256" => Some(Algorithm::Sha256),
            "sha1" => Some(Algorithm::Sha1),
            _ => None,
        }
    }
}

/// What the MAC covers besides the key.
struct Resource<'a> {
    method: &'a str,
    host: String,
    port: u16,
    /// Path and query, as sent.
    resource: &'a str,
    /// The content type without parameters, when the request has a body.
    content_type: Option<String>,
}

fn resource(request: &Prepared) -> Result<Resource<'_>, String> {
    let host = request
        .url
        .host_str()
        .ok_or("the URL has no host")?
        .to_ascii_lowercase();
    let port = request
        .url
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    let content_type = (!request.body.is_empty()).then(|| {
        request
            .header("content-type")
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    Ok(Resource {
        method: request.method.as_str(),
        host,
        port,
        resource: &request.url[Position::BeforePath..Position::AfterQuery],
        content_type,
    })
}

/// Adds `authorization: Hawk id=…, ts=…, nonce=…, mac=…[, hash=…]`.
pub(crate) fn apply(
    request: &mut Prepared,
    algorithm: Algorithm,
    id: &str,
    key: &str,
    time: SystemTime,
    nonce: &str,
) -> Result<(), String> {
    if id.contains(['"', '\\']) || id.chars().any(|c| c.is_control()) {
        return Err("the hawk_id contains a quote, backslash or control character".into());
    }
    let header = match algorithm {
        Algorithm::Sha256 => with_hawk_crate(request, id, key, time, nonce)?,
        Algorithm::Sha1 => with_ring(
            request,
            ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            id,
            key,
            time,
            nonce,
        )?,
    };
    request.set_header("authorization", format!("Hawk {header}"));
    Ok(())
}

fn with_hawk_crate(
    request: &Prepared,
    id: &str,
    key: &str,
    time: SystemTime,
    nonce: &str,
) -> Result<String, String> {
    let algorithm = hawk::DigestAlgorithm::Sha256;
    let failed = |err: hawk::Error| format!("Hawk signing failed ({err})");
    let parts = resource(request)?;
    let hash = match &parts.content_type {
        Some(content_type) => Some(
            hawk::PayloadHasher::hash(content_type, algorithm, &request.body).map_err(failed)?,
        ),
        None => None,
    };
    let credentials = hawk::Credentials {
        id: id.to_string(),
        key: hawk::Key::new(key.as_bytes(), algorithm).map_err(failed)?,
    };
    let header = hawk::RequestBuilder::new(parts.method, &parts.host, parts.port, parts.resource)
        .hash(hash.as_deref())
        .request()
        .make_header_full(&credentials, time, nonce)
        .map_err(failed)?;
    Ok(header.to_string())
}

fn with_ring(
    request: &Prepared,
    algorithm: ring::hmac::Algorithm,
    id: &str,
    key: &str,
    time: SystemTime,
    nonce: &str,
) -> Result<String, String> {
    if nonce.contains(['"', '\\']) {
        return Err("the nonce contains a quote or backslash".into());
    }
    let digest = if algorithm == ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY {
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
    } else {
        &ring::digest::SHA256
    };
    let parts = resource(request)?;
    let hash = parts.content_type.as_ref().map(|content_type| {
        let mut context = ring::digest::Context::new(digest);
        context.update(format!("hawk.1.payload\n{content_type}\n").as_bytes());
        context.update(&request.body);
        context.update(b"\n");
        STANDARD.encode(context.finish())
    });
    let ts = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970")?
        .as_secs();
    let normalized = format!(
        "hawk.1.header\n{ts}\n{nonce}\n{method}\n{resource}\n{host}\n{port}\n{hash}\n\n",
        method = parts.method,
        resource = parts.resource,
        host = parts.host,
        port = parts.port,
        hash = hash.as_deref().unwrap_or_default(),
    );
    let key = ring::hmac::Key::new(algorithm, key.as_bytes());
    let mac = STANDARD.encode(ring::hmac::sign(&key, normalized.as_bytes()));
    let mut header = format!("id=\"{id}\", ts=\"{ts}\", nonce=\"{nonce}\", mac=\"{mac}\"");
    if let Some(hash) = hash {
        header.push_str(&format!(", hash=\"{hash}\""));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riposte_core::catalog::HttpMethod;
    use std::time::Duration;

    #[test]
    fn the_ring_path_computes_what_the_hawk_crate_computes() {
        let request = Prepared {
            method: HttpMethod::Post,
            url: url::Url::parse("http://127.0.0.1:8123/api/items?b=2&a=1").unwrap(),
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: br#"{"x":1}"#.to_vec(),
        };
        let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ours = with_ring(
            &request,
            ring::hmac::HMAC_SHA256,
            "id-1",
            "key-123",
            time,
            "n0nce",
        )
        .unwrap();
        let theirs = with_hawk_crate(&request, "id-1", "key-123", time, "n0nce").unwrap();
        assert_eq!(ours, theirs);
    }
}
