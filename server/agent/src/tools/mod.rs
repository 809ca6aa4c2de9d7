//! The agent's tools: their names, descriptions and JSON Schemas (what the model is offered), the
//! effect each has (which decides the mode it may run in and the approval it needs), and their
//! implementations, one file per family. The dispatcher that applies the mode gate and asks for
//! approvals lives in `task.rs`, beside the state the tools change.

pub mod check;
pub mod describe;
pub mod fetch;
pub mod files;
pub mod test_run;

use serde_json::json;

use crate::approval::Category;
use crate::mode::Effect;
use crate::provider::ToolSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    ReadFile,
    ListIntegrations,
    DescribeIntegration,
    GetAlertSchema,
    FetchUrl,
    AskUser,
    ProposePlan,
    WritePlaybook,
    Validate,
    WriteDocs,
    RunTest,
    AttemptCompletion,
}

impl Tool {
    pub const ALL: [Tool; 12] = [
        Tool::ReadFile,
        Tool::ListIntegrations,
        Tool::DescribeIntegration,
        Tool::GetAlertSchema,
        Tool::FetchUrl,
        Tool::AskUser,
        Tool::ProposePlan,
        Tool::WritePlaybook,
        Tool::Validate,
        Tool::WriteDocs,
        Tool::RunTest,
        Tool::AttemptCompletion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tool::ReadFile => "read_file",
            Tool::ListIntegrations => "list_integrations",
            Tool::DescribeIntegration => "describe_integration",
            Tool::GetAlertSchema => "get_alert_schema",
            Tool::FetchUrl => "fetch_url",
            Tool::AskUser => "ask_user",
            Tool::ProposePlan => "propose_plan",
            Tool::WritePlaybook => "write_playbook",
            Tool::Validate => "validate",
            Tool::WriteDocs => "write_docs",
            Tool::RunTest => "run_test",
            Tool::AttemptCompletion => "attempt_completion",
        }
    }

    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub fn effect(self) -> Effect {
        match self {
            Tool::ReadFile
            | Tool::ListIntegrations
            | Tool::DescribeIntegration
            | Tool::GetAlertSchema
            | Tool::Validate => Effect::Read,
            Tool::AskUser | Tool::ProposePlan | Tool::AttemptCompletion => Effect::Converse,
            Tool::FetchUrl => Effect::Fetch,
            Tool::WritePlaybook | Tool::WriteDocs => Effect::Write,
            Tool::RunTest => Effect::Run,
        }
    }

    /// The approval category of a call, when it needs one (a real run's is decided by its
    /// arguments: see `test_run`).
    pub fn category(self) -> Option<Category> {
        match self.effect() {
            Effect::Read | Effect::Converse => None,
            Effect::Fetch => Some(Category::Fetch),
            Effect::Write => Some(Category::Edit),
            Effect::Run => Some(Category::Test),
        }
    }

    pub fn spec(self) -> ToolSpec {
        let (description, parameters) = match self {
            Tool::ReadFile => (
                "Read a text file of the workspace (a playbook, an integration profile, a rule, a saved alert). Paths are relative to the workspace root. Secrets files (.env and the like) are never readable.",
                json!({"type": "object", "properties": {
                    "path": {"type": "string", "description": "Workspace-relative path, e.g. playbooks/vt-url-enrichment.py"}
                }, "required": ["path"]}),
            ),
            Tool::ListIntegrations => (
                "List the workspace's integration profiles: name, description, base URL, auth method, API catalog. Never secrets.",
                json!({"type": "object", "properties": {}}),
            ),
            Tool::DescribeIntegration => (
                "Describe one integration profile with its API catalog's endpoints (method, path template, summary, required parameters, whether it changes data).",
                json!({"type": "object", "properties": {
                    "name": {"type": "string", "description": "The profile name as list_integrations gives it, e.g. VirusTotal"}
                }, "required": ["name"]}),
            ),
            Tool::GetAlertSchema => (
                "The normalised alert a playbook receives: fields, evidence accessors (alert.urls(), alert.users(), ...), entity kinds and their fields.",
                json!({"type": "object", "properties": {}}),
            ),
            Tool::FetchUrl => (
                "Fetch a web page (API documentation) as text. The user approves each URL. http(s) only, text content only, large pages are cut.",
                json!({"type": "object", "properties": {
                    "url": {"type": "string", "description": "An http:// or https:// URL"}
                }, "required": ["url"]}),
            ),
            Tool::AskUser => (
                "Ask the user a clarifying question and wait for the answer.",
                json!({"type": "object", "properties": {
                    "question": {"type": "string"},
                    "choices": {"type": "array", "items": {"type": "string"}, "description": "Suggested answers (optional)"}
                }, "required": ["question"]}),
            ),
            Tool::ProposePlan => (
                "Present the plan for the playbook: a summary, the steps, a Mermaid flowchart, and the integration profiles it needs. In Plan mode this ends planning: the user decides whether to switch to Act.",
                json!({"type": "object", "properties": {
                    "summary": {"type": "string"},
                    "steps": {"type": "array", "items": {"type": "string"}},
                    "mermaid": {"type": "string", "description": "A Mermaid flowchart, e.g. flowchart TD\\n  A[Alert] --> B[...]"},
                    "integrations": {"type": "array", "items": {"type": "string"}, "description": "Profile names the playbook will use"}
                }, "required": ["summary", "steps", "mermaid"]}),
            ),
            Tool::WritePlaybook => (
                "Write a playbook under playbooks/ (Act mode only; the user approves the change). Give either the whole file as `content`, or `edits`: search/replace pairs, each `search` copied exactly from the current file and found exactly once. Returns the validator's diagnostics.",
                json!({"type": "object", "properties": {
                    "path": {"type": "string", "description": "playbooks/<name>.py"},
                    "content": {"type": "string", "description": "The whole file"},
                    "edits": {"type": "array", "items": {"type": "object", "properties": {
                        "search": {"type": "string"}, "replace": {"type": "string"}
                    }, "required": ["search", "replace"]}}
                }, "required": ["path"]}),
            ),
            Tool::Validate => (
                "Check a playbook with Riposte's validator and return its diagnostics (code, line, message).",
                json!({"type": "object", "properties": {
                    "path": {"type": "string", "description": "playbooks/<name>.py"}
                }, "required": ["path"]}),
            ),
            Tool::WriteDocs => (
                "Generate the playbook's documentation with its Mermaid flow diagram (playbooks/<name>.md) from the code (Act mode only; approved by the user).",
                json!({"type": "object", "properties": {
                    "path": {"type": "string", "description": "The playbook, playbooks/<name>.py"}
                }, "required": ["path"]}),
            ),
            Tool::RunTest => (
                "Run the playbook on a saved alert in the sandbox (Act mode only). A dry run (the default) sends reads and lists the changes it would make. A real run (dry_run: false) needs a clean dry run of the same code first and the user's approval of its change list.",
                json!({"type": "object", "properties": {
                    "path": {"type": "string", "description": "playbooks/<name>.py"},
                    "alert": {"type": "string", "description": "A saved alert in the workspace, e.g. alerts/phishing.json; the first file in alerts/ when omitted"},
                    "dry_run": {"type": "boolean", "default": true}
                }, "required": ["path"]}),
            ),
            Tool::AttemptCompletion => (
                "Finish the task with a summary for the user. In Act mode the playbook must validate without errors first.",
                json!({"type": "object", "properties": {
                    "summary": {"type": "string"}
                }, "required": ["summary"]}),
            ),
        };
        ToolSpec {
            name: self.name().to_string(),
            description: description.to_string(),
            parameters,
        }
    }
}

/// Every tool, as offered to the model (in both modes: the gate refuses, so the model learns why).
pub fn specs() -> Vec<ToolSpec> {
    Tool::ALL.into_iter().map(Tool::spec).collect()
}

/// A tool's answer to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: false,
        }
    }

    pub fn error(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            is_error: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_schemas_are_objects() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
            let spec = tool.spec();
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            assert!(!spec.description.is_empty());
        }
        assert_eq!(Tool::from_name("delete_everything"), None);
    }

    #[test]
    fn writes_and_runs_need_act_and_approval() {
        assert_eq!(Tool::WritePlaybook.category(), Some(Category::Edit));
        assert_eq!(Tool::WriteDocs.category(), Some(Category::Edit));
        assert_eq!(Tool::FetchUrl.category(), Some(Category::Fetch));
        assert_eq!(Tool::RunTest.category(), Some(Category::Test));
        assert_eq!(Tool::ReadFile.category(), None);
        assert!(
            !Tool::WritePlaybook
                .effect()
                .allowed_in(crate::mode::Mode::Plan)
        );
        assert!(Tool::Validate.effect().allowed_in(crate::mode::Mode::Plan));
    }
}
