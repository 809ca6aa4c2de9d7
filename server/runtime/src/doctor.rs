//! `riposte doctor`: which protections a run gets on this machine, found by trying. A probe runs
//! in the same sandbox as a playbook and attempts what the sandbox is meant to stop (connect to a
//! listener the host opened on loopback, read a file the host wrote outside the run's folder,
//! write to the temp folder, fork, signal the host); each line says what was attempted and what
//! happened, so the report cannot claim a protection the kernel did not give.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use riposte_core::formats::config::Config;
use serde::{Deserialize, Serialize};

use crate::child::{self, RunDir};
use crate::interpreter::{self, Interpreter};
use crate::sandbox::{Isolation, ResourceLimits};

const PROBE_SOURCE: &str = include_str!("../python/probe.py");

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub lines: Vec<Line>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub topic: &'static str,
    pub active: bool,
    pub text: String,
}

#[derive(Debug, Deserialize)]
struct ProbeResult {
    connect: String,
    unix_socket: String,
    read_outside: String,
    read_proc: String,
    write_outside: String,
    write_inside: String,
    fork: String,
    signal_parent: String,
    uid: u32,
    rlimits: std::collections::BTreeMap<String, Option<u64>>,
}

impl DoctorReport {
    pub fn all_active(&self) -> bool {
        self.lines.iter().all(|line| line.active)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let mark = if line.active { "ok " } else { "OFF" };
            out.push_str(&format!("{:<12} {mark}  {}\n", line.topic, line.text));
        }
        out
    }
}

/// Runs the probe under `config`'s settings (`root` resolves a relative `python.executable`).
pub async fn doctor(config: &Config, root: &Path) -> DoctorReport {
    let mut lines = Vec::new();
    let configured = config.python.executable.as_deref().map(|exe| {
        if exe.contains('/') && !exe.starts_with('/') {
            root.join(exe).display().to_string()
        } else {
            exe.to_string()
        }
    });
    let interpreter = match interpreter::resolve(configured.as_deref()) {
        Ok(found) => {
            lines.push(Line {
                topic: "python",
                active: true,
                text: python_text(&found),
            });
            found
        }
        Err(err) => {
            lines.push(Line {
                topic: "python",
                active: false,
                text: err.to_string(),
            });
            return DoctorReport {
                lines,
                isolation: None,
            };
        }
    };

    let timeout = config.limits.run_timeout_secs as f64;
    let limits = ResourceLimits::new(config.limits.memory_mb, timeout);
    match probe(&interpreter, limits).await {
        Ok((result, isolation, connections)) => {
            lines.extend(judge(&result, &isolation, connections, config));
            DoctorReport {
                lines,
                isolation: Some(isolation),
            }
        }
        Err(message) => {
            lines.push(Line {
                topic: "sandbox",
                active: false,
                text: format!("the probe could not run: {message}"),
            });
            DoctorReport {
                lines,
                isolation: None,
            }
        }
    }
}

/// [`doctor`] on a runtime of its own.
pub fn doctor_blocking(config: &Config, root: &Path) -> DoctorReport {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(doctor(config, root)),
        Err(err) => DoctorReport {
            lines: vec![Line {
                topic: "runtime",
                active: false,
                text: format!("cannot start the async runtime: {err}"),
            }],
            isolation: None,
        },
    }
}

fn python_text(found: &Interpreter) -> String {
    let mut text = format!(
        "CPython {} at {}",
        found.version,
        found.executable.display()
    );
    if found.via_launcher {
        text.push_str(&format!(
            " (found through `{}`, a launcher that costs a start of its own; set `python.executable = \"{}\"` in riposte.toml to skip it — riposte resolves it once per process)",
            found.requested,
            found.executable.display()
        ));
    }
    text
}

async fn probe(
    interpreter: &Interpreter,
    limits: ResourceLimits,
) -> Result<(ProbeResult, Isolation, usize), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| format!("cannot listen on loopback: {err}"))?;
    let port = listener.local_addr().map_err(|err| err.to_string())?.port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let acceptor = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    // A file outside the run's folder that the probe must not be able to read.
    let outside = tempfile::Builder::new()
        .prefix("riposte-doctor-")
        .tempdir()
        .map_err(|err| err.to_string())?;
    let secret = outside.path().join("not-for-playbooks");
    std::fs::write(&secret, "x").map_err(|err| err.to_string())?;

    let dir = RunDir::create().map_err(|err| err.to_string())?;
    let script = dir.path().join("probe.py");
    std::fs::write(&script, PROBE_SOURCE).map_err(|err| err.to_string())?;
    let args = [
        port.to_string().into(),
        secret.clone(),
        std::env::temp_dir(),
    ];
    let started = child::start(interpreter, &dir, limits, &script, &args)
        .map_err(|err| format!("cannot start {}: {err}", interpreter.executable.display()))?;
    let isolation = started.isolation;
    let mut process = started.child;
    let status = tokio::time::timeout(Duration::from_secs(20), process.wait()).await;
    crate::sandbox::kill_group(started.pid);
    if status.is_err() {
        let _ = process.wait().await;
    }
    let stdout = started.stdout.finish(Duration::from_secs(1)).await;
    let stderr = started.stderr.finish(Duration::from_secs(1)).await;
    acceptor.abort();
    let result: ProbeResult = serde_json::from_slice(&stdout.bytes).map_err(|_| {
        let words = stderr.text();
        let last = words
            .lines()
            .last()
            .unwrap_or("no output")
            .trim()
            .to_string();
        format!("it printed no report ({last})")
    })?;
    Ok((result, isolation, connections.load(Ordering::SeqCst)))
}

