//! `riposte generate` and `riposte eval`: the Plan/Act agent in a terminal. The agent is
//! `riposte_agent`'s; this is arguments, the model configuration, and a terminal front end
//! (events printed as they happen, approvals and questions read from stdin).
//!
//! Exit codes of `riposte generate`: 0 the task completed with a clean playbook (or, in Plan
//! mode, the plan is ready); 1 it stopped with problems left (fix loop spent, step limit, stuck,
//! budget, cancelled, the model failed mid-task); 2 bad usage or model configuration (no model
//! configured, key refused, a question with `--non-interactive`). Ctrl-C cancels the task (it
//! ends `cancelled`, exit 1, transcript written); a second Ctrl-C exits at once with 130.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use riposte_agent::provider::settings::{Front, ModelChoice, ModelError, ModelSettings};
use riposte_agent::provider::{ApiKey, BoxFuture, Provider, build_provider, choose_model};
use riposte_agent::{
    ApprovalRequest, AutoApprove, Category, Controls, Decision, Event, Frontend, Mode, Outcome,
    Plan, Question, TaskConfig, TaskLimits, TaskReport,
};

use crate::exit;

/// Stopped with problems left.
pub const PROBLEMS_LEFT: u8 = 1;

#[derive(Args, Clone)]
pub struct ModelArgs {
    /// The model's API: openai (any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM,
    /// llama.cpp, LM Studio, LiteLLM) or anthropic [default: RIPOSTE_LLM_PROVIDER, else the one
    /// whose key is set].
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// The model name [default: RIPOSTE_LLM_MODEL].
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The API's base URL, e.g. http://127.0.0.1:11434/v1 for Ollama [default:
    /// RIPOSTE_LLM_BASE_URL, else the provider's public endpoint].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key [default: RIPOSTE_LLM_API_KEY when set,
    /// else OPENAI_API_KEY or ANTHROPIC_API_KEY]. Keys are never taken as flag values.
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// A TOML file of integration secrets for test runs (`["<profile name>"]` tables), mode 0600,
    /// outside the workspace; `RIPOSTE_<PROFILE>_<FIELD>` environment variables are read first.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// Model turns per task.
    #[arg(long, value_name = "N", default_value_t = TaskLimits::default().max_steps)]
    pub max_steps: u32,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// What the playbook should do.
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "prompt_file",
        conflicts_with = "prompt_file"
    )]
    pub prompt: Option<String>,
    /// Read the request from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// The workspace (the folder with `riposte.toml`) [default: found from the current folder].
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Approve these categories without asking: a comma-separated list of edit, fetch, test. A
    /// real run (one that changes data) always asks.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub auto_approve: String,
    /// Start in Act mode (write, validate, test) instead of Plan mode.
    #[arg(long)]
    pub act: bool,
    /// Never read stdin: a question from the model fails the task (exit 2), approvals not covered
    /// by --auto-approve are refused.
    #[arg(long)]
    pub non_interactive: bool,
    #[arg(long, value_enum, default_value_t = GenerateFormat::Text)]
    pub format: GenerateFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateFormat {
    /// Progress, diffs, diagnostics and the plan for people.
    Text,
    /// Every event as a JSON line (as the chat protocol carries them), then the report.
    Json,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The seed prompts (`*.md`).
    #[arg(long, value_name = "DIR", default_value = "fixtures/prompts")]
    pub prompts: PathBuf,
    /// The workspace each prompt runs in (a temporary copy).
    #[arg(long, value_name = "DIR", default_value = "fixtures/workspace")]
    pub workspace: PathBuf,
    /// Only the prompts whose file name contains this.
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, value_enum, default_value_t = GenerateFormat::Text)]
    pub format: GenerateFormat,
}

/// The model the flags and environment name.
struct Model {
    provider: Arc<dyn Provider>,
    /// For the redactor: the key never appears in an output.
    key: Option<ApiKey>,
    name: String,
}

/// The model provider the flags and environment name (`riposte_agent::provider::settings`, the
/// same resolution as the editor's chat). `Err` is a message for exit 2.
fn provider_from(args: &ModelArgs) -> Result<Model, String> {
    let settings = ModelSettings {
        provider: args.provider.clone(),
        model: args.model.clone(),
        base_url: args.base_url.clone(),
        api_key_env: args.api_key_env.clone(),
    };
    let resolve = || -> Result<Model, ModelError> {
        let choice = choose_model(&settings, Front::Terminal)?;
        let ModelChoice::Http { config, .. } = &choice else {
            return Err(ModelError::BadModel(format!(
                "{} is only available in the editor",
                choice.provider_name()
            )));
        };
        // Read the key once: the provider sends it, the redactor keeps it out of every output.
        let key = choice.env_key()?;
        let provider = build_provider(config, key.as_ref())?;
        Ok(Model {
            provider,
            key,
            name: config.model.clone(),
        })
    };
    resolve().map_err(|err| err.to_string())
}

