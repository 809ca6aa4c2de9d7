//! The server's settings: from `initializationOptions`, then from `workspace/configuration`
//! (section `riposte`), which wins. Both take the same shape:
//!
//! ```json
//! { "lint": { "select": ["RP"], "ignore": ["RP011"] }, "debounceMs": 150, "logLevel": "info" }
//! ```
//!
//! `lint.select` / `lint.ignore` replace `riposte.toml`'s `[lint]` lists when given. Unknown keys
//! are ignored; a value of the wrong type is ignored with a warning.

use std::time::Duration;

use riposte_core::lint::RuleSelector;
use serde_json::Value;
use tracing::level_filters::LevelFilter;

/// How long to wait after a change before validating, unless configured.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);
/// The longest debounce accepted (anything longer reads as a mistake).
const MAX_DEBOUNCE_MS: u64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub lint_select: Option<Vec<String>>,
    pub lint_ignore: Option<Vec<String>>,
    pub debounce: Duration,
    /// What is sent to the client as `window/logMessage` (stderr has its own level).
    pub log_level: LevelFilter,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lint_select: None,
            lint_ignore: None,
            debounce: DEFAULT_DEBOUNCE,
            log_level: LevelFilter::INFO,
        }
    }
}

impl Settings {
    /// Settings from `initializationOptions` and then `workspace/configuration` answers, each
    /// either the `riposte` section itself or an object holding it. Returns what was wrong.
    pub fn resolve<'a>(layers: impl IntoIterator<Item = &'a Value>) -> (Settings, Vec<String>) {
        let mut settings = Settings::default();
        let mut warnings = Vec::new();
        for layer in layers {
            settings.apply(layer, &mut warnings);
        }
        (settings, warnings)
    }

    fn apply(&mut self, value: &Value, warnings: &mut Vec<String>) {
        let section = match value.get("riposte") {
            Some(inner) if inner.is_object() => inner,
            _ => value,
        };
        if !section.is_object() {
            if !section.is_null() {
                warnings.push("settings: expected an object".to_string());
            }
            return;
        }
        let lookup = |path: &[&str]| -> Option<&Value> {
            let dotted = path.join(".");
            section
                .get(&dotted)
                .or_else(|| path.iter().try_fold(section, |value, key| value.get(*key)))
        };
        for (key, target) in [
            ("select", &mut self.lint_select),
            ("ignore", &mut self.lint_ignore),
        ] {
            let Some(value) = lookup(&["lint", key]) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let Some(items) = value.as_array() else {
                warnings.push(format!("settings: lint.{key} must be a list of rule codes"));
                continue;
            };
            let mut codes = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(code) if RuleSelector::parse(code).is_some() => codes.push(code.to_string()),
                    _ => warnings.push(format!(
                        "settings: lint.{key}: {item} is not a rule code or prefix (codes look like RP003); ignored"
                    )),
                }
            }
            *target = Some(codes);
        }
        if let Some(value) = lookup(&["debounceMs"]).filter(|v| !v.is_null()) {
            match value.as_u64() {
                Some(ms) => self.debounce = Duration::from_millis(ms.min(MAX_DEBOUNCE_MS)),
                None => warnings.push(format!(
                    "settings: debounceMs must be a whole number of milliseconds, not {value}"
                )),
            }
        }
        if let Some(value) = lookup(&["logLevel"]).filter(|v| !v.is_null()) {
            match value.as_str().and_then(|level| level.parse::<LevelFilter>().ok()) {
                Some(level) => self.log_level = level,
                None => warnings.push(format!(
                    "settings: logLevel must be one of off, error, warn, info, debug, trace, not {value}"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn layers_override_and_bad_values_warn() {
        let init =
            json!({"debounceMs": 0, "lint": {"select": ["RP0"], "ignore": ["RP011", "nope"]}});
        let config = json!({"riposte": {"logLevel": "debug", "lint": {"select": null}}});
        let (settings, warnings) = Settings::resolve([&init, &config]);
        assert_eq!(settings.debounce, Duration::ZERO);
        assert_eq!(settings.lint_select, Some(vec!["RP0".to_string()]));
        assert_eq!(settings.lint_ignore, Some(vec!["RP011".to_string()]));
        assert_eq!(settings.log_level, LevelFilter::DEBUG);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let (settings, warnings) =
            Settings::resolve([&json!({"debounceMs": "soon"}), &Value::Null]);
        assert_eq!(settings.debounce, DEFAULT_DEBOUNCE);
        assert_eq!(warnings.len(), 1);
    }
}
