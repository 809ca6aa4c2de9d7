//! `riposte deploy` and `riposte runs`: clients of a running engine (`riposte serve`), through
//! `riposte_engine_client`. Also where every engine command finds the engine: `--engine URL`,
//! then `RIPOSTE_ENGINE_URL`, then `[engine] url` in `riposte.toml`, then the default; and its
//! token: `--token-file FILE`, then `RIPOSTE_ENGINE_TOKEN` — never the workspace.
//!
//! Exit codes: 0 done; 1 the engine refused (a playbook with errors, a limit, an unknown name) or
//! local validation found errors; 2 bad usage, an unreachable engine or a refused token.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use riposte_core::{Severity, check_playbook_bytes};
use riposte_engine_client::client::{
    BlockingClient, ClientError, DEFAULT_URL, EngineTarget, RunQuery, TOKEN_ENV, Token, URL_ENV,
};
use riposte_engine_client::wire::{RunDetail, RunState, RunSummary, SavePlaybook};
use riposte_workspace::FileReport;

use crate::check::{Report, load_workspace_for};
use crate::{exit, output};

/// How to reach the engine; flattened into every command that talks to it.
#[derive(Args, Clone, Default)]
pub struct EngineArgs {
    /// The engine's URL [default: $RIPOSTE_ENGINE_URL, then `[engine] url` in riposte.toml, then
    /// http://127.0.0.1:7878].
    #[arg(long = "engine", value_name = "URL")]
    pub engine: Option<String>,
    /// A file holding the engine's bearer token (only its owner may read it, and it must lie
    /// outside the workspace) [default: $RIPOSTE_ENGINE_TOKEN].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A table for people.
    #[default]
    Text,
    /// The engine's JSON, for scripts.
    Json,
}

#[derive(Args)]
pub struct DeployArgs {
    /// Playbooks to save (`playbooks/<name>.py`); each is validated here first and refused with
    /// its diagnostics when it has errors. Defaults to every playbook of the workspace.
    #[arg(value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// After saving, activate the new version: the automation rules that name it then run it on
    /// matching alerts, for real.
    #[arg(long, conflicts_with = "deactivate")]
    pub activate: bool,
    /// Deactivate the playbooks on the engine (nothing is saved).
    #[arg(long)]
    pub deactivate: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Args)]
