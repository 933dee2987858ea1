"""What the grading sandboxes really allow, asked from inside them (autograder/inside/probe.py), as grading starts them:
who runs there, what can be written, mounted, read and reached, which environment and limits apply."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder import REPO
from autograder.grading.course_folder import load_course_config
from autograder.grading.supervisor import judge_mounts
from autograder.probing import probe_sandboxes
from autograder.sandbox.launch import MIB, Mounts, Sandbox, started
from tests.helpers import RESNET

PLANTED_VARIABLE = "AUTOGRADER_PLANTED_SECRET"
# The judge's folders are writable only until it forbids itself every write, before it unpacks the hand-in.
WRITABLE = {"kernel": {"/submission", "/tmp", "/run/jupyter"}, "judge": {"/handin", "/tmp"}}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    os.environ[PLANTED_VARIABLE] = "planted-in-the-grader"
    try:
        return probe_sandboxes(load_course_config(REPO), RESNET, (port,))
    finally:
        del os.environ[PLANTED_VARIABLE]
        listener.close()


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_sandboxed_code_runs_unprivileged(reports, sandbox: str) -> None:
    report = reports[sandbox]
    assert report["uid"] != 0 and report["gid"] != 0 and report["groups"] in ([], [report["gid"]])
    assert report["setuid_root"] == "denied: EPERM"
    if sandbox == "kernel":  # the judge has no /proc to read its status from
        status = report["status"]
        assert {status[key] for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0000000000000000"}
        assert (status["NoNewPrivs"], status["Seccomp"]) == ("1", "2")
    else:
        assert report["status"] == {"proc": "absent"}


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_nothing_but_the_throwaway_folders_is_writable(reports, sandbox: str) -> None:
    writable = {folder for folder, outcome in reports[sandbox]["writable"].items() if outcome == "allowed"}
    assert writable == WRITABLE[sandbox]
    assert {"/", "/etc", "/usr", sys.prefix, "/dev", "/grader"} <= set(reports[sandbox]["writable"])


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_no_remount_mount_or_namespace(reports, sandbox: str) -> None:
    report = reports[sandbox]
    assert set(report["remount_rw"].values()) == {"denied: EPERM"}
    assert report["mount_tmpfs"] == "denied: EPERM"
    assert set(report["unshare"].values()) == {"denied: EPERM"}


def test_read_only_mounts_stay_read_only(reports) -> None:
    mounts = {mount["path"]: mount["options"].split(",") for mount in reports["kernel"]["mounts"]}
    writable = {path for path, options in mounts.items() if "rw" in options}
    assert writable == {"/proc", "/submission", "/tmp", "/run/jupyter", "/grader/handin.tar"} | {
        path for path in writable if path.startswith("/dev/")
    }
    assert all("nosuid" in options for options in mounts.values())


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_no_secrets_and_no_grader_environment(reports, sandbox: str) -> None:
    report = reports[sandbox]
    assert all(outcome.startswith("denied") for outcome in report["secrets"].values()), report["secrets"]
    assert PLANTED_VARIABLE not in report["environment"]
    assert set(report["environment"]) <= {
        *Sandbox().base_environment(),
        *RESNET.environment,  # the assignment's: SAMPLES_DIR, SERVING_DIR, RESNET_WEIGHTS, TF_CPP_MIN_LOG_LEVEL
        "PYTHONSAFEPATH",
        "TEST_TMPDIR",
        "PWD",
    }


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_no_network_but_a_private_loopback(reports, sandbox: str) -> None:
    report = reports[sandbox]
    assert set(report["connect_host_loopback"].values()) == {"denied: ECONNREFUSED"}
    assert report["connect_internet"] == "denied: ENETUNREACH"
    assert report["packet_socket"] == "denied: EAFNOSUPPORT"


def test_limits_apply_to_every_process(reports) -> None:
    sandbox = Sandbox(config=load_course_config(REPO))
    for report in reports.values():
        limits = {name: tuple(value) for name, value in report["limits"].items()}
        assert limits["RLIMIT_AS"] == (sandbox.memory_limit,) * 2
        assert limits["RLIMIT_NPROC"] == (sandbox.process_limit,) * 2
        assert limits["RLIMIT_FSIZE"] == (sandbox.file_size_limit,) * 2
        assert limits["RLIMIT_CORE"] == (0, 0)


@pytest.mark.parametrize("sandbox", ["kernel", "judge"])
def test_each_in_memory_folder_holds_a_bounded_number_of_files(reports, sandbox: str) -> None:
    """Run as root, a sandbox's in-memory folders are mounted with a limit on their files, not only their bytes: a
    cell creating millions of empty files would otherwise fill the host's kernel memory."""
    limit = Sandbox(config=load_course_config(REPO)).file_count_limit
    assert set(reports[sandbox]["file_count_limits"].values()) == {limit}
    assert set(reports[sandbox]["file_count_limits"]) == WRITABLE[sandbox]


