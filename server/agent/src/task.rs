//! One task: the loop that turns a request into a playbook. Model turn → tool calls (mode gate,
//! approval, run, redaction) → results → next turn, with the guards around it: the step limit,
//! the daily token budget, repeated-identical-call and no-progress detection, the bounded fix
//! loop after writes, cancellation at every wait, and context trimming that keeps the task and
//! the latest plan. Everything that happens is an [`Event`] for the front end and the transcript.

use std::collections::HashSet;
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use riposte_runtime::RequestSender;
use serde::Deserialize;

use crate::approval::{AutoApprove, Category, Decision};
use crate::budget::{self, Budget};
use crate::events::{
    ApprovalRequest, Controls, Event, Frontend, Outcome, Plan, Question, RefusedBy,
};
use crate::mode::Mode;
use crate::prompt;
use crate::provider::{
    ChatRequest, Completion, Message, Provider, ProviderError, StopReason, StreamEvent, ToolCall,
    Usage,
};
use crate::redact::Scrubber;
use crate::tools::check::Validation;
use crate::tools::{self, Tool, ToolOutput, check, describe, fetch, files, test_run};
use crate::transcript::Transcript;

/// The guards' numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLimits {
    /// Model turns per task.
    pub max_steps: u32,
    /// Writes in a row that leave errors before the task stops with the problems listed.
    pub max_fix_attempts: u32,
    /// The same call (tool and arguments) this many times in a row is refused; once more stops.
    pub max_repeats: u32,
    /// Turns in a row that learn nothing new before the task stops.
    pub max_idle_turns: u32,
    /// Answers in a row without a tool call before the task stops.
    pub max_text_only: u32,
    pub max_tokens_per_turn: u32,
    /// Characters of conversation sent per turn; older turns are trimmed past this.
    pub context_chars: usize,
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self {
            max_steps: 40,
            max_fix_attempts: 5,
            max_repeats: 3,
            max_idle_turns: 4,
            max_text_only: 3,
            max_tokens_per_turn: 8192,
            context_chars: 240_000,
        }
    }
}

/// Everything a task needs besides the model and the front end.
pub struct TaskConfig {
    /// The workspace (the folder with `riposte.toml`).
    pub workspace_root: PathBuf,
    pub model: String,
    pub mode: Mode,
    pub auto_approve: AutoApprove,
    pub limits: TaskLimits,
    /// Sends a test run's integration requests (signing them with the profiles' secrets).
    pub sender: Arc<dyn RequestSender>,
    /// Knows every secret to keep from the model and the transcript.
    pub scrubber: Scrubber,
}

impl TaskConfig {
    /// Everything a task needs from the workspace at `root`: the sender that signs a test run's
    /// requests with secrets from `secrets`, and the scrubber, which also knows the model's key
    /// (`key`) so it never reaches an event or a transcript. Shared by `riposte generate` and the
    /// editor's chat.
    pub fn for_workspace(
        root: &Path,
        model: &str,
        mode: Mode,
        auto_approve: AutoApprove,
        limits: TaskLimits,
        secrets: Arc<dyn riposte_runtime::secrets::SecretSource>,
        key: Option<&crate::provider::ApiKey>,
    ) -> anyhow::Result<TaskConfig> {
        use anyhow::Context as _;
        let loaded = riposte_workspace::load(root)
            .with_context(|| format!("cannot load the workspace {}", root.display()))?;
        let sender =
            riposte_runtime::IntegrationsSender::from_workspace(&loaded.workspace, secrets)
                .map_err(anyhow::Error::msg)?;
        let scrubber = Scrubber::new(sender.integrations().redactor());
        if let Some(key) = key {
            scrubber.add_secret(key.expose());
        }
        Ok(TaskConfig {
            workspace_root: loaded.root.clone(),
            model: model.to_string(),
            mode,
            auto_approve,
            limits,
            sender: Arc::new(sender),
            scrubber,
        })
    }
}

/// How a task went, for `riposte generate`'s exit code and `riposte eval`'s table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TaskReport {
    pub task_id: String,
    pub outcome: Outcome,
    pub message: String,
    pub turns: u32,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    /// The playbook written last (`playbooks/<name>.py`).
    pub playbook: Option<String>,
    /// Whether the first write had no diagnostic at all (errors or warnings).
    pub first_write_clean: Option<bool>,
    /// Whether the playbook validated without errors (what `riposte check` passes) when the
    /// task ended.
    pub passes_check: Option<bool>,
    pub dry_run_passed: Option<bool>,
    /// The model provider refused the key (a configuration problem, not the task's).
    pub key_refused: bool,
    pub transcript: Option<PathBuf>,
}

