"""Run untrusted code (a student's notebook kernel, the judge of its graphs) inside a bubblewrap sandbox.

Sandboxed code runs as an unprivileged user with no capabilities, no_new_privs and a seccomp filter
(autograder/sandbox/seccomp_filter.py), in namespaces of its own: its own processes, no network but a private loopback,
and a filesystem of read-only binds (the OS, the Python installation, the course's samples, a minimal /etc) plus
only what each launch declares writable: size-limited in-memory folders, and single host files whose size the
file-size limit bounds. It starts from an empty environment. Limits on address space, processes, open files, file
size and CPU time apply to every process in it, and the kernel's out-of-memory killer picks sandboxed processes
first. Run as root, every sandbox of a grading worker also starts inside the worker's control groups
(autograder/sandbox/cgroups.py): a fair share of the CPU and I/O, and bounded memory and processes, for all its
sandboxes together, however many processes they start.

Started as root (in a container or VM, as CI and grading workers are), bubblewrap sets up the mounts with root's
rights and the sandboxed command then drops to a user id of its own on the host, so that even a writable mount
would not let it write root's files. Started by another user, bubblewrap maps that user to uid 65534 inside a new
user namespace.
"""

import contextlib
import json
import logging
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from traitlets import Bool, Dict, Integer, List, Unicode
from traitlets.config import Configurable

from autograder.course.assignment_schema import MIB, Limits
from autograder.sandbox.cgroups import GroupLimits, WorkerGroup
from autograder.sandbox.seccomp_filter import seccomp_program

GIB = 1024 * MIB
SANDBOX_USER = "student"
UNPRIVILEGED_UID = 65534  # inside the user namespace, when the grader is not root
HOST_UID_BASE = 100_000_000  # as root: host uid of a sandbox = this + the grading process's pid
NO_PROC_EXE = "/sandbox-without-proc"  # where /proc/self/exe points when the sandbox gets no /proc
SANDBOX_ENTRY = Path(__file__).with_name("entry.py")
_worker_groups: dict[GroupLimits, WorkerGroup] = {}  # this process's control groups, by their limits


@dataclass
class Mounts:
    """What one sandboxed process sees besides the read-only system, by path inside the sandbox."""

    workdir: str = "/"
    tmpfs: dict[str, int] = field(default_factory=dict)  # writable in-memory folders and their sizes in bytes
    read_only: dict[str, str] = field(default_factory=dict)  # host files or folders, read-only
    writable_files: dict[str, str] = field(default_factory=dict)  # single host files, written in place
    files: dict[str, bytes] = field(default_factory=dict)  # read-only files with this content
    proc: bool = True  # a /proc of its own; without it, only /proc/self/exe exists, which TensorFlow reads
    environment: dict[str, str] = field(default_factory=dict)  # on top of the sandbox's own
    # A host folder, removed after the sandbox, for the mount points of its in-memory folders: given, and run as root,
    # each of them holds at most the sandbox's file_count_limit files (autograder/sandbox/entry.py).
    mount_points: str = ""


class Sandbox(Configurable):
    """How every sandbox of this course is limited, and what it may read besides the system."""

    readable_paths = List(Unicode(), help="Host paths sandboxed code may read, e.g. the sample JPEGs").tag(config=True)
    environment = Dict(Unicode(), help="Environment variables inside every sandbox (nothing else is passed)").tag(
        config=True
    )
    memory_limit = Integer(6 * GIB, help="Address space of each sandboxed process, in bytes").tag(config=True)
    process_limit = Integer(512, help="Processes and threads a sandbox may run at once").tag(config=True)
    file_size_limit = Integer(1 * GIB, help="Largest file a sandboxed process may write, in bytes").tag(config=True)
    open_files_limit = Integer(1024, help="Files each sandboxed process may have open").tag(config=True)
    cpu_time_limit = Integer(3600, help="CPU seconds each sandboxed process may use").tag(config=True)
    file_count_limit = Integer(
        100_000, help="Files and folders each in-memory folder of a sandbox may hold (root only, with mount points)"
    ).tag(config=True)
    control_groups = Bool(
        True, help="Start each grading worker's sandboxes in control groups of its own (root only; see cgroups.py)"
    ).tag(config=True)
    group_memory_limit = Integer(
        Limits.memory * MIB, help="Bytes of memory a grading worker's sandboxes may hold together (root only: cgroups)"
    ).tag(config=True)
    group_process_limit = Integer(
        1024, help="Processes a grading worker's sandboxes may run at once, together (root only: cgroups)"
    ).tag(config=True)

    def worker_group(self) -> WorkerGroup:
        """This worker's control groups (made on first use), which each of its sandboxes joins."""
        limits = GroupLimits(self.group_memory_limit, self.group_process_limit)
        group = _worker_groups.setdefault(limits, WorkerGroup(limits))
        if not (group.folders or group.problem):
            group.make()
            if group.problem:  # once per worker: its sandboxes share the machine without bounds
                logging.getLogger("autograder").warning("%s", group.problem)
        return group

    def memory_kills(self) -> int:
        """How many of this worker's sandboxed processes the kernel has killed for going over the group's memory
        limit: a count that grows while a sandbox runs tells why it died."""
        return self.worker_group().memory_kills() if self.control_groups else 0

    def memory_limit_text(self) -> str:
        return f"{self.group_memory_limit // MIB} MiB for its kernel and judge together"

    def prepare(self, command: list[str], mounts: Mounts, report_pid: bool = False) -> "Launch":
        """The launch of command in a sandbox with these mounts; start it with Launch.popen_kwargs.

        With report_pid, Launch.sandbox_pid() tells the host pid of the sandbox's first process once it runs.
        """
        return Launch(self, command, mounts, report_pid)

    def base_environment(self) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": "/tmp",
            "USER": SANDBOX_USER,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "KERAS_HOME": "/tmp/keras",
            **self.environment,
        }

    def limits(self) -> list[str]:
        return [
            "prlimit",
            f"--as={self.memory_limit}",
            "--data=unlimited:",  # the grading worker's own, lower limit on data is not the sandbox's
            f"--nproc={self.process_limit}",
            f"--fsize={self.file_size_limit}",
            f"--nofile={self.open_files_limit}",
            f"--cpu={self.cpu_time_limit}",
            "--core=0",
            "--",
        ]


