//! Limits and isolation for the child, prepared in the host and applied between `fork` and `exec`
//! by [`sys`], the crate's one module with `unsafe` code.
//!
//! Layers, each independent of the others (Linux; every one is best effort and reported):
//! - **Process group**: the child starts its own session (`setsid`), so a timeout kills the whole
//!   group; it also dies with the host (`PR_SET_PDEATHSIG`).
//! - **Network**: a new, empty network namespace (`unshare(CLONE_NEWNET)`: not even loopback is
//!   up); Landlock's TCP rules (ABI 4+) refuse `connect` and `bind` besides; seccomp refuses
//!   sockets other than IPv4/IPv6 (a Unix socket could reach a host service through the
//!   filesystem). Only the bridge reaches out, through the host.
//! - **Filesystem** (Landlock): reads only of the interpreter's prefixes, the system's libraries,
//!   the SDK and a few device files; writes only in the run's own folder; exec only of the
//!   interpreter. `/etc/shadow`, `~/.ssh`, `/proc` (so the host's environment) and the workspace
//!   are out of reach. Landlock also scopes signals and abstract Unix sockets (ABI 6+).
//! - **Processes and privileges** (seccomp, `no_new_privs`, capabilities): `fork`, `vfork`,
//!   `clone` without `CLONE_THREAD` (threads stay allowed), `unshare`, `setns`, `ptrace`,
//!   `io_uring`, `bpf`, key rings, `mount` and friends are refused with `EPERM`; the capability
//!   bounding and inheritable sets are emptied, so a root host's child runs without privileges.
//! - **Resources** (rlimits): address space (`limits.memory_mb`), file size, open files, CPU time
//!   as a backstop to the wall clock, no core dumps. `RLIMIT_NPROC` is not used: it counts every
//!   process and thread of the user and does not bind root; seccomp stops forks instead.

mod sys;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, RulesetAttr, RulesetCreatedAttr, Scope,
    path_beneath_rules,
};
use serde::Serialize;

pub use sys::{kill_group, landlock_abi};

use crate::interpreter::Interpreter;

/// The newest Landlock ABI these rules were written for; older kernels get what they support.
const LANDLOCK_ABI: ABI = ABI::V9;

/// Resource limits for one child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    pub memory_bytes: u64,
    pub file_bytes: u64,
    pub open_files: u64,
    pub cpu_secs: u64,
}

impl ResourceLimits {
    pub fn new(memory_mb: u64, timeout_secs: f64) -> Self {
        Self {
            memory_bytes: memory_mb.saturating_mul(1024 * 1024),
            file_bytes: 64 * 1024 * 1024,
            open_files: 64,
            cpu_secs: timeout_secs.ceil() as u64 + 5,
        }
    }
}

/// Which protections a child actually got (reported by the child itself before `exec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Isolation {
    /// Own session and process group: a kill reaches every process of the run.
    pub process_group: bool,
    /// A new network namespace without interfaces.
    pub network_namespace: bool,
    /// The namespace needed a user namespace too (a host without root).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub user_namespace: bool,
    /// The Landlock ABI the kernel offers, when the ruleset was enforced.
    pub landlock_abi: Option<u32>,
    /// Landlock also refuses TCP connect and bind (ABI 4+).
    pub landlock_network: bool,
    /// The seccomp filter (processes, namespaces, non-IP sockets) is installed.
    pub seccomp: bool,
    pub no_new_privs: bool,
    /// Capability bounding and inheritable sets emptied (only meaningful for a root host).
    pub capabilities_dropped: bool,
    /// Every rlimit was set.
    pub rlimits: bool,
    /// Inherited file descriptors other than stdio and the bridge are closed at exec.
    pub descriptors_closed: bool,
}

impl Isolation {
    /// A short list for people: `network namespace, Landlock ABI 7, seccomp, rlimits`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.network_namespace {
            parts.push("network namespace".to_string());
        }
        if let Some(abi) = self.landlock_abi {
            parts.push(format!("Landlock ABI {abi}"));
        }
        if self.seccomp {
            parts.push("seccomp".to_string());
        }
        if self.capabilities_dropped {
            parts.push("no capabilities".to_string());
        }
        if self.rlimits {
            parts.push("rlimits".to_string());
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }

    fn from_flags(flags: u32, landlock_abi: Option<u32>) -> Self {
        let has = |flag| flags & flag != 0;
        let landlock = has(sys::FLAG_LANDLOCK);
        Self {
            process_group: has(sys::FLAG_SESSION),
            network_namespace: has(sys::FLAG_NETNS),
            user_namespace: has(sys::FLAG_USERNS),
            landlock_abi: if landlock { landlock_abi } else { None },
            landlock_network: landlock && landlock_abi.is_some_and(|abi| abi >= 4),
            seccomp: has(sys::FLAG_SECCOMP),
            no_new_privs: has(sys::FLAG_NNP),
            capabilities_dropped: has(sys::FLAG_CAPS),
            rlimits: has(sys::FLAG_RLIMITS),
            descriptors_closed: has(sys::FLAG_FDS),
        }
    }
}

