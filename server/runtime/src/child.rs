//! Starting the CPython child: its folder, its command line and environment, its pipes, and a
//! capped copy of what it prints.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use crate::interpreter::Interpreter;
use crate::sandbox::{self, Isolation, Paths, Plan, ResourceLimits};

/// The SDK module as playbooks import it (`riposte/__init__.py`).
pub const SDK_SOURCE: &str = include_str!("../python/riposte/__init__.py");
/// The script that runs inside the child (see its docstring).
pub const BOOTSTRAP_SOURCE: &str = include_str!("../python/bootstrap.py");

/// How much of each of stdout and stderr a record keeps.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// The run's private folder, removed when dropped:
/// `bootstrap.py`, `sdk/riposte/__init__.py` (read-only for the child), `work/` (its working
/// directory and HOME, the only place it may write).
pub struct RunDir {
    dir: tempfile::TempDir,
}

impl RunDir {
    pub fn create() -> std::io::Result<RunDir> {
        let dir = tempfile::Builder::new().prefix("riposte-run-").tempdir()?;
        let sdk = dir.path().join("sdk").join("riposte");
        std::fs::create_dir_all(&sdk)?;
        std::fs::write(sdk.join("__init__.py"), SDK_SOURCE)?;
        std::fs::write(dir.path().join("bootstrap.py"), BOOTSTRAP_SOURCE)?;
        std::fs::create_dir(dir.path().join("work"))?;
        Ok(RunDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn sdk(&self) -> PathBuf {
        self.dir.path().join("sdk")
    }

    pub fn bootstrap(&self) -> PathBuf {
        self.dir.path().join("bootstrap.py")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
}

/// A started child and the host's ends of its pipes.
pub struct Started {
    pub child: tokio::process::Child,
    /// Also its process group (the child called `setsid`).
    pub pid: u32,
    pub to_child: pipe::Sender,
    pub from_child: BufReader<pipe::Receiver>,
    pub stdout: Capture,
    pub stderr: Capture,
    pub isolation: Isolation,
}

/// Starts `python -I -S -B -X utf8 SCRIPT ARGS…` in `dir`'s `work/`, sandboxed. Runs use
/// `bootstrap.py SDK_DIR`; `riposte doctor` uses a probe.
pub fn start(
    interpreter: &Interpreter,
    dir: &RunDir,
    limits: ResourceLimits,
    script: &Path,
    args: &[PathBuf],
) -> std::io::Result<Started> {
    // Host to child, child to host. Both ends are close-on-exec; the child's setup moves its ends
    // to descriptors 3 and 4, which it keeps.
    let (child_in, host_out) = std::io::pipe()?;
    let (host_in, child_out) = std::io::pipe()?;
    let child_in: OwnedFd = child_in.into();
    let child_out: OwnedFd = child_out.into();

    let work = dir.work();
    let mut plan = Plan::new(
        &Paths {
            interpreter,
            read_only: vec![dir.sdk(), dir.bootstrap(), script.to_path_buf()],
            writable: &work,
        },
        limits,
    )?;

    let mut command = tokio::process::Command::new(&interpreter.executable);
    command
        .arg("-I") // isolated: no PYTHON* variables, no user site, no script folder on sys.path
        .arg("-S") // no `site`: nothing from site-packages or .pth files, and a faster start
        .arg("-B") // no .pyc files
        .args(["-X", "utf8"])
        .arg(script)
        .args(args)
        .current_dir(&work)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &work)
        .env("TMPDIR", &work)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    plan.apply(&mut command, &child_in, &child_out);

    let mut child = command.spawn()?;
    // The child has its copies; without closing ours, the host would never see the bridge close.
    drop(child_in);
    drop(child_out);
    let isolation = plan.report();
    let pid = child.id().unwrap_or(0);

    let stdout = child.stdout.take().map(capture);
    let stderr = child.stderr.take().map(capture);
    let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
        sandbox::kill_group(pid);
        return Err(std::io::Error::other(
            "the child's output pipes are missing",
        ));
    };
    Ok(Started {
        child,
        pid,
        to_child: pipe::Sender::from_owned_fd(host_out.into())?,
        from_child: BufReader::with_capacity(
            64 * 1024,
            pipe::Receiver::from_owned_fd(host_in.into())?,
        ),
        stdout,
        stderr,
        isolation,
    })
}

/// What a stream printed: the first [`OUTPUT_CAP`] bytes, and how many there were in all.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub total: u64,
}

impl Captured {
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A stream being read to its end in the background.
pub struct Capture {
    shared: Arc<Mutex<Captured>>,
    task: JoinHandle<()>,
}

/// Reads a stream to its end, keeping the first [`OUTPUT_CAP`] bytes and counting the rest, so a
/// playbook that prints without end neither blocks on a full pipe nor fills the host's memory.
fn capture<R: AsyncRead + Unpin + Send + 'static>(mut stream: R) -> Capture {
    let shared = Arc::new(Mutex::new(Captured::default()));
    let sink = Arc::clone(&shared);
    let task = tokio::spawn(async move {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let Ok(mut captured) = sink.lock() else { break };
                    captured.total += n as u64;
                    let room = OUTPUT_CAP.saturating_sub(captured.bytes.len());
                    captured.bytes.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
    });
    Capture { shared, task }
}

impl Capture {
    /// What was read, once the stream ended or `limit` passed (a process that left the group could
    /// hold the pipe open; what it printed so far is kept).
    pub async fn finish(self, limit: Duration) -> Captured {
        let abort = self.task.abort_handle();
        if tokio::time::timeout(limit, self.task).await.is_err() {
            abort.abort();
        }
        self.shared
            .lock()
            .map(|captured| captured.clone())
            .unwrap_or_default()
    }
}
