//! `basic` (username and password) and `bearer` (a token): one `Authorization` header each.

use base64::Engine;

use super::super::request::Prepared;
use crate::secrets::Redactor;

pub(crate) fn apply_basic(
    request: &mut Prepared,
    username: &str,
    password: &str,
    redactor: &Redactor,
) -> Result<(), String> {
    if username.contains(':') {
        return Err("the username contains `:`, which HTTP Basic cannot carry".into());
    }
    let encoded = encoded_pair(username, password);
    // The encoded pair is as good as the password: keep it out of every output too.
    redactor.add_secret(&encoded);
    request.set_header("authorization", format!("Basic {encoded}"));
    Ok(())
}

/// `base64(username:password)`, as the header carries it.
pub(crate) fn encoded_pair(username: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
}

pub(crate) fn apply_bearer(request: &mut Prepared, token: &str) -> Result<(), String> {
    let value = format!("Bearer {token}");
    reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
        "the token holds characters a header cannot carry (check for a stray newline)".to_string()
    })?;
    request.set_header("authorization", value);
    Ok(())
}
