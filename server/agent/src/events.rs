//! What a front end sees of a task, and what it answers: the agent's whole interface to a person.
//!
//! A task sends [`Event`]s out (text as it streams, each tool call and what became of it,
//! diagnostics, the plan, token use and cost, questions, the end) and asks the [`Frontend`] for
//! decisions (approvals, answers, the switch to Act). The front end can cancel at any point and
//! switch mode through [`Controls`]. `riposte generate` is one front end (a terminal); the
//! language server's chat relay is the next: every event serialises to JSON as
//! `{"type": "...", ...}` (documented in `docs/agent.md`), which is also a transcript line's body.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::approval::{AutoApprove, Category, Decision};
use crate::mode::Mode;
use crate::provider::{BoxFuture, Usage};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    TaskStarted {
        task_id: String,
        prompt: String,
        mode: Mode,
        provider: String,
        model: String,
    },
    ModeChanged {
        mode: Mode,
        reason: String,
    },
    /// A piece of the model's text as it streams (not kept in transcripts: see `AssistantMessage`).
    TextDelta {
        text: String,
    },
    /// The model's whole text of one turn.
    AssistantMessage {
        text: String,
    },
    ToolCallProposed {
        call_id: String,
        tool: String,
        /// The arguments as the model sent them (JSON text, possibly invalid).
        arguments: String,
    },
    ApprovalRequested {
        request: ApprovalRequest,
    },
    ToolCallApproved {
        call_id: String,
        /// Approved by the auto-approve setting rather than by the person just now.
        automatically: bool,
    },
    ToolCallRefused {
        call_id: String,
        tool: String,
        by: RefusedBy,
        reason: String,
    },
    ToolResult {
        call_id: String,
        tool: String,
        is_error: bool,
        /// What the model receives (redacted).
        content: String,
    },
    FileWritten {
        path: String,
        /// A unified diff against the previous text.
        diff: String,
    },
    Diagnostics {
        path: String,
        errors: usize,
        warnings: usize,
        items: Vec<DiagnosticItem>,
    },
    Plan {
        plan: Plan,
    },
    Question {
        question: Question,
    },
    Answer {
        question_id: String,
        text: String,
    },
    TestRun {
        path: String,
        dry_run: bool,
        status: String,
        /// The changes the dry run planned (or the real run made), one line each.
        changes: Vec<String>,
    },
    Usage {
        turn: Usage,
        task: Usage,
        /// Tokens used today in this workspace, this task included.
        today: u64,
        daily_budget: u64,
        /// US dollars for this task so far, when the provider's price is known.
        task_cost_usd: Option<f64>,
    },
    /// Something the person should know that does not stop the task (a guard's warning).
    Notice {
        message: String,
    },
    /// Something that went wrong; `Finished` follows when the task cannot go on.
    Error {
        message: String,
    },
    Finished {
        outcome: Outcome,
        message: String,
    },
}

/// Who refused a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusedBy {
    /// The mode gate: a write or run in Plan.
    Mode,
    /// The person (or no one could approve: a non-interactive run).
    Person,
    /// A guard: a repeated identical call.
    Guard,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticItem {
    pub line: usize,
    pub column: usize,
    pub code: String,
    pub severity: String,
    pub message: String,
}

/// One tool call waiting for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub call_id: String,
    pub tool: String,
    pub category: Category,
    /// One line: what will happen ("write playbooks/vt.py", "fetch https://…").
    pub summary: String,
    /// What to look at before deciding: a diff, a URL, the dry run's change list.
    pub detail: String,
}

/// The plan that ends Plan mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub summary: String,
    pub steps: Vec<String>,
    /// A Mermaid `flowchart` of the intended playbook.
    pub mermaid: String,
    /// Integration profiles the playbook will use.
    pub integrations: Vec<String>,
    /// Of those, the ones the workspace does not have yet (the front end offers to create each).
    pub missing_profiles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// Suggested answers; the person may answer something else.
    pub choices: Vec<String>,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Act: the playbook is written and clean, and the model called `attempt_completion`.
    Completed,
    /// Plan: the plan is ready and the person did not (yet) switch to Act.
    PlanReady,
    /// The fix loop ran out of attempts, or the model finished with problems left.
    ProblemsLeft,
    StepLimit,
    /// The model repeated the same call or made no progress.
    Stuck,
    BudgetExhausted,
    Cancelled,
    /// The model could not be reached or answered with an error.
    ProviderFailed,
    /// The model asked a question and no one could answer it (non-interactive).
    Unanswered,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::PlanReady => "plan_ready",
            Outcome::ProblemsLeft => "problems_left",
            Outcome::StepLimit => "step_limit",
            Outcome::Stuck => "stuck",
            Outcome::BudgetExhausted => "budget_exhausted",
            Outcome::Cancelled => "cancelled",
            Outcome::ProviderFailed => "provider_failed",
            Outcome::Unanswered => "unanswered",
        }
    }
}

/// A front end: shows events, decides approvals, answers questions.
pub trait Frontend: Send + Sync {
    fn event(&self, event: &Event);
    /// Decide one call. A front end with no person behind it rejects (with a reason saying so).
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, Decision>;
    /// Answer a question; `None` when no one can (the task then stops as `Unanswered`).
    fn answer<'a>(&'a self, question: &'a Question) -> BoxFuture<'a, Option<String>>;
    /// After a plan in Plan mode: switch to Act and write it? `false` ends the task with the plan.
    fn switch_to_act<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, bool>;
}

/// What a front end holds to steer a running task: cancel it, switch its mode (the chat
/// panel's Plan/Act toggle), or change what is auto-approved (its checkboxes). Clone freely.
#[derive(Debug, Clone)]
pub struct Controls {
    pub cancel: CancellationToken,
    requested_mode: Arc<Mutex<Option<Mode>>>,
    auto_approve: Arc<Mutex<Option<AutoApprove>>>,
}

impl Controls {
    pub fn new() -> Self {
        Self {
            cancel: CancellationToken::new(),
            requested_mode: Arc::new(Mutex::new(None)),
            auto_approve: Arc::new(Mutex::new(None)),
        }
    }

    /// Replaces the task's auto-approve set from its next decision on. A real run stays
    /// outside it whatever the set says ([`AutoApprove::covers`]).
    pub fn set_auto_approve(&self, auto_approve: AutoApprove) {
        *self.auto_approve.lock().unwrap_or_else(|e| e.into_inner()) = Some(auto_approve);
    }

    pub(crate) fn take_auto_approve(&self) -> Option<AutoApprove> {
        self.auto_approve
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Asks the task to switch to `mode` before its next model turn.
    pub fn set_mode(&self, mode: Mode) {
        *self
            .requested_mode
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(mode);
    }

    pub(crate) fn take_requested_mode(&self) -> Option<Mode> {
        self.requested_mode
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Default for Controls {
    fn default() -> Self {
        Self::new()
    }
}
