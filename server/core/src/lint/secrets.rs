//! RP008's knowledge of credentials: token shapes that are secrets wherever they appear, and the
//! names that make a random-looking string a secret.

use std::sync::LazyLock;

use regex::Regex;

struct Shape {
    what: &'static str,
    pattern: Regex,
}

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let shape = |what, pattern: &str| Shape {
        what,
        pattern: Regex::new(pattern).expect("secret patterns are valid"),
    };
    vec![
        shape(
            "an AWS access key id",
            r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b",
        ),
        shape(
            "a GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b",
        ),
        shape("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        shape(
            "a Slack webhook URL",
            r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
        ),
        shape(
            "a JSON Web Token",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        ),
        shape(
            "a bearer token",
            r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
        ),
        shape(
            "a basic-auth header",
            r"(?i)\bbasic\s+[A-Za-z0-9+/]{16,}={0,2}",
        ),
        shape(
            "a private key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
        ),
        shape("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        shape(
            "a Stripe secret key",
            r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}\b",
        ),
        shape(
            "a SendGrid API key",
            r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        ),
        shape(
            "an Azure storage account key",
            r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}",
        ),
        shape(
            "credentials in a URL",
            r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]{3,}@",
        ),
    ]
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
    SHAPES
        .iter()
        .find(|shape| shape.pattern.is_match(value))
        .map(|shape| shape.what)
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
