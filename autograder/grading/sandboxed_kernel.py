"""nbgrader's Execute step with each notebook kernel in a sandbox (autograder/sandbox/launch.py).

The kernel runs in an empty in-memory working folder: nothing it writes reaches the host but its hand-in archive,
a single file of bounded size. It talks to nbgrader over Unix sockets in a small in-memory folder of its own,
which the grader reaches through /proc/<pid>/root, so no folder of the host is writable from the sandbox. What a
cell prints is bounded twice: by message size on the wire and by a budget of bytes per cell.

Once the kernel has run the notebook and handed in its answers, the judge judges them while the kernel still runs:
a test that calls one of the assignment's plain Python functions has it called here, in the kernel, with the
judge's arguments (autograder/inside/handin.py: call_for_judge), each call within its test's time.
"""

import json
import math
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader.preprocessors import Execute
from traitlets import Bytes, Dict, Instance, Integer, List, Unicode
from traitlets.config import Config

from autograder.course.assignment_schema import KIB, Limits
from autograder.grading.judging import HAND_IN_MODULE, Judging, with_limits
from autograder.inside import INSIDE
from autograder.inside.handin_contract import (
    ARCHIVE,
    CALLS,
    GRADER,
    MODULES,
    REPLIES,
    REPLY_TYPE,
    RESULT_LIMIT,
    SOCKETS,
    SPEC,
    WORKDIR,
)
from autograder.report.notes import add_note
from autograder.report.step_times import record, timed
from autograder.sandbox.launch import MIB, Launch, Mounts, Sandbox

# Replies the grader writes itself, as opposed to what the kernel answered: their reasons quote no student code.
BY_GRADER = {"by_grader": True}
STOPPED = {"kernel_stopped": True, **BY_GRADER}
CONNECTION_FILE = f"{GRADER}/connection.json"
MAX_MESSAGE_BYTES = 256 * MIB  # a larger message from the kernel is dropped on the wire, and the cell's output lost
# Bytes of output kept from a call of a student's function: its reply, at most RESULT_LIMIT characters of wire
# text, with room for the JSON it travels in.
CALL_OUTPUT_LIMIT = RESULT_LIMIT * 3 // 2
FULL_FILES, FULL_BYTES = 16, 1 * MIB  # a folder with fewer free files or bytes than these is full


