//! Approvals: every tool call that writes, fetches or runs is shown to the person first, unless
//! they auto-approved its category (edit, fetch, test), as in the product Riposte stands beside.
//! A real run (one that sends changing requests) is never auto-approved: it always needs a
//! person's yes, after the dry run's change list has been shown.

use std::collections::BTreeSet;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Writing the playbook or its docs.
    Edit,
    /// Fetching a URL.
    Fetch,
    /// A dry run of the playbook on an alert.
    Test,
    /// A real run: requests that change data are sent. Never auto-approved.
    RealRun,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Edit => "edit",
            Category::Fetch => "fetch",
            Category::Test => "test",
            Category::RealRun => "real_run",
        }
    }
}

/// The categories the person approved in advance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoApprove(BTreeSet<Category>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an approval category: auto-approve takes a comma-separated list of edit, fetch, test"
)]
pub struct UnknownCategory(String);

impl FromStr for AutoApprove {
    type Err = UnknownCategory;

    /// `"edit,fetch,test"`; empty items are ignored, so `""` approves nothing.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for item in text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let category = match item.to_ascii_lowercase().as_str() {
                "edit" => Category::Edit,
                "fetch" => Category::Fetch,
                "test" => Category::Test,
                _ => return Err(UnknownCategory(item.to_string())),
            };
            set.insert(category);
        }
        Ok(Self(set))
    }
}

impl AutoApprove {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn with(mut self, category: Category) -> Self {
        if category != Category::RealRun {
            self.0.insert(category);
        }
        self
    }

    /// Whether calls of `category` go ahead without asking. Never for a real run.
    pub fn covers(&self, category: Category) -> bool {
        category != Category::RealRun && self.0.contains(&category)
    }

    pub fn categories(&self) -> impl Iterator<Item = Category> + '_ {
        self.0.iter().copied()
    }
}

/// What the person (or the front end on their behalf) decided about one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    /// Not done; `reason` (the person's words, if any) goes back to the model.
    Reject {
        reason: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_categories_and_refuses_unknown_ones() {
        let auto: AutoApprove = "edit, test".parse().unwrap();
        assert!(auto.covers(Category::Edit));
        assert!(auto.covers(Category::Test));
        assert!(!auto.covers(Category::Fetch));
        assert_eq!("".parse::<AutoApprove>().unwrap(), AutoApprove::none());
        let err = "edit,deploy".parse::<AutoApprove>().unwrap_err();
        assert!(err.to_string().contains("`deploy`"), "{err}");
    }

    #[test]
    fn a_real_run_is_never_auto_approved() {
        let auto = AutoApprove::none()
            .with(Category::Edit)
            .with(Category::Fetch)
            .with(Category::Test)
            .with(Category::RealRun);
        assert!(!auto.covers(Category::RealRun));
        assert!("real_run".parse::<AutoApprove>().is_err());
    }
}