/// Runs one task to its end. Never panics on what the model sends; every way it ends is an
/// [`Outcome`] with a message.
pub async fn run_task(
    provider: &dyn Provider,
    frontend: &dyn Frontend,
    config: TaskConfig,
    prompt: &str,
    controls: &Controls,
) -> TaskReport {
    let task_id = new_task_id();
    let transcript = Transcript::create(&config.workspace_root, &task_id, config.scrubber.clone());
    let mut task = Task {
        provider,
        frontend,
        controls,
        budget: Budget::new(&config.workspace_root, daily_budget(&config.workspace_root)),
        mode: config.mode,
        config,
        prompt: String::new(),
        messages: Vec::new(),
        transcript: None,
        transcript_failed: false,
        turns: 0,
        usage: Usage::default(),
        cost_usd: None,
        last_call: None,
        repeats: 0,
        seen: HashSet::new(),
        idle_turns: 0,
        text_only: 0,
        failed_writes: 0,
        playbook: None,
        first_write_clean: None,
        clean: None,
        dry_run: None,
        plan: None,
        key_refused: false,
    };
    match transcript {
        Ok(transcript) => task.transcript = Some(transcript),
        Err(err) => task.emit(Event::Error {
            message: format!(
                "cannot save this task's transcript under {}: {err}; the task goes on unrecorded",
                crate::transcript::TRANSCRIPTS_DIR
            ),
        }),
    }
    task.prompt = task.config.scrubber.scrub(prompt);
    task.emit(Event::TaskStarted {
        task_id: task_id.clone(),
        prompt: task.prompt.clone(),
        mode: task.mode,
        provider: provider.name().to_string(),
        model: task.config.model.clone(),
    });
    let (outcome, message) = task.run().await;
    task.emit(Event::Finished {
        outcome,
        message: message.clone(),
    });
    TaskReport {
        task_id,
        outcome,
        message,
        turns: task.turns,
        usage: task.usage,
        cost_usd: task.cost_usd,
        playbook: task.playbook.clone(),
        first_write_clean: task.first_write_clean,
        passes_check: task.clean,
        dry_run_passed: task.dry_run.as_ref().map(|d| d.passed),
        key_refused: task.key_refused,
        transcript: task.transcript.as_ref().map(|t| t.path().to_path_buf()),
    }
}

/// [`run_task`] on a runtime of its own, for callers without one (the CLI). A person answering
/// on a terminal blocks this thread, which is fine: nothing else runs while the task waits.
pub fn run_task_blocking(
    provider: &dyn Provider,
    frontend: &dyn Frontend,
    config: TaskConfig,
    prompt: &str,
    controls: &Controls,
) -> std::io::Result<TaskReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(run_task(provider, frontend, config, prompt, controls)))
}

fn daily_budget(root: &Path) -> u64 {
    riposte_workspace::load(root)
        .map(|loaded| loaded.workspace.config.limits.llm_tokens_per_day)
        .unwrap_or_else(|_| riposte_core::formats::config::Limits::default().llm_tokens_per_day)
}

fn new_task_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{:x}{:04x}",
        nanos & 0xffff_ffff_ffff,
        std::process::id() & 0xffff
    )
}

/// The last dry run: which code it ran, whether it passed, what it would change.
struct DryRun {
    path: String,
    code_hash: u64,
    passed: bool,
    changes: Vec<String>,
}

/// What a tool call means for the loop.
enum Flow {
    Continue,
    Finish(Outcome, String),
}

struct Handled {
    output: ToolOutput,
    flow: Flow,
}

impl Handled {
    fn ok(content: impl Into<String>) -> Self {
        Self {
            output: ToolOutput::ok(content),
            flow: Flow::Continue,
        }
    }
    fn error(content: impl Into<String>) -> Self {
        Self {
            output: ToolOutput::error(content),
            flow: Flow::Continue,
        }
    }
    fn finish(content: impl Into<String>, outcome: Outcome, message: String) -> Self {
        Self {
            output: ToolOutput::ok(content),
            flow: Flow::Finish(outcome, message),
        }
    }
}

struct Task<'a> {
    provider: &'a dyn Provider,
    frontend: &'a dyn Frontend,
    controls: &'a Controls,
    config: TaskConfig,
    budget: Budget,
    mode: Mode,
    prompt: String,
    messages: Vec<Message>,
    transcript: Option<Transcript>,
    transcript_failed: bool,
    turns: u32,
    usage: Usage,
    cost_usd: Option<f64>,
    last_call: Option<(String, String)>,
    repeats: u32,
    /// Fingerprints of (call, result) seen, to tell a turn that learned nothing.
    seen: HashSet<u64>,
    idle_turns: u32,
    text_only: u32,
    failed_writes: u32,
    playbook: Option<String>,
    first_write_clean: Option<bool>,
    clean: Option<bool>,
    dry_run: Option<DryRun>,
    plan: Option<Plan>,
    key_refused: bool,
}

