"""Probe what the grader's sandboxes allow, from inside them (autograder/inside/probe.py), the way grading starts
them."""

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder.course.assignment import Assignment, released_beside
from autograder.grading.judging import HAND_IN_MODULE
from autograder.grading.sandboxed_kernel import SandboxedKernelManager
from autograder.grading.supervisor import judge_mounts
from autograder.inside import INSIDE
from autograder.inside.handin_contract import GRADER
from autograder.sandbox.launch import Mounts, Sandbox, started

PROBE = INSIDE / "probe.py"
PROBE_INSIDE = f"{GRADER}/probe.py"  # where a sandbox sees it


def probe_sandboxes(config: Config, assignment: Assignment, host_ports: tuple[int, ...] = ()) -> dict[str, dict]:
    """The probe's report from a notebook kernel's sandbox and from a judge's, under this grading configuration,
    as they are when grading the assignment.

    host_ports are ports listening on the host's loopback interface, which the probe tries to reach.
    """
    sandbox = Sandbox(config=config)
    kernel = SandboxedKernelManager(config=config)
    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as scratch:
        archive = Path(scratch, "handin.tar")
        archive.touch()
        kernel.handin_archive = str(archive)
        kernel.handin_module = str(HAND_IN_MODULE)  # with its companions, as when grading
        kernel.mount_points = str(Path(scratch, "kernel-mounts"))
        kernel.readable, kernel.environment = assignment.readable, assignment.environment
        course = CourseDirectory(config=config)
        release = Path(course.format_path(course.release_directory, ".", assignment.name))
        assignment = dataclasses.replace(assignment, beside=released_beside(release, assignment.notebook_name))
        kernel.beside = assignment.beside
        judge = judge_mounts(archive, sandbox.file_size_limit, assignment)
        sandboxes = {"kernel": kernel.mounts(), "judge": judge}
        return {name: _report(sandbox, mounts, host_ports) for name, mounts in sandboxes.items()}


def _report(sandbox: Sandbox, mounts: Mounts, host_ports: tuple[int, ...]) -> dict:
    mounts.read_only[PROBE_INSIDE] = str(PROBE)
    command = [sys.executable, "-I", PROBE_INSIDE, *map(str, host_ports)]
    with started(sandbox, command, mounts, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        stdout, stderr = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"the probe failed in its sandbox: {stderr.decode(errors='replace')[-2000:]}")
    return json.loads(stdout)
