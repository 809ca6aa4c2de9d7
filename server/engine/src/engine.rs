//! The engine's operations over the store, shared by the HTTP API, the poller and the workers:
//! saving and activating playbook versions (validated by `riposte_core` against the engine's
//! workspace), rules (parsed as `rules/*.toml` files are), profiles (secrets sealed at rest),
//! alert intake with rule evaluation, and the workspace a run sees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use riposte_core::alert::Alert;
use riposte_core::automation::{CompiledRule, RuleSet};
use riposte_core::formats::automation::{Action, AutomationRule, Trigger};
use riposte_core::formats::config::Limits;
use riposte_core::formats::profile::Profile;
use riposte_core::{Severity, SourceFile};
use riposte_engine_client::wire::{
    self, IntakeOutcome, IntakeResult, PlaybookVersion, ProfileInfo, RuleInfo, SavePlaybook,
    SaveProfile, SaveRule,
};
use riposte_runtime::secrets::{ChainSecrets, EnvSecrets, MapSecrets, SecretSource, SecretString};
use riposte_workspace::{INTEGRATIONS_DIR, LoadedWorkspace, Overlays, PLAYBOOKS_DIR};
use zeroize::Zeroizing;

use crate::error::EngineError;
use crate::secrets::SecretBox;
use crate::store::{
    AlertFields, MatchedAction, MatchedRule, NewRule, NewVersion, Store, StoreError, StoredProfile,
};

/// The most alerts one delivery may carry.
pub const MAX_BATCH: usize = 1000;
/// The default workspace name of a delivery.
pub const DEFAULT_WORKSPACE: &str = "default";

/// How the engine was configured.
#[derive(Debug)]
pub struct EngineOptions {
    /// The folder holding `riposte.toml` (limits, lint settings, Python) and any profiles or API
    /// catalogs shared with the engine; it need not exist.
    pub workspace: PathBuf,
    /// The key that seals profile secrets; without one, secrets are refused.
    pub key: Option<SecretBox>,
    /// How long a worker's lease on a run lasts without renewal.
    pub lease: Duration,
    /// Attempts before a run whose worker keeps dying is failed.
    pub max_attempts: u32,
}

/// The engine: a store and what it needs to validate and run.
pub struct Engine {
    pub store: Store,
    options: EngineOptions,
    limits: Limits,
    rules: Mutex<Option<(i64, Arc<RuleSet>)>>,
    /// Wakes in-process workers when a run is queued.
    pub wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.dialect())
            .field("workspace", &self.options.workspace)
            .finish_non_exhaustive()
    }
}

/// A name the API accepts for a playbook, rule or workspace: it becomes a file name
/// (`playbooks/<name>.py`), so no path separators and no leading dot.
pub fn check_name(kind: &str, name: &str) -> Result<(), EngineError> {
    check_chars(kind, name, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
    })
}

/// A profile's name: as `check_name`, and spaces inside too (`Microsoft Graph`, `AWS IAM`).
pub fn check_profile_name(name: &str) -> Result<(), EngineError> {
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(EngineError::BadRequest(format!(
            "`{name}` is not a valid profile name: no leading or trailing spaces"
        )));
    }
    check_chars("profile", name, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ')
    })
}

fn check_chars(kind: &str, name: &str, allowed: impl Fn(char) -> bool) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(allowed);
    if ok {
        Ok(())
    } else {
        Err(EngineError::BadRequest(format!(
            "`{}` is not a valid {kind} name: use 1 to 100 letters, digits, `_`, `-` or `.`{}, not starting with `.`",
            name.chars().take(120).collect::<String>(),
            if kind == "profile" {
                " (and inner spaces)"
            } else {
                ""
            }
        )))
    }
}

