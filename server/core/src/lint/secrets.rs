//! RP008's knowledge of credentials: token shapes that are secrets wherever they appear, and the
//! names that make a random-looking string a secret.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// No shape matches fewer bytes than this (credentials in a URL: `a://b:ccc@`), so shorter strings
/// (dictionary keys, names, most messages' words) are not searched at all.
const SHORTEST_SHAPE: usize = 10;

/// What each credential shape is, and its pattern.
const SHAPE_PATTERNS: [(&str, &str); 14] = [
    (
        "an AWS access key id",
        r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b",
    ),
    (
        "a GitHub token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b",
    ),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "a Slack webhook URL",
        r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
    ),
    (
        "a JSON Web Token",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    (
        "a bearer token",
        r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
    ),
    (
        "a basic-auth header",
        r"(?i)\bbasic\s+[A-Za-z0-9+/]{16,}={0,2}",
    ),
    (
        "a private key",
        // The whole block when its END line is there, so redaction takes the key, not the header.
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)?",
    ),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    (
        "a Stripe secret key",
        r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}\b",
    ),
    (
        "an OpenAI or Anthropic API key",
        r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}",
    ),
    (
        "a SendGrid API key",
        r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
    ),
    (
        "an Azure storage account key",
        r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}",
    ),
    (
        "credentials in a URL",
        r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]{3,}@",
    ),
];

/// The shapes in one set, matched in a single pass over a string: a playbook has thousands of
/// string literals and almost none is a credential.
static SHAPES: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(SHAPE_PATTERNS.iter().map(|(_, pattern)| pattern))
        .expect("secret patterns are valid")
});

/// Names that mark an assigned string as a credential (matched on the lower-cased name's words).
const SECRET_NAME_WORDS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "apikey",
    "api_key",
    "key",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "private",
    "pat",
    "passphrase",
];

/// Names that contain a secret word but name something public.
const PUBLIC_NAMES: &[&str] = &[
    "key_id",
    "keyid",
    "public_key",
    "token_url",
    "token_type",
    "key_name",
    "keys",
];

/// If `value` has a well-known credential shape, says which.
pub fn known_shape(value: &str) -> Option<&'static str> {
    if value.len() < SHORTEST_SHAPE || !SHAPES.is_match(value) {
        return None;
    }
    // The first shape in the list that matches names it, as when they were tried in turn.
    let first = SHAPES.matches(value).iter().next()?;
    Some(SHAPE_PATTERNS[first].0)
}

/// The byte ranges of every credential-shaped string in `text`, for callers that write text out
/// (the agent's model messages and transcripts) and must take credentials out of it.
pub fn credential_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    static EACH_SHAPE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        SHAPE_PATTERNS
            .iter()
            .map(|(_, pattern)| Regex::new(pattern).expect("secret patterns are valid"))
            .collect()
    });
    if text.len() < SHORTEST_SHAPE || !SHAPES.is_match(text) {
        return Vec::new();
    }
    let mut ranges: Vec<_> = SHAPES
        .matches(text)
        .iter()
        .flat_map(|shape| EACH_SHAPE[shape].find_iter(text).map(|found| found.range()))
        // A URL keeps its scheme and host (`https://[REDACTED]@host`): the user-info is the secret.
        .map(|range| match text[range.clone()].find("://") {
            Some(scheme_end) => range.start + scheme_end + 3..range.end - 1,
            None => range,
        })
        .collect();
    ranges.sort_by_key(|range| (range.start, std::cmp::Reverse(range.end)));
    // Overlapping shapes (a bearer header holding a JWT) become one range.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// Whether a variable, keyword or dict key with this name holds a credential.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if PUBLIC_NAMES.iter().any(|p| lower.ends_with(p)) {
        return false;
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| SECRET_NAME_WORDS.contains(&word))
        || lower.contains("apikey")
        || lower.contains("secret")
        || lower.contains("password")
}

/// Whether a string is random enough to be a generated credential: long, no spaces, and a Shannon
/// entropy per character that words and identifiers do not reach.
pub fn looks_random(value: &str) -> bool {
    if value.len() < 16 || value.len() > 512 || value.chars().any(char::is_whitespace) {
        return false;
    }
    if value.contains("://") || value.starts_with('/') || value.contains("{") {
        return false;
    }
    let mut counts = [0u32; 128];
    let mut total = 0u32;
    for b in value.bytes() {
        if b >= 128 {
            return false;
        }
        counts[b as usize] += 1;
        total += 1;
    }
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / f64::from(total);
            -p * p.log2()
        })
        .sum();
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&present| present)
    .count();
    entropy >= 3.5 && classes >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_ranges_cover_each_credential_once() {
        let text = "key AKIAABCDEFGHIJKLMNOP then Authorization: Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlX19f \
                    and sk-proj-abcdefghijklmnopqrstuvwx end";
        let found: Vec<&str> = credential_ranges(text)
            .into_iter()
            .map(|range| &text[range])
            .collect();
        assert_eq!(
            found,
            [
                "AKIAABCDEFGHIJKLMNOP",
                "Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlX19f",
                "sk-proj-abcdefghijklmnopqrstuvwx",
            ]
        );
        let pem = "x -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY----- y";
        let ranges = credential_ranges(pem);
        assert_eq!(ranges.len(), 1);
        assert_eq!(&pem[ranges[0].clone()], &pem[2..pem.len() - 2]);
        assert!(credential_ranges("nothing to see here, just words").is_empty());
        let url = "see https://bob:hunter22@example.test/x";
        let ranges = credential_ranges(url);
        assert_eq!(&url[ranges[0].clone()], "bob:hunter22");
    }

    #[test]
    fn no_shape_is_shorter_than_the_length_pre_check() {
        for (what, pattern) in SHAPE_PATTERNS {
            let hir = regex_syntax::parse(pattern).expect("secret patterns are valid");
            let shortest = hir
                .properties()
                .minimum_len()
                .expect("every shape can match");
            assert!(
                shortest >= SHORTEST_SHAPE,
                "{what} can match {shortest} bytes, under SHORTEST_SHAPE ({SHORTEST_SHAPE})"
            );
        }
        let shortest = SHAPE_PATTERNS
            .iter()
            .filter_map(|(_, p)| regex_syntax::parse(p).ok()?.properties().minimum_len())
            .min();
        assert_eq!(
            shortest,
            Some(SHORTEST_SHAPE),
            "the pre-check is as tight as it can be"
        );
    }

    #[test]
    fn the_first_matching_shape_names_the_value() {
        assert_eq!(
            known_shape("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"),
            Some("a bearer token")
        );
        assert_eq!(
            known_shape("https://user:hunter2-not-real@example.test/"),
            Some("credentials in a URL")
        );
        assert_eq!(known_shape("a://b:ccc@"), Some("credentials in a URL"));
        assert_eq!(known_shape("a://b:cc@"), None);
        assert_eq!(known_shape("short"), None);
        assert_eq!(known_shape("/users/{id}/messages"), None);
    }
}
