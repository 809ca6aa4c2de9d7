//! Where an integration profile's secrets come from, and how they are kept out of every output.
//!
//! Secrets never live in the workspace. Headless they come from `RIPOSTE_<PROFILE>_<FIELD>`
//! environment variables ([`EnvSecrets`]) or a `--secrets FILE` ([`FileSecrets`], refused unless
//! it is mode 0600 and outside the workspace); in the editor the language server fills a
//! [`MapSecrets`] from SecretStorage. [`ChainSecrets`] asks several sources in turn.
//!
//! Every value handed out is registered with a [`Redactor`], which replaces it with
//! [`REDACTED`] in whatever text would be written: logs, run records, error messages, URLs.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use riposte_core::formats::profile::secret_env_var;
use zeroize::Zeroizing;

/// What stands in for a secret in any text Riposte writes.
pub const REDACTED: &str = "[REDACTED]";

/// A secret value: never printed (Debug and Display show [`REDACTED`]), zeroed when dropped.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself, for the code that signs a request. Never format it into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({REDACTED})")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A place secrets are looked up: `secret("VirusTotal", "api_key")`.
///
/// An empty value counts as absent: a blank secret cannot authenticate anything.
pub trait SecretSource: Send + Sync {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString>;

    /// How a person sets a missing secret where this source looks (ends a "missing secret"
    /// error). The default fits the CLI and the editor; the engine says where it keeps them.
    fn where_to_set(&self, profile: &str, field: &str) -> String {
        format!(
            "set the environment variable {}, add `{field} = \"...\"` to the [\"{profile}\"] table of the secrets file (--secrets), or store it in the editor",
            riposte_core::formats::profile::secret_env_var(profile, field)
        )
    }
}

impl<S: SecretSource + ?Sized> SecretSource for Arc<S> {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        (**self).secret(profile, field)
    }

    fn where_to_set(&self, profile: &str, field: &str) -> String {
        (**self).where_to_set(profile, field)
    }
}

/// `RIPOSTE_<PROFILE>_<FIELD>` environment variables, from a snapshot taken at construction
/// (the caller passes the environment, so nothing reads or changes the process's own).
#[derive(Default)]
pub struct EnvSecrets {
    vars: HashMap<String, SecretString>,
}

impl EnvSecrets {
    /// Keeps the `RIPOSTE_*` variables of `vars` (anything else is not a secret of ours).
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .filter(|(name, value)| name.starts_with("RIPOSTE_") && !value.is_empty())
            .map(|(name, value)| (name, SecretString::new(value)))
            .collect();
        Self { vars }
    }

    /// A snapshot of this process's environment (variables that are not UTF-8 are skipped).
    pub fn from_process_env() -> Self {
        Self::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }
}

impl SecretSource for EnvSecrets {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.vars.get(&secret_env_var(profile, field)).cloned()
    }
}

impl fmt::Debug for EnvSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("EnvSecrets")
            .field("variables", &names)
            .finish()
    }
}

/// Why a secrets file was refused. Messages name the file and say what to do; they never repeat
/// a value from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    #[error("cannot read the secrets file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the secrets file {path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error(
        "the secrets file {path} has mode {mode:04o}: other users could read it. Run `chmod 600 {path}` and try again"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error(
        "the secrets file {path} is inside the workspace {workspace}: secrets never live in the workspace (they would be committed). Move it outside, e.g. to ~/.config/riposte/secrets.toml, and pass that path"
    )]
    InsideWorkspace { path: PathBuf, workspace: PathBuf },
    #[error("the secrets file {path} is {size} bytes; a secrets file is at most {max} bytes")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("the secrets file {path} is not valid UTF-8")]
    NotUtf8 { path: PathBuf },
    #[error("the secrets file {path} is not valid TOML (line {line}): {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "the secrets file {path}: {problem}. Write one table per profile, e.g.\n[\"VirusTotal\"]\napi_key = \"...\""
    )]
    Shape { path: PathBuf, problem: String },
}

/// Largest secrets file read: a few profiles' secrets are a few kilobytes.
const MAX_SECRETS_FILE_BYTES: u64 = 1024 * 1024;

