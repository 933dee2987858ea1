"""Supervise the judge of one submission (autograder/inside/judge.py) in its sandbox.

The judge is started as soon as the submission's kernel is: it imports TensorFlow and runs the assignment's set-up
cells while the kernel runs the notebook, then waits for the cells to judge, sent once the kernel has written its
hand-in archive (which only the judge, in its sandbox, ever unpacks).
Each cell has a time limit; when a cell runs over it or the judge dies, that cell fails with the reason, the
handed-in function that was running is set aside, and a new judge goes on with the cells left, for which that
function is unavailable. One function that never returns costs the cells that call it, not the whole submission.

The assignment's plain Python functions live in the student's kernel: when a test calls one, the judge asks for the
call, which the supervisor makes through `kernel` (the kernel's executor, which keeps the kernel running until the
judging is done) within what is left of the cell's time, and it sends the reply back to the judge.
"""

import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from traitlets import Integer
from traitlets.config import Configurable

from autograder.course.assignment import Assignment
from autograder.course.assignment_schema import Limits
from autograder.inside import INSIDE
from autograder.inside.handin_contract import (
    ARCHIVE,
    GRADER,
    HANDED_IN,
    MODULES,
    WORKDIR,
    JudgeRequest,
    needs_tensorflow,
)
from autograder.report.step_times import record
from autograder.sandbox.launch import MIB, Mounts, Sandbox

JUDGE_MODULES = ["judge.py", "handin_reader.py", "landlock.py", *MODULES]  # the judge and its companions
JUDGE_TMP_SIZE = 64 * MIB
OUTPUT_TAIL = 4096  # bytes of the judge's own output kept for the grader's log when it stops


class Judge(Configurable):
    """How long the judge of one submission may take, and how much of what the tests print is kept."""

    cell_timeout = Integer(Limits.cell, help="Seconds the judge may spend on one cell (or on loading the hand-in)").tag(
        config=True
    )
    startup_timeout = Integer(
        300, help="Seconds the judge may take to start: importing its libraries and running the set-up cells"
    ).tag(config=True)
    timeout = Integer(Limits.judge, help="Seconds the judge may take for one submission in all").tag(config=True)
    restarts = Integer(4, help="How many times a judge stopped by a cell is started again for the rest").tag(
        config=True
    )
    output_limit = Integer(4000, help="Characters of a graded cell's printed output kept in its verdict").tag(
        config=True
    )


def judge_mounts(archive: Path, handin_size: int, assignment: Assignment) -> Mounts:
    """What the judge sees besides the system: its own code and the hand-in archive, read-only, and no /proc; an
    in-memory folder of handin_size bytes to unpack the archive into, its working folder as the kernel's is, with
    the files released beside the notebook in it; a small /tmp for the libraries it imports, before it forbids
    itself every write (autograder/inside/judge.py); and what the assignment lets its sandboxes read."""
    return Mounts(
        workdir=WORKDIR,
        tmpfs={HANDED_IN: handin_size, "/tmp": JUDGE_TMP_SIZE},
        read_only={
            ARCHIVE: str(archive),
            **{f"{GRADER}/{module}": str(INSIDE / module) for module in JUDGE_MODULES},
            **{folder: folder for folder in assignment.readable},
            **{f"{WORKDIR}/{name}": host for name, host in assignment.beside.items()},
        },
        proc=False,
        # absl (imported by TensorFlow) looks for a writable temporary folder unless told where tests write.
        environment={**assignment.environment, "PYTHONSAFEPATH": "1", "HOME": GRADER, "TEST_TMPDIR": "/tmp"},
        mount_points=str(archive.parent / "judge-mounts"),
    )


class KernelCalls(Protocol):
    """Where the student's Python functions are called: the kernel that ran the notebook."""

    def call_in_kernel(self, function: str, arguments: str, timeout: float) -> dict:
        """Call function with arguments (wire text) in the kernel, within timeout seconds; the reply for the
        judge ({"value": ...}, {"raised": [type, message]} or {"unavailable": why}), or {"timed_out": True}; either
        with "kernel_stopped" when the kernel can take no more calls."""


@dataclass
class Watch:
    """What the grader knows of a running judge, from its events: where it is, and how it ended."""

    ready: bool = False  # its set-up ran
    cell: str | None = None  # the cell it runs
    calling: str | None = None  # the handed-in function it calls
    started: bool = False  # a step began: the cell's time limit starts again
    timed_out: bool = False
    over_memory: bool = False  # killed for its worker's memory limit
    output: bytes = b""  # the end of what it printed, for the grader's log only
    step: str = "judge: waiting to start"  # the step being timed (autograder/report/step_times.py)
    since: float = field(default_factory=time.monotonic)