/// Everything the child applies to itself, prepared where allocating is allowed.
pub struct Plan {
    landlock: Option<OwnedFd>,
    landlock_abi: Option<u32>,
    seccomp: Option<Vec<libc::sock_filter>>,
    limits: ResourceLimits,
    status_reader: OwnedFd,
    status_writer: OwnedFd,
}

/// Where a run may read and write.
pub struct Paths<'a> {
    pub interpreter: &'a Interpreter,
    /// Read-only for the child: the bootstrap and the SDK.
    pub read_only: Vec<PathBuf>,
    /// The child's working folder: the only place it may write.
    pub writable: &'a Path,
}

impl Plan {
    pub fn new(paths: &Paths<'_>, limits: ResourceLimits) -> std::io::Result<Plan> {
        let (status_reader, status_writer) = std::io::pipe()?;
        let abi = landlock_abi();
        let landlock = if abi.is_some() {
            landlock_ruleset(paths).ok().flatten()
        } else {
            None
        };
        Ok(Plan {
            landlock_abi: abi,
            landlock,
            seccomp: seccomp::program(),
            limits,
            status_reader: status_reader.into(),
            status_writer: status_writer.into(),
        })
    }

    /// Registers the child-side setup on `command`. The bridge ends become the child's fds 3 and 4.
    pub fn apply(
        &mut self,
        command: &mut tokio::process::Command,
        bridge_in: &OwnedFd,
        bridge_out: &OwnedFd,
    ) {
        let setup = sys::ChildSetup {
            bridge_in: bridge_in.as_raw_fd(),
            bridge_out: bridge_out.as_raw_fd(),
            status: self.status_writer.as_raw_fd(),
            landlock: self.landlock.as_ref().map(AsRawFd::as_raw_fd),
            seccomp: self.seccomp.clone(),
            limits: self.limits,
            parent: std::process::id() as i32,
        };
        sys::install(command, setup);
    }

    /// After the spawn: what the child reported it applied.
    pub fn report(self) -> Isolation {
        let Plan {
            status_reader,
            status_writer,
            landlock_abi,
            ..
        } = self;
        drop(status_writer);
        let mut file = std::fs::File::from(status_reader);
        let mut buf = [0u8; 4];
        let flags = match std::io::Read::read_exact(&mut file, &mut buf) {
            Ok(()) => u32::from_le_bytes(buf),
            Err(_) => 0,
        };
        Isolation::from_flags(flags, landlock_abi)
    }
}

/// Files every CPython needs besides its own prefix: the dynamic loader's cache, time zones, the
/// C library's locale data, and a few device files.
const SYSTEM_READ: &[&str] = &[
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/usr/local/lib",
    "/usr/share/zoneinfo",
    "/usr/share/locale",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
];

fn landlock_ruleset(paths: &Paths<'_>) -> Result<Option<OwnedFd>, landlock::RulesetError> {
    let abi = LANDLOCK_ABI;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let exec = AccessFs::ReadFile | AccessFs::Execute;
    let write: BitFlags<AccessFs> = AccessFs::from_all(abi) & !AccessFs::Execute;

    let mut readable: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    readable.extend(paths.interpreter.prefixes.iter().cloned());
    readable.extend(paths.interpreter.stdlib_paths.iter().cloned());
    readable.extend(paths.read_only.iter().cloned());
    readable.retain(|p| p.exists());

    let mut executable = vec![paths.interpreter.executable.clone()];
    if let Some(loader) = elf_interpreter(&paths.interpreter.executable) {
        executable.push(loader);
    }

    let ruleset = landlock::Ruleset::default()
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::from_all(abi))?
        .scope(Scope::from_all(abi))?
        .create()?
        .add_rules(path_beneath_rules(&readable, read))?
        .add_rules(path_beneath_rules(&executable, exec))?
        .add_rules(path_beneath_rules(
            ["/dev/null"],
            AccessFs::ReadFile | AccessFs::WriteFile,
        ))?
        .add_rules(path_beneath_rules([paths.writable], write))?;
    // No network rule: with TCP handled and no port allowed, every connect and bind is refused.
    Ok(ruleset.into())
}

