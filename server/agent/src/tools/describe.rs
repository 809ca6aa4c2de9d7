//! `list_integrations`, `describe_integration`, `get_alert_schema`: `riposte_core::describe` as
//! JSON for the model (the same descriptions the MCP server gives). Profiles hold no secrets, and
//! these say which secret fields exist by name only.

use std::path::Path;

use serde::Deserialize;

use super::check::load;

pub fn list_integrations(root: &Path) -> Result<String, String> {
    let loaded = load(root)?;
    let list = riposte_core::describe::integrations(&loaded.workspace);
    if list.is_empty() {
        return Ok(
            "The workspace has no integration profiles yet. Name the ones the playbook needs in the plan: the user creates each (integrations/<name>.toml) and stores its secrets outside the workspace."
                .into(),
        );
    }
    serde_json::to_string(&list).map_err(|err| err.to_string())
}

#[derive(Debug, Deserialize)]
pub struct DescribeArgs {
    pub name: String,
}

pub fn describe_integration(root: &Path, args: &DescribeArgs) -> Result<String, String> {
    let loaded = load(root)?;
    match riposte_core::describe::integration(&loaded.workspace, &args.name) {
        Some(description) => serde_json::to_string(&description).map_err(|err| err.to_string()),
        None => {
            let names: Vec<String> = loaded
                .workspace
                .profile_names()
                .map(str::to_string)
                .collect();
            Err(format!(
                "the workspace has no integration profile named `{}`; it has: {}. A profile that is missing goes in the plan's integrations, and the user creates it",
                args.name,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }
    }
}

pub fn alert_schema() -> Result<String, String> {
    serde_json::to_string(&riposte_core::describe::alert_schema()).map_err(|err| err.to_string())
}

/// Which of `names` the workspace lacks (for the plan's "create profile" offers).
pub fn missing_profiles(root: &Path, names: &[String]) -> Vec<String> {
    let Ok(loaded) = load(root) else {
        return Vec::new();
    };
    names
        .iter()
        .filter(|name| loaded.workspace.profile(name).is_none())
        .cloned()
        .collect()
}
