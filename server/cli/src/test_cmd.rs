//! `riposte test PLAYBOOK (--alert FILE | --alert-id ID) …`: run a playbook against an alert in
//! the sandboxed runtime and print its record; and `riposte doctor`, which protections a run gets
//! on this machine. The work is `riposte_runtime`'s; this is arguments, confirmation and output.
//!
//! Exit codes of `riposte test`: 0 the run succeeded; 1 it ran and did not succeed (failed,
//! timeout, memory, killed, blocked by the sandbox, bridge or output error); 2 bad usage or input
//! (unreadable alert, missing secret, a real run not confirmed); 3 validation found errors, so the
//! playbook did not run.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use riposte_runtime::record::BlockedBy;
use riposte_runtime::{
    AlertInput, IntegrationsSender, Progress, ProgressSink, RunRecord, RunRequest, Status,
    headless_secrets,
};
use riposte_workspace::{FileReport, LoadedWorkspace};

use crate::check::{Report, load_workspace_for};
use crate::exit;
use crate::output;

/// The run ended other than `succeeded`.
pub const RUN_FAILED: u8 = 1;
/// Validation found error-level diagnostics: the playbook did not run.
pub const BLOCKED: u8 = 3;

#[derive(Args)]
pub struct TestArgs {
    /// The playbook to run (`playbooks/<name>.py`).
    #[arg(value_name = "PLAYBOOK")]
    pub playbook: PathBuf,
    /// A saved alert: one Microsoft Graph `security/alerts_v2` alert or Sentinel `SecurityAlert`
    /// row, as JSON.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "alert_id",
        conflicts_with = "alert_id"
    )]
    pub alert: Option<PathBuf>,
    /// Fetch the alert by id through a Graph profile; comments and alert updates then go back to
    /// Graph.
    #[arg(long, value_name = "ID")]
    pub alert_id: Option<String>,
    /// The Graph profile for `--alert-id` [default: "Microsoft Graph"].
    #[arg(long, value_name = "PROFILE", requires = "alert_id")]
    pub alert_source: Option<String>,
    /// The workspace (the folder with `riposte.toml`); found from the playbook by default.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Plan every request that changes something, every comment and alert update, instead of
    /// making them; reads are sent. Prints the changes the real run would make.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Confirm a real run without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// The run's time limit in seconds [default: `limits.run_timeout_secs` from riposte.toml].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
    /// A TOML file of secrets (`["<profile name>"]` tables), mode 0600, outside the workspace;
    /// `RIPOSTE_<PROFILE>_<FIELD>` environment variables are read first.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// A summary for people, with a progress line on a terminal.
    Text,
    /// The whole run record.
    Json,
}

#[derive(Args)]
pub struct DoctorArgs {
    /// The workspace whose `riposte.toml` settings apply (interpreter, limits); `.` by default.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,
}

pub fn run(args: &TestArgs) -> anyhow::Result<u8> {
    if !args.playbook.is_file() {
        bail!("{} is not a file", args.playbook.display());
    }
    let loaded = match &args.workspace {
        Some(dir) => riposte_workspace::load(dir)
            .with_context(|| format!("cannot load the workspace {}", dir.display()))?,
        None => load_workspace_for(&args.playbook)?,
    };
    let timeout = match args.timeout {
        None => None,
        Some(secs) if secs > 0.0 && secs.is_finite() => Some(Duration::from_secs_f64(secs)),
        Some(secs) => bail!("--timeout {secs} is not a positive number of seconds"),
    };
    let alert = match (&args.alert, &args.alert_id) {
        (Some(file), _) => AlertInput::File(file.clone()),
        (None, Some(id)) => AlertInput::Graph {
            profile: args.alert_source.clone(),
            id: id.clone(),
        },
        (None, None) => bail!("give the alert: --alert FILE or --alert-id ID"),
    };

    if !args.dry_run && !args.yes && !confirm(args, &loaded)? {
        eprintln!("riposte: not confirmed; nothing was run");
        return Ok(exit::USAGE);
    }

    let secrets =
        headless_secrets(args.secrets.as_deref(), &loaded.root).map_err(anyhow::Error::msg)?;
    let sender = IntegrationsSender::from_workspace(&loaded.workspace, secrets)
        .map_err(anyhow::Error::msg)?;
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let display_path = display(&args.playbook, &cwd);

    let live = args.format == RunFormat::Text && std::io::stderr().is_terminal();
    let progress: Option<ProgressSink> = live.then(|| Arc::new(show_progress) as ProgressSink);
    let workspace = Arc::new(loaded);
    let request = RunRequest {
        playbook: args.playbook.clone(),
        source: None,
        display_path: Some(display_path.clone()),
        workspace: Arc::clone(&workspace),
        alert,
        dry_run: args.dry_run,
        timeout,
        sender: Arc::new(sender),
        progress,
        cancel: None,
    };
    let outcome = riposte_runtime::run_playbook_blocking(request);
    if live {
        eprint!("\r\x1b[2K");
    }
    let record = outcome.map_err(anyhow::Error::msg)?;

    match args.format {
        RunFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&record)?);
        }
        RunFormat::Text => print!("{}", render(&record, &args.playbook, &display_path)),
    }
    Ok(exit_code(&record))
}