/// The ELF program interpreter (`PT_INTERP`, the dynamic loader) of an executable: the kernel
/// opens it for execution too, so Landlock must allow it.
fn elf_interpreter(executable: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(executable).ok()?;
    let header = bytes.get(..64)?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None; // not a little-endian 64-bit ELF file
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let program_headers = usize::try_from(u64_at(0x20)?).ok()?;
    let entry_size = usize::from(u16_at(0x36)?);
    let count = usize::from(u16_at(0x38)?);
    for index in 0..count {
        let at = program_headers.checked_add(index.checked_mul(entry_size)?)?;
        if u32_at(at)? == 3 {
            // PT_INTERP: a NUL-terminated path.
            let offset = usize::try_from(u64_at(at + 8)?).ok()?;
            let size = usize::try_from(u64_at(at + 32)?).ok()?;
            let raw = bytes.get(offset..offset.checked_add(size)?)?;
            let path = std::str::from_utf8(raw.split(|&b| b == 0).next()?).ok()?;
            return std::fs::canonicalize(path)
                .ok()
                .or_else(|| Some(PathBuf::from(path)));
        }
    }
    None
}

/// The seccomp filter, as classic BPF.
mod seccomp {
    use libc::sock_filter;

    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const CLONE_THREAD: u32 = 0x0001_0000;
    const AF_INET: u32 = 2;
    const AF_INET6: u32 = 10;

