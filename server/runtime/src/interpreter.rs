//! Finding the CPython that runs playbooks: `python.executable` from `riposte.toml`, else `python3`
//! on PATH, resolved once to the real binary (`sys.executable`) so that runs skip launchers such as
//! pyenv's shims (about 100 ms each), and cached for the life of the process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

/// The oldest Python the SDK supports.
pub const MIN_VERSION: (u32, u32) = (3, 10);

/// A resolved interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// The real executable (symlinks resolved): what runs are started with.
    pub executable: PathBuf,
    /// `3.11.7`.
    pub version: String,
    pub version_info: (u32, u32, u32),
    /// `sys.prefix`, `sys.base_prefix`, `sys.exec_prefix`, `sys.base_exec_prefix`, deduplicated:
    /// the standard library and its extension modules live under these.
    pub prefixes: Vec<PathBuf>,
    /// `sys.path` entries of an isolated interpreter that exist (the standard library).
    pub stdlib_paths: Vec<PathBuf>,
    /// What was asked for: the configured path or `python3`.
    pub requested: String,
    /// Whether the requested command was not the interpreter itself (a shim or a wrapper script).
    pub via_launcher: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpreterError {
    #[error(
        "no `{0}` on PATH: install CPython {min_major}.{min_minor} or newer, or set `python.executable` in riposte.toml",
        min_major = MIN_VERSION.0,
        min_minor = MIN_VERSION.1
    )]
    NotFound(String),
    #[error("cannot start `{command}`: {message}")]
    Start { command: String, message: String },
    #[error("`{command}` did not describe itself as CPython does: {message}")]
    Probe { command: String, message: String },
    #[error(
        "`{command}` is Python {version}; playbooks need CPython {}.{} or newer (set `python.executable` in riposte.toml)",
        MIN_VERSION.0,
        MIN_VERSION.1
    )]
    TooOld { command: String, version: String },
    #[error(
        "`{command}` is {implementation}, not CPython; set `python.executable` in riposte.toml"
    )]
    NotCPython {
        command: String,
        implementation: String,
    },
}

/// What the probe prints.
#[derive(Deserialize)]
struct Probe {
    executable: String,
    version: (u32, u32, u32),
    implementation: String,
    prefixes: Vec<String>,
    path: Vec<String>,
}

const PROBE: &str = r#"import json, os, sys
print(json.dumps({
    "executable": os.path.realpath(sys.executable),
    "version": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "prefixes": [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],
    "path": [p for p in sys.path if p],
}))"#;

static CACHE: OnceLock<Mutex<HashMap<String, Interpreter>>> = OnceLock::new();

/// The interpreter for `configured` (`python.executable`), or `python3` on PATH; probed once per
/// process and per command.
pub fn resolve(configured: Option<&str>) -> Result<Interpreter, InterpreterError> {
    let requested = configured.unwrap_or("python3").to_string();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&requested).cloned()) {
        return Ok(found);
    }
    let interpreter = probe(&requested)?;
    if let Ok(mut cache) = cache.lock() {
        cache.insert(requested, interpreter.clone());
    }
    Ok(interpreter)
}

fn probe(requested: &str) -> Result<Interpreter, InterpreterError> {
    let command_path = if requested.contains('/') {
        PathBuf::from(requested)
    } else {
        find_on_path(requested).ok_or_else(|| InterpreterError::NotFound(requested.to_string()))?
    };
    let output = Command::new(&command_path)
        .args(["-I", "-S", "-c", PROBE])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| InterpreterError::Start {
            command: requested.to_string(),
            message: err.to_string(),
        })?;
    let probe_error = |message: String| InterpreterError::Probe {
        command: requested.to_string(),
        message,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(probe_error(format!(
            "it exited with {} ({last})",
            output.status
        )));
    }
    let probe: Probe = serde_json::from_slice(&output.stdout)
        .map_err(|err| probe_error(format!("unexpected output ({err})")))?;
    let version = format!(
        "{}.{}.{}",
        probe.version.0, probe.version.1, probe.version.2
    );
    if probe.implementation != "cpython" {
        return Err(InterpreterError::NotCPython {
            command: requested.to_string(),
            implementation: probe.implementation,
        });
    }
    if (probe.version.0, probe.version.1) < MIN_VERSION {
        return Err(InterpreterError::TooOld {
            command: requested.to_string(),
            version,
        });
    }
    let executable = PathBuf::from(&probe.executable);
    let via_launcher = std::fs::canonicalize(&command_path).ok().as_ref() != Some(&executable);
    let mut prefixes: Vec<PathBuf> = Vec::new();
    for prefix in probe.prefixes {
        let prefix = PathBuf::from(prefix);
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    let stdlib_paths = probe
        .path
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    Ok(Interpreter {
        executable,
        version,
        version_info: probe.version,
        prefixes,
        stdlib_paths,
        requested: requested.to_string(),
        via_launcher,
    })
}

/// The first executable file called `name` in the host's PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