/// Everything a task needs from the workspace and the secrets (environment, then `--secrets`).
fn task_config(
    root: &Path,
    model: &str,
    mode: Mode,
    auto_approve: AutoApprove,
    args: &ModelArgs,
    key: Option<&ApiKey>,
) -> anyhow::Result<TaskConfig> {
    let secrets = riposte_runtime::headless_secrets(args.secrets.as_deref(), root)
        .map_err(anyhow::Error::msg)?;
    let limits = TaskLimits {
        max_steps: args.max_steps.max(1),
        ..TaskLimits::default()
    };
    TaskConfig::for_workspace(root, model, mode, auto_approve, limits, secrets, key)
}

pub fn generate(args: &GenerateArgs) -> anyhow::Result<u8> {
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(text), _) => text.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the prompt file {}", file.display()))?,
        (None, None) => bail!("give the request: --prompt TEXT or --prompt-file FILE"),
    };
    if prompt.trim().is_empty() {
        bail!("the prompt is empty: say what the playbook should do");
    }
    let auto_approve: AutoApprove = args.auto_approve.parse()?;
    let root = match &args.workspace {
        Some(dir) => dir.clone(),
        None => {
            let cwd = std::env::current_dir().context("cannot read the current folder")?;
            riposte_workspace::find_root(&cwd).unwrap_or(cwd)
        }
    };
    if !root.is_dir() {
        bail!("the workspace {} is not a folder", root.display());
    }
    let Model {
        provider,
        key,
        name: model,
    } = match provider_from(&args.model) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("riposte: {message}");
            return Ok(exit::USAGE);
        }
    };
    let mode = if args.act { Mode::Act } else { Mode::Plan };
    let config = task_config(&root, &model, mode, auto_approve, &args.model, key.as_ref())?;
    let controls = Controls::new();
    cancel_on_ctrl_c(&controls);
    let frontend = Terminal::new(args.format, !args.non_interactive, controls.clone());
    let report =
        riposte_agent::run_task_blocking(provider.as_ref(), &frontend, config, &prompt, &controls)
            .context("cannot start the agent")?;
    frontend.finish(&report);
    Ok(exit_code(&report))
}

/// The exit code of a second Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

/// Ctrl-C cancels the task, which then ends as `cancelled` with its transcript written; a second
/// Ctrl-C exits at once. The watcher has a thread of its own: the task's thread may be blocked
/// reading an answer from the terminal.
fn cancel_on_ctrl_c(controls: &Controls) {
    let cancel = controls.cancel.clone();
    let watcher = std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                eprintln!("\nriposte: cancelling the task (Ctrl-C again to quit at once)");
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(INTERRUPTED);
                }
            });
        });
    if let Err(err) = watcher {
        eprintln!("riposte: Ctrl-C will end the process without a transcript ({err})");
    }
}

pub fn exit_code(report: &TaskReport) -> u8 {
    match report.outcome {
        Outcome::Completed if report.passes_check != Some(false) => exit::CLEAN,
        Outcome::PlanReady => exit::CLEAN,
        Outcome::Unanswered => exit::USAGE,
        Outcome::ProviderFailed if report.key_refused => exit::USAGE,
        _ => PROBLEMS_LEFT,
    }
}

/// The terminal front end: prints events, asks on stdin (when allowed).
struct Terminal {
    format: GenerateFormat,
    interactive: bool,
    /// Text streamed since the last whole message (so it is not printed twice).
    streamed: Mutex<bool>,
    /// The task's controls: Ctrl-C at a prompt cancels the wait, not only the next step.
    controls: Controls,
}

impl Terminal {
    fn new(format: GenerateFormat, interactive: bool, controls: Controls) -> Self {
        Self {
            format,
            interactive,
            streamed: Mutex::new(false),
            controls,
        }
    }

