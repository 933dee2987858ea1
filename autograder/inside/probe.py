"""What a sandbox really allows, seen from inside it: run by `python -m autograder probe` in a kernel's and in a
judge's sandbox, and by the tests, which assert on its report. It only uses the standard library and the
hand-in contract beside it.

The report (JSON on stdout) tells who the process is (uids, capabilities, no_new_privs, seccomp), what it sees
(mounts, environment, /proc), its limits, and the outcome of each attempt to get out: remounting, mounting,
new namespaces, writing to every mount and to the usual system folders, reading secrets, other socket families,
connecting to the host, setuid binaries.
"""

import ctypes
import errno
import json
import os
import resource
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the grader's read-only folder, for the contract beside it

from handin_contract import GRADER, HANDED_IN, SOCKETS, WORKDIR

LIMITS = ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_CORE")
SECRETS = ("/etc/shadow", "/etc/gshadow", "/root/.bash_history", "/proc/1/environ", "/proc/self/mem")
USUAL_FOLDERS = (
    "/",
    "/etc",
    "/usr",
    "/usr/lib",
    "/var",
    "/home",
    "/root",
    "/dev",
    "/dev/shm",
    "/run",
    "/proc",
    GRADER,
)
SANDBOX_FOLDERS = (WORKDIR, HANDED_IN, "/tmp", SOCKETS)  # the kernel's and the judge's own
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_REMOUNT, MS_BIND = 32, 4096


def status_fields() -> dict[str, str]:
    status = Path("/proc/self/status")
    if not status.exists():
        return {"proc": "absent"}
    wanted = ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
    fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
    return {key: fields[key].strip() for key in wanted if key in fields}


def mounts() -> list[dict[str, str]]:
    mountinfo = Path("/proc/self/mountinfo")
    if not mountinfo.exists():
        return []
    found = []
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        found.append({"path": fields[4], "options": fields[5], "type": fields[separator + 1]})
    return found


def outcome(attempt) -> str:
    """'allowed', or the error an attempt met."""
    try:
        attempt()
    except OSError as error:
        return f"denied: {errno.errorcode.get(error.errno, error.errno)}"
    except Exception as error:  # anything else that stops an attempt also denies it
        return f"denied: {type(error).__name__}"
    return "allowed"


def libc_call(name: str, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def write_probe(folder: str) -> None:
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
        pass


def connect(host: str, port: int) -> None:
    socket.create_connection((host, port), timeout=2).close()


def report(host_ports: list[int]) -> dict:
    folders = sorted({*USUAL_FOLDERS, *SANDBOX_FOLDERS, sys.prefix, *(mount["path"] for mount in mounts())})
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "status": status_fields(),
        "uid_map": Path("/proc/self/uid_map").read_text().split() if Path("/proc/self/uid_map").exists() else [],
        "mounts": mounts(),
        "environment": dict(os.environ),
        "limits": {name: resource.getrlimit(getattr(resource, name)) for name in LIMITS},
        "writable": {folder: outcome(lambda f=folder: write_probe(f)) for folder in folders if os.path.isdir(folder)},
        "secrets": {path: outcome(lambda p=path: Path(p).read_bytes()) for path in SECRETS},
        "remount_rw": {
            path: outcome(lambda p=path: libc_call("mount", None, p.encode(), None, MS_REMOUNT | MS_BIND, None))
            for path in ("/", "/usr", "/etc", sys.prefix)
        },
        "mount_tmpfs": outcome(lambda: libc_call("mount", b"none", b"/tmp", b"tmpfs", 0, None)),
        "unshare": {
            "user": outcome(lambda: libc_call("unshare", CLONE_NEWUSER)),
            "mount": outcome(lambda: libc_call("unshare", CLONE_NEWNS)),
            "network": outcome(lambda: libc_call("unshare", CLONE_NEWNET)),
        },
        "packet_socket": outcome(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()),
        "connect_host_loopback": {str(port): outcome(lambda p=port: connect("127.0.0.1", p)) for port in host_ports},
        "connect_internet": outcome(lambda: connect("192.0.2.1", 80)),
        "setuid_root": outcome(lambda: os.setuid(0)),
        # How many files each writable in-memory folder may hold, and the control groups the probe runs in.
        "file_count_limits": {
            folder: os.statvfs(folder).f_files
            for folder in SANDBOX_FOLDERS
            if os.path.isdir(folder) and os.access(folder, os.W_OK)
        },
        "cgroups": Path("/proc/self/cgroup").read_text().split() if Path("/proc/self/cgroup").exists() else [],
    }


if __name__ == "__main__":
    print(json.dumps(report([int(port) for port in sys.argv[1:]]), indent=1))
