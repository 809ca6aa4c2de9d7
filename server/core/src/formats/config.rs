//! `riposte.toml`: the workspace's limits, lint selection, Python version and engine URL.

use std::collections::BTreeMap;

use ruff_python_ast::PythonVersion;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Severity;
use crate::lint::{Rule, RuleSelector};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub python: PythonSettings,
    pub limits: Limits,
    pub lint: LintSettings,
    pub engine: EngineSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PythonSettings {
    /// The Python the playbooks run on, `"3.10"` to `"3.14"`: picks the standard library list and
    /// the syntax RP016 accepts.
    pub version: String,
    /// The interpreter the runtime starts; `python3` from PATH when absent.
    pub executable: Option<String>,
}

impl Default for PythonSettings {
    fn default() -> Self {
        Self {
            version: "3.11".to_string(),
            executable: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_lines: usize,
    pub run_timeout_secs: u64,
    pub memory_mb: u64,
    pub max_playbooks: usize,
    pub max_integrations: usize,
    pub max_active_rules: usize,
    pub llm_tokens_per_day: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_lines: 5000,
            run_timeout_secs: 600,
            memory_mb: 512,
            max_playbooks: 100,
            max_integrations: 500,
            max_active_rules: 500,
            llm_tokens_per_day: 8_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LintSettings {
    /// Codes or code prefixes to enable (`["RP"]`, the default, enables all).
    pub select: Vec<String>,
    /// Codes or code prefixes to disable; wins over `select`.
    pub ignore: Vec<String>,
    /// Per-code severity overrides, e.g. `RP011 = "error"`.
    pub severity: BTreeMap<String, Severity>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// The `riposte serve` engine that save and deploy talk to.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
    /// Byte range in `riposte.toml` the error is about.
    pub range: ruff_text_size::TextRange,
}

/// Supported target versions; the runtime needs 3.10 or newer.
pub const PYTHON_VERSIONS: &[&str] = &["3.10", "3.11", "3.12", "3.13", "3.14"];

impl Config {
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|err| ConfigError {
            message: format!("riposte.toml: {}", super::toml_error_message(&err)),
            range: super::toml_error_range(&err, text),
        })?;
        config.validate(text)?;
        Ok(config)
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let at = |key: &str, message: String| ConfigError {
            message,
            range: super::key_range(text, key),
        };
        if !PYTHON_VERSIONS.contains(&self.python.version.as_str()) {
            return Err(at(
                "version",
                format!(
                    "riposte.toml: python.version = \"{}\" is not supported; use one of {}",
                    self.python.version,
                    PYTHON_VERSIONS.join(", ")
                ),
            ));
        }
        if self.limits.max_lines == 0 || self.limits.run_timeout_secs == 0 {
            return Err(at(
                "limits",
                "riposte.toml: limits must be greater than zero".to_string(),
            ));
        }
        for selector in self.lint.select.iter().chain(&self.lint.ignore) {
            if RuleSelector::parse(selector).is_none() {
                return Err(at(
                    selector,
                    format!(
                        "riposte.toml: `{selector}` in [lint] is not a rule code or prefix (codes look like RP003; `RP` selects all)"
                    ),
                ));
            }
        }
        for code in self.lint.severity.keys() {
            if Rule::from_code(code).is_none() {
                return Err(at(
                    code,
                    format!(
                        "riposte.toml: [lint.severity] names `{code}`, which is not a rule code"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn python_version(&self) -> PythonVersion {
        let minor = self
            .python
            .version
            .strip_prefix("3.")
            .and_then(|m| m.parse().ok())
            .unwrap_or(11);
        PythonVersion { major: 3, minor }
    }

    /// The severity a rule reports at, or `None` when the lint selection turns it off.
    pub fn effective_severity(&self, rule: Rule) -> Option<Severity> {
        let selected = self.lint.select.is_empty()
            || self
                .lint
                .select
                .iter()
                .filter_map(|s| RuleSelector::parse(s))
                .any(|s| s.matches(rule));
        let ignored = self
            .lint
            .ignore
            .iter()
            .filter_map(|s| RuleSelector::parse(s))
            .any(|s| s.matches(rule));
        if !selected || ignored {
            return None;
        }
        let overridden = self
            .lint
            .severity
            .iter()
            .find(|(code, _)| Rule::from_code(code) == Some(rule));
        Some(overridden.map_or(rule.default_severity(), |(_, severity)| *severity))
    }
}
