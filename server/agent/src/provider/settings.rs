//! From what a person configured to a model and a task: the one resolution shared by
//! `riposte generate` (flags, then `RIPOSTE_LLM_*` and the providers' key variables) and the
//! editor's chat (its settings, then the same environment). [`choose_model`] picks the provider
//! and model without reading a key; [`ModelChoice::env_key`] reads the key from the environment;
//! [`build_provider`] builds the provider with the key a front end found.
//! The task's side (workspace, sender, scrubber) is [`crate::TaskConfig::for_workspace`].
//!
//! Errors come in the kinds the chat protocol names (`no_model`, `no_key`, `bad_model`), each
//! with a message a person can act on, and never with a key in it.

use std::sync::Arc;

use super::{ApiKey, ConfigError, KeySource, Provider, ProviderConfig, ProviderKind};

/// What `riposte generate` prints when no model is configured.
pub const NO_MODEL: &str = "no model is configured. Point riposte at one:
  OpenAI:      export OPENAI_API_KEY=…   then --provider openai --model gpt-4.1
  Anthropic:   export ANTHROPIC_API_KEY=…  then --provider anthropic --model claude-sonnet-4-5
  Ollama:      --provider ollama --base-url http://127.0.0.1:11434/v1 --model qwen2.5-coder
  Any other OpenAI-compatible server (vLLM, llama.cpp, LM Studio, LiteLLM, Azure OpenAI): --provider openai --base-url URL --model NAME
The same settings can come from RIPOSTE_LLM_PROVIDER, RIPOSTE_LLM_MODEL, RIPOSTE_LLM_BASE_URL and RIPOSTE_LLM_API_KEY.";

/// What the chat panel shows when no model is configured: the same choices, in the panel's terms.
pub const NO_MODEL_IN_EDITOR: &str = "no model is configured. Choose one in the chat's model settings (or the riposte.agent.* settings):
  OpenAI:      provider openai-compatible, model gpt-4.1, then Riposte: Set Model API Key (or OPENAI_API_KEY in the editor's environment)
  Anthropic:   provider anthropic, model claude-sonnet-4-5, then Riposte: Set Model API Key (or ANTHROPIC_API_KEY)
  Ollama:      provider openai-compatible, base URL http://127.0.0.1:11434/v1, model qwen2.5-coder (no key)
  Any other OpenAI-compatible server (vLLM, llama.cpp, LM Studio, LiteLLM, Azure OpenAI): provider openai-compatible, its base URL and model name
  The editor's own models (GitHub Copilot and other chat model extensions): provider vscode-lm
Or set RIPOSTE_LLM_PROVIDER, RIPOSTE_LLM_MODEL, RIPOSTE_LLM_BASE_URL and RIPOSTE_LLM_API_KEY in the editor's environment.";

/// The help text for `front` when no model is configured.
pub fn no_model_help(front: Front) -> &'static str {
    match front {
        Front::Terminal => NO_MODEL,
        Front::Editor => NO_MODEL_IN_EDITOR,
    }
}

/// The provider name for the editor's own models (`vscode.lm`), which only the editor can run.
pub const EDITOR_MODELS: &str = "vscode-lm";

/// The variable that names the key for every provider, read before the provider's own.
const KEY_ENV: &str = "RIPOSTE_LLM_API_KEY";

/// What a person configured; empty or missing fields fall back to the environment. Also the
/// chat protocol's `ModelSettings` (`{"provider", "model", "baseUrl"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelSettings {
    /// `openai` (and the OpenAI-compatible names), `anthropic`, or `vscode-lm`.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// The environment variable holding the key (`--api-key-env`); never the key itself. The
    /// terminal's only: an editor cannot name a variable of the server's environment.
    #[serde(skip)]
    pub api_key_env: Option<String>,
}

/// Who is asking: the wording of a message names the terminal's flags or the editor's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    Terminal,
    Editor,
}

/// Where the chosen provider came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    /// The flags or the editor's settings.
    Settings,
    /// `RIPOSTE_LLM_*`, `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`.
    Environment,
}

/// The model to use, before any key is read.
#[derive(Debug, Clone)]
pub enum ModelChoice {
    /// An HTTP API; `config.key` names where the key would come from in the environment.
    Http {
        config: Box<ProviderConfig>,
        source: SettingsSource,
    },
    /// The editor's own models: `model` is an id or family, empty for the editor's first one.
    Editor {
        model: String,
        source: SettingsSource,
    },
}

