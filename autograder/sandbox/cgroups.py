"""A fair, bounded share of the machine for each grading worker's sandboxes, with Linux control groups (cgroups).

A grading worker grades one submission at a time, its kernel and its judge each in a sandbox. Run as root, the
worker makes a control group of its own (`autograder-<pid>-<limits>`) and every sandbox it starts joins it before
it runs anything (autograder/sandbox/entry.py), with all the processes it will ever start, whatever sessions they
make:
- CPU: the group weighs as much as every other worker's, however many processes it runs, so a submission that
  floods the CPU gets its worker's share and its neighbours keep theirs;
- memory: the group's processes together may hold at most `memory_limit` bytes, swap included where the kernel
  tells them apart;
- processes: at most `process_limit` at once, all sandboxes of the worker together;
- I/O: an equal weight.
The groups go under the worker's own group in each cgroup v1 hierarchy (cpu, cpuacct, memory, pids, blkio), or
under the root of cgroup v2's unified hierarchy, where a group with processes may not hand controllers to its
subgroups. A group is removed when its worker ends; one that a killed worker left is removed by the next worker that
starts. Not run as root, or where the controllers cannot be used, the worker grades without them, and
`python -m autograder probe` says so.
"""

import atexit
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CGROUPS = Path("/sys/fs/cgroup")
PREFIX = "autograder-"
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "blkio")
V2_CONTROLLERS = ("cpu", "memory", "pids", "io")


@dataclass(frozen=True)
class GroupLimits:
    memory_limit: int  # bytes that the group's processes may hold together
    process_limit: int  # processes and threads at once


class WorkerGroup:
    """This worker's control groups, made on first use; `procs` are the files a process joins them by."""

    def __init__(self, limits: GroupLimits) -> None:
        self.limits = limits
        # Named by its worker and its limits: a worker may grade assignments of different limits, each in its own.
        self.name = f"{PREFIX}{os.getpid()}-{limits.memory_limit >> 20}m-{limits.process_limit}p"
        self.folders: list[Path] = []
        self.problem = ""  # why the worker grades without control groups, if it does

    @property
    def procs(self) -> list[str]:
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def make(self) -> None:
        """Make the groups (once) and set their limits; on failure, none is kept and problem says why."""
        if self.folders or self.problem:
            return
        if os.geteuid() != 0:
            self.problem = "the grader is not root: without control groups, a submission's processes share the CPU"
            return
        try:
            self.folders = _v1_groups(self.name, self.limits) or _v2_group(self.name, self.limits)
        except OSError as error:
            self.remove()
            self.problem = f"the control groups cannot be made ({error.strerror or error}): grading goes on without"
            return
        if not self.folders:
            self.problem = "this machine has no cgroup cpu controller: grading goes on without control groups"
        atexit.register(self.remove)

    def memory_kills(self) -> int:
        """How many processes the kernel has killed so far for holding more than the group's memory limit."""
        for folder in self.folders:
            for counters in ("memory.oom_control", "memory.events"):  # cgroup v1, v2
                with contextlib.suppress(OSError):
                    for line in (folder / counters).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and value.strip().isdigit():
                            return int(value)
        return 0

    def remove(self) -> None:
        """Remove the groups, once their processes are gone (each sandbox is killed with its worker)."""
        for folder in self.folders:
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.folders = []


def _v1_groups(name: str, limits: GroupLimits) -> list[Path]:
    """The group in each cgroup v1 hierarchy, under this process's own group there; [] without cgroup v1's cpu."""
    own = _own_groups()
    if not (CGROUPS / "cpu" / "cpu.shares").exists() and "cpu" not in own:
        return []
    folders = []
    for controller in V1_CONTROLLERS:
        parent = CGROUPS / controller / own.get(controller, "/").lstrip("/")
        if not parent.is_dir():
            continue
        _remove_stale(parent)
        folder = parent / name
        folder.mkdir(exist_ok=True)
        folders.append(folder)
        settings = {
            "memory": {"memory.limit_in_bytes": limits.memory_limit, "memory.swappiness": 0},
            "pids": {"pids.max": limits.process_limit},
        }.get(controller, {})
        for setting, value in settings.items():
            (folder / setting).write_text(str(value))
    return folders


def _v2_group(name: str, limits: GroupLimits) -> list[Path]:
    """The group under the root of cgroup v2's unified hierarchy, with its controllers on; [] if there is none."""
    root = CGROUPS if (CGROUPS / "cgroup.controllers").is_file() else None
    if root is None or "cpu" not in (root / "cgroup.controllers").read_text().split():
        return []
    (root / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in V2_CONTROLLERS))
    _remove_stale(root)
    folder = root / name
    folder.mkdir(exist_ok=True)
    (folder / "memory.max").write_text(str(limits.memory_limit))
    (folder / "memory.swap.max").write_text("0")
    (folder / "pids.max").write_text(str(limits.process_limit))
    return [folder]


def _own_groups() -> dict[str, str]:
    """This process's group in each cgroup v1 hierarchy, by controller, from /proc/self/cgroup."""
    groups = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                groups[controller] = path
    return groups


def _remove_stale(parent: Path) -> None:
    """Remove the groups that workers no longer running left behind (a group with processes cannot be removed)."""
    for folder in parent.glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                folder.rmdir()
