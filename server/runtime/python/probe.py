"""`riposte doctor`'s probe: tries, from inside the sandbox, what the sandbox is meant to stop.

    python -I -S -B -X utf8 probe.py PORT OUTSIDE_FILE OUTSIDE_DIR

Prints one JSON object: for each attempt, "ok" or the errno name it failed with.
"""

import errno
import json
import os
import resource
import socket
import sys


def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode.get(error.errno or 0, type(error).__name__)
    except Exception as error:  # noqa: BLE001 - the doctor reports whatever happened
        return type(error).__name__


def connect(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))


def unix_socket():
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()


def read(path):
    with open(path, "rb") as handle:
        handle.read(1)


def write_outside(folder):
    path = os.path.join(folder, f"riposte-doctor-{os.getpid()}")
    with open(path, "w") as handle:
        handle.write("x")
    os.unlink(path)


def write_inside():
    with open("probe.txt", "w") as handle:
        handle.write("x")
    os.unlink("probe.txt")


def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def signal_parent():
    os.kill(os.getppid(), 0)


def limit(name):
    soft, _ = resource.getrlimit(getattr(resource, name))
    return None if soft == resource.RLIM_INFINITY else soft


port, outside_file, outside_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
print(json.dumps({
    "connect": attempt(lambda: connect(port)),
    "unix_socket": attempt(unix_socket),
    "read_outside": attempt(lambda: read(outside_file)),
    "read_proc": attempt(lambda: read("/proc/self/status")),
    "write_outside": attempt(lambda: write_outside(outside_dir)),
    "write_inside": attempt(write_inside),
    "fork": attempt(fork),
    "signal_parent": attempt(signal_parent),
    "uid": os.getuid(),
    "rlimits": {name: limit(name) for name in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_CPU")},
}))