/// A core diagnostic in the API's terms.
pub fn wire_diagnostic(source: &SourceFile, d: &riposte_core::Diagnostic) -> wire::Diagnostic {
    let start = source.position(d.range.start());
    let end = source.position(d.range.end());
    wire::Diagnostic {
        code: d.rule.code().to_string(),
        severity: d.severity.as_str().to_string(),
        message: d.message.clone(),
        line: start.line as u32,
        column: start.column as u32,
        end_line: end.line as u32,
        end_column: end.column as u32,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// An engine over an opened store. Checks the secrets key against the store (first start:
    /// remembers it) and reads the limits from the workspace's `riposte.toml`.
    pub async fn new(store: Store, options: EngineOptions) -> anyhow::Result<Engine> {
        use anyhow::Context as _;
        let config_path = options.workspace.join(riposte_workspace::CONFIG_FILE);
        let limits = if config_path.is_file() {
            let text = std::fs::read_to_string(&config_path)
                .with_context(|| format!("cannot read {}", config_path.display()))?;
            riposte_workspace::parse_config(&config_path, &text)?.limits
        } else {
            Limits::default()
        };
        if let Some(key) = &options.key {
            match store.meta("key_check").await? {
                Some(check) => key.verify(&check)?,
                None => store.set_meta("key_check", &key.check_value()?).await?,
            }
        }
        Ok(Engine {
            store,
            options,
            limits,
            rules: Mutex::new(None),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    fn root(&self) -> &Path {
        &self.options.workspace
    }

    /// The workspace as a run or a check sees it: the folder on disk, with the engine's profiles
    /// and playbooks standing in for files (`playbook`, if given, with its source).
    pub async fn workspace(
        &self,
        playbook: Option<(&str, &str)>,
    ) -> Result<LoadedWorkspace, EngineError> {
        let root = self.root().to_path_buf();
        let mut overlays = Overlays::new();
        for profile in self.store.list_profiles().await? {
            overlays.insert(
                root.join(INTEGRATIONS_DIR)
                    .join(format!("{}.toml", profile.name)),
                profile.toml,
            );
        }
        for name in self.store.playbook_names().await? {
            overlays.insert(
                root.join(PLAYBOOKS_DIR).join(format!("{name}.py")),
                String::new(),
            );
        }
        if let Some((name, source)) = playbook {
            overlays.insert(
                root.join(PLAYBOOKS_DIR).join(format!("{name}.py")),
                source.to_string(),
            );
        }
        tokio::task::spawn_blocking(move || riposte_workspace::load_for_editor(&root, &overlays))
            .await
            .map_err(|err| EngineError::Internal(format!("workspace load stopped: {err}")))?
            .map(|(loaded, _config_error)| loaded)
            .map_err(|err| {
                EngineError::Internal(format!("cannot load the engine's workspace: {err}"))
            })
    }

    // -----------------------------------------------------------------------------------------
    // Playbooks

    /// Validates and stores a new (inactive) version.
    pub async fn save_playbook(
        &self,
        name: &str,
        request: SavePlaybook,
    ) -> Result<PlaybookVersion, EngineError> {
        check_name("playbook", name)?;
        let lines = request.source.lines().count();
        let max_lines = self.limits.max_lines;
        if lines > max_lines {
            return Err(EngineError::Limit(format!(
                "the playbook has {lines} lines, the limit (limits.max_lines in riposte.toml) is {max_lines}: split it"
            )));
        }
        let loaded = self.workspace(Some((name, &request.source))).await?;
        let name_owned = name.to_string();
        let source_text = request.source.clone();
        let docs_given = request.docs.clone();
        let (diagnostics, docs) = tokio::task::spawn_blocking(move || {
            let (source, found) =
                riposte_core::check_playbook_bytes(source_text.as_bytes(), &loaded.workspace);
            let diagnostics: Vec<(Severity, wire::Diagnostic)> = found
                .iter()
                .map(|d| (d.severity, wire_diagnostic(&source, d)))
                .collect();
            let docs = match docs_given {
                Some(docs) => docs,
                None => riposte_core::docs::render(&name_owned, &source, &loaded.workspace)
                    .unwrap_or_else(|err| {
                        format!("# {name_owned}\n\nNo documentation could be generated: {err}\n")
                    }),
            };
            (diagnostics, docs)
        })
        .await
        .map_err(|err| EngineError::Internal(format!("validation stopped: {err}")))?;
        let errors = diagnostics
            .iter()
            .filter(|(s, _)| *s == Severity::Error)
            .count() as u32;
        let warnings = diagnostics
            .iter()
            .filter(|(s, _)| *s == Severity::Warning)
            .count() as u32;
        let version = NewVersion {
            source: request.source,
            docs,
            diagnostics: diagnostics.into_iter().map(|(_, d)| d).collect(),
            lines: lines as u32,
            errors,
            warnings,
        };
        Ok(self
            .store
            .save_version(name, version, self.limits.max_playbooks)
            .await?)
    }

    /// Activates a version; refused with its error-level diagnostics when it has any.
    pub async fn activate(
        &self,
        name: &str,
        version: u32,
    ) -> Result<wire::PlaybookSummary, EngineError> {
        match self.store.activate(name, version).await {
            Err(StoreError::Refused(message)) => {
                let diagnostics = self
                    .store
                    .playbook_version(name, version)
                    .await?
                    .map(|v| {
                        v.diagnostics
                            .into_iter()
                            .filter(|d| d.severity == "error")
                            .collect()
                    })
                    .unwrap_or_default();
                Err(EngineError::Validation {
                    message,
                    diagnostics,
                })
            }
            other => Ok(other?),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Rules

    /// Parses, checks and stores a rule given as TOML or JSON.
    pub async fn save_rule(&self, name: &str, request: SaveRule) -> Result<RuleInfo, EngineError> {
        check_name("rule", name)?;
        let text = match (request.toml, request.rule) {
            (Some(text), None) => text,
            (None, Some(json)) => json_rule_to_toml(json)?,
            _ => {
                return Err(EngineError::BadRequest(
                    "give the rule as `toml` (the text of a rules/*.toml file) or as `rule` (the same in JSON), exactly one of them".into(),
                ));
            }
        };
        let playbooks = self.store.playbook_names().await?;
        let exists = |p: &str| playbooks.iter().any(|n| n == p);
        let (rule, found) = AutomationRule::parse(&text, &exists);
        let source = SourceFile::new(text.clone());
        let rule = match rule {
            Some(rule) => rule,
            None => {
                let diagnostics: Vec<wire::Diagnostic> =
                    found.iter().map(|d| wire_diagnostic(&source, d)).collect();
                let first = diagnostics
                    .first()
                    .map(|d| d.message.clone())
                    .unwrap_or_else(|| "the rule is not valid".into());
                return Err(EngineError::Validation {
                    message: format!("rule `{name}` is not valid: {first}"),
                    diagnostics,
                });
            }
        };
        // What the matcher refuses (a regex too large, say) is refused here, not at intake.
        if let Err(err) = CompiledRule::compile(name, &rule) {
            return Err(EngineError::Validation {
                message: format!("rule `{name}` is not valid: {}", err.detail()),
                diagnostics: Vec::new(),
            });
        }
        let (action, playbook) = match rule.action() {
            Action::RunPlaybook { playbook } => ("run_playbook", Some(playbook.clone())),
            Action::UpdateAlert { .. } => ("update_alert", None),
        };
        let trigger = match rule.trigger {
            Trigger::AlertCreated => "alert_created",
            Trigger::AlertUpdated => "alert_updated",
        };
        let new = NewRule {
            name: name.to_string(),
            enabled: rule.enabled,
            order: rule.order,
            trigger: trigger.to_string(),
            toml: text,
            rule_json: serde_json::to_value(&rule).unwrap_or_default(),
            action: action.to_string(),
            playbook,
        };
        Ok(self
            .store
            .save_rule(new, self.limits.max_active_rules)
            .await?)
    }

    pub async fn set_rule_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<RuleInfo, EngineError> {
        Ok(self
            .store
            .set_rule_enabled(name, enabled, self.limits.max_active_rules)
            .await?)
    }

    /// The enabled rules, compiled; recompiled only when a rule changed (in any engine process).
    pub async fn rule_set(&self) -> Result<Arc<RuleSet>, EngineError> {
        let generation = self.store.rules_generation().await?;
        if let Some((cached, set)) = &*self.rules.lock().unwrap_or_else(|e| e.into_inner())
            && *cached == generation
        {
            return Ok(set.clone());
        }
        let (generation, rows) = self.store.enabled_rules().await?;
        let mut compiled = Vec::with_capacity(rows.len());
        for (name, json) in rows {
            let rule = serde_json::from_str::<AutomationRule>(&json)
                .map_err(|err| err.to_string())
                .and_then(|mut rule| {
                    // The column is what enables a rule (enable/disable change only it).
                    rule.enabled = true;
                    CompiledRule::compile(&name, &rule).map_err(|err| err.to_string())
                });
            match rule {
                Ok(rule) => compiled.push(rule),
                Err(err) => tracing::warn!(rule = %name, "stored rule skipped: {err}"),
            }
        }
        let set = Arc::new(RuleSet::new(compiled));
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, set.clone()));
        Ok(set)
    }

    // -----------------------------------------------------------------------------------------
    // Profiles

    fn info(&self, stored: &StoredProfile) -> ProfileInfo {
        let (profile, _) = Profile::parse(&stored.toml);
        let missing = profile
            .map(|p| {
                p.auth
                    .secret_fields()
                    .iter()
                    .filter(|f| f.required && !stored.secret_fields.iter().any(|s| s == f.name))
                    .map(|f| f.name.to_string())
                    .collect()
            })
            .unwrap_or_default();
        ProfileInfo {
            name: stored.name.clone(),
            description: stored.description.clone(),
            base_url: stored.base_url.clone(),
            auth_method: stored.auth_method.clone(),
            toml: stored.toml.clone(),
            secrets_set: stored.secret_fields.clone(),
            secrets_missing: missing,
            created_at: stored.created_at.clone(),
            updated_at: stored.updated_at.clone(),
        }
    }

    pub async fn list_profiles(&self) -> Result<Vec<ProfileInfo>, EngineError> {
        Ok(self
            .store
            .list_profiles()
            .await?
            .iter()
            .map(|p| self.info(p))
            .collect())
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileInfo, EngineError> {
        self.store
            .profile(name)
            .await?
            .map(|p| self.info(&p))
            .ok_or_else(|| EngineError::NotFound(format!("no profile `{name}`")))
    }

    /// Creates or updates a profile; secrets merge with the stored ones (an empty value removes
    /// a field).
    pub async fn save_profile(
        &self,
        name: &str,
        request: SaveProfile,
    ) -> Result<ProfileInfo, EngineError> {
        check_profile_name(name)?;
        let SaveProfile { toml, secrets } = request;
        // Held zeroised from here on.
        let given: BTreeMap<String, Zeroizing<String>> = secrets
            .into_iter()
            .map(|(k, v)| (k, Zeroizing::new(v)))
            .collect();
        let (profile, found) = Profile::parse(&toml);
        let source = SourceFile::new(toml.clone());
        let Some(profile) = profile else {
            let diagnostics: Vec<wire::Diagnostic> =
                found.iter().map(|d| wire_diagnostic(&source, d)).collect();
            let first = diagnostics
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| "the profile is not valid".into());
            return Err(EngineError::Validation {
                message: format!("profile `{name}` is not valid: {first}"),
                diagnostics,
            });
        };
        if profile.name != name {
            return Err(EngineError::BadRequest(format!(
                "the profile file says name = \"{}\" but is saved as `{name}`: make them the same",
                profile.name
            )));
        }
        let fields = profile.auth.secret_fields();
        if let Some(unknown) = given.keys().find(|k| !fields.iter().any(|f| f.name == *k)) {
            let allowed: Vec<&str> = fields.iter().map(|f| f.name).collect();
            return Err(EngineError::Validation {
                message: format!(
                    "`{unknown}` is not a secret of the {} auth method: it takes {}",
                    profile.auth.method(),
                    allowed.join(", ")
                ),
                diagnostics: Vec::new(),
            });
        }
        let existing = self.store.profile(name).await?;
        let mut merged: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
        if let Some(existing) = &existing
            && !existing.secret_fields.is_empty()
        {
            let key = self.key()?;
            merged = key
                .open(name, &existing.sealed_secrets)
                .map_err(|err| EngineError::Internal(err.to_string()))?;
        }
        for (field, value) in given {
            if value.is_empty() {
                merged.remove(&field);
            } else {
                merged.insert(field, value);
            }
        }
        let sealed = if merged.is_empty() {
            String::new()
        } else {
            self.key()?
                .seal(name, &merged)
                .map_err(|err| EngineError::Internal(err.to_string()))?
        };
        let new = StoredProfile {
            name: name.to_string(),
            toml,
            base_url: profile.base_url.clone(),
            auth_method: profile.auth.method().to_string(),
            description: profile.description.clone(),
            sealed_secrets: sealed,
            secret_fields: merged.keys().cloned().collect(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        let stored = self
            .store
            .save_profile(&new, existing.as_ref(), self.limits.max_integrations)
            .await?;
        Ok(self.info(&stored))
    }

    fn key(&self) -> Result<&SecretBox, EngineError> {
        self.options.key.as_ref().ok_or_else(|| {
            EngineError::NotAvailable(format!(
                "this engine was started without a key for secrets at rest, so it cannot store or use profile secrets: start it with {} or --key-file (see docs/engine.md)",
                crate::secrets::KEY_ENV
            ))
        })
    }

    /// The secrets a run may use: the engine's own (opened from the store), then the process
    /// environment (`RIPOSTE_<PROFILE>_<FIELD>`) for profiles the engine holds no secret for.
    pub async fn run_secrets(&self) -> Result<Arc<dyn SecretSource>, EngineError> {
        let map = MapSecrets::new();
        for profile in self.store.list_profiles().await? {
            if profile.secret_fields.is_empty() {
                continue;
            }
            let opened = self
                .key()?
                .open(&profile.name, &profile.sealed_secrets)
                .map_err(|err| EngineError::Internal(err.to_string()))?;
            for (field, value) in opened.iter() {
                map.set(
                    profile.name.clone(),
                    field.clone(),
                    SecretString::new(value.as_str()),
                );
            }
        }
        Ok(Arc::new(EngineSecrets(ChainSecrets::new(vec![
            Arc::new(map),
            Arc::new(EnvSecrets::from_process_env()),
        ]))))
    }

    // -----------------------------------------------------------------------------------------
    // Alerts

    /// Takes one delivery: a single alert or an array of them.
    pub async fn intake(
        &self,
        body: serde_json::Value,
        workspace: &str,
    ) -> Result<Vec<IntakeResult>, EngineError> {
        let (items, single) = match body {
            serde_json::Value::Array(items) => (items, false),
            other => (vec![other], true),
        };
        if items.len() > MAX_BATCH {
            return Err(EngineError::Limit(format!(
                "a delivery carries at most {MAX_BATCH} alerts, this one has {}: send them in smaller batches",
                items.len()
            )));
        }
        let rules = self.rule_set().await?;
        let mut results = Vec::with_capacity(items.len());
        let mut queued = false;
        for (index, item) in items.into_iter().enumerate() {
            let raw = item.to_string();
            let alert = match Alert::from_value(item) {
                Ok(alert) => alert,
                Err(err) => {
                    if single {
                        return Err(EngineError::InvalidAlert(format!("not an alert: {err}")));
                    }
                    results.push(IntakeResult {
                        index,
                        id: None,
                        outcome: IntakeOutcome::Rejected,
                        runs: Vec::new(),
                        matched_rules: Vec::new(),
                        error: Some(format!("not an alert: {err}")),
                    });
                    continue;
                }
            };
            if alert.id.trim().is_empty() {
                let message = "the alert has an empty id: intake needs the alert's id to tell deliveries apart".to_string();
                if single {
                    return Err(EngineError::InvalidAlert(message));
                }
                results.push(IntakeResult {
                    index,
                    id: None,
                    outcome: IntakeOutcome::Rejected,
                    runs: Vec::new(),
                    matched_rules: Vec::new(),
                    error: Some(message),
                });
                continue;
            }
            let matched = |trigger| -> Vec<MatchedRule> {
                rules
                    .matching(&alert, workspace, trigger)
                    .map(|rule| MatchedRule {
                        name: rule.name().to_string(),
                        action: matched_action(rule.action()),
                    })
                    .collect()
            };
            let on_created = matched(Trigger::AlertCreated);
            let on_updated = matched(Trigger::AlertUpdated);
            let fields = AlertFields {
                id: alert.id.clone(),
                workspace: workspace.to_string(),
                title: alert.title.clone(),
                severity: alert.severity.as_str().to_string(),
                status: alert.status.clone(),
                provider: alert.provider.clone(),
                source: alert.source.as_str().to_string(),
                fingerprint: sha256_hex(raw.as_bytes()),
                raw,
            };
            let delivery = self.store.ingest(&fields, &on_created, &on_updated).await?;
            queued |= !delivery.runs.is_empty();
            results.push(IntakeResult {
                index,
                id: Some(alert.id),
                outcome: delivery.outcome,
                runs: delivery.runs,
                matched_rules: delivery.matched,
                error: None,
            });
        }
        if queued {
            self.wake.notify_waiters();
        }
        Ok(results)
    }
}

fn matched_action(action: &Action) -> MatchedAction {
    match action {
        Action::RunPlaybook { playbook } => MatchedAction::RunPlaybook(playbook.clone()),
        Action::UpdateAlert {
            status,
            classification,
            determination,
            assigned_to,
        } => {
            let mut fields = serde_json::Map::new();
            for (key, value) in [
                ("status", status),
                ("classification", classification),
                ("determination", determination),
                ("assigned_to", assigned_to),
            ] {
                if let Some(value) = value {
                    fields.insert(key.into(), serde_json::Value::String(value.clone()));
                }
            }
            MatchedAction::UpdateAlert(fields)
        }
    }
}

/// A rule given as JSON, as the TOML text the rule parser reads (so both forms get the same
/// checks and diagnostics).
fn json_rule_to_toml(json: serde_json::Value) -> Result<String, EngineError> {
    let value = toml::Value::try_from(&json).map_err(|err| {
        EngineError::BadRequest(format!(
            "the rule's JSON cannot be written as TOML ({err}); null values are not allowed"
        ))
    })?;
    let table = value.as_table().ok_or_else(|| {
        EngineError::BadRequest("`rule` must be a JSON object (the rule's fields)".into())
    })?;
    toml::to_string(table).map_err(|err| {
        EngineError::BadRequest(format!("the rule's JSON cannot be written as TOML: {err}"))
    })
}

/// A run's secrets: the engine's sealed store, then its environment. A missing one is set with
/// the profile API (or the environment of the process that runs playbooks), which is what the
/// run's error says.
struct EngineSecrets(ChainSecrets);

impl SecretSource for EngineSecrets {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.0.secret(profile, field)
    }

    fn where_to_set(&self, profile: &str, field: &str) -> String {
        format!(
            "store it in the engine: PUT /api/profiles/{} with the admin token and {{\"toml\": <the profile file>, \"secrets\": {{\"{field}\": \"...\"}}}} (docs/engine-api.md), or set {} in the environment of the engine's workers",
            riposte_engine_client::client::segment(profile),
            riposte_core::formats::profile::secret_env_var(profile, field)
        )
    }
}
