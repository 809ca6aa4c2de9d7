//! The MCP surface: one `#[tool]` per tool with the description a model reads, its JSON Schema
//! (from the argument types in `tools.rs`), and the answer as JSON text or a tool error.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::Value;

use crate::Options;
use crate::tools::{
    self, DescribeIntegrationArgs, DocsArgs, SaveArgs, TestArgs, ToolError, ValidateArgs,
};

/// The server: the options it was started with; every call reads the workspace afresh.
#[derive(Clone)]
pub struct RiposteMcp {
    options: Arc<Options>,
    tool_router: ToolRouter<Self>,
}

impl RiposteMcp {
    pub fn new(options: Options) -> Self {
        Self {
            options: Arc::new(options),
            tool_router: Self::tool_router(),
        }
    }
}

/// A tool's answer: pretty JSON as text (every client shows text), or the error as a tool error
/// the model can read and act on.
fn answer(result: Result<Value, ToolError>) -> Result<CallToolResult, String> {
    match result {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value).expect("JSON values serialise");
            Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
        }
        Err(err) => Err(err.to_string()),
    }
}

#[tool_router]
impl RiposteMcp {
    #[tool(
        description = "Check a Riposte playbook (Python, `def run(alert, ctx)`) against every rule: syntax, the SDK surface, imports, integration profiles and their API catalogs (unknown endpoints, missing required parameters), secrets in code, dangerous calls. Give `path` (relative to the workspace root) or `text`. Returns diagnostics with a stable code (RPxxx), severity, 1-based line/column range, a message that says what to change, and whether an automatic fix exists. Fix every error before `test` or `save`.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    fn validate(
        &self,
        Parameters(args): Parameters<ValidateArgs>,
    ) -> Result<CallToolResult, String> {
        answer(tools::validate(&self.options, &args))
    }

    #[tool(
        description = "Generate a playbook's documentation: Markdown with its summary, the integrations and endpoints it calls, the alert fields it reads, the changes it can make, and a Mermaid flowchart of `run`. Give `path` or `text`; `write: true` also writes `playbooks/<name>.md` next to the playbook (needs `path`). Fails with the first syntax error when the playbook does not parse.",
        annotations(
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    fn docs(&self, Parameters(args): Parameters<DocsArgs>) -> Result<CallToolResult, String> {
        answer(tools::docs(&self.options, &args))
    }

    #[tool(
        description = "List the workspace's integration profiles: the names a playbook passes to `ctx.integration(name)`, with description, base URL (request paths are relative to it), auth method, API catalog, and which secret fields the method needs (names only: secrets are held by the host and never visible to playbooks or to you). `problems` lists profile files that do not parse.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    fn list_integrations(&self) -> Result<CallToolResult, String> {
        answer(tools::list_integrations(&self.options))
    }

    #[tool(
        description = "Describe one integration profile and its API catalog's endpoints: method, the path to pass to the client (relative to the profile's base URL; `{param}` holes are path parameters to fill with an f-string), summary, required path/query (`params=`)/body (`json=`/`data=`) parameters, optional ones, and whether the call changes data (planned, not sent, in a dry run). Use it before writing calls, so `validate` finds no unknown endpoint or missing parameter.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    fn describe_integration(
        &self,
        Parameters(args): Parameters<DescribeIntegrationArgs>,
    ) -> Result<CallToolResult, String> {
        answer(tools::describe_integration(&self.options, &args))
    }

    #[tool(
        description = "The normalised alert a playbook's `run(alert, ctx)` receives, built from a Microsoft Graph `security/alerts_v2` alert or a Sentinel `SecurityAlert` row: its fields with types, the evidence methods (`alert.entities(kind)`, `users()`, `ips()`, `urls()`, `files()`, `devices()`, `mailboxes()`, `processes()`), the entity kinds, and the `Entity` fields. Read from the SDK stub the validator checks against.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    fn get_alert_schema(&self) -> Result<CallToolResult, String> {
        answer(tools::alert_schema())
    }

    #[tool(
        description = "Run a playbook against an alert in Riposte's sandbox and return the run record: status, output, logs, trace steps, every integration request, and in a dry run the changes it would make (`planned`). Dry run by default: reads are sent, requests that change data, comments and alert updates are planned, not made. Give the playbook `path` and exactly one of `alert_path`, `alert` (JSON) or `alert_id`. A real run (`dry_run: false`) is refused unless the server's operator started it with --allow-real-runs; show the dry run's planned changes to the user first. A playbook with validation errors does not run (status `blocked`).",
        annotations(destructive_hint = true, open_world_hint = true)
    )]
    async fn test(&self, Parameters(args): Parameters<TestArgs>) -> Result<CallToolResult, String> {
        answer(tools::test(&self.options, args).await)
    }

    #[tool(
        description = "Save a playbook file to the Riposte engine as a new version, stored disabled (with its generated docs). It does not activate it: a person does that on the engine. Returns the version number and the engine's findings. Validate first; a version with errors can never be activated.",
        annotations(
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn save(&self, Parameters(args): Parameters<SaveArgs>) -> Result<CallToolResult, String> {
        answer(tools::save(&self.options, &args).await)
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "riposte",
    instructions = "Riposte's playbook toolchain for security operations. A playbook is one Python file `playbooks/<name>.py` with `def run(alert, ctx)`, using only the standard library and the `riposte` SDK. Work in this order: `get_alert_schema` and `list_integrations`/`describe_integration` to learn what exists; write the playbook; `validate` until there are no errors; `docs` with `write: true`; `test` (a dry run) on a saved alert; `save`. Secrets are never visible: integrations are called through `ctx.integration(name)` and the host signs requests."
)]
impl ServerHandler for RiposteMcp {}
