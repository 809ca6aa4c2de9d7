//! The per-day token budget (`limits.llm_tokens_per_day` in `riposte.toml`, 8M by default) and
//! the token and cost accounting shown to the person. Use is kept per UTC day in the
//! workspace's `.riposte/usage.json`, so every task in the workspace (terminal or editor) counts
//! against the same day.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::provider::Usage;

/// Where the use is kept, relative to the workspace root.
pub const USAGE_FILE: &str = ".riposte/usage.json";

/// Days kept in the file; older ones are dropped when it is written.
const DAYS_KEPT: usize = 62;

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(
        "cannot read the token use in {path}: {reason}. Fix or delete the file (it only holds token counts)"
    )]
    Read { path: PathBuf, reason: String },
    #[error("cannot record the token use in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DayUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cost_usd: f64,
}

impl DayUsage {
    pub fn total(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsageFile {
    days: BTreeMap<String, DayUsage>,
}

#[derive(Debug, Clone)]
pub struct Budget {
    path: PathBuf,
    daily_limit: u64,
}

impl Budget {
    pub fn new(workspace_root: &Path, daily_limit: u64) -> Self {
        Self {
            path: workspace_root.join(USAGE_FILE),
            daily_limit,
        }
    }

    pub fn daily_limit(&self) -> u64 {
        self.daily_limit
    }

    /// Today's use so far (`day` is `YYYY-MM-DD`, see [`today`]).
    pub fn used(&self, day: &str) -> Result<DayUsage, BudgetError> {
        Ok(self.read()?.days.get(day).copied().unwrap_or_default())
    }

    /// Tokens left today; zero when the budget is spent.
    pub fn remaining(&self, day: &str) -> Result<u64, BudgetError> {
        Ok(self.daily_limit.saturating_sub(self.used(day)?.total()))
    }

    /// Adds one turn's use to `day` and returns the day's total.
    pub fn record(
        &self,
        day: &str,
        usage: Usage,
        cost_usd: Option<f64>,
    ) -> Result<DayUsage, BudgetError> {
        let mut file = self.read()?;
        let entry = file.days.entry(day.to_string()).or_default();
        entry.input_tokens = entry.input_tokens.saturating_add(usage.input_tokens);
        entry.output_tokens = entry.output_tokens.saturating_add(usage.output_tokens);
        entry.cost_usd += cost_usd.unwrap_or(0.0);
        let today = *entry;
        while file.days.len() > DAYS_KEPT {
            let Some(oldest) = file.days.keys().next().cloned() else {
                break;
            };
            file.days.remove(&oldest);
        }
        self.write(&file)?;
        Ok(today)
    }

    fn read(&self) -> Result<UsageFile, BudgetError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UsageFile::default());
            }
            Err(err) => {
                return Err(BudgetError::Read {
                    path: self.path.clone(),
                    reason: err.to_string(),
                });
            }
        };
        serde_json::from_str(&text).map_err(|err| BudgetError::Read {
            path: self.path.clone(),
            reason: err.to_string(),
        })
    }

    fn write(&self, file: &UsageFile) -> Result<(), BudgetError> {
        let error = |source| BudgetError::Write {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(file).unwrap_or_default();
        crate::tools::files::write_atomically(&self.path, text.as_bytes()).map_err(error)
    }
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    riposte_runtime::record::rfc3339(std::time::SystemTime::now())
        .chars()
        .take(10)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
        }
    }

    #[test]
    fn counts_per_day_and_across_instances() {
        let dir = tempfile::tempdir().unwrap();
        let budget = Budget::new(dir.path(), 1000);
        assert_eq!(budget.remaining("2026-11-22").unwrap(), 1000);
        budget
            .record("2026-11-22", usage(300, 100), Some(0.5))
            .unwrap();
        // Another task in the same workspace sees the same day.
        let other = Budget::new(dir.path(), 1000);
        let day = other.record("2026-11-22", usage(500, 200), None).unwrap();
        assert_eq!(day.total(), 1100);
        assert_eq!(day.cost_usd, 0.5);
        assert_eq!(other.remaining("2026-11-22").unwrap(), 0);
        assert_eq!(other.remaining("2026-11-23").unwrap(), 1000);
    }

    #[test]
    fn a_broken_usage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".riposte")).unwrap();
        std::fs::write(dir.path().join(USAGE_FILE), "{not json").unwrap();
        let err = Budget::new(dir.path(), 10)
            .remaining("2026-11-22")
            .unwrap_err();
        assert!(err.to_string().contains("usage.json"), "{err}");
    }

    #[test]
    fn today_is_an_iso_date() {
        let day = today();
        assert_eq!(day.len(), 10);
        assert_eq!(&day[4..5], "-");
    }
}