/// A TOML secrets file: `[<profile name>]` tables of `field = "value"`.
#[derive(Default)]
pub struct FileSecrets {
    path: PathBuf,
    profiles: HashMap<String, HashMap<String, SecretString>>,
}

impl FileSecrets {
    /// Reads `path`, refusing it unless only its owner can read it (mode 0600 or stricter) and it
    /// lies outside `workspace_root` (both canonicalised, so symlinks do not get around it).
    pub fn load(path: &Path, workspace_root: &Path) -> Result<Self, SecretsError> {
        let read_error = |source| SecretsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let canonical = std::fs::canonicalize(path).map_err(read_error)?;
        let metadata = std::fs::metadata(&canonical).map_err(read_error)?;
        if !metadata.is_file() {
            return Err(SecretsError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SecretsError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        // A workspace that does not exist cannot hold the file.
        if let Ok(workspace) = std::fs::canonicalize(workspace_root)
            && canonical.starts_with(&workspace)
        {
            return Err(SecretsError::InsideWorkspace {
                path: path.to_path_buf(),
                workspace,
            });
        }
        if metadata.len() > MAX_SECRETS_FILE_BYTES {
            return Err(SecretsError::TooLarge {
                path: path.to_path_buf(),
                size: metadata.len(),
                max: MAX_SECRETS_FILE_BYTES,
            });
        }
        let bytes = Zeroizing::new(std::fs::read(&canonical).map_err(read_error)?);
        let text = std::str::from_utf8(&bytes).map_err(|_| SecretsError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        Self::parse(path, text)
    }

    /// Parses the text of a secrets file (`path` is only used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, SecretsError> {
        let table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
            // `message()` alone: the full Display quotes the offending line, which may be a secret.
            let line = err.span().map_or(1, |span| {
                text[..span.start.min(text.len())].matches('\n').count() + 1
            });
            SecretsError::Syntax {
                path: path.to_path_buf(),
                line,
                message: err.message().to_string(),
            }
        })?;
        let shape = |problem: String| SecretsError::Shape {
            path: path.to_path_buf(),
            problem,
        };
        let mut profiles = HashMap::new();
        for (profile, fields) in table {
            let toml::Value::Table(fields) = fields else {
                return Err(shape(format!("`{profile}` is not a table of fields")));
            };
            let mut values = HashMap::new();
            for (field, value) in fields {
                let toml::Value::String(value) = value else {
                    return Err(shape(format!(
                        "`{field}` in [{profile}] is not a string (write it in quotes)"
                    )));
                };
                if !value.is_empty() {
                    values.insert(field, SecretString::new(value));
                }
            }
            profiles.insert(profile, values);
        }
        Ok(Self {
            path: path.to_path_buf(),
            profiles,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl SecretSource for FileSecrets {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.profiles.get(profile)?.get(field).cloned()
    }
}

impl fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut profiles: Vec<&String> = self.profiles.keys().collect();
        profiles.sort();
        f.debug_struct("FileSecrets")
            .field("path", &self.path)
            .field("profiles", &profiles)
            .finish()
    }
}

/// Secrets set at run time, e.g. by the language server from the editor's SecretStorage.
#[derive(Default)]
pub struct MapSecrets {
    values: RwLock<HashMap<(String, String), SecretString>>,
}

impl MapSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or, with an empty value, removes) one field of one profile.
    pub fn set(&self, profile: impl Into<String>, field: impl Into<String>, value: SecretString) {
        let key = (profile.into(), field.into());
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        if value.is_empty() {
            values.remove(&key);
        } else {
            values.insert(key, value);
        }
    }

    pub fn remove(&self, profile: &str, field: &str) {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(profile.to_string(), field.to_string()));
    }

    /// Forgets every field of `profile`.
    pub fn remove_profile(&self, profile: &str) {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(p, _), _| p != profile);
    }

    pub fn clear(&self) {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl SecretSource for MapSecrets {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(profile.to_string(), field.to_string()))
            .cloned()
    }
}