impl Task<'_> {
    fn emit(&mut self, event: Event) {
        if let Some(transcript) = &mut self.transcript
            && let Err(err) = transcript.record(&event)
            && !self.transcript_failed
        {
            self.transcript_failed = true;
            let message = format!("cannot write the transcript: {err}");
            self.frontend.event(&Event::Error { message });
        }
        self.frontend.event(&event);
    }

    fn root(&self) -> &Path {
        &self.config.workspace_root
    }

    fn set_mode(&mut self, mode: Mode, reason: &str) {
        if self.mode != mode {
            self.mode = mode;
            self.emit(Event::ModeChanged {
                mode,
                reason: reason.to_string(),
            });
        }
    }

    async fn run(&mut self) -> (Outcome, String) {
        self.messages.push(Message::User {
            content: self.prompt.clone(),
        });
        loop {
            if self.controls.cancel.is_cancelled() {
                return (Outcome::Cancelled, "cancelled".into());
            }
            if let Some(mode) = self.controls.take_requested_mode() {
                self.set_mode(mode, "switched by the user");
            }
            if self.turns >= self.config.limits.max_steps {
                return (
                    Outcome::StepLimit,
                    format!(
                        "stopped after {} model turns (the step limit){}",
                        self.turns,
                        self.what_is_left()
                    ),
                );
            }
            let today = budget::today();
            let remaining = match self.budget.remaining(&today) {
                Ok(remaining) => remaining,
                Err(err) => return (Outcome::BudgetExhausted, err.to_string()),
            };
            if remaining == 0 {
                return (
                    Outcome::BudgetExhausted,
                    format!(
                        "today's token budget ({} tokens, limits.llm_tokens_per_day in riposte.toml) is spent; the task stops here{}",
                        self.budget.daily_limit(),
                        self.what_is_left()
                    ),
                );
            }
            self.trim_context();
            let completion = match self.model_turn(remaining).await {
                Ok(completion) => completion,
                Err(ProviderError::Cancelled) => return (Outcome::Cancelled, "cancelled".into()),
                Err(err) => {
                    if matches!(err, ProviderError::Unauthorized { .. }) {
                        self.key_refused = true;
                    }
                    let message = self.config.scrubber.scrub(&err.to_string());
                    self.emit(Event::Error {
                        message: message.clone(),
                    });
                    return (Outcome::ProviderFailed, message);
                }
            };
            self.turns += 1;
            if !completion.text.is_empty() {
                self.emit(Event::AssistantMessage {
                    text: completion.text.clone(),
                });
            }
            self.account(completion.usage, &today);
            self.messages.push(Message::Assistant {
                content: completion.text.clone(),
                tool_calls: completion.tool_calls.clone(),
            });
            if completion.tool_calls.is_empty() {
                self.text_only += 1;
                if self.text_only >= self.config.limits.max_text_only {
                    return (
                        Outcome::Stuck,
                        format!(
                            "the model answered {} times in a row without using a tool{}",
                            self.text_only,
                            self.what_is_left()
                        ),
                    );
                }
                let cut = completion.stop == StopReason::MaxTokens;
                let nudge = if cut {
                    "Your answer was cut at the token limit. Continue with a tool call, and keep answers short."
                } else {
                    "Continue with a tool call: ask_user to ask the user something, propose_plan for the plan, write_playbook to write code, attempt_completion when the work is done."
                };
                self.emit(Event::Notice {
                    message: "the model answered without a tool call; asking it to use one".into(),
                });
                self.messages.push(Message::User {
                    content: nudge.into(),
                });
                continue;
            }
            self.text_only = 0;
            let mut learned = false;
            let calls = completion.tool_calls;
            for (index, call) in calls.iter().enumerate() {
                let handled = self.handle(call).await;
                let content = self.config.scrubber.scrub(&handled.output.content);
                let mut hasher = std::hash::DefaultHasher::new();
                (&call.name, normalised(&call.arguments), &content).hash(&mut hasher);
                learned |= self.seen.insert(hasher.finish());
                self.emit(Event::ToolResult {
                    call_id: call.id.clone(),
                    tool: call.name.clone(),
                    is_error: handled.output.is_error,
                    content: content.clone(),
                });
                self.messages.push(Message::Tool {
                    call_id: call.id.clone(),
                    content,
                    is_error: handled.output.is_error,
                });
                if let Flow::Finish(outcome, message) = handled.flow {
                    // Calls after the one that ended the task are answered, never run.
                    for rest in &calls[index + 1..] {
                        self.messages.push(Message::Tool {
                            call_id: rest.id.clone(),
                            content: "not run: the task ended".into(),
                            is_error: true,
                        });
                    }
                    return (outcome, message);
                }
                if self.controls.cancel.is_cancelled() {
                    return (Outcome::Cancelled, "cancelled".into());
                }
            }
            self.idle_turns = if learned { 0 } else { self.idle_turns + 1 };
            if self.idle_turns >= self.config.limits.max_idle_turns {
                return (
                    Outcome::Stuck,
                    format!(
                        "no progress in {} turns: the model keeps getting the same answers{}",
                        self.idle_turns,
                        self.what_is_left()
                    ),
                );
            }
        }
    }

    async fn model_turn(&mut self, remaining: u64) -> Result<Completion, ProviderError> {
        let workspace = riposte_workspace::load(self.root())
            .map(|loaded| loaded.workspace)
            .unwrap_or_default();
        let request = ChatRequest {
            model: self.config.model.clone(),
            system: prompt::system_prompt(self.mode, &workspace),
            messages: self.messages.clone(),
            tools: tools::specs(),
            max_tokens: u32::try_from(remaining)
                .unwrap_or(u32::MAX)
                .min(self.config.limits.max_tokens_per_turn),
        };
        let frontend = self.frontend;
        let on_event = move |event: StreamEvent| match event {
            StreamEvent::TextDelta(text) => frontend.event(&Event::TextDelta { text }),
            StreamEvent::Retrying {
                reason,
                after,
                attempt,
                attempts,
            } => frontend.event(&Event::Notice {
                message: format!(
                    "{reason}; trying again in {:.1} s (attempt {attempt} of {attempts})",
                    after.as_secs_f64()
                ),
            }),
            StreamEvent::ToolCallStarted { .. } => {}
        };
        let cancel = self.controls.cancel.clone();
        tokio::select! {
            result = self.provider.complete(&request, &on_event, &cancel) => result,
            () = cancel.cancelled() => Err(ProviderError::Cancelled),
        }
    }

    fn account(&mut self, turn: Usage, today: &str) {
        self.usage.input_tokens += turn.input_tokens;
        self.usage.output_tokens += turn.output_tokens;
        let price = self.provider.price();
        let turn_cost = price.map(|p| p.cost(turn));
        self.cost_usd = price.map(|p| p.cost(self.usage));
        let today_total = match self.budget.record(today, turn, turn_cost) {
            Ok(day) => day.total(),
            Err(err) => {
                self.emit(Event::Error {
                    message: err.to_string(),
                });
                0
            }
        };
        self.emit(Event::Usage {
            turn,
            task: self.usage,
            today: today_total,
            daily_budget: self.budget.daily_limit(),
            task_cost_usd: self.cost_usd,
        });
    }

    /// Keeps the conversation under the context size: drops the oldest turns, never the task, and
    /// carries the latest plan into the task message.
    fn trim_context(&mut self) {
        let size = |m: &Message| match m {
            Message::User { content } => content.len(),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                content.len()
                    + tool_calls
                        .iter()
                        .map(|c| c.arguments.len() + c.name.len())
                        .sum::<usize>()
            }
            Message::Tool { content, .. } => content.len(),
        };
        let limit = self.config.limits.context_chars;
        let total: usize = self.messages.iter().map(size).sum();
        if total <= limit || self.messages.len() < 3 {
            return;
        }
        let mut cut = 1;
        let mut kept = total;
        while cut < self.messages.len() - 1 && kept > limit {
            kept -= size(&self.messages[cut]);
            cut += 1;
        }
        // Start the kept part at a model turn, so no tool result loses its call.
        while cut < self.messages.len() && !matches!(self.messages[cut], Message::Assistant { .. })
        {
            cut += 1;
        }
        if cut >= self.messages.len() {
            let Some(last) = self
                .messages
                .iter()
                .rposition(|m| matches!(m, Message::Assistant { .. }))
            else {
                return;
            };
            cut = last;
        }
        if cut <= 1 {
            return;
        }
        let dropped = cut - 1;
        self.messages.drain(1..cut);
        let mut first = format!(
            "{}\n\n[Earlier turns of this task were trimmed to fit the context.]",
            self.prompt
        );
        if let Some(plan) = &self.plan {
            first.push_str(&format!(
                "\n\nThe latest plan:\n{}\nSteps:\n- {}\nProfiles: {}\n```mermaid\n{}\n```",
                plan.summary,
                plan.steps.join("\n- "),
                plan.integrations.join(", "),
                plan.mermaid
            ));
        }
        if let Some(playbook) = &self.playbook {
            first.push_str(&format!(
                "\n\nThe playbook being written is {playbook} (read_file shows it)."
            ));
        }
        self.messages[0] = Message::User { content: first };
        self.emit(Event::Notice {
            message: format!(
                "trimmed {dropped} earlier messages to fit the model's context (the task and the latest plan are kept)"
            ),
        });
    }

    fn what_is_left(&self) -> String {
        match (&self.playbook, self.clean) {
            (Some(path), Some(false)) => match check::validate(self.root(), path) {
                Ok(validation) => format!("; what is left:\n{}", validation.to_text()),
                Err(err) => format!("; {err}"),
            },
            (Some(path), _) => format!("; {path} validates without errors"),
            (None, _) => String::new(),
        }
    }

    /// One tool call: arguments, the repeat guard, the mode gate, then the tool.
    async fn handle(&mut self, call: &ToolCall) -> Handled {
        self.emit(Event::ToolCallProposed {
            call_id: call.id.clone(),
            tool: call.name.clone(),
            arguments: self.config.scrubber.scrub(&call.arguments),
        });
        let Some(tool) = Tool::from_name(&call.name) else {
            let names: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
            return Handled::error(format!(
                "there is no tool `{}`; the tools are: {}",
                call.name,
                names.join(", ")
            ));
        };
        let arguments = if call.arguments.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            match serde_json::from_str::<serde_json::Value>(&call.arguments) {
                Ok(value) if value.is_object() => value,
                Ok(_) => {
                    return Handled::error(format!(
                        "the arguments of {} must be a JSON object matching its schema",
                        call.name
                    ));
                }
                Err(err) => {
                    return Handled::error(format!(
                        "the arguments of {} are not valid JSON ({err}); send one JSON object matching the tool's schema",
                        call.name
                    ));
                }
            }
        };

        let key = (call.name.clone(), arguments.to_string());
        if self.last_call.as_ref() == Some(&key) {
            self.repeats += 1;
        } else {
            self.last_call = Some(key);
            self.repeats = 1;
        }
        if self.repeats > self.config.limits.max_repeats {
            let reason = format!(
                "{} was called with the same arguments {} times in a row",
                call.name, self.repeats
            );
            self.refuse(call, RefusedBy::Guard, &reason);
            return Handled {
                output: ToolOutput::error(reason.clone()),
                flow: Flow::Finish(
                    Outcome::Stuck,
                    format!("stopped: {reason}{}", self.what_is_left()),
                ),
            };
        }
        if self.repeats == self.config.limits.max_repeats {
            let reason = format!(
                "you made this exact {} call {} times in a row and its answer will not change: do something different (once more stops the task)",
                call.name, self.repeats
            );
            self.refuse(call, RefusedBy::Guard, &reason);
            return Handled::error(reason);
        }

        if !tool.effect().allowed_in(self.mode) {
            let reason = format!(
                "{} is refused in Plan mode: Plan is read-only. Finish planning with propose_plan; the user switches to Act to write and test",
                call.name
            );
            self.refuse(call, RefusedBy::Mode, &reason);
            return Handled::error(reason);
        }

        match self.run_tool(tool, call, arguments).await {
            Ok(handled) => handled,
            Err(message) => Handled::error(message),
        }
    }

    fn refuse(&mut self, call: &ToolCall, by: RefusedBy, reason: &str) {
        self.emit(Event::ToolCallRefused {
            call_id: call.id.clone(),
            tool: call.name.clone(),
            by,
            reason: reason.to_string(),
        });
    }

    /// Asks for approval unless auto-approved; `Err` carries the refusal for the model.
    async fn approve(
        &mut self,
        call: &ToolCall,
        category: Category,
        summary: String,
        detail: String,
    ) -> Result<(), String> {
        if let Some(auto_approve) = self.controls.take_auto_approve() {
            self.config.auto_approve = auto_approve;
        }
        if self.config.auto_approve.covers(category) {
            self.emit(Event::ToolCallApproved {
                call_id: call.id.clone(),
                automatically: true,
            });
            return Ok(());
        }
        let request = ApprovalRequest {
            call_id: call.id.clone(),
            tool: call.name.clone(),
            category,
            summary,
            detail: self.config.scrubber.scrub(&detail),
        };
        self.emit(Event::ApprovalRequested {
            request: request.clone(),
        });
        let cancel = self.controls.cancel.clone();
        let decision = tokio::select! {
            decision = self.frontend.approve(&request) => decision,
            () = cancel.cancelled() => Decision::Reject { reason: Some("cancelled".into()) },
        };
        match decision {
            Decision::Approve => {
                self.emit(Event::ToolCallApproved {
                    call_id: call.id.clone(),
                    automatically: false,
                });
                Ok(())
            }
            Decision::Reject { reason } => {
                let reason = reason.unwrap_or_else(|| "no reason given".into());
                self.refuse(call, RefusedBy::Person, &reason);
                Err(format!(
                    "the user rejected this {}: {reason}. It was not done. Do not repeat it unchanged; ask_user if it is unclear what they want",
                    call.name
                ))
            }
        }
    }

    async fn run_tool(
        &mut self,
        tool: Tool,
        call: &ToolCall,
        arguments: serde_json::Value,
    ) -> Result<Handled, String> {
        let root = self.root().to_path_buf();
        match tool {
            Tool::ReadFile => {
                let args: files::ReadArgs = parse(tool, arguments)?;
                files::read_file(&root, &args).map(Handled::ok)
            }
            Tool::ListIntegrations => describe::list_integrations(&root).map(Handled::ok),
            Tool::DescribeIntegration => {
                let args: describe::DescribeArgs = parse(tool, arguments)?;
                describe::describe_integration(&root, &args).map(Handled::ok)
            }
            Tool::GetAlertSchema => describe::alert_schema().map(Handled::ok),
            Tool::FetchUrl => {
                let args: fetch::FetchArgs = parse(tool, arguments)?;
                let url = fetch::check_url(&args.url)?;
                self.approve(
                    call,
                    Category::Fetch,
                    format!("fetch {url}"),
                    url.to_string(),
                )
                .await?;
                let cancel = self.controls.cancel.clone();
                fetch::fetch(&url, &cancel).await.map(Handled::ok)
            }
            Tool::AskUser => self.ask_user(parse(tool, arguments)?).await,
            Tool::ProposePlan => self.propose_plan(parse(tool, arguments)?).await,
            Tool::WritePlaybook => self.write_playbook(call, parse(tool, arguments)?).await,
            Tool::Validate => {
                let args: PathArgs = parse(tool, arguments)?;
                let relative = files::playbook_path(&args.path).map_err(|e| e.0)?;
                let validation = check::validate(&root, &relative)?;
                self.note_validation(&relative, &validation);
                Ok(Handled::ok(validation.to_text()))
            }
            Tool::WriteDocs => {
                let args: PathArgs = parse(tool, arguments)?;
                let relative = files::playbook_path(&args.path).map_err(|e| e.0)?;
                let (docs_path, markdown) = check::render_docs(&root, &relative)?;
                let target = files::writable(&root, &docs_path).map_err(|e| e.0)?;
                let old = std::fs::read_to_string(&target).unwrap_or_default();
                let diff = files::diff(&docs_path, &old, &markdown);
                self.approve(
                    call,
                    Category::Edit,
                    format!("write {docs_path}"),
                    diff.clone(),
                )
                .await?;
                files::write_atomically(&target, markdown.as_bytes())
                    .map_err(|err| format!("cannot write {docs_path}: {err}"))?;
                self.emit(Event::FileWritten {
                    path: docs_path.clone(),
                    diff,
                });
                Ok(Handled::ok(format!(
                    "wrote {docs_path} ({} lines, with the flow diagram generated from the code)",
                    markdown.lines().count()
                )))
            }
            Tool::RunTest => self.run_test(call, parse(tool, arguments)?).await,
            Tool::AttemptCompletion => {
                let args: CompletionArgs = parse(tool, arguments)?;
                self.attempt_completion(args)
            }
        }
    }

    fn note_validation(&mut self, relative: &str, validation: &Validation) {
        self.emit(Event::Diagnostics {
            path: relative.to_string(),
            errors: validation.errors,
            warnings: validation.warnings,
            items: validation.items.clone(),
        });
        if self.playbook.as_deref() == Some(relative) {
            self.clean = Some(validation.passes());
        }
    }

    async fn ask_user(&mut self, args: AskArgs) -> Result<Handled, String> {
        let question = Question {
            id: format!("q{}", self.turns),
            text: args.question,
            choices: args.choices.unwrap_or_default(),
        };
        self.emit(Event::Question {
            question: question.clone(),
        });
        let cancel = self.controls.cancel.clone();
        let answer = tokio::select! {
            answer = self.frontend.answer(&question) => answer,
            () = cancel.cancelled() => return Ok(Handled::finish("cancelled", Outcome::Cancelled, "cancelled".into())),
        };
        match answer {
            Some(text) => {
                let text = self.config.scrubber.scrub(&text);
                self.emit(Event::Answer {
                    question_id: question.id,
                    text: text.clone(),
                });
                Ok(Handled::ok(format!("The user answered: {text}")))
            }
            None => Ok(Handled::finish(
                "no one can answer questions in this session",
                Outcome::Unanswered,
                format!(
                    "the model asked a question and no one can answer it here: {}",
                    question.text
                ),
            )),
        }
    }

    async fn propose_plan(&mut self, args: PlanArgs) -> Result<Handled, String> {
        let integrations = args.integrations.unwrap_or_default();
        let plan = Plan {
            missing_profiles: describe::missing_profiles(self.root(), &integrations),
            summary: args.summary,
            steps: args.steps,
            mermaid: args.mermaid,
            integrations,
        };
        self.plan = Some(plan.clone());
        self.emit(Event::Plan { plan: plan.clone() });
        let missing = if plan.missing_profiles.is_empty() {
            String::new()
        } else {
            format!(
                " Missing profiles (the user creates them): {}.",
                plan.missing_profiles.join(", ")
            )
        };
        if self.mode == Mode::Act {
            return Ok(Handled::ok(format!(
                "Plan recorded.{missing} Go on: write the playbook with write_playbook."
            )));
        }
        let cancel = self.controls.cancel.clone();
        let switch = tokio::select! {
            switch = self.frontend.switch_to_act(&plan) => switch,
            () = cancel.cancelled() => return Ok(Handled::finish("cancelled", Outcome::Cancelled, "cancelled".into())),
        };
        if switch {
            self.set_mode(Mode::Act, "the user approved the plan");
            Ok(Handled::ok(format!(
                "The user approved the plan and switched to Act mode.{missing} Write the playbook now with write_playbook."
            )))
        } else {
            Ok(Handled::finish(
                "The plan is shown to the user; they will switch to Act when ready.",
                Outcome::PlanReady,
                format!("the plan is ready{missing}; switch to Act (--act) to write it"),
            ))
        }
    }

    async fn write_playbook(
        &mut self,
        call: &ToolCall,
        args: files::WriteArgs,
    ) -> Result<Handled, String> {
        const MAX_PLAYBOOK_BYTES: usize = 1024 * 1024;
        let root = self.root().to_path_buf();
        let relative = files::playbook_path(&args.path).map_err(|e| e.0)?;
        let target = files::writable(&root, &relative).map_err(|e| e.0)?;
        let old = match std::fs::read_to_string(&target) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(format!("cannot read {relative}: {err}")),
        };
        let new = files::new_text(&relative, old.as_deref(), &args)?;
        if new.len() > MAX_PLAYBOOK_BYTES {
            return Err(format!(
                "the new {relative} is {} bytes; a playbook is at most {MAX_PLAYBOOK_BYTES} bytes",
                new.len()
            ));
        }
        let loaded = check::load(&root)?;
        if old.as_deref() == Some(new.as_str()) {
            let validation = check::validate_text(&loaded, &relative, &new);
            return Ok(Handled::error(format!(
                "no change: {relative} already has this text.\n{}",
                validation.to_text()
            )));
        }
        let diff = files::diff(&relative, old.as_deref().unwrap_or(""), &new);
        let verb = if old.is_some() { "edit" } else { "create" };
        self.approve(
            call,
            Category::Edit,
            format!("{verb} {relative}"),
            diff.clone(),
        )
        .await?;
        files::write_atomically(&target, new.as_bytes())
            .map_err(|err| format!("cannot write {relative}: {err}"))?;
        self.emit(Event::FileWritten {
            path: relative.clone(),
            diff,
        });
        self.playbook = Some(relative.clone());
        // The workspace now has this playbook too (other playbooks may refer to it).
        let loaded = check::load(&root).unwrap_or(loaded);
        let validation = check::validate_text(&loaded, &relative, &new);
        self.note_validation(&relative, &validation);
        if self.first_write_clean.is_none() {
            self.first_write_clean = Some(validation.is_clean());
        }
        let mut content = format!("wrote {relative}.\n{}", validation.to_text());
        if validation.passes() {
            self.failed_writes = 0;
            if !validation.is_clean() {
                content.push_str("No errors. Fix the warnings that point at real problems (a wrong endpoint, a missing check), then ");
            } else {
                content.push_str("No errors. Next: ");
            }
            content.push_str("write_docs, then run_test (a dry run), then attempt_completion.");
            return Ok(Handled::ok(content));
        }
        self.failed_writes += 1;
        let limit = self.config.limits.max_fix_attempts;
        if self.failed_writes >= limit {
            return Ok(Handled {
                output: ToolOutput::error(content.clone()),
                flow: Flow::Finish(
                    Outcome::ProblemsLeft,
                    format!(
                        "{limit} writes in a row left errors in {relative}; the task stops here. What is left:\n{}",
                        validation.to_text()
                    ),
                ),
            });
        }
        content.push_str(&format!(
            "Fix every error (attempt {} of {limit}): use edits with search/replace, or the whole file.",
            self.failed_writes
        ));
        Ok(Handled::error(content))
    }

    async fn run_test(
        &mut self,
        call: &ToolCall,
        args: test_run::TestArgs,
    ) -> Result<Handled, String> {
        let root = self.root().to_path_buf();
        let relative = files::playbook_path(&args.path).map_err(|e| e.0)?;
        let validation = check::validate(&root, &relative)?;
        self.note_validation(&relative, &validation);
        if !validation.passes() {
            return Err(format!(
                "{relative} has errors; a run would be blocked. Fix them first.\n{}",
                validation.to_text()
            ));
        }
        let code = std::fs::read(root.join(&relative)).map_err(|err| err.to_string())?;
        let code_hash = {
            let mut hasher = std::hash::DefaultHasher::new();
            code.hash(&mut hasher);
            hasher.finish()
        };
        let (alert_name, alert_path) = test_run::alert_path(&root, args.alert.as_deref())?;
        if args.dry_run {
            self.approve(
                call,
                Category::Test,
                format!("dry run of {relative} on {alert_name}"),
                "Reads are sent to the integrations; requests that change data, comments and alert updates are only listed.".into(),
            )
            .await?;
        } else {
            let Some(dry) = self
                .dry_run
                .as_ref()
                .filter(|d| d.path == relative && d.code_hash == code_hash && d.passed)
            else {
                return Err(format!(
                    "a real run needs a succeeded dry run of this exact code first: run_test with dry_run: true on {relative}"
                ));
            };
            let detail = if dry.changes.is_empty() {
                "The dry run planned no changes.".to_string()
            } else {
                format!(
                    "The real run will make these changes:\n{}",
                    dry.changes
                        .iter()
                        .map(|c| format!("- {c}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            };
            self.approve(
                call,
                Category::RealRun,
                format!(
                    "REAL run of {relative} on {alert_name}: requests that change data are sent"
                ),
                detail,
            )
            .await?;
        }
        let cancel = self.controls.cancel.clone();
        let record = test_run::run(
            &root,
            &relative,
            alert_path,
            args.dry_run,
            self.config.sender.clone(),
            &cancel,
        )
        .await?;
        let passed = test_run::succeeded(&record);
        let changes: Vec<String> = test_run::change_lines(&record)
            .iter()
            .map(|line| self.config.scrubber.scrub(line))
            .collect();
        self.emit(Event::TestRun {
            path: relative.clone(),
            dry_run: args.dry_run,
            status: record.status.as_str().to_string(),
            changes: changes.clone(),
        });
        if args.dry_run {
            self.dry_run = Some(DryRun {
                path: relative,
                code_hash,
                passed,
                changes,
            });
        }
        let summary = test_run::summary(&record);
        Ok(if passed {
            Handled::ok(summary)
        } else {
            Handled::error(format!(
                "{summary}\nThe run did not succeed: fix the playbook and test again."
            ))
        })
    }

    fn attempt_completion(&mut self, args: CompletionArgs) -> Result<Handled, String> {
        if self.mode == Mode::Plan {
            return Err(
                "in Plan mode the task ends with propose_plan; attempt_completion is for Act mode"
                    .into(),
            );
        }
        let Some(playbook) = self.playbook.clone() else {
            return Err("no playbook has been written yet: write it with write_playbook".into());
        };
        let validation = check::validate(self.root(), &playbook)?;
        self.note_validation(&playbook, &validation);
        if !validation.passes() {
            return Err(format!(
                "{playbook} still has errors; fix them before finishing.\n{}",
                validation.to_text()
            ));
        }
        let mut message = self.config.scrubber.scrub(&args.summary);
        match &self.dry_run {
            Some(dry) if dry.passed => {}
            Some(_) => message.push_str("\n(note: the last dry run did not succeed)"),
            None => message.push_str("\n(note: no dry run was made)"),
        }
        Ok(Handled::finish(
            "Task complete.",
            Outcome::Completed,
            message,
        ))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(
    tool: Tool,
    arguments: serde_json::Value,
) -> Result<T, String> {
    serde_json::from_value(arguments).map_err(|err| {
        format!(
            "invalid arguments for {}: {err}. The schema is: {}",
            tool.name(),
            tool.spec().parameters
        )
    })
}

/// Arguments as canonical JSON (sorted keys), so the same call sent twice compares equal.
fn normalised(arguments: &str) -> String {
    serde_json::from_str::<serde_json::Value>(arguments)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| arguments.to_string())
}

#[derive(Debug, Deserialize)]
struct PathArgs {
    path: String,
}

#[derive(Debug, Deserialize)]
struct AskArgs {
    question: String,
    choices: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct PlanArgs {
    summary: String,
    steps: Vec<String>,
    mermaid: String,
    integrations: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct CompletionArgs {
    summary: String,
}