def test_a_sandbox_and_all_it_starts_run_in_its_workers_control_groups(tmp_path) -> None:
    """Run as root, everything in a sandbox, and every process it starts in a session of its own, counts against
    its grading worker's control groups (CPU, memory, processes); seen from the host, as the sandbox sees only its
    own cgroup namespace."""
    sandbox = Sandbox()
    command = ["sh", "-c", "setsid sleep 60 & sleep 60"]
    with started(sandbox, command, Mounts(workdir="/tmp", tmpfs={"/tmp": 1 << 20})) as process:
        group = sandbox.worker_group()
        assert group.folders and not group.problem
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(members(group)) < 4:  # entry/bwrap, sh, both sleeps
            time.sleep(0.2)
        tree = descendants(process.pid)
        for folder in group.folders:
            joined = {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}
            assert tree <= joined, (folder, tree - joined)
    assert len(tree) >= 4


def test_a_process_killed_for_its_group_s_memory_is_counted(tmp_path) -> None:
    """The kernel kills a sandboxed process whose group holds more than its memory limit: the group's count of such
    kills grows, which is how a note tells "went over its memory limit" from a crash."""
    sandbox = Sandbox(config=Config({"Sandbox": {"group_memory_limit": 256 * MIB}}))
    before = sandbox.memory_kills()
    command = [sys.executable, "-c", "kept = b'x' * (600 << 20)"]  # within the per-process limit, over the group's
    with started(sandbox, command, Mounts(workdir="/tmp", tmpfs={"/tmp": 1 << 20})) as process:
        process.wait(timeout=60)
    assert process.returncode not in (0, None)
    assert sandbox.memory_kills() == before + 1
    assert sandbox.memory_limit_text() == "256 MiB for its kernel and judge together"


def members(group) -> set[int]:
    return {int(pid) for pid in (group.folders[0] / "cgroup.procs").read_text().split()}


def descendants(pid: int) -> set[int]:
    """pid and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = status.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    found, pending = set(), [pid]
    while pending:
        current = pending.pop()
        found.add(current)
        pending += children.get(current, [])
    return found


def test_the_judge_forbids_itself_every_write_before_loading_a_hand_in(tmp_path) -> None:
    """After forbid_writes, even the judge's own in-memory folders are read-only, for it and for its children."""
    code = (
        "import runpy, subprocess, sys\n"
        "print(runpy.run_path('/grader/landlock.py')['forbid_writes']())\n"
        "for path in ('/tmp/after-sealing', '/handin/after-sealing'):\n"
        "    try:\n"
        "        open(path, 'w')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print('denied', error.strerror)\n"
        "child = subprocess.run(['sh', '-c', 'echo x > /tmp/child'], capture_output=True, text=True)\n"
        "print('child', child.returncode)\n"
    )
    archive = tmp_path / "handin.tar"
    archive.touch()
    mounts = judge_mounts(archive, 1 << 20, RESNET)
    with started(Sandbox(), [sys.executable, "-I", "-c", code], mounts, stdout=subprocess.PIPE) as judge:
        printed = judge.communicate(timeout=60)[0].decode().split("\n")
    assert printed[:4] == ["True", "denied Permission denied", "denied Permission denied", "child 2"]


def test_read_only_folders_inside_a_writable_one_stay_read_only(tmp_path) -> None:
    """A virtualenv under /tmp (a clone in /tmp, say) stays read-only inside the sandbox's own /tmp."""
    inside = "/tmp/course/readonly"
    (tmp_path / "kept.txt").write_text("kept")
    tmp_path.chmod(0o755)
    mounts = Mounts(workdir="/tmp", tmpfs={"/tmp": 1 << 20}, read_only={inside: str(tmp_path)})
    code = f"open('{inside}/kept.txt').read(); open('{inside}/new.txt', 'w')"
    with started(Sandbox(), [sys.executable, "-I", "-c", code], mounts, stderr=subprocess.PIPE) as process:
        error = process.communicate(timeout=60)[1].decode()
    assert "Read-only file system" in error and not (tmp_path / "new.txt").exists()