fn judge(
    result: &ProbeResult,
    isolation: &Isolation,
    connections: usize,
    config: &Config,
) -> Vec<Line> {
    let refused = |outcome: &str| outcome != "ok";
    let mut lines = Vec::new();

    let mut network = Vec::new();
    if isolation.network_namespace {
        network.push(if isolation.user_namespace {
            "own network namespace (inside a user namespace)".to_string()
        } else {
            "own network namespace, no interface up".to_string()
        });
    } else {
        network.push("NO network namespace (unshare refused)".to_string());
    }
    if isolation.landlock_network {
        network.push("Landlock refuses TCP connect and bind".into());
    }
    if isolation.seccomp {
        network.push("seccomp refuses non-IP sockets".into());
    }
    network.push(format!(
        "probe: connect to the host's loopback → {}, {} connection{} arrived; Unix socket → {}",
        result.connect,
        connections,
        if connections == 1 { "" } else { "s" },
        result.unix_socket
    ));
    lines.push(Line {
        topic: "network",
        active: refused(&result.connect) && connections == 0 && isolation.network_namespace,
        text: network.join("; "),
    });

    let filesystem = match isolation.landlock_abi {
        Some(abi) => format!(
            "Landlock ABI {abi}: reads limited to the interpreter, system libraries and the run's folder, writes to the run's folder; probe: read a host file → {}, read /proc → {}, write to {} → {}, write in its folder → {}",
            result.read_outside,
            result.read_proc,
            std::env::temp_dir().display(),
            result.write_outside,
            result.write_inside
        ),
        None => format!(
            "NO Landlock (kernel ABI: {}); probe: read a host file → {}, write to {} → {}",
            crate::sandbox::landlock_abi()
                .map(|abi| abi.to_string())
                .unwrap_or_else(|| "none".into()),
            result.read_outside,
            std::env::temp_dir().display(),
            result.write_outside
        ),
    };
    lines.push(Line {
        topic: "filesystem",
        active: isolation.landlock_abi.is_some()
            && refused(&result.read_outside)
            && refused(&result.write_outside)
            && !refused(&result.write_inside),
        text: filesystem,
    });

    lines.push(Line {
        topic: "processes",
        active: isolation.seccomp && refused(&result.fork),
        text: format!(
            "{}; probe: os.fork → {}; RLIMIT_NPROC is not used (it counts every thread of the user and does not bind root)",
            if isolation.seccomp {
                "seccomp refuses fork, vfork, clone without CLONE_THREAD, unshare, setns, ptrace, io_uring, bpf"
            } else {
                "NO seccomp filter (unsupported architecture or refused)"
            },
            result.fork
        ),
    });

    let root = result.uid == 0;
    lines.push(Line {
        topic: "privileges",
        active: isolation.no_new_privs && (!root || isolation.capabilities_dropped),
        text: format!(
            "uid {}{}; no_new_privs {}; signals to the host → {}",
            result.uid,
            if root {
                if isolation.capabilities_dropped {
                    " without capabilities (bounding and inheritable sets emptied)"
                } else {
                    " WITH capabilities"
                }
            } else {
                ""
            },
            if isolation.no_new_privs { "on" } else { "OFF" },
            result.signal_parent
        ),
    });

    let limit = |name: &str| result.rlimits.get(name).copied().flatten();
    let mib = |bytes: Option<u64>| {
        bytes
            .map(|b| format!("{} MiB", b / (1024 * 1024)))
            .unwrap_or_else(|| "unlimited".into())
    };
    lines.push(Line {
        topic: "limits",
        active: isolation.rlimits && limit("RLIMIT_AS").is_some(),
        text: format!(
            "address space {} (limits.memory_mb), file size {}, {} open files, core dumps {}, CPU time {} s",
            mib(limit("RLIMIT_AS")),
            mib(limit("RLIMIT_FSIZE")),
            limit("RLIMIT_NOFILE")
                .map(|n| n.to_string())
                .unwrap_or_else(|| "unlimited".into()),
            if limit("RLIMIT_CORE") == Some(0) {
                "off"
            } else {
                "ON"
            },
            limit("RLIMIT_CPU")
                .map(|n| n.to_string())
                .unwrap_or_else(|| "unlimited".into()),
        ),
    });

    lines.push(Line {
        topic: "timeout",
        active: isolation.process_group,
        text: format!(
            "{} s (limits.run_timeout_secs; --timeout overrides); the run has its own process group, killed whole",
            config.limits.run_timeout_secs
        ),
    });
    lines
}
