//! The system calls behind the sandbox: the child's setup between `fork` and `exec`, killing a
//! process group, and probing the kernel. The crate's only `unsafe` code lives here.
//!
//! The setup runs in the forked child of a multi-threaded host, where only async-signal-safe
//! functions may be called: it does not allocate, lock, or touch anything but raw system calls on
//! values prepared by the parent ([`ChildSetup`]). Each step is best effort; the child reports
//! which ones took through a status pipe, one little-endian `u32` of `FLAG_*` bits, before `exec`.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

use super::ResourceLimits;

pub const FLAG_SESSION: u32 = 1;
pub const FLAG_NETNS: u32 = 1 << 1;
pub const FLAG_USERNS: u32 = 1 << 2;
pub const FLAG_LANDLOCK: u32 = 1 << 3;
pub const FLAG_SECCOMP: u32 = 1 << 4;
pub const FLAG_NNP: u32 = 1 << 5;
pub const FLAG_CAPS: u32 = 1 << 6;
pub const FLAG_RLIMITS: u32 = 1 << 7;
pub const FLAG_FDS: u32 = 1 << 8;

/// Where the bridge ends must be in the child (the bootstrap reads and writes these numbers).
const CHILD_BRIDGE_IN: RawFd = 3;
const CHILD_BRIDGE_OUT: RawFd = 4;
/// Copies are made at or above this number first, so moving the bridge to 3 and 4 cannot clobber
/// another descriptor the setup still needs.
const HIGH_FD: RawFd = 100;

const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Everything the child-side setup needs, owned by the closure (no allocation after the fork).
pub struct ChildSetup {
    pub bridge_in: RawFd,
    pub bridge_out: RawFd,
    pub status: RawFd,
    pub landlock: Option<RawFd>,
    pub seccomp: Option<Vec<libc::sock_filter>>,
    pub limits: ResourceLimits,
    pub parent: libc::pid_t,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Registers the setup to run in the child just before `exec`.
pub fn install(command: &mut tokio::process::Command, setup: ChildSetup) {
    // SAFETY: the closure only makes async-signal-safe system calls (setsid, prctl, fcntl, dup2,
    // close_range, unshare, setrlimit, capget/capset, landlock_restrict_self, write, getppid,
    // geteuid) on integers and buffers prepared before the fork; it allocates nothing, takes no
    // lock, and returns an error only through `io::Error::from_raw_os_error`, which does not allocate.
    unsafe {
        command.pre_exec(move || setup.apply());
    }
}

impl ChildSetup {
    fn apply(&self) -> std::io::Result<()> {
        let mut flags = 0u32;

        // SAFETY (this block and the next ones in this function): plain system calls on integers
        // and on stack values or buffers owned by `self`, valid for the duration of each call.
        unsafe {
            if libc::setsid() != -1 {
                flags |= FLAG_SESSION;
            }
            // Die with the host. If the host is already gone, do not run at all.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            if libc::getppid() != self.parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
        }

        // Descriptors: the bridge to 3 and 4, everything else above 4 closed at exec.
        let high = |fd: RawFd| -> std::io::Result<RawFd> {
            // SAFETY: fcntl on a descriptor number; no memory is passed.
            let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HIGH_FD) };
            if copy < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(copy)
            }
        };
        let bridge_in = high(self.bridge_in)?;
        let bridge_out = high(self.bridge_out)?;
        let status = high(self.status)?;
        let landlock = match self.landlock {
            Some(fd) => Some(high(fd)?),
            None => None,
        };
        // SAFETY: dup2 and close_range on descriptor numbers.
        unsafe {
            if libc::dup2(bridge_in, CHILD_BRIDGE_IN) < 0
                || libc::dup2(bridge_out, CHILD_BRIDGE_OUT) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let first = (CHILD_BRIDGE_OUT + 1) as libc::c_uint;
            if libc::syscall(
                libc::SYS_close_range,
                first,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) == 0
            {
                flags |= FLAG_FDS;
            }
        }

        // Network: a namespace of our own (root), or with a user namespace (others, where allowed).
        // SAFETY: unshare and geteuid take and return integers.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) == 0 {
                flags |= FLAG_NETNS;
            } else if libc::geteuid() != 0
                && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0
            {
                flags |= FLAG_NETNS | FLAG_USERNS;
            }
        }

        let limits = self.limits;
        let set = |resource, soft: u64, hard: u64| -> bool {
            let value = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            // SAFETY: `value` lives on the stack for the duration of the call.
            unsafe { libc::setrlimit(resource, &value) == 0 }
        };
        let all = [
            set(libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
            set(libc::RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
            set(libc::RLIMIT_NOFILE, limits.open_files, limits.open_files),
            set(libc::RLIMIT_CORE, 0, 0),
            set(libc::RLIMIT_CPU, limits.cpu_secs, limits.cpu_secs + 5),
        ];
        if all.iter().all(|ok| *ok) {
            flags |= FLAG_RLIMITS;
        }

        // Privileges: empty the bounding, ambient and inheritable sets, so that `exec` of the
        // interpreter leaves a root child without capabilities.
        // SAFETY: prctl with integer arguments; capget/capset with pointers to stack values.
        unsafe {
            if libc::geteuid() == 0 {
                let mut dropped = true;
                for cap in 0..64 {
                    if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                        if *libc::__errno_location() == libc::EINVAL {
                            break; // past the last capability this kernel knows
                        }
                        dropped = false;
                    }
                }
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                );
                let mut header = CapHeader {
                    version: LINUX_CAPABILITY_VERSION_3,
                    pid: 0,
                };
                let mut data = [CapData {
                    effective: 0,
                    permitted: 0,
                    inheritable: 0,
                }; 2];
                if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) == 0 {
                    data[0].inheritable = 0;
                    data[1].inheritable = 0;
                    if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
                        dropped = false;
                    }
                } else {
                    dropped = false;
                }
                if dropped {
                    flags |= FLAG_CAPS;
                }
            }

            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 {
                flags |= FLAG_NNP;
            }
            if let Some(ruleset) = landlock
                && libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) == 0
            {
                flags |= FLAG_LANDLOCK;
            }
            if let Some(filter) = &self.seccomp {
                let program = libc::sock_fprog {
                    len: filter.len() as libc::c_ushort,
                    filter: filter.as_ptr().cast_mut(),
                };
                if libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &program as *const libc::sock_fprog,
                    0,
                    0,
                ) == 0
                {
                    flags |= FLAG_SECCOMP;
                }
            }

            let bytes = flags.to_le_bytes();
            libc::write(status, bytes.as_ptr().cast(), bytes.len());
        }
        Ok(())
    }
}

/// Sends SIGKILL to every process in the group `pgid` (the child's, from its `setsid`).
pub fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return; // never signal our own group or every process
    }
    // SAFETY: kill with integer arguments; a group that is already gone gives ESRCH, ignored.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// The Landlock ABI version the kernel offers, or `None` without Landlock.
pub fn landlock_abi() -> Option<u32> {
    // SAFETY: landlock_create_ruleset with a null attribute pointer and the VERSION flag only
    // returns the ABI version (or an error); it creates nothing.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(version).ok().filter(|v| *v > 0)
}