    /// One line from stdin, or `None` at its end or when the task is cancelled. The read runs
    /// on a thread of its own, so a cancel does not wait for the person to press Enter.
    async fn ask_line(&self, prompt: &str) -> Option<String> {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let (sender, line) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => None,
                Ok(_) => Some(line.trim().to_string()),
            };
            let _ = sender.send(read);
        });
        tokio::select! {
            read = line => read.ok().flatten(),
            () = self.controls.cancel.cancelled() => None,
        }
    }

    fn finish(&self, report: &TaskReport) {
        match self.format {
            GenerateFormat::Json => {
                let mut value = serde_json::to_value(report).unwrap_or_default();
                value["type"] = "report".into();
                println!("{value}");
            }
            GenerateFormat::Text => {
                let cost = report
                    .cost_usd
                    .map(|c| format!(", about ${c:.4}"))
                    .unwrap_or_default();
                println!(
                    "tokens: {} in, {} out over {} turn(s){cost}",
                    report.usage.input_tokens, report.usage.output_tokens, report.turns
                );
                if let Some(path) = &report.transcript {
                    println!("transcript: {}", path.display());
                }
            }
        }
    }

    fn print(&self, event: &Event) {
        let mut streamed = self.streamed.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::TextDelta { text } => {
                print!("{text}");
                *streamed = true;
            }
            Event::AssistantMessage { text } => {
                if *streamed {
                    println!();
                } else {
                    println!("{text}");
                }
                *streamed = false;
            }
            Event::TaskStarted {
                mode,
                provider,
                model,
                ..
            } => println!("riposte generate: {model} ({provider}), {mode} mode"),
            Event::ModeChanged { mode, reason } => println!("── {mode} mode ({reason})"),
            Event::ToolCallProposed {
                tool, arguments, ..
            } => println!("→ {tool} {}", short_arguments(tool, arguments)),
            Event::ApprovalRequested { .. } => {}
            Event::ToolCallApproved { automatically, .. } => {
                if *automatically {
                    println!("  (auto-approved)");
                }
            }
            Event::ToolCallRefused { by, reason, .. } => {
                println!("  ✗ refused ({by:?}): {reason}")
            }
            Event::ToolResult {
                is_error, content, ..
            } => {
                let first = content.lines().next().unwrap_or_default();
                let first: String = first.chars().take(160).collect();
                println!("  {} {first}", if *is_error { "✗" } else { "✓" });
            }
            Event::FileWritten { path, diff } => {
                println!("  wrote {path}:");
                for line in diff.lines() {
                    println!("    {line}");
                }
            }
            Event::Diagnostics {
                path,
                errors,
                warnings,
                items,
            } => {
                println!("  {path}: {errors} error(s), {warnings} warning(s)");
                for item in items {
                    println!(
                        "    {}:{}:{}: {} [{}] {}",
                        path, item.line, item.column, item.code, item.severity, item.message
                    );
                }
            }
            Event::Plan { plan } => print_plan(plan),
            Event::Question { .. } | Event::Answer { .. } => {}
            Event::TestRun {
                path,
                dry_run,
                status,
                changes,
            } => {
                let kind = if *dry_run { "dry run" } else { "REAL run" };
                println!("  {kind} of {path}: {status}");
                for change in changes {
                    println!("    - {change}");
                }
            }
            Event::Usage {
                task,
                today,
                daily_budget,
                task_cost_usd,
                ..
            } => {
                let cost = task_cost_usd
                    .map(|c| format!(", ${c:.4}"))
                    .unwrap_or_default();
                println!(
                    "  [tokens: task {}{cost}; today {today} of {daily_budget}]",
                    task.input_tokens + task.output_tokens
                );
            }
            Event::Notice { message } => println!("  note: {message}"),
            Event::Error { message } => println!("error: {message}"),
            Event::Finished { outcome, message } => {
                println!("{}: {message}", outcome.as_str())
            }
        }
        std::io::stdout().flush().ok();
    }
}

fn short_arguments(tool: &str, arguments: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(arguments).unwrap_or_default();
    let shown = match tool {
        "write_playbook" => {
            let how = if value.get("edits").is_some() {
                "edits"
            } else {
                "whole file"
            };
            format!("{} ({how})", value["path"].as_str().unwrap_or("?"))
        }
        "propose_plan" => String::new(),
        _ => arguments.to_string(),
    };
    shown.chars().take(120).collect()
}

fn print_plan(plan: &Plan) {
    println!("Plan: {}", plan.summary);
    for (index, step) in plan.steps.iter().enumerate() {
        println!("  {}. {step}", index + 1);
    }
    if !plan.integrations.is_empty() {
        println!("Integration profiles: {}", plan.integrations.join(", "));
    }
    for missing in &plan.missing_profiles {
        println!(
            "  missing profile: {missing}: create integrations/{}.toml (or \"Create integration profile\" in the editor) and set its secrets outside the workspace",
            riposte_core::formats::profile::profile_file_stem(missing)
        );
    }
    println!("```mermaid\n{}\n```", plan.mermaid.trim_end());
}

