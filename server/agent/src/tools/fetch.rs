//! `fetch_url`: one web page (API documentation) as text, after the person approved that URL.
//! http(s) only, no credentials in the URL, redirects only within the approved host, a download
//! cap, text content types only, HTML reduced to text, and a cap on what reaches the model.

use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Most bytes downloaded; the rest of a larger page is not read.
pub const MAX_DOWNLOAD_BYTES: usize = 512 * 1024;
/// Most characters of page text handed to the model.
pub const MAX_TEXT_CHARS: usize = 48 * 1024;
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize)]
pub struct FetchArgs {
    pub url: String,
}

/// Checks a URL before it is shown for approval.
pub fn check_url(text: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(text.trim()).map_err(|err| format!("`{text}` is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{}: only http:// and https:// URLs are fetched",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("URLs with credentials in them are not fetched".into());
    }
    if url.host_str().is_none() {
        return Err(format!("{text} has no host"));
    }
    Ok(url)
}

fn is_text(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/openapi+yaml"
                | "application/javascript"
                | ""
        )
}

/// Fetches an approved URL.
pub async fn fetch(url: &url::Url, cancel: &CancellationToken) -> Result<String, String> {
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("riposte-agent/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if attempt.url().host_str() != Some(host.as_str()) {
                attempt.error("a redirect to another host (not the approved URL)")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|err| format!("cannot start the HTTP client: {err}"))?;
    let work = async {
        let mut response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|err| format!("cannot fetch {url}: {}", explain(err)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !is_text(&content_type) {
            return Err(format!(
                "{url} is {content_type}, not text; fetch_url reads text pages only"
            ));
        }
        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("reading {url}: {}", explain(err)))?
        {
            let room = MAX_DOWNLOAD_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((content_type, body, cut))
    };
    let (content_type, body, cut) = tokio::select! {
        result = work => result?,
        () = cancel.cancelled() => return Err("cancelled".into()),
    };
    Ok(page_text(&content_type, &body, cut))
}

/// An HTTP error with its causes (the redirect policy's reason is one), without the URL, which
/// the message names already.
fn explain(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The text the model gets: HTML reduced to text, capped, with a note when something was cut.
pub fn page_text(content_type: &str, body: &[u8], download_cut: bool) -> String {
    let is_html = content_type.to_ascii_lowercase().contains("html")
        || (content_type.is_empty()
            && String::from_utf8_lossy(&body[..body.len().min(512)])
                .to_ascii_lowercase()
                .contains("<html"));
    let mut text = if is_html {
        html2text::from_read(body, 100).unwrap_or_else(|_| String::from_utf8_lossy(body).into())
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let mut cut = download_cut;
    if text.chars().count() > MAX_TEXT_CHARS {
        text = text.chars().take(MAX_TEXT_CHARS).collect();
        cut = true;
    }
    if cut {
        text.push_str("\n\n[The page was cut here: it is larger than fetch_url returns.]");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls() {
        assert!(check_url("https://docs.example.test/api").is_ok());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("ftp://x.test/").is_err());
        assert!(check_url("https://user:pw@x.test/").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn html_becomes_text_and_big_pages_are_cut() {
        let text = page_text(
            "text/html; charset=utf-8",
            b"<html><body><h1>Users API</h1><script>x()</script><p>GET /users</p></body></html>",
            false,
        );
        assert!(
            text.contains("Users API") && text.contains("GET /users"),
            "{text}"
        );
        assert!(!text.contains("<p>"), "{text}");
        let huge = vec![b'a'; MAX_TEXT_CHARS + 10];
        let cut = page_text("text/plain", &huge, false);
        assert!(cut.ends_with("larger than fetch_url returns.]"));
        assert!(cut.len() < MAX_TEXT_CHARS + 200);
        assert!(is_text("application/json"));
        assert!(!is_text("application/octet-stream"));
        assert!(!is_text("image/png"));
    }
}