impl fmt::Debug for MapSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<String> = values.keys().map(|(p, k)| format!("{p}.{k}")).collect();
        keys.sort();
        f.debug_struct("MapSecrets").field("fields", &keys).finish()
    }
}

/// Several sources asked in order; the first that has the field wins.
#[derive(Default)]
pub struct ChainSecrets {
    sources: Vec<Arc<dyn SecretSource>>,
}

impl ChainSecrets {
    pub fn new(sources: Vec<Arc<dyn SecretSource>>) -> Self {
        Self { sources }
    }

    pub fn push(&mut self, source: Arc<dyn SecretSource>) {
        self.sources.push(source);
    }
}

impl SecretSource for ChainSecrets {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.sources
            .iter()
            .find_map(|source| source.secret(profile, field))
            .filter(|value| !value.is_empty())
    }

    /// The first source's advice: the chain's most specific place.
    fn where_to_set(&self, profile: &str, field: &str) -> String {
        match self.sources.first() {
            Some(source) => source.where_to_set(profile, field),
            None => MapSecrets::new().where_to_set(profile, field),
        }
    }
}

impl fmt::Debug for ChainSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainSecrets")
            .field("sources", &self.sources.len())
            .finish()
    }
}

/// Headers whose values are credentials, whatever the profile.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
    "x-api-key",
    "x-apikey",
    "api-key",
    "apikey",
    "x-auth-token",
];

/// Query parameters whose values are credentials or signatures, whatever the profile.
const SENSITIVE_QUERY_PARAMS: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "sig",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "client_secret",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "password",
    "secret",
    "session_token",
    "bewit",
];

/// Secrets shorter than this are not searched for in free text: they would turn every
/// occurrence of a common word or digit into [`REDACTED`]. They are still redacted where they
/// appear by name (headers, query parameters).
pub const MIN_REDACTED_LEN: usize = 4;

/// Knows every secret value handed out (and every OAuth2 access token obtained) and replaces
/// them with [`REDACTED`] in any text; also redacts credential-bearing headers and signed query
/// parameters by name. Shared (`Arc`) between the HTTP client and whatever writes records.
#[derive(Default)]
pub struct Redactor {
    state: RwLock<RedactorState>,
}

#[derive(Default)]
struct RedactorState {
    /// Longest first, so a secret that contains another is replaced whole.
    values: Vec<SecretString>,
    extra_headers: BTreeSet<String>,
    extra_query_params: BTreeSet<String>,
    /// Built on first use after a change.
    patterns: Option<Arc<Patterns>>,
}