pub struct RunsArgs {
    /// Show this run with its record instead of a list.
    #[arg(value_name = "RUN_ID", conflicts_with_all = ["alert", "playbook", "follow"])]
    pub run: Option<String>,
    /// Only the runs for this alert id.
    #[arg(long, value_name = "ID")]
    pub alert: Option<String>,
    /// Only the runs of this playbook.
    #[arg(long, value_name = "NAME")]
    pub playbook: Option<String>,
    /// How many of the latest runs to list.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Keep watching: print each new run, and each run whose status changes, until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// The engine a command talks to, resolved from the flags, the environment and `riposte.toml`
/// (of the workspace at or above `near`, usually the current folder).
pub fn connect(args: &EngineArgs, near: &Path) -> anyhow::Result<BlockingClient> {
    let target = resolve_target(args, near, &|name| std::env::var(name).ok())?;
    Ok(BlockingClient::new(&target)?)
}

/// [`connect`]'s decision, with the environment passed in (so it can be tested).
fn resolve_target(
    args: &EngineArgs,
    near: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<EngineTarget> {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let url = match non_empty(args.engine.clone()).or_else(|| non_empty(env(URL_ENV))) {
        Some(url) => url,
        None => configured_url(near)?.unwrap_or_else(|| DEFAULT_URL.to_string()),
    };
    let token = match &args.token_file {
        Some(path) => Some(read_token_file(path, near)?),
        None => env(TOKEN_ENV).and_then(Token::new),
    };
    Ok(EngineTarget::new(&url, token))
}

/// `[engine] url` of the workspace at or above `near`, if any.
fn configured_url(near: &Path) -> anyhow::Result<Option<String>> {
    let start = std::fs::canonicalize(near).unwrap_or_else(|_| near.to_path_buf());
    let Some(root) = riposte_workspace::find_root(&start) else {
        return Ok(None);
    };
    let path = root.join(riposte_workspace::CONFIG_FILE);
    let bytes = riposte_workspace::read_bytes(&path)?;
    let text = String::from_utf8_lossy(&bytes);
    let config = riposte_workspace::parse_config(&path, &text)?;
    Ok(config.engine.url.filter(|url| !url.trim().is_empty()))
}

/// Largest token file read: a token is a line.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// The token in `path`: refused unless only its owner can read it and it lies outside the
/// workspace (a token in the workspace ends up committed).
fn read_token_file(path: &Path, near: &Path) -> anyhow::Result<Token> {
    let shown = path.display();
    let canonical = std::fs::canonicalize(path)
        .with_context(|| format!("cannot read the token file {shown}"))?;
    let metadata = std::fs::metadata(&canonical)
        .with_context(|| format!("cannot read the token file {shown}"))?;
    if !metadata.is_file() {
        bail!("the token file {shown} is not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the token file {shown} can be read by others (mode {mode:03o}); `chmod 600 {shown}` first"
            );
        }
    }
    let start = std::fs::canonicalize(near).unwrap_or_else(|_| near.to_path_buf());
    if let Some(root) = riposte_workspace::find_root(&start)
        && canonical.starts_with(&root)
    {
        bail!(
            "the token file {shown} is inside the workspace {}; keep tokens outside it (or use {TOKEN_ENV})",
            root.display()
        );
    }
    if metadata.len() > MAX_TOKEN_FILE_BYTES {
        bail!(
            "the token file {shown} is larger than a token ({} bytes)",
            metadata.len()
        );
    }
    let text = std::fs::read_to_string(&canonical)
        .with_context(|| format!("cannot read the token file {shown} as UTF-8 text"))?;
    Token::new(text).with_context(|| format!("the token file {shown} is empty"))
}

/// The exit code and message for a failed call: 2 when the engine could not be reached or refused
/// the token, 1 when it refused the request itself.
pub fn report_error(err: &ClientError) -> u8 {
    eprintln!("riposte: error: {err}");
    if err.is_refusal() {
        exit::FINDINGS
    } else {
        exit::USAGE
    }
}

/// Prints what the engine found when it refused (a `validation_failed` answer's diagnostics).
pub fn print_engine_diagnostics(what: &str, err: &ClientError) {
    for d in err.diagnostics() {
        eprintln!(
            "{what}:{}:{}: {} {}: {}",
            d.line, d.column, d.code, d.severity, d.message
        );
    }
}

/// A client error as the command's outcome: a refusal is this item's failure (exit 1, go on with
/// the next), anything else (unreachable, token refused, engine failure) stops the command.
fn refusal_or_stop(what: &str, err: ClientError) -> anyhow::Result<()> {
    if err.is_refusal() {
        eprintln!("riposte: {what}: {err}");
        print_engine_diagnostics(what, &err);
        Ok(())
    } else {
        Err(err.into())
    }
}

pub fn deploy(args: &DeployArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let playbooks = if args.playbooks.is_empty() {
        let loaded = load_workspace_for(&cwd)?;
        if !loaded.has_config {
            bail!(
                "no riposte.toml at or above {}: name the playbooks to deploy, or run this in a workspace",
                cwd.display()
            );
        }
        if loaded.playbooks.is_empty() {
            bail!(
                "the workspace {} has no playbooks/*.py",
                loaded.root.display()
            );
        }
        loaded.playbooks.clone()
    } else {
        args.playbooks.clone()
    };
    let near = playbooks
        .first()
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| cwd.clone(), Path::to_path_buf);
    let engine = connect(&args.engine, &near)?;
    let client = engine.client();
    let mut failed = 0;
    let mut results = Vec::new();
    for playbook in &playbooks {
        let name = playbook_name(playbook)?;
        if args.deactivate {
            match engine.block_on(client.deactivate(&name)) {
                Ok(summary) => {
                    if args.format == Format::Text {
                        println!(
                            "{name}: deactivated on {} (rules that name it queue nothing)",
                            client.url()
                        );
                    }
                    results.push(serde_json::json!({"playbook": name, "state": "inactive", "summary": summary}));
                }
                Err(err) => {
                    failed += 1;
                    refusal_or_stop(&name, err)?;
                    results.push(serde_json::json!({"playbook": name, "state": "refused"}));
                }
            }
            continue;
        }
        let Some(prepared) = prepare(playbook, &name, &cwd)? else {
            failed += 1;
            results.push(serde_json::json!({"playbook": name, "state": "invalid"}));
            continue;
        };
        let saved = match engine.block_on(client.save_playbook(&name, &prepared)) {
            Ok(saved) => saved,
            Err(err) => {
                failed += 1;
                refusal_or_stop(&name, err)?;
                results.push(serde_json::json!({"playbook": name, "state": "refused"}));
                continue;
            }
        };
        let version = saved.summary.version;
        let mut state = "disabled";
        if args.activate {
            match engine.block_on(client.activate(&name, version)) {
                Ok(_) => state = "active",
                Err(err) => {
                    failed += 1;
                    refusal_or_stop(&format!("{name} v{version}"), err)?;
                    state = "saved, not activated";
                }
            }
        }
        if args.format == Format::Text {
            let note = match state {
                "disabled" => " — `riposte deploy --activate` turns it on",
                "active" => " — rules that name it now run it on matching alerts",
                _ => "",
            };
            println!(
                "{name}: saved as version {version} on {} ({state}){note}",
                client.url()
            );
        }
        results.push(serde_json::json!({
            "playbook": name,
            "version": version,
            "state": state,
            "warnings": saved.summary.warnings,
        }));
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(if failed > 0 {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// The playbook's name on the engine: its file stem.
fn playbook_name(path: &Path) -> anyhow::Result<String> {
    if path.extension().is_none_or(|e| e != "py") {
        bail!("{} is not a Python playbook (a `.py` file)", path.display());
    }
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_string)
        .with_context(|| format!("{}: the file name is not valid UTF-8", path.display()))
}

/// The body to save, after the same checks `riposte check` makes: `None` (diagnostics printed)
/// when the playbook has error-level findings, which the engine would never activate.
fn prepare(path: &Path, name: &str, cwd: &Path) -> anyhow::Result<Option<SavePlaybook>> {
    if !path.is_file() {
        bail!("{} does not exist or is not a file", path.display());
    }
    let loaded = load_workspace_for(&cwd.join(path))?;
    let bytes = riposte_workspace::read_bytes(path)?;
    let (source, diagnostics) = check_playbook_bytes(&bytes, &loaded.workspace);
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    if has_errors {
        let shown = path.strip_prefix(cwd).unwrap_or(path);
        let report = Report {
            display_path: shown.to_string_lossy().replace('\\', "/"),
            file: FileReport {
                path: path.to_path_buf(),
                source,
                diagnostics,
            },
        };
        eprint!("{}", output::text::render(&[report]));
        eprintln!(
            "riposte: {name}: not saved: fix the errors above first (`riposte check` shows them too)"
        );
        return Ok(None);
    }
    let docs = riposte_core::docs::render(name, &source, &loaded.workspace)
        .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(Some(SavePlaybook {
        source: source.text().to_string(),
        docs: Some(docs),
    }))
}

pub fn runs(args: &RunsArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let engine = connect(&args.engine, &cwd)?;
    let client = engine.client();
    if let Some(id) = &args.run {
        let id: i64 = id.trim().parse().map_err(|_| {
            anyhow::anyhow!("`{id}` is not a run id (a number, as `riposte runs` lists them)")
        })?;
        let run = match engine.block_on(client.run(id)) {
            Ok(run) => run,
            Err(err) => return Ok(report_error(&err)),
        };
        match args.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&run)?),
            Format::Text => print!("{}", describe_run(&run)),
        }
        return Ok(exit::CLEAN);
    }
    let query = RunQuery {
        limit: Some(args.limit),
        state: None,
        alert: args.alert.clone(),
        playbook: args.playbook.clone(),
    };
    let fetch = || -> Result<Vec<RunSummary>, ClientError> {
        Ok(engine.block_on(client.list_runs(&query))?.runs)
    };
    let runs = match fetch() {
        Ok(runs) => runs,
        Err(err) => return Ok(report_error(&err)),
    };
    if !args.follow {
        match args.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&runs)?),
            Format::Text => print!("{}", runs_table(&runs)),
        }
        return Ok(exit::CLEAN);
    }
    follow(args.format, runs, &fetch)
}