class Launch:
    """One sandboxed command: its bubblewrap command line, and the file descriptors that carry its set-up.

    Use it as a context manager around starting the process: the descriptors are closed when it exits.
    """

    def __init__(self, sandbox: Sandbox, command: list[str], mounts: Mounts, report_pid: bool) -> None:
        self.sandbox, self.command, self.mounts, self.report_pid = sandbox, command, mounts, report_pid
        self.privileged = os.geteuid() == 0
        self.uid = HOST_UID_BASE + os.getpid() if self.privileged else UNPRIVILEGED_UID
        self._fds: list[int] = []
        self._info_read: int | None = None
        self.argv = self._argv()

    def __enter__(self) -> "Launch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    @property
    def popen_kwargs(self) -> dict:
        """Arguments for subprocess.Popen: the descriptors to pass, an empty environment, a neutral folder."""
        return {"pass_fds": tuple(self._fds), "env": {}, "cwd": "/"}

    def start(self, pass_fds: tuple[int, ...] = (), **popen: object) -> subprocess.Popen:
        """Start the sandboxed command with these Popen arguments, passing it pass_fds besides its own."""
        kwargs = self.popen_kwargs
        kwargs["pass_fds"] += pass_fds
        return subprocess.Popen(self.argv, **kwargs, **popen)

    def sandbox_pid(self, timeout: float = 30.0) -> int:
        """The host pid of the process at the sandbox's root (its pid 1), once bubblewrap has set it up."""
        assert self._info_read is not None, "prepare the launch with report_pid=True"
        info = b""
        try:
            while not info.rstrip().endswith(b"}"):
                ready, _, _ = select.select([self._info_read], [], [], timeout)
                chunk = os.read(self._info_read, 4096) if ready else b""
                if not chunk:
                    raise RuntimeError("the sandbox did not start (bubblewrap sent no process id)")
                info += chunk
        finally:
            os.close(self._info_read)
            self._info_read = None
        return int(json.loads(info)["child-pid"])

    def _pass(self, fd: int) -> str:
        self._fds.append(fd)
        return str(fd)

    def _data_fd(self, name: str, data: bytes) -> str:
        fd = os.memfd_create(name)
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        return self._pass(fd)

    def _argv(self) -> list[str]:
        mounts = self.mounts
        self._limited_tmpfs: list[str] = []  # FOLDER:BYTES:FILES of each in-memory folder entry.py mounts
        filesystem = self._filesystem()
        group = self.sandbox.worker_group().procs if self.sandbox.control_groups else []
        entry = [*(option for procs in group for option in ("--procs", procs))]
        entry += [option for spec in self._limited_tmpfs for option in ("--tmpfs", spec)]
        argv = [sys.executable, "-I", "-S", str(SANDBOX_ENTRY), *entry, "--"] if entry else []
        argv += [shutil.which("choom") or "choom", "-n", "1000", "--", shutil.which("bwrap") or "bwrap"]
        if self.report_pid:
            self._info_read, info_write = os.pipe()
            argv += ["--info-fd", self._pass(info_write)]
        argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        if self.privileged:
            argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        else:
            argv += ["--unshare-user", "--disable-userns", "--uid", str(self.uid), "--gid", str(self.uid)]
        argv += filesystem
        for host in mounts.writable_files.values():
            if self.privileged:
                os.chown(host, self.uid, self.uid)
        argv += ["--chdir", mounts.workdir, "--clearenv"]
        for name, value in {**self.sandbox.base_environment(), **mounts.environment}.items():
            argv += ["--setenv", name, value]
        argv += ["--seccomp", self._data_fd("seccomp", seccomp_program()), "--"]
        if self.privileged:
            argv += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            argv += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return argv + self.sandbox.limits() + self.command

    def _filesystem(self) -> list[str]:
        """bwrap's mount options: folders above every mount first, then each mount, outer paths before the paths
        inside them (a folder mounted later would hide what is already mounted below it), then all read-only."""
        mounts = self.mounts
        read_only = {path: path for path in system_paths()}
        read_only |= {path: path for path in self.sandbox.readable_paths}
        read_only |= mounts.read_only
        files = {**etc_files(self.uid), **mounts.files}
        operations: list[tuple[str, list[str]]] = [
            *((inside, ["--ro-bind", host, inside]) for inside, host in read_only.items()),
            *(
                (inside, ["--perms", "0444", "--ro-bind-data", self._data_fd("file", data), inside])
                for inside, data in files.items()
            ),
            *((inside, self._tmpfs(inside, size)) for inside, size in mounts.tmpfs.items()),
            *((inside, ["--bind", host, inside]) for inside, host in mounts.writable_files.items()),
        ]
        mounted = [inside for inside, _ in operations]
        folders = parent_folders([*mounted, mounts.workdir])
        if mounts.workdir not in {"/", *mounted}:
            folders.append(mounts.workdir)
        # Folders first: one that is also a mount point must exist before it is mounted on.
        operations = [*((folder, ["--perms", "0755", "--dir", folder]) for folder in folders), *operations]
        args = []
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        args += (
            ["--proc", "/proc"] if mounts.proc else ["--dir", "/proc/self", "--symlink", NO_PROC_EXE, "/proc/self/exe"]
        )
        args += ["--dev", "/dev"]
        for _, option in sorted(operations, key=lambda operation: PurePosixPath(operation[0]).parts):
            args += option
        return [*args, "--remount-ro", "/", "--remount-ro", "/dev"]

    def _tmpfs(self, inside: str, size: int) -> list[str]:
        """bwrap's options for an in-memory folder: one of its own, of size bytes; or, as root with mount points,
        one that entry.py mounts with a limit on its files too, bound here."""
        if not (self.privileged and self.mounts.mount_points):
            return ["--perms", "01777", "--size", str(size), "--tmpfs", inside]
        point = Path(self.mounts.mount_points) / f"tmpfs-{len(self._limited_tmpfs)}"
        point.mkdir(parents=True, exist_ok=True)
        self._limited_tmpfs.append(f"{point}:{size}:{self.sandbox.file_count_limit}")
        return ["--bind", str(point), inside]