class RunningJudge:
    """One judge process in its sandbox, with the pipe its events come on and the pipe its replies go on."""

    def __init__(self, sandbox: Sandbox, archive: Path, setup: list[dict], assignment: Assignment) -> None:
        events_read, events_write = os.pipe()
        replies_read, replies_write = os.pipe()
        self.sandbox, self.memory_kills = sandbox, sandbox.memory_kills()
        command = [sys.executable, "-I", f"{GRADER}/judge.py", "--events-fd", str(events_write)]
        command += ["--replies-fd", str(replies_read)]
        with sandbox.prepare(command, judge_mounts(archive, sandbox.file_size_limit, assignment)) as launch:
            pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
            self.process = launch.start((events_write, replies_read), **pipes)
        os.close(events_write)
        os.close(replies_read)
        self.events = events_read
        self.replies = os.fdopen(replies_write, "wb")
        self.send({"setup": setup, "graphs": needs_tensorflow(assignment.handin)})

    def reply(self, reply: dict) -> bool:
        """Send the judge the reply to its kernel call; False if it is gone."""
        try:
            self.replies.write(json.dumps(reply).encode() + b"\n")
            self.replies.flush()
        except (BrokenPipeError, ValueError):
            return False
        return True

    def send(self, message: dict) -> None:
        """One line of JSON on the judge's stdin: first the set-up cells, then the cells to judge."""
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def went_over_memory(self) -> bool:
        return self.sandbox.memory_kills() > self.memory_kills

    def stop(self, grace: float = 0.0) -> int | None:
        """Kill the judge (and its whole sandbox) if it still runs after grace seconds; its exit status."""
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()
        with contextlib.suppress(BrokenPipeError):
            self.replies.close()
        os.close(self.events)
        return self.process.returncode