impl Frontend for Terminal {
    fn event(&self, event: &Event) {
        match self.format {
            GenerateFormat::Json => {
                if let Ok(line) = serde_json::to_string(event) {
                    println!("{line}");
                }
            }
            GenerateFormat::Text => self.print(event),
        }
    }

    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, Decision> {
        Box::pin(async move {
            if !self.interactive {
                let reason = if request.category == Category::RealRun {
                    "a real run needs a person's approval, and this run is non-interactive"
                        .to_string()
                } else {
                    format!(
                        "no one can approve this in a non-interactive run (pass --auto-approve {} to allow it)",
                        request.category.as_str()
                    )
                };
                return Decision::Reject {
                    reason: Some(reason),
                };
            }
            eprintln!("\n{}\n{}", request.summary, request.detail);
            match self.ask_line("Approve? [y/N, or say why not] ").await {
                Some(answer) if matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes") => {
                    Decision::Approve
                }
                Some(answer)
                    if !answer.is_empty()
                        && !matches!(answer.to_ascii_lowercase().as_str(), "n" | "no") =>
                {
                    Decision::Reject {
                        reason: Some(answer),
                    }
                }
                _ => Decision::Reject { reason: None },
            }
        })
    }

    fn answer<'a>(&'a self, question: &'a Question) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            if !self.interactive {
                return None;
            }
            eprintln!("\n{}", question.text);
            for (index, choice) in question.choices.iter().enumerate() {
                eprintln!("  {}. {choice}", index + 1);
            }
            let answer = self.ask_line("> ").await?;
            let picked = answer
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| question.choices.get(i).cloned());
            Some(picked.unwrap_or(answer)).filter(|a| !a.is_empty())
        })
    }

    fn switch_to_act<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            if !self.interactive || !std::io::stdin().is_terminal() {
                return false;
            }
            self.ask_line("Switch to Act mode and write this playbook? [y/N] ")
                .await
                .is_some_and(|a| matches!(a.to_ascii_lowercase().as_str(), "y" | "yes"))
        })
    }
}

/// One prompt's result in `riposte eval`.
#[derive(serde::Serialize)]
struct EvalRow {
    prompt: String,
    outcome: Outcome,
    clean_on_first_write: Option<bool>,
    passes_check: Option<bool>,
    turns: u32,
    tokens: u64,
    cost_usd: Option<f64>,
    dry_run_passed: Option<bool>,
    message: String,
}

pub fn eval(args: &EvalArgs) -> anyhow::Result<u8> {
    let mut prompts: Vec<PathBuf> = std::fs::read_dir(&args.prompts)
        .with_context(|| {
            format!(
                "cannot read the seed prompts in {} (run from the repository root, or pass --prompts DIR)",
                args.prompts.display()
            )
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .filter(|path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            name.as_deref() != Some("README.md")
                && args
                    .only
                    .as_deref()
                    .is_none_or(|only| name.is_some_and(|n| n.contains(only)))
        })
        .collect();
    prompts.sort();
    if prompts.is_empty() {
        bail!("no prompts (*.md) in {}", args.prompts.display());
    }
    if !args.workspace.join("riposte.toml").is_file() {
        bail!(
            "{} is not a workspace (no riposte.toml); pass --workspace DIR",
            args.workspace.display()
        );
    }
    let Model {
        provider,
        key,
        name: model,
    } = match provider_from(&args.model) {
        Ok(found) => found,
        Err(message) => {
            eprintln!("riposte: {message}");
            return Ok(exit::USAGE);
        }
    };
    let mut rows = Vec::new();
    for path in &prompts {
        let name = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prompt = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let copy = TempCopy::of(&args.workspace)?;
        let config = task_config(
            copy.path(),
            &model,
            Mode::Act,
            "edit,test".parse()?,
            &args.model,
            key.as_ref(),
        )?;
        if args.format == GenerateFormat::Text {
            eprintln!("eval: {name}…");
        }
        let report = riposte_agent::run_task_blocking(
            provider.as_ref(),
            &Quiet,
            config,
            &prompt,
            &Controls::new(),
        )
        .context("cannot start the agent")?;
        rows.push(EvalRow {
            prompt: name,
            outcome: report.outcome,
            clean_on_first_write: report.first_write_clean,
            passes_check: report.passes_check,
            turns: report.turns,
            tokens: report.usage.input_tokens + report.usage.output_tokens,
            cost_usd: report.cost_usd,
            dry_run_passed: report.dry_run_passed,
            message: report
                .message
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        });
        if report.key_refused {
            eprintln!("riposte: {}", report.message);
            return Ok(exit::USAGE);
        }
    }
    match args.format {
        GenerateFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        GenerateFormat::Text => print!("{}", eval_table(&rows)),
    }
    let all_good = rows
        .iter()
        .all(|row| row.outcome == Outcome::Completed && row.dry_run_passed == Some(true));
    Ok(if all_good { exit::CLEAN } else { PROBLEMS_LEFT })
}

fn eval_table(rows: &[EvalRow]) -> String {
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    let width = rows
        .iter()
        .map(|r| r.prompt.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!(
        "{:<width$}  {:<16}  {:>11}  {:>5}  {:>5}  {:>9}  {:>7}\n",
        "prompt", "outcome", "first clean", "check", "turns", "tokens", "dry run"
    );
    for row in rows {
        out.push_str(&format!(
            "{:<width$}  {:<16}  {:>11}  {:>5}  {:>5}  {:>9}  {:>7}\n",
            row.prompt,
            row.outcome.as_str(),
            yes_no(row.clean_on_first_write),
            yes_no(row.passes_check),
            row.turns,
            row.tokens,
            yes_no(row.dry_run_passed)
        ));
    }
    let passed = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Completed && r.dry_run_passed == Some(true))
        .count();
    out.push_str(&format!(
        "{passed} of {} prompts completed with a passing dry run\n",
        rows.len()
    ));
    out
}

/// A front end for eval: nothing shown, nothing asked (auto-approve covers edits and tests).
struct Quiet;

impl Frontend for Quiet {
    fn event(&self, _event: &Event) {}
    fn approve<'a>(&'a self, _request: &'a ApprovalRequest) -> BoxFuture<'a, Decision> {
        Box::pin(async {
            Decision::Reject {
                reason: Some("eval runs are non-interactive".into()),
            }
        })
    }
    fn answer<'a>(&'a self, _question: &'a Question) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { None })
    }
    fn switch_to_act<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, bool> {
        Box::pin(async { false })
    }
}