/// The exit code a record makes.
pub fn exit_code(record: &RunRecord) -> u8 {
    match (record.status, record.blocked_by) {
        (Status::Succeeded, _) => exit::CLEAN,
        (Status::Blocked, Some(BlockedBy::Validation)) => BLOCKED,
        _ => RUN_FAILED,
    }
}

fn render(record: &RunRecord, playbook: &Path, display_path: &str) -> String {
    match &record.validation {
        // Diagnostics look exactly as `riposte check` prints them.
        Some(validation) => {
            let report = Report {
                display_path: display_path.to_string(),
                file: FileReport {
                    path: playbook.to_path_buf(),
                    source: validation.source.clone(),
                    diagnostics: validation.diagnostics.clone(),
                },
            };
            format!(
                "{}\n{}\n",
                output::text::render(&[report]),
                riposte_runtime::report::closing_line(record)
            )
        }
        None => riposte_runtime::report::render_text(record),
    }
}

/// Asks on a terminal whether to make a real run; refuses without one.
fn confirm(args: &TestArgs, loaded: &LoadedWorkspace) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "a real run sends the requests that change data, comments and updates the alert: pass --yes to confirm it, or --dry-run to see what it would change first"
        );
    }
    let mut prompt = format!(
        "This is a real run of {}: requests that change data are sent",
        args.playbook.display()
    );
    prompt.push_str(if args.alert_id.is_some() {
        ", and comments and alert updates go to the alert in Graph.\n"
    } else {
        ".\n"
    });
    if let Ok(bytes) = std::fs::read(&args.playbook) {
        let source = riposte_core::SourceFile::new(String::from_utf8_lossy(&bytes).into_owned());
        let name = args
            .playbook
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Ok(outline) = riposte_core::docs::outline(&name, &source, &loaded.workspace)
            && !outline.changes.is_empty()
        {
            prompt.push_str("Changes its code can make:\n");
            for change in &outline.changes {
                let what = match &change.kind {
                    riposte_core::docs::ChangeKind::Comment { text } => {
                        format!("comment \"{text}\"")
                    }
                    riposte_core::docs::ChangeKind::UpdateAlert { fields } => format!(
                        "update the alert: {}",
                        fields
                            .iter()
                            .map(|(name, value)| format!("{name}={value}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    riposte_core::docs::ChangeKind::Request {
                        profile, request, ..
                    } => format!("{request} ({profile})"),
                };
                prompt.push_str(&format!("  line {}: {what}\n", change.line));
            }
        }
    }
    prompt.push_str("Run it? [y/N] ");
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn show_progress(progress: &Progress) {
    let step = progress
        .step
        .as_deref()
        .map(|s| format!(" · {}", s.chars().take(40).collect::<String>()))
        .unwrap_or_default();
    let planned = if progress.planned > 0 {
        format!(" ({} planned)", progress.planned)
    } else {
        String::new()
    };
    eprint!(
        "\r\x1b[2Krunning… {:.1} s · {} request{}{planned}{step}",
        progress.elapsed.as_secs_f64(),
        progress.requests,
        if progress.requests == 1 { "" } else { "s" }
    );
    std::io::stderr().flush().ok();
}

pub fn doctor(args: &DoctorArgs) -> anyhow::Result<u8> {
    let start = args.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let root = riposte_workspace::find_root(&start).unwrap_or(start);
    let loaded = riposte_workspace::load(&root)?;
    let report = riposte_runtime::doctor::doctor_blocking(&loaded.workspace.config, &root);
    match args.format {
        RunFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        RunFormat::Text => print!("{}", report.render()),
    }
    Ok(if report.all_active() {
        exit::CLEAN
    } else {
        RUN_FAILED
    })
}

fn display(path: &Path, cwd: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let shown = absolute.strip_prefix(cwd).unwrap_or(path);
    shown.to_string_lossy().replace('\\', "/")
}