/// How often `--follow` asks for new runs.
const FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Prints the runs it has (oldest first), then every new run and every change of state, one line
/// (or one JSON object) each, until interrupted. A lost engine is reported once and retried.
fn follow(
    format: Format,
    initial: Vec<RunSummary>,
    fetch: &dyn Fn() -> Result<Vec<RunSummary>, ClientError>,
) -> anyhow::Result<u8> {
    use std::collections::HashMap;
    use std::io::Write as _;
    let mut seen: HashMap<i64, RunState> = HashMap::new();
    let print = |run: &RunSummary| -> anyhow::Result<()> {
        let line = match format {
            Format::Json => serde_json::to_string(run)?,
            Format::Text => run_line(run),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    };
    if format == Format::Text {
        println!("{}", table_header());
    }
    for run in initial.iter().rev() {
        seen.insert(run.id, run.state);
        print(run)?;
    }
    let mut lost = false;
    loop {
        std::thread::sleep(FOLLOW_INTERVAL);
        match fetch() {
            Ok(runs) => {
                if lost {
                    eprintln!("riposte: the engine answers again");
                    lost = false;
                }
                for run in runs.iter().rev() {
                    if seen.insert(run.id, run.state) != Some(run.state) {
                        print(run)?;
                    }
                }
            }
            Err(err) if err.is_refusal() || err.status().is_some() => {
                return Ok(report_error(&err));
            }
            Err(err) => {
                if !lost {
                    eprintln!(
                        "riposte: {err}; retrying every {} s",
                        FOLLOW_INTERVAL.as_secs()
                    );
                    lost = true;
                }
            }
        }
    }
}

fn table_header() -> String {
    format!(
        "{:>6}  {:<9}  {:<12}  {:<28}  {:<38}  {:<20}  {}",
        "RUN", "STATE", "STATUS", "PLAYBOOK", "ALERT", "QUEUED", "RULE"
    )
}

fn run_line(run: &RunSummary) -> String {
    let playbook = match run.playbook_version {
        Some(v) => format!("{} v{v}", run.playbook),
        None => run.playbook.clone(),
    };
    format!(
        "{:>6}  {:<9}  {:<12}  {:<28}  {:<38}  {:<20}  {}",
        run.id,
        state_name(run.state),
        run.status.as_deref().unwrap_or("-"),
        playbook,
        run.alert_id,
        run.queued_at.get(..19).unwrap_or(&run.queued_at),
        run.rule,
    )
}

fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
    }
}