struct Patterns {
    /// `Authorization: value` in free text (a log line), `"authorization": "value"` (JSON) and
    /// `'authorization': 'value'` (a Python dict): each has `prefix` and `value` groups.
    headers: [regex::Regex; 3],
    /// `?token=value` / `&sig=value` in free text.
    query_param: regex::Regex,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers a secret value (and its URL-encoded forms, as it appears in query strings and
    /// form bodies) so [`redact`](Self::redact) replaces it.
    pub fn add_secret(&self, value: &str) {
        if value.chars().count() < MIN_REDACTED_LEN {
            return;
        }
        let mut forms = vec![value.to_string()];
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        forms.push(form.clone());
        forms.push(form.replace('+', "%20"));
        let mut state = self.write();
        for form in forms {
            if !state.values.iter().any(|known| known.expose() == form) {
                state.values.push(SecretString::new(form));
            }
        }
        state
            .values
            .sort_by_key(|value| std::cmp::Reverse(value.expose().len()));
    }

    /// Treats `name` as a credential-bearing header (an api-key profile's header).
    pub fn add_header_name(&self, name: &str) {
        let mut state = self.write();
        if state.extra_headers.insert(name.to_ascii_lowercase()) {
            state.patterns = None;
        }
    }

    /// Treats `name` as a credential-bearing query parameter (an api-key profile's parameter).
    pub fn add_query_param(&self, name: &str) {
        let mut state = self.write();
        if state.extra_query_params.insert(name.to_ascii_lowercase()) {
            state.patterns = None;
        }
    }

    pub fn is_sensitive_header(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        SENSITIVE_HEADERS.contains(&name.as_str()) || self.read().extra_headers.contains(&name)
    }

    pub fn is_sensitive_query_param(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        SENSITIVE_QUERY_PARAMS.contains(&name.as_str())
            || self.read().extra_query_params.contains(&name)
    }

    /// `text` with every known secret value, every `Authorization: …`-style header value and
    /// every sensitive `?param=value` replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let patterns = self.patterns();
        let mut out = text.to_string();
        for value in &self.read().values {
            if out.contains(value.expose()) {
                out = out.replace(value.expose(), REDACTED);
            }
        }
        let mut out = patterns
            .query_param
            .replace_all(&out, format!("${{prefix}}{REDACTED}").as_str())
            .into_owned();
        for pattern in &patterns.headers {
            out = pattern
                .replace_all(&out, |caps: &regex::Captures<'_>| {
                    if &caps["value"] == REDACTED || caps["value"].is_empty() {
                        caps[0].to_string()
                    } else {
                        format!("{}{REDACTED}", &caps["prefix"])
                    }
                })
                .into_owned();
        }
        out
    }

    /// A URL fit to write down: user-info, sensitive query parameters and known secret values
    /// replaced by [`REDACTED`].
    pub fn redact_url(&self, url: &str) -> String {
        let Ok(mut parsed) = url::Url::parse(url) else {
            return self.redact(url);
        };
        if !parsed.username().is_empty() {
            let _ = parsed.set_username(REDACTED);
        }
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some(REDACTED));
        }
        if let Some(query) = parsed.query() {
            let redacted: Vec<String> = query
                .split('&')
                .map(|pair| {
                    let key = pair.split('=').next().unwrap_or_default();
                    let name: String = url::form_urlencoded::parse(key.as_bytes())
                        .next()
                        .map(|(k, _)| k.into_owned())
                        .unwrap_or_default();
                    if pair.contains('=') && self.is_sensitive_query_param(&name) {
                        format!("{key}={REDACTED}")
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            parsed.set_query(Some(&redacted.join("&")));
        }
        // `Url` percent-encodes the brackets of a redacted user-info.
        self.redact(&parsed.as_str().replace("%5BREDACTED%5D", REDACTED))
    }

    /// A header value fit to write down: [`REDACTED`] for credential-bearing headers, the value
    /// with known secrets redacted otherwise.
    pub fn redact_header(&self, name: &str, value: &str) -> String {
        if self.is_sensitive_header(name) {
            REDACTED.to_string()
        } else {
            self.redact(value)
        }
    }

    pub fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| (name.clone(), self.redact_header(name, value)))
            .collect()
    }

    fn patterns(&self) -> Arc<Patterns> {
        if let Some(patterns) = &self.read().patterns {
            return patterns.clone();
        }
        let mut state = self.write();
        if let Some(patterns) = &state.patterns {
            return patterns.clone();
        }
        let alternatives = |fixed: &[&str], extra: &BTreeSet<String>| -> String {
            let mut names: Vec<String> = fixed
                .iter()
                .map(|s| s.to_string())
                .chain(extra.iter().cloned())
                .map(|name| regex::escape(&name))
                .collect();
            names.sort_by_key(|name| std::cmp::Reverse(name.len()));
            names.dedup();
            names.join("|")
        };
        let headers = alternatives(SENSITIVE_HEADERS, &state.extra_headers);
        let params = alternatives(SENSITIVE_QUERY_PARAMS, &state.extra_query_params);
        // The value runs to the closing quote when quoted, else to the end of the line.
        let pattern = |text: String| regex::Regex::new(&text).expect("header pattern is valid");
        let header_patterns = [
            pattern(format!(
                r#"(?i)(?P<prefix>\b(?:{headers})\s*:[ \t]*)(?P<value>[^\r\n]*)"#
            )),
            pattern(format!(
                r#"(?i)(?P<prefix>\b(?:{headers})"\s*:\s*")(?P<value>(?:[^"\\]|\\.)*)"#
            )),
            pattern(format!(
                r#"(?i)(?P<prefix>\b(?:{headers})'\s*:\s*')(?P<value>(?:[^'\\]|\\.)*)"#
            )),
        ];
        let query_param = regex::Regex::new(&format!(
            r#"(?i)(?P<prefix>[?&;](?:{params})=)[^&#\s"'<>]+"#
        ))
        .expect("query pattern is valid");
        let patterns = Arc::new(Patterns {
            headers: header_patterns,
            query_param,
        });
        state.patterns = Some(patterns.clone());
        patterns
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RedactorState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RedactorState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Redactor")
            .field("secrets", &state.values.len())
            .field("extra_headers", &state.extra_headers)
            .field("extra_query_params", &state.extra_query_params)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_never_prints() {
        let secret = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), REDACTED);
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn env_snapshot_uses_the_profile_variable_names() {
        let env = EnvSecrets::from_vars([
            ("RIPOSTE_VIRUSTOTAL_API_KEY", "vt-key"),
            ("RIPOSTE_MICROSOFT_GRAPH_CLIENT_ID", "id"),
            ("RIPOSTE_EMPTY_TOKEN", ""),
            ("HOME", "/root"),
        ]);
        assert_eq!(
            env.secret("VirusTotal", "api_key").unwrap().expose(),
            "vt-key"
        );
        assert_eq!(
            env.secret("Microsoft Graph", "client_id").unwrap().expose(),
            "id"
        );
        assert!(env.secret("Empty", "token").is_none());
        assert!(!format!("{env:?}").contains("vt-key"));
    }

    #[test]
    fn chain_takes_the_first_hit() {
        let first = MapSecrets::new();
        first.set("P", "token", "from-map".into());
        let env = EnvSecrets::from_vars([("RIPOSTE_P_TOKEN", "from-env"), ("RIPOSTE_P_X", "x")]);
        let chain = ChainSecrets::new(vec![Arc::new(first), Arc::new(env)]);
        assert_eq!(chain.secret("P", "token").unwrap().expose(), "from-map");
        assert_eq!(chain.secret("P", "x").unwrap().expose(), "x");
        assert!(chain.secret("P", "y").is_none());
    }

    #[test]
    fn file_syntax_errors_do_not_quote_the_line() {
        let err = FileSecrets::parse(Path::new("s.toml"), "[P]\ntoken = abc-secret\n").unwrap_err();
        let message = err.to_string();
        assert!(!message.contains("abc-secret"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn file_values_must_be_strings() {
        let err = FileSecrets::parse(Path::new("s.toml"), "[P]\ntoken = 12345678\n").unwrap_err();
        assert!(!err.to_string().contains("12345678"), "{err}");
    }

    #[test]
    fn redacts_values_headers_and_query_parameters() {
        let redactor = Redactor::new();
        redactor.add_secret("s3cr3t value");
        redactor.add_query_param("X-VT-Key");
        let text =
            "failed with s3cr3t value at https://h/x?a=1&x-vt-key=abc&sig=def and s3cr3t+value";
        let out = redactor.redact(text);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!out.contains("abc") && !out.contains("def"), "{out}");
        assert!(out.contains("a=1"), "{out}");

        let out = redactor.redact("Authorization: Bearer abcdef\nnext line");
        assert_eq!(out, "Authorization: [REDACTED]\nnext line");
        let out = redactor.redact(r#"{"authorization": "Basic Zm9vOmJhcg==", "accept": "x"}"#);
        assert_eq!(out, r#"{"authorization": "[REDACTED]", "accept": "x"}"#);
    }

    #[test]
    fn redacts_urls() {
        let redactor = Redactor::new();
        redactor.add_query_param("apikey2");
        let out = redactor.redact_url(
            "https://user:pw@h.example/p?X-Amz-Signature=abc&X-Amz-Credential=AK%2F1&Action=ListUsers&apikey2=zzz",
        );
        assert_eq!(
            out,
            "https://[REDACTED]:[REDACTED]@h.example/p?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]&Action=ListUsers&apikey2=[REDACTED]"
        );
    }

    #[test]
    fn short_values_are_not_searched_for() {
        let redactor = Redactor::new();
        redactor.add_secret("ab");
        assert_eq!(redactor.redact("abc"), "abc");
    }
}