def system_paths() -> list[str]:
    """Read-only paths Python needs: the OS's /usr, the base interpreter and the virtualenv."""
    paths = ["/usr", sys.base_prefix, sys.prefix, *(f"/etc/{name}" for name in ("ld.so.cache", "fonts"))]
    return [path for path in dict.fromkeys(paths) if os.path.exists(path)]


def etc_files(uid: int) -> dict[str, bytes]:
    """A minimal /etc: the sandbox's own user, loopback names, and the time zone; nothing of the host's."""
    return {
        "/etc/passwd": f"{SANDBOX_USER}:x:{uid}:{uid}::/tmp:/usr/sbin/nologin\n".encode(),
        "/etc/group": f"{SANDBOX_USER}:x:{uid}:\n".encode(),
        "/etc/hosts": b"127.0.0.1 localhost\n::1 localhost\n",
        "/etc/nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files\n",
    }


def parent_folders(paths: list[str]) -> list[str]:
    """Every folder above the given paths, outermost first, made world-readable so that binds below are reachable."""
    folders = {str(parent) for path in paths for parent in PurePosixPath(path).parents if str(parent) != "/"}
    return sorted(folders, key=lambda folder: (folder.count("/"), folder))


def check_tools() -> None:
    """Fail early, with what to install, if the sandbox's tools are missing."""
    missing = [tool for tool in ("bwrap", "prlimit", "setpriv", "choom") if not shutil.which(tool)]
    if missing:
        raise RuntimeError(
            f"grading runs student code in a sandbox and needs {', '.join(missing)}: "
            "install bubblewrap and util-linux (apt-get install bubblewrap util-linux)"
        )


@contextlib.contextmanager
def started(
    sandbox: Sandbox, command: list[str], mounts: Mounts, pass_fds: tuple[int, ...] = (), **popen: object
) -> Iterator[subprocess.Popen]:
    """A sandboxed process, started with these Popen arguments, killed (with its whole sandbox) on leaving."""
    with sandbox.prepare(command, mounts) as launch:
        process = launch.start(pass_fds, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