fn runs_table(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs yet: a run is queued when an alert matches an enabled rule whose playbook is active\n".to_string();
    }
    let mut text = table_header();
    text.push('\n');
    for run in runs {
        text.push_str(&run_line(run));
        text.push('\n');
    }
    text
}

/// One run for people: what ran on what, how it ended, and the record's comments, updates and
/// error.
fn describe_run(run: &RunDetail) -> String {
    use std::fmt::Write as _;
    let s = &run.summary;
    let mut text = String::new();
    let _ = writeln!(text, "run {}: {}", s.id, state_name(s.state));
    let version = s
        .playbook_version
        .map(|v| format!(" v{v}"))
        .unwrap_or_default();
    let _ = writeln!(text, "  playbook  {}{version}", s.playbook);
    let _ = writeln!(text, "  alert     {}", s.alert_id);
    let _ = writeln!(text, "  rule      {}", s.rule);
    if let Some(status) = &s.status {
        let _ = writeln!(text, "  status    {status}");
    }
    let _ = writeln!(text, "  queued    {}", s.queued_at);
    if let Some(at) = &s.started_at {
        let _ = writeln!(text, "  started   {at}");
    }
    if let Some(at) = &s.finished_at {
        let _ = writeln!(text, "  finished  {at}");
    }
    let _ = writeln!(text, "  attempt   {}", s.attempt);
    if let Some(error) = &s.error {
        let _ = writeln!(text, "  error     {error}");
    }
    if let Some(record) = &run.record {
        if let Some(comments) = record.get("comments").and_then(|c| c.as_array()) {
            for comment in comments {
                // A string, or `{"text": …, "target": …, "outcome": …}`.
                let comment = comment
                    .as_str()
                    .or_else(|| comment.get("text").and_then(|t| t.as_str()))
                    .map_or_else(|| comment.to_string(), str::to_string);
                let _ = writeln!(text, "  comment   {comment}");
            }
        }
        if let Some(updates) = record.get("updates").and_then(|u| u.as_array()) {
            for update in updates {
                let _ = writeln!(text, "  update    {update}");
            }
        }
        if let Some(error) = record.get("error").filter(|e| !e.is_null()) {
            let kind = error
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("error");
            let message = error.get("message").and_then(|m| m.as_str()).unwrap_or("");
            let _ = writeln!(text, "  raised    {kind}: {message}");
        }
        let _ = writeln!(
            text,
            "  (the whole record: `riposte runs {} --format json`)",
            s.id
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_flag_wins_over_the_environment_and_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("riposte.toml"),
            "[engine]\nurl = \"http://127.0.0.1:9001\"\n",
        )
        .unwrap();
        let env = env_of(&[(URL_ENV, "http://127.0.0.1:9002"), (TOKEN_ENV, "t-fake")]);
        let flag = EngineArgs {
            engine: Some("http://127.0.0.1:9003/".into()),
            token_file: None,
        };
        let target = resolve_target(&flag, dir.path(), &env).unwrap();
        assert_eq!(target.url, "http://127.0.0.1:9003");
        assert!(target.token.is_some());

        let target = resolve_target(&EngineArgs::default(), dir.path(), &env).unwrap();
        assert_eq!(target.url, "http://127.0.0.1:9002");

        let target = resolve_target(&EngineArgs::default(), dir.path(), &env_of(&[])).unwrap();
        assert_eq!(target.url, "http://127.0.0.1:9001");
        assert!(target.token.is_none());

        let elsewhere = tempfile::tempdir().unwrap();
        let target =
            resolve_target(&EngineArgs::default(), elsewhere.path(), &env_of(&[])).unwrap();
        assert_eq!(target.url, DEFAULT_URL);
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_must_be_private_and_outside_the_workspace() {
        use std::os::unix::fs::PermissionsExt as _;
        let workspace = tempfile::tempdir().unwrap();
        std::fs::write(workspace.path().join("riposte.toml"), "").unwrap();
        let outside = tempfile::tempdir().unwrap();
        let file = outside.path().join("token");
        std::fs::write(&file, "fake-admin-token\n").unwrap();

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_token_file(&file, workspace.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let token = read_token_file(&file, workspace.path()).unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");

        let inside = workspace.path().join("token");
        std::fs::write(&inside, "fake-admin-token\n").unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = read_token_file(&inside, workspace.path()).unwrap_err();
        assert!(err.to_string().contains("inside the workspace"), "{err}");
        assert!(!err.to_string().contains("fake-admin-token"));

        let empty = outside.path().join("empty");
        std::fs::write(&empty, "  \n").unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = read_token_file(&empty, workspace.path()).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }
}