/// A temporary copy of a workspace, removed when dropped.
struct TempCopy(PathBuf);

impl TempCopy {
    fn of(source: &Path) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let target =
            std::env::temp_dir().join(format!("riposte-eval-{}-{nanos}", std::process::id()));
        copy_dir(source, &target)
            .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
        Ok(Self(target))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(source: &Path, target: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(target)?;
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let to = target.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != ".riposte" {
                copy_dir(&entry.path(), &to)?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome, passes_check: Option<bool>, key_refused: bool) -> TaskReport {
        TaskReport {
            task_id: "t".into(),
            outcome,
            message: String::new(),
            turns: 1,
            usage: Default::default(),
            cost_usd: None,
            playbook: None,
            first_write_clean: None,
            passes_check,
            dry_run_passed: None,
            key_refused,
            transcript: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        assert_eq!(exit_code(&report(Outcome::Completed, Some(true), false)), 0);
        assert_eq!(exit_code(&report(Outcome::PlanReady, None, false)), 0);
        assert_eq!(
            exit_code(&report(Outcome::Completed, Some(false), false)),
            1
        );
        for outcome in [
            Outcome::ProblemsLeft,
            Outcome::StepLimit,
            Outcome::Stuck,
            Outcome::BudgetExhausted,
            Outcome::Cancelled,
            Outcome::ProviderFailed,
        ] {
            assert_eq!(exit_code(&report(outcome, None, false)), 1, "{outcome:?}");
        }
        assert_eq!(exit_code(&report(Outcome::ProviderFailed, None, true)), 2);
        assert_eq!(exit_code(&report(Outcome::Unanswered, None, false)), 2);
    }

    #[test]
    fn the_eval_table_has_a_row_per_prompt_and_a_total() {
        let row = |prompt: &str, outcome, dry| EvalRow {
            prompt: prompt.into(),
            outcome,
            clean_on_first_write: Some(false),
            passes_check: Some(true),
            turns: 9,
            tokens: 61234,
            cost_usd: None,
            dry_run_passed: dry,
            message: String::new(),
        };
        let table = eval_table(&[
            row("vt-url-comment", Outcome::Completed, Some(true)),
            row("jira-issue-retry", Outcome::Stuck, None),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("prompt") && lines[0].contains("first clean"));
        assert!(
            lines[1].contains("vt-url-comment")
                && lines[1].contains("completed")
                && lines[1].contains("61234")
        );
        assert!(lines[2].contains("stuck"));
        assert_eq!(lines[3], "1 of 2 prompts completed with a passing dry run");
    }
}