class BoundedContext(zmq.asyncio.Context):
    """A ZeroMQ context whose sockets refuse messages over MAX_MESSAGE_BYTES, so a kernel cannot flood the grader."""

    def socket(self, socket_type: int, **kwargs: Any) -> zmq.asyncio.Socket:
        sock = super().socket(socket_type, **kwargs)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return sock


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel inside the sandbox, in an empty in-memory folder, with its hand-in archive writable."""

    sandbox = Instance(Sandbox)
    workdir = Unicode(WORKDIR, help="The kernel's working folder, inside the sandbox").tag(config=True)
    workdir_size = Integer(1024 * MIB, help="Bytes the notebook may write into its working folder").tag(config=True)
    tmp_size = Integer(512 * MIB, help="Bytes the notebook may write into /tmp").tag(config=True)
    handin_module = Unicode(help="Host path of the hand-in module, run in the kernel after the notebook")
    handin_archive = Unicode(help="Host path of the file the kernel writes its hand-in archive into")
    calls_folder = Unicode(help="Host folder of the arguments of the judge's calls, which the kernel reads")
    mount_points = Unicode(help="Host folder for the mount points of the kernel's in-memory folders (sandbox.py)")
    handin_spec = Bytes(b"{}", help="What the kernel hands in, as JSON for the hand-in module")
    readable = List(Unicode(), help="Host folders the assignment lets the notebook read")
    beside = Dict(Unicode(), help="Host files released beside the notebook, by name: read-only in its folder")
    environment = Dict(Unicode(), help="The assignment's environment variables for the notebook")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = Sandbox(parent=self)
        self._launch: Launch | None = None
        self._memory_kills = 0  # the worker's group's count when the kernel started

    def client(self, **kwargs: Any) -> Any:
        return super().client(context=BoundedContext.instance(), **kwargs)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        # bwrap does not pass signals on: interrupt a timed-out cell with a message, which the kernel handles.
        self.kernel_spec.interrupt_mode = "message"
        self.transport, self.ip = "ipc", f"{SOCKETS}/kernel"
        return await super()._async_pre_start_kernel(**kw)

    def _handin_modules(self) -> dict[str, str]:
        """The hand-in module and the contract's files, in the grader's folder, by their host files."""
        modules = {f"{GRADER}/{name}": str(INSIDE / name) for name in MODULES}
        return {f"{GRADER}/{HAND_IN_MODULE.name}": self.handin_module, **modules}

    def mounts(self) -> Mounts:
        """What the kernel sees besides the system: its working folder, /tmp and its sockets, all in memory; the
        hand-in module, what to hand in, and the one host file it writes the hand-in into; and what the assignment
        lets it read."""
        return Mounts(
            workdir=self.workdir,
            tmpfs={self.workdir: self.workdir_size, "/tmp": self.tmp_size, SOCKETS: 1 * MIB},
            read_only={
                **{folder: folder for folder in self.readable},
                **{f"{self.workdir}/{name}": host for name, host in self.beside.items()},
                **(self._handin_modules() if self.handin_module else {}),
                **({CALLS: self.calls_folder} if self.calls_folder else {}),
            },
            writable_files={ARCHIVE: self.handin_archive} if self.handin_archive else {},
            files={SPEC: self.handin_spec},
            environment=dict(self.environment),
            mount_points=self.mount_points,
        )

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        command = [CONNECTION_FILE if arg == self.connection_file else arg for arg in kernel_cmd]
        mounts = self.mounts()
        mounts.files[CONNECTION_FILE] = Path(self.connection_file).read_bytes()
        self._memory_kills = self.sandbox.memory_kills()
        with self.sandbox.prepare(command, mounts, report_pid=True) as launch:
            # What the notebook prints reaches nbgrader through the kernel protocol; the kernel process's own
            # output is start-up chatter.
            popen = {**kw, **launch.popen_kwargs, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            await super()._async_launch_kernel(launch.argv, **popen)
            pid = launch.sandbox_pid()
        # The sockets live in the sandbox's own memory; the grader reaches them through its root.
        self._root = f"/proc/{pid}/root"
        self._sockets = f"{self._root}{SOCKETS}"
        self.ip = f"{self._sockets}/kernel"

    def died(self) -> str:
        """How the kernel ended, as far as the host can tell: "the kernel ..." that."""
        if self.sandbox.memory_kills() > self._memory_kills:
            return f"went over its memory limit ({self.sandbox.memory_limit_text()}) and was stopped"
        return "died (the notebook exited or crashed)"

    def full_folders(self) -> list[str]:
        """The kernel's writable folders that are full, of bytes or of files, each with what filled it, read from
        the host (the kernel's word is not taken): the real cause of what could not be written there."""
        full = []
        for folder in (self.workdir, "/tmp"):
            try:
                usage = os.statvfs(f"{self._root}{folder}")
            except OSError:  # the kernel is gone
                continue
            if usage.f_favail < FULL_FILES:
                full.append(f"{folder} (it holds the most files it may, {usage.f_files:,})")
            elif usage.f_bavail * usage.f_frsize < FULL_BYTES:
                full.append(f"{folder} (it holds the most bytes it may, {usage.f_blocks * usage.f_frsize // MIB} MiB)")
        return full

    def lock_sockets(self) -> None:
        """Once the kernel has made its sockets, and before any notebook code runs: from now on the sandbox cannot
        replace them (by a link to a socket of the host, say, which the grader would then connect to)."""
        os.chmod(self._sockets, 0o555, follow_symlinks=False)


class NotebookTimeout(Exception):
    """The notebook ran out of its time, all cells together."""


class SandboxedExecute(Execute):
    """nbgrader's Execute step with every kernel sandboxed, output bounded, and a clear note when a kernel stops."""

    cell_output_limit = Integer(Limits.output * KIB, help="Bytes of output kept from each cell").tag(config=True)
    notebook_output_limit = Integer(16 * MIB, help="Bytes of output kept from the whole notebook").tag(config=True)
    notebook_timeout = Integer(Limits.notebook, help="Seconds the whole notebook may run, all cells together").tag(
        config=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
        self._output_bytes: dict[int, int] = {}
        self._running, self._started, self._cells_seconds = -1, 0.0, 0.0
        self._call: tuple[int, float] | None = None  # the cell index and time limit of a kernel call under way
        self._kernel_busy = ""  # why no more calls can be made in the kernel
        self._kernel: SandboxedKernelManager | None = None
        self._group_memory_limit: int | None = None  # the assignment's, for this notebook's sandboxes
        self._cell_limit, self._notebook_limit, self._output_limit = self.timeout, self.notebook_timeout, 0

    def preprocess(self, nb: NotebookNode, resources: dict, km: Any = None) -> tuple[NotebookNode, dict]:
        self._output_bytes, self._running, self._cells_seconds = {}, -1, 0.0
        started = time.monotonic()
        self._judging: Judging | None = resources.get("judging")
        self._apply_limits(self._judging.limits if self._judging else Config())
        self._deadline = started + self._notebook_limit
        try:
            return self._run_or_note_why_it_stopped(nb, resources, km)
        except BaseException:
            if self._judging:  # judging will not happen: nothing else stops the judge and removes its folder
                self._judging.discard()
            raise
        finally:
            record("kernel start and stop", time.monotonic() - started - self._cells_seconds)

    def _apply_limits(self, limits: Config) -> None:
        """The assignment's [limits] for this notebook where the run's configuration has not applied them (plain
        nbgrader), else the run's own (autograder/grading/judging.py: PrepareJudging). Kept apart from the traits,
        which nbconvert sets again from the configuration when it starts executing a notebook."""
        ours = with_limits(self.config, limits)
        self._cell_limit = ours.Execute.get("timeout", self.timeout)
        self._notebook_limit = ours.SandboxedExecute.get("notebook_timeout", self.notebook_timeout)
        self._output_limit = ours.SandboxedExecute.get("cell_output_limit", self.cell_output_limit)
        self._group_memory_limit = ours.Sandbox.get("group_memory_limit")

    def _run_or_note_why_it_stopped(self, nb: NotebookNode, resources: dict, km: Any) -> tuple[NotebookNode, dict]:
        try:
            return super().preprocess(nb, resources, km)
        except (CellTimeoutError, DeadKernelError, NotebookTimeout) as error:
            stopped = self._stopped_note(error)
            add_note(self.log, stopped)
            if self._judging:
                self._judging.stopped = stopped
            return nb, resources

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        self.km.lock_sockets()
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        self._running, self._started = index, time.monotonic()
        if self._started >= self._deadline:
            raise NotebookTimeout()
        try:
            result = super().preprocess_cell(cell, resources, index)
        finally:
            self._time_cell(cell, time.monotonic() - self._started)
        if self._judging and cell.get("id") == self._judging.hand_in_id:
            self._judge_while_the_kernel_runs(self._judging)
        return result

    def _judge_while_the_kernel_runs(self, judging: Judging) -> None:
        """The judge's verdicts on the hand-in, with the kernel still there for the calls of the student's Python
        functions; the time is the judge's, not the kernel's."""
        started = time.monotonic()
        full = self.km.full_folders()
        for folder in full:
            add_note(self.log, f"its kernel filled {folder}: writing there failed from then on")
        nothing = ""
        if judging.archive.stat().st_size == 0:  # the notebook ran to its end, and its hand-in failed
            cause = f"its {full[0].split(' ', 1)[0]} is full" if full else "its hand-in cell failed"
            nothing = f"the notebook ran to its end but handed nothing in: {cause}"
        with timed("judge, after the kernel"):
            judging.verdicts = judging.supervisor.judge_all(nothing, kernel=self)
        self._cells_seconds += time.monotonic() - started

    def call_in_kernel(self, function: str, arguments: str, timeout: float) -> dict:
        """Call the student's function in the kernel, as the judge asks (autograder/grading/supervisor.py:
        KernelCalls)."""
        if self._kernel_busy:
            return {"unavailable": f"{function} cannot be called: {self._kernel_busy}", **STOPPED}
        if timeout <= 0:
            return {"timed_out": True}
        # The arguments, megabytes of them at times, go in a file: in the code of the cell, IPython would take
        # seconds to echo, transform, compile and store them.
        staged = self._judging.calls / "arguments.tmp"
        staged.write_text(arguments)
        staged.replace(self._judging.calls / "arguments.json")
        cell = new_code_cell(f"call_for_judge(globals(), {function!r}, {CALLS + '/arguments.json'!r})")
        self.nb.cells.append(cell)
        index, started = len(self.nb.cells) - 1, time.monotonic()
        self._call = (index, timeout)
        try:
            self.execute_cell(cell, index)
        except CellTimeoutError:  # it ran out of time and ignored the interrupt: the kernel is still running it
            self._kernel_busy = f"the kernel was still running {function} after its time ran out"
            return {"timed_out": True, "kernel_stopped": True}
        except DeadKernelError:
            self._kernel_busy = f"the kernel {self._kernel.died()} while it ran {function}"
            return {"unavailable": f"{function} cannot be called: {self._kernel_busy}", **STOPPED}
        finally:
            self.nb.cells.pop()
            self._output_bytes.pop(index, None)
            self._call = None
        replies = [output for output in cell.outputs if REPLY_TYPE in output.get("data", {})]
        if time.monotonic() - started >= timeout:  # interrupted: the kernel takes more calls only if it stopped
            if not self._kernel_answers():
                self._kernel_busy = f"the kernel was still running {function} after its time ran out"
            return {"timed_out": True, "kernel_stopped": bool(self._kernel_busy)}
        stopped = any(output.get("output_type") == "error" for output in cell.outputs)
        if stopped or not replies:
            return {"unavailable": f"{function} gave no answer: the call stopped before it returned", **BY_GRADER}
        if len(replies) > 1:  # the function published one of its own
            return {"unavailable": f"{function} gave more than one answer", **BY_GRADER}
        try:
            reply = json.loads(replies[0]["data"][REPLY_TYPE])
        except (TypeError, ValueError):
            reply = None
        if not (isinstance(reply, dict) and len(reply) == 1 and {*reply} <= {*REPLIES}):
            return {"unavailable": f"{function} gave an answer that is no reply", **BY_GRADER}
        return reply

    def _time_cell(self, cell: NotebookNode, seconds: float) -> None:
        """Record a cell's time (autograder/report/step_times.py): the hand-in, or a notebook cell by its grade id."""
        self._cells_seconds += seconds
        if self._judging and cell.get("id") == self._judging.hand_in_id:
            record("hand-in", seconds)
        elif cell.cell_type == "code" and cell.source:
            record("notebook in the kernel", seconds)
            grade_id = str(cell.metadata.get("nbgrader", {}).get("grade_id") or "ungraded cells")
            record(f"kernel: {grade_id[:60]}", seconds)

    def _kernel_answers(self, within: float = 10.0) -> bool:
        """Whether the kernel runs an empty cell within seconds: after an interrupt, whether it stopped."""
        cell = new_code_cell("pass")
        self.nb.cells.append(cell)
        self._call = (len(self.nb.cells) - 1, within)
        started = time.monotonic()
        try:
            self.execute_cell(cell, len(self.nb.cells) - 1)
        except (CellTimeoutError, DeadKernelError):
            return False
        finally:
            self.nb.cells.pop()
            self._call = None
        return time.monotonic() - started < within

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        """A cell's time limit, cut to what is left of the notebook's; a kernel call's, what is left of its test's."""
        if self._call:
            return max(1, math.ceil(self._call[1]))
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        per_cell = self._cell_limit
        return left if per_cell is None else min(per_cell, left)

    def process_message(self, msg: dict, cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        """Outputs stay as they were first shown: updating a display, which would rewrite outputs already counted
        against the limits (all those that share its id, in any cell), is ignored."""
        if msg.get("msg_type") == "update_display_data":
            return None
        msg.get("content", {}).pop("transient", None)  # no display ids: nothing can be updated later
        return super().process_message(msg, cell, cell_index)

    def create_kernel_manager(self) -> SandboxedKernelManager:
        km = super().create_kernel_manager()
        if self._judging:
            km.handin_module = str(HAND_IN_MODULE)
            km.handin_archive = str(self._judging.archive)
            km.calls_folder = str(self._judging.calls)
            km.mount_points = str(self._judging.scratch / "kernel-mounts")
            km.handin_spec = json.dumps(self._judging.handin).encode()
            km.readable = self._judging.assignment.readable
            km.beside = self._judging.assignment.beside
            km.environment = self._judging.assignment.environment
        if self._group_memory_limit:
            km.sandbox.group_memory_limit = self._group_memory_limit
        self._kernel = km  # nbclient lets go of self.km when the kernel stops; a note still asks it how it ended
        return km

    def output(self, outs: list, msg: dict, display_id: str, cell_index: int) -> NotebookNode | None:
        """Keep outputs until the cell's pass cell_output_limit bytes, or the notebook's notebook_output_limit; then
        note the cut once in the cell and drop the rest."""
        used = self._output_bytes.get(cell_index, 0)
        if self._call and self._call[0] == cell_index:  # a kernel call: only its reply is read, then dropped
            self._output_bytes[cell_index] = used + len(json.dumps(msg.get("content", {})))
            if self._output_bytes[cell_index] > CALL_OUTPUT_LIMIT:
                return None
            return super().output(outs, msg, display_id, cell_index)
        total = sum(self._output_bytes.values())
        if used > self._output_limit or total > self.notebook_output_limit:
            return None
        size = len(json.dumps(msg.get("content", {})))
        self._output_bytes[cell_index] = used + size
        limit = None
        if used + size > self._output_limit:
            limit = f"this cell printed more than {self._output_limit // MIB} MiB"
        elif total + size > self.notebook_output_limit:
            limit = f"the notebook printed more than {self.notebook_output_limit // MIB} MiB"
        if limit:
            self._output_bytes[cell_index] = self._output_limit + 1  # nothing more from this cell
            output = new_output("stream", name="stderr", text=f"[output cut: {limit}]\n")
            outs.append(output)
            return output
        return super().output(outs, msg, display_id, cell_index)

    def _stopped_note(self, error: Exception) -> str:
        where = f"cell {self._running + 1}"
        if isinstance(error, NotebookTimeout) or time.monotonic() >= self._deadline:  # a cell cut short by it, too
            what = f"the notebook ran longer than {self._notebook_limit} s in all"
        elif isinstance(error, DeadKernelError):
            what = f"the notebook's kernel {self._kernel.died()}"
        elif time.monotonic() - self._started >= self._cell_limit:
            what = f"it ran longer than {self._cell_limit} s and ignored the interrupt"
        else:
            what = f"its output was lost: it printed more than {MAX_MESSAGE_BYTES // MIB} MiB at once"
        return f"grading stopped in {where}: {what}; the cells after it did not run"