/// Why no model can be used. The kinds are the chat protocol's `data.kind`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Nothing configured anywhere; the message is [`no_model_help`]'s.
    #[error("{0}")]
    NoModel(String),
    /// The provider needs a key and none was found.
    #[error("{0}")]
    NoKey(String),
    /// An unknown provider, a bad base URL, no model name.
    #[error("{0}")]
    BadModel(String),
}

impl ModelError {
    /// The chat protocol's `data.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::NoModel(_) => "no_model",
            ModelError::NoKey(_) => "no_key",
            ModelError::BadModel(_) => "bad_model",
        }
    }
}

impl From<ConfigError> for ModelError {
    fn from(err: ConfigError) -> Self {
        match err {
            ConfigError::MissingKey { .. } => ModelError::NoKey(err.to_string()),
            _ => ModelError::BadModel(err.to_string()),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Picks the provider and model from `settings`, then the environment. Reads no key.
pub fn choose_model(settings: &ModelSettings, front: Front) -> Result<ModelChoice, ModelError> {
    let from_settings = [&settings.provider, &settings.model, &settings.base_url]
        .iter()
        .any(|value| given(value).is_some());
    let source = if from_settings {
        SettingsSource::Settings
    } else {
        SettingsSource::Environment
    };
    let base_url = given(&settings.base_url).or_else(|| env("RIPOSTE_LLM_BASE_URL"));
    let model = given(&settings.model).or_else(|| env("RIPOSTE_LLM_MODEL"));
    let named = given(&settings.provider).or_else(|| env("RIPOSTE_LLM_PROVIDER"));
    let kind = match named {
        Some(name) if name.eq_ignore_ascii_case(EDITOR_MODELS) => {
            return match front {
                Front::Editor => Ok(ModelChoice::Editor {
                    model: model.unwrap_or_default(),
                    source,
                }),
                Front::Terminal => Err(ModelError::BadModel(format!(
                    "--provider {name}: the editor's own models are only available in the editor's chat; use openai or anthropic here"
                ))),
            };
        }
        Some(name) => ProviderKind::parse(&name).ok_or_else(|| {
            let named = match front {
                Front::Terminal => format!("--provider {name}"),
                Front::Editor => format!("the provider `{name}`"),
            };
            ModelError::BadModel(format!(
                "{named}: not a provider riposte knows; use openai (any OpenAI-compatible server, e.g. ollama) or anthropic{}",
                if front == Front::Editor { ", or vscode-lm for the editor's own models" } else { "" }
            ))
        })?,
        None if env("ANTHROPIC_API_KEY").is_some() && env("OPENAI_API_KEY").is_none() => {
            ProviderKind::Anthropic
        }
        None if env("OPENAI_API_KEY").is_some() || base_url.is_some() => {
            ProviderKind::OpenaiCompatible
        }
        None => return Err(ModelError::NoModel(no_model_help(front).to_string())),
    };
    let Some(model) = model else {
        let how = match front {
            Front::Terminal => "give the model name with --model (or RIPOSTE_LLM_MODEL)",
            Front::Editor => {
                "give the model name in the chat's model settings (or RIPOSTE_LLM_MODEL)"
            }
        };
        return Err(ModelError::BadModel(format!(
            "{how}.\n{}",
            no_model_help(front)
        )));
    };
    let mut config = ProviderConfig::from_env(kind, model);
    config.base_url = base_url;
    if let Some(var) = given(&settings.api_key_env) {
        config.key = KeySource::Env(var);
    } else if env(KEY_ENV).is_some() {
        config.key = KeySource::Env(KEY_ENV.into());
    }
    Ok(ModelChoice::Http {
        config: Box::new(config),
        source,
    })
}

impl ModelChoice {
    pub fn source(&self) -> SettingsSource {
        match self {
            ModelChoice::Http { source, .. } | ModelChoice::Editor { source, .. } => *source,
        }
    }

    /// The provider's name as messages, transcripts and `riposte/secret` name it.
    pub fn provider_name(&self) -> &'static str {
        match self {
            ModelChoice::Http { config, .. } => config.kind.name(),
            ModelChoice::Editor { .. } => EDITOR_MODELS,
        }
    }

    pub fn model(&self) -> &str {
        match self {
            ModelChoice::Http { config, .. } => &config.model,
            ModelChoice::Editor { model, .. } => model,
        }
    }

    /// The base URL in use (`None` for the editor's models).
    pub fn base_url(&self) -> Option<&str> {
        match self {
            ModelChoice::Http { config, .. } => Some(config.base_url()),
            ModelChoice::Editor { .. } => None,
        }
    }

    /// Whether the provider wants a key: not the editor's models, not an OpenAI-compatible
    /// server on loopback.
    pub fn key_needed(&self) -> bool {
        match self {
            ModelChoice::Http { config, .. } => {
                !(config.kind == ProviderKind::OpenaiCompatible && config.is_loopback())
            }
            ModelChoice::Editor { .. } => false,
        }
    }

    /// The key from the environment: `Ok(None)` when none is needed, `Err(NoKey)` when one is
    /// needed and the variable is unset (a front end may then ask elsewhere).
    pub fn env_key(&self) -> Result<Option<ApiKey>, ModelError> {
        match self {
            ModelChoice::Http { config, .. } => Ok(config.resolve_key()?),
            ModelChoice::Editor { .. } => Ok(None),
        }
    }
}

/// Builds an HTTP provider from `config` with the key already found (`None`: send none).
pub fn build_provider(
    config: &ProviderConfig,
    key: Option<&ApiKey>,
) -> Result<Arc<dyn Provider>, ModelError> {
    let mut config = config.clone();
    config.key = match key {
        Some(key) => KeySource::Value(key.clone()),
        None => KeySource::None,
    };
    Ok(config.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editors_models_need_no_key_and_only_the_editor_has_them() {
        let settings = ModelSettings {
            provider: Some("vscode-lm".into()),
            ..ModelSettings::default()
        };
        let choice = choose_model(&settings, Front::Editor).unwrap();
        assert_eq!(choice.provider_name(), "vscode-lm");
        assert_eq!(choice.source(), SettingsSource::Settings);
        assert!(!choice.key_needed());
        assert!(matches!(choice.env_key(), Ok(None)));
        let err = choose_model(&settings, Front::Terminal).unwrap_err();
        assert_eq!(err.kind(), "bad_model");
    }

    #[test]
    fn settings_win_over_the_environment_and_loopback_needs_no_key() {
        let settings = ModelSettings {
            provider: Some("ollama".into()),
            model: Some("qwen".into()),
            base_url: Some("http://127.0.0.1:11434/v1".into()),
            api_key_env: Some("RIPOSTE_TEST_SURELY_UNSET_KEY_VAR".into()),
        };
        let choice = choose_model(&settings, Front::Editor).unwrap();
        assert_eq!(choice.provider_name(), "openai-compatible");
        assert_eq!(choice.model(), "qwen");
        assert_eq!(choice.base_url(), Some("http://127.0.0.1:11434/v1"));
        assert!(!choice.key_needed());
        assert!(matches!(choice.env_key(), Ok(None)));
    }

    #[test]
    fn a_public_endpoint_without_its_key_is_no_key_and_unknown_names_are_bad_model() {
        let settings = ModelSettings {
            provider: Some("anthropic".into()),
            model: Some("claude".into()),
            base_url: None,
            api_key_env: Some("RIPOSTE_TEST_SURELY_UNSET_KEY_VAR".into()),
        };
        let choice = choose_model(&settings, Front::Editor).unwrap();
        assert!(choice.key_needed());
        let err = choice.env_key().unwrap_err();
        assert_eq!(err.kind(), "no_key");
        assert!(
            err.to_string()
                .contains("RIPOSTE_TEST_SURELY_UNSET_KEY_VAR"),
            "{err}"
        );
        let err = choose_model(
            &ModelSettings {
                provider: Some("cohere".into()),
                model: Some("m".into()),
                ..ModelSettings::default()
            },
            Front::Terminal,
        )
        .unwrap_err();
        assert_eq!(err.kind(), "bad_model");
        assert!(err.to_string().contains("--provider cohere"), "{err}");
    }

    #[test]
    fn a_bad_base_url_is_bad_model() {
        let settings = ModelSettings {
            provider: Some("openai".into()),
            model: Some("m".into()),
            base_url: Some("not a url".into()),
            api_key_env: None,
        };
        let ModelChoice::Http { config, .. } = choose_model(&settings, Front::Editor).unwrap()
        else {
            panic!("an HTTP provider")
        };
        let err = build_provider(&config, Some(&ApiKey::new("fake-key"))).err();
        assert_eq!(err.map(|e| e.kind()), Some("bad_model"));
    }
}