class Supervisor:
    """Runs the judge, restarting it past a cell that hangs or crashes it, and collects the graded verdicts."""

    def __init__(self, settings: Judge, log: logging.Logger, cells: list[dict], assignment: Assignment, archive: Path):
        self.settings, self.log, self.cells, self.archive = settings, log, cells, archive
        self.assignment = assignment
        self.sandbox = Sandbox(parent=settings)
        self.graded = [cell["id"] for cell in cells if cell["kind"] == "graded"]
        self.verdicts: dict[str, dict] = {}
        self.poisoned: dict[str, str] = {}
        self.failed_steps: dict[str, str] = {}
        self.deadline = time.monotonic() + settings.timeout
        self._waiting: RunningJudge | None = None
        self.kernel: KernelCalls | None = None
        self.kernel_gone = ""  # why the kernel cannot be called
        self.hidden_called = False  # whether a hidden test has called a function in the kernel

    def prewarm(self) -> None:
        """Start a judge now, to import its libraries while the kernel runs; judge_all then uses it."""
        self._waiting = self._start()

    def close(self) -> None:
        """Stop a judge that was started and not used."""
        if self._waiting:
            self._waiting.stop()
            self._waiting = None

    def judge_all(self, why_empty: str, kernel: KernelCalls | None = None) -> dict[str, dict]:
        """Every graded cell's verdict; why_empty explains a hand-in that is missing or refused. The student's Python
        functions are called in kernel; without one, they cannot be called."""
        self.kernel = kernel
        self.kernel_gone = "" if kernel else "the notebook's kernel had stopped before the end"
        if why_empty:
            self.close()
            return {cell: failure("HandInError", why_empty) for cell in self.graded}
        self.deadline = time.monotonic() + self.settings.timeout
        for _ in range(self.settings.restarts + 1):
            if self._run_judge() or all(cell in self.verdicts for cell in self.graded):
                break
        reason = "judging stopped: the judge was stopped too many times by this submission's functions"
        return {cell: self.verdicts.get(cell) or failure("JudgeError", reason) for cell in self.graded}

    def _start(self) -> RunningJudge:
        setup = [cell for cell in self.cells if cell["kind"] == "setup"]
        return RunningJudge(self.sandbox, self.archive, setup, self.assignment)

    def _run_judge(self) -> bool:
        """One judge process; True when it judged every cell left, False when it was stopped in one."""
        judge, self._waiting = self._waiting or self._start(), None
        finished, state = False, Watch(timed_out=True)
        try:
            request = JudgeRequest(
                cells=[cell for cell in self.cells if cell["kind"] != "setup"],
                handin=self.assignment.handin,
                scripts=self.assignment.readable,
                output_limit=self.settings.output_limit,
                skip=list(self.verdicts),
                poisoned=self.poisoned,
                failed_steps=self.failed_steps,
                after_hidden_calls=self.hidden_called,
            )
            judge.send(asdict(request))
            judge.process.stdin.close()
            finished, state = self._follow(judge)
        finally:
            # A judge that ended by itself is given a moment to exit, so that its exit status says why.
            returncode = judge.stop(grace=0.0 if state.timed_out else 5.0)
        if not finished:
            state.over_memory = judge.went_over_memory()
            self._record_stop(state, returncode)
        return finished

    def _follow(self, judge: RunningJudge) -> tuple[bool, Watch]:
        """Read the judge's events until it is done, dies, or overruns a deadline; what it was doing at the end."""
        state = Watch()
        selector = selectors.DefaultSelector()
        selector.register(judge.events, selectors.EVENT_READ, "events")
        selector.register(judge.process.stdout, selectors.EVENT_READ, "output")
        buffer = b""
        # Its start (its own imports and set-up) is the grader's business; from then on each step is timed.
        cell_deadline = time.monotonic() + self.settings.startup_timeout
        while True:
            wait = min(cell_deadline, self.deadline) - time.monotonic()
            if wait <= 0:
                state.timed_out = True
                return False, state
            for key, _ in selector.select(wait):
                data = os.read(key.fd, 1 << 16)
                if key.data == "output":
                    if not data:
                        selector.unregister(key.fd)
                    state.output = (state.output + data)[-OUTPUT_TAIL:]  # for the grader's log only
                    continue
                if not data:
                    return False, state
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    event = json.loads(line)
                    if event["event"] == "kernel_call":
                        if not self._call_in_kernel(judge, event, min(cell_deadline, self.deadline), state):
                            return False, state
                        continue
                    if self._event(event, state):
                        return True, state
                    if state.started:
                        state.started = False
                        cell_deadline = time.monotonic() + self.settings.cell_timeout

    def _call_in_kernel(self, judge: RunningJudge, event: dict, deadline: float, state: Watch) -> bool:
        """Make the call the judge asks for in the kernel, before deadline, and send it the reply; False when the
        call ran out of time (the function is then set aside, as a graph that never returns is) or the judge is
        gone."""
        function = str(event["function"])
        self.hidden_called = self.hidden_called or bool(event.get("hidden"))
        if self.kernel_gone or self.kernel is None:
            reply = {"unavailable": f"{function} cannot be called: {self.kernel_gone}", "by_grader": True}
        else:
            started = time.monotonic()
            reply = self.kernel.call_in_kernel(function, str(event["arguments"]), deadline - started)
            record(f"judge: kernel call of {function[:40]}", time.monotonic() - started)
            if reply.get("timed_out"):
                if reply.get("kernel_stopped"):
                    self.kernel_gone = f"the kernel was still running {function} when its test ran out of time"
                state.calling, state.timed_out = function, True
                return False
            if reply.pop("kernel_stopped", False):
                self.kernel_gone = str(reply["unavailable"])
        return judge.reply(reply)

    def _event(self, event: dict, state: Watch) -> bool:
        """Take one event into the state; True when the judge is done."""
        kind = event.pop("event")
        if kind in ("ready", "loaded", "cell", "done"):
            self._time_step(state, kind, event.get("id"))
        if kind == "ready":
            state.ready = state.started = True
        elif kind == "cell":
            state.cell, state.started = event["id"], True
        elif kind == "call":
            state.calling = event["function"]
        elif kind == "return":
            state.calling = None
        elif kind == "loaded" and not event["writes_forbidden"]:
            self.log.warning("This kernel has no Landlock: the judge could not forbid itself writes")
        elif kind == "verdict":
            self.verdicts[event.pop("id")] = event
            state.cell = None
        return kind == "done"

    def _time_step(self, state: Watch, kind: str, cell: str | None) -> None:
        """Record the step that this event ends (autograder/report/step_times.py) and start the next."""
        now = time.monotonic()
        record(state.step, now - state.since)
        following = {"ready": "judge: load hand-in", "loaded": "judge: between cells", "cell": f"judge: {cell}"}
        state.step, state.since = following.get(kind, ""), now

    def _record_stop(self, state: Watch, returncode: int | None) -> None:
        cell, calling = state.cell, state.calling
        tail = state.output.decode(errors="replace")
        self.log.warning("The judge stopped in %s (calling %s); its last output:\n%s", cell, calling, tail)
        if state.timed_out:
            limit = self.settings.cell_timeout if state.ready else self.settings.startup_timeout
            how = f"did not finish within {limit} s"
        elif state.over_memory:
            how = f"went over the memory limit ({self.sandbox.memory_limit_text()})"
        else:
            how = f"stopped the judge ({exit_reason(returncode)})"
        if calling:
            self.poisoned[calling] = f"{calling} {how} when an earlier test called it, so it is not called again"
        if not state.ready:
            reason = f"the judge could not start: its set-up {how} (see the grader's log)"
            self.verdicts.update({c: failure("JudgeError", reason) for c in self.graded if c not in self.verdicts})
        elif cell is None:
            reason = f"loading the hand-in {how}"
            self.verdicts.update({c: failure("JudgeError", reason) for c in self.graded if c not in self.verdicts})
        elif cell in self.graded:
            reason = f"{calling} {how}" if calling else f"this test {how}"
            self.verdicts[cell] = failure("TimeoutError" if state.timed_out else "JudgeError", reason)
        else:
            self.failed_steps[cell] = f"{calling} {how}" if calling else how


def exit_reason(returncode: int | None) -> str:
    """How the judge ended: bwrap reports a command killed by signal N as exit status 128 + N."""
    signal = -returncode if returncode is not None and returncode < 0 else (returncode or 0) - 128
    if signal > 0:
        return f"signal {signal}: out of memory, or a crash in TensorFlow"
    return f"exit status {returncode}"


def failure(ename: str, reason: str) -> dict:
    return {"stdout": "", "ename": ename, "evalue": reason}
