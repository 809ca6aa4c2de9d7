//! `api_key`: the key in a header (`header = NAME`) or a query parameter (`query = NAME`).

use super::super::request::{Prepared, append_query};

pub(crate) fn apply(
    request: &mut Prepared,
    header: Option<&str>,
    query: Option<&str>,
    key: &str,
) -> Result<(), String> {
    match (header, query) {
        (Some(header), None) => {
            reqwest::header::HeaderValue::from_str(key).map_err(|_| {
                "the api_key holds characters a header cannot carry (check for a stray newline)"
                    .to_string()
            })?;
            request.set_header(&header.trim().to_ascii_lowercase(), key.to_string());
            Ok(())
        }
        (None, Some(query)) => {
            append_query(&mut request.url, [(query.trim(), key)]);
            Ok(())
        }
        _ => Err(
            "api_key auth needs exactly one of `header = \"NAME\"` or `query = \"NAME\"`".into(),
        ),
    }
}