    // Offsets in `struct seccomp_data`.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0_LOW: u32 = 16;

    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const EPERM: u32 = libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA);
    const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | (libc::ENOSYS as u32 & libc::SECCOMP_RET_DATA);
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

    #[cfg(target_arch = "x86_64")]
    const ARCH_NATIVE: Option<u32> = Some(AUDIT_ARCH_X86_64);
    #[cfg(target_arch = "aarch64")]
    const ARCH_NATIVE: Option<u32> = Some(AUDIT_ARCH_AARCH64);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    const ARCH_NATIVE: Option<u32> = None;

    /// System calls refused with EPERM: processes, namespaces, tracing and other processes'
    /// memory, kernel interfaces that bypass the other layers (io_uring, bpf), key rings, mounts.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn refused() -> Vec<libc::c_long> {
        let mut calls = vec![
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_bpf,
            libc::SYS_perf_event_open,
            libc::SYS_userfaultfd,
            libc::SYS_io_uring_setup,
            libc::SYS_io_uring_enter,
            libc::SYS_io_uring_register,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_pivot_root,
            libc::SYS_chroot,
            libc::SYS_open_tree,
            libc::SYS_move_mount,
            libc::SYS_fsopen,
            libc::SYS_fsconfig,
            libc::SYS_fsmount,
            libc::SYS_fspick,
            libc::SYS_open_by_handle_at,
            libc::SYS_kexec_load,
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
        ];
        #[cfg(target_arch = "x86_64")]
        calls.extend([libc::SYS_fork, libc::SYS_vfork]);
        calls
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    fn refused() -> Vec<libc::c_long> {
        Vec::new()
    }

    fn stmt(code: u16, k: u32) -> sock_filter {
        sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
        sock_filter { code, jt, jf, k }
    }

    /// The filter for this architecture, or `None` where there is none.
    ///
    /// Layout: check the architecture (kill on a foreign one: a 32-bit syscall ABI would bypass
    /// the numbers below), load the call number, then one `jeq` per refused call into a shared
    /// `ret EPERM`, and the two calls decided by their first argument (`clone`: threads only;
    /// `socket`: IPv4 and IPv6 only) at the end.
    pub fn program() -> Option<Vec<sock_filter>> {
        let arch = ARCH_NATIVE?;
        let refused = refused();
        // Tail, addressed from the end: [clone check (3)] [socket check (4)] [allow] [eperm] [enosys]
        //   clone:  ld arg0; jset CLONE_THREAD -> allow : eperm
        //   socket: ld arg0; jeq AF_INET -> allow; jeq AF_INET6 -> allow : eperm
        let mut program = vec![
            stmt(LD_W_ABS, ARCH),
            jump(JEQ_K, arch, 1, 0),
            stmt(RET_K, KILL),
            stmt(LD_W_ABS, NR),
        ];
        if arch == AUDIT_ARCH_X86_64 {
            // x32 calls have their own numbers; refuse them all.
            program.push(jump(JGE_K, X32_SYSCALL_BIT, 0, 1));
            program.push(stmt(RET_K, ENOSYS));
        }
        // The dispatch: each entry jumps forward to a label in the tail.
        let dispatch: Vec<(u32, Label)> = refused
            .iter()
            .map(|&nr| (nr as u32, Label::Eperm))
            .chain([
                (libc::SYS_clone as u32, Label::Clone),
                (libc::SYS_clone3 as u32, Label::Enosys),
                (libc::SYS_socket as u32, Label::Socket),
            ])
            .collect();
        let count = dispatch.len();
        // After the dispatch: `ret ALLOW` for every other call, then the tail.
        let tail_start = count + 1; // relative to the first dispatch instruction
        let label_at = |label: Label| -> usize {
            tail_start
                + match label {
                    Label::Clone => 0,
                    Label::Socket => 3,
                    Label::Eperm => 8,
                    Label::Enosys => 9,
                }
        };
        for (index, (nr, label)) in dispatch.iter().enumerate() {
            let offset = label_at(*label) - index - 1;
            program.push(jump(JEQ_K, *nr, u8::try_from(offset).ok()?, 0));
        }
        program.push(stmt(RET_K, ALLOW));
        // clone (tail + 0..3)
        program.push(stmt(LD_W_ABS, ARG0_LOW));
        program.push(jump(JSET_K, CLONE_THREAD, 5, 6)); // -> allow (tail+7) : eperm (tail+8)
        program.push(stmt(RET_K, EPERM)); // unreachable filler keeps the tail offsets simple
        // socket (tail + 3..7)
        program.push(stmt(LD_W_ABS, ARG0_LOW));
        program.push(jump(JEQ_K, AF_INET, 2, 0)); // -> allow (tail+7)
        program.push(jump(JEQ_K, AF_INET6, 1, 2)); // -> allow : eperm (tail+8)
        program.push(stmt(RET_K, EPERM));
        program.push(stmt(RET_K, ALLOW)); // tail + 7
        program.push(stmt(RET_K, EPERM)); // tail + 8
        program.push(stmt(RET_K, ENOSYS)); // tail + 9
        Some(program)
    }

    #[derive(Clone, Copy)]
    enum Label {
        Clone,
        Socket,
        Eperm,
        Enosys,
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A tiny interpreter of the filter, to check the jumps land where they should.
        fn decide(program: &[sock_filter], arch: u32, nr: u32, arg0: u32) -> u32 {
            let mut acc = 0u32;
            let mut pc = 0usize;
            loop {
                let ins = program[pc];
                match ins.code {
                    LD_W_ABS => {
                        acc = match ins.k {
                            NR => nr,
                            ARCH => arch,
                            ARG0_LOW => arg0,
                            other => panic!("load of {other}"),
                        };
                        pc += 1;
                    }
                    JEQ_K | JGE_K | JSET_K => {
                        let taken = match ins.code {
                            JEQ_K => acc == ins.k,
                            JGE_K => acc >= ins.k,
                            _ => acc & ins.k != 0,
                        };
                        pc += 1 + usize::from(if taken { ins.jt } else { ins.jf });
                    }
                    RET_K => return ins.k,
                    other => panic!("opcode {other}"),
                }
            }
        }

        #[test]
        #[cfg(target_arch = "x86_64")]
        fn the_filter_decides_as_intended() {
            let program = program().unwrap();
            let run =
                |nr: libc::c_long, arg0: u32| decide(&program, AUDIT_ARCH_X86_64, nr as u32, arg0);
            assert_eq!(run(libc::SYS_read, 0), ALLOW);
            assert_eq!(run(libc::SYS_fork, 0), EPERM);
            assert_eq!(run(libc::SYS_vfork, 0), EPERM);
            assert_eq!(run(libc::SYS_unshare, 0), EPERM);
            assert_eq!(run(libc::SYS_delete_module, 0), EPERM);
            assert_eq!(run(libc::SYS_clone, CLONE_THREAD | 0x100), ALLOW);
            assert_eq!(run(libc::SYS_clone, 0x11), EPERM);
            assert_eq!(run(libc::SYS_clone3, 0), ENOSYS);
            assert_eq!(run(libc::SYS_socket, AF_INET), ALLOW);
            assert_eq!(run(libc::SYS_socket, AF_INET6), ALLOW);
            assert_eq!(run(libc::SYS_socket, 1), EPERM);
            assert_eq!(run(libc::SYS_socket, 16), EPERM);
            assert_eq!(run(libc::SYS_socketpair, 1), ALLOW);
            assert_eq!(run(libc::SYS_execve, 0), ALLOW);
            assert_eq!(decide(&program, AUDIT_ARCH_X86_64, 0x4000_0001, 0), ENOSYS);
            assert_eq!(decide(&program, 0x4000_0003, 2, 0), KILL);
        }
    }
}
