"""The judge: runs a notebook's graded cells, hidden tests included, against what the submission handed in.

No student Python runs here: the student's functions arrive as TensorFlow graphs and the rest as plain values
(autograder/handin.py), so nothing a submission did to its own kernel can change a verdict. The grader starts this
file sandboxed, in isolated mode (`python -I`), as a script that imports only the standard library, NumPy,
TensorFlow and its companions beside it in its read-only folder (handin_reader.py, landlock.py, wire.py), never from a
folder the submission could write; the only other code it runs is the scripts that the assignment's judged cells
start as a new Python, from the assignment's read-only folders (the notebook's fresh-process check). Its sandbox has
no /proc, and before it loads anything handed in, it forbids itself and its children every write and connection
(landlock.py); so the graphs it runs can reach neither the tests nor the channel the verdicts travel on, and can
change nothing:

- the set-up cells arrive on stdin first, as one line of JSON, and run while the kernel still runs the notebook
  (they import the libraries, some of which insist on a writable temporary folder); then the request (the cells to
  judge, what is handed in, what to skip), read whole and stdin closed before the hand-in is even unpacked;
- events (each cell started, each call of a handed-in function, each verdict) leave as JSON lines on the file
  descriptor given by --events-fd, which a graph cannot open by any path;
- a call of one of the assignment's plain Python functions, which live in the student's kernel, leaves as an event
  too, with its arguments as data; the grader makes the call in the kernel and sends back, as one JSON line on the
  descriptor given by --replies-fd, what the function returned or raised, which is read as data (wire.py);
- stdout and stderr are whatever TensorFlow and the graphs print; the grader reads and discards them.

The grader (autograder/supervisor.py) watches the events: a cell that runs too long, or a judge that dies, costs
only the cells that use the function being called at the time, which the judge is told to treat as unavailable
when the grader starts it again for the remaining cells.
"""

import argparse
import ast
import contextlib
import io
import itertools
import json
import math
import os
import runpy
import subprocess
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the judge's read-only folder, for its companions only

from handin_contract import ARCHIVE, HANDED_IN, RESULT_LIMIT
from handin_reader import MESSAGE_LIMIT, HiddenInputs, Unavailable, handed_in_namespace, unpack
from landlock import forbid_writes

HANDIN_ARCHIVE = Path(ARCHIVE)
HANDIN_FOLDER = Path(HANDED_IN)  # an in-memory folder of the judge's own, where the hand-in is unpacked


class Events:
    """JSON lines to the grader, on a descriptor of its own; and the grader's replies to the kernel calls among
    them, on another."""

    def __init__(self, fd: int, replies_fd: int) -> None:
        self.fd = fd
        self.replies = os.fdopen(replies_fd, "rb", buffering=0)

    def send(self, **event: object) -> None:
        data = (json.dumps(event) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data) :]

    def call_in_kernel(self, function: str, arguments: str) -> dict:
        """Ask the grader to call function in the student's kernel; its reply: {"value": wire text}, {"raised":
        [type, message]} or {"unavailable": why}."""
        self.send(event="kernel_call", function=function, arguments=arguments)
        line = self.replies.readline(RESULT_LIMIT + 4096)
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        return reply if isinstance(reply, dict) else {"unavailable": f"no reply came for the call of {function}"}


class PythonInProcess:
    """What subprocess.Popen starts for `python SCRIPT.py ARGS...` in the judge: the script runs in this process,
    as __main__, when communicate() sends its stdin.

    A check that loads an export "in a fresh process" asks for a process that has never run the notebook: the judge
    is one, and starting another Python with TensorFlow costs seconds. The script's output is captured as the
    child's would be; sys.exit and os._exit end the script, not the judge. subprocess.run works through it as
    through Popen. Only the assignment's judged cells, never the student's code, start processes here.
    """

    def __init__(self, args: list, text: bool) -> None:
        self.args, self.text = [str(arg) for arg in args], text
        self.returncode: int | None = None

    def communicate(self, input=None, timeout=None) -> tuple:
        if self.returncode is not None:
            raise ValueError("this process has already run")
        sent = input.decode() if isinstance(input, bytes) else input or ""
        printed, complained = io.StringIO(), io.StringIO()
        saved = sys.argv, sys.stdin, os._exit
        sys.argv, sys.stdin, os._exit = self.args[1:], io.StringIO(sent), sys.exit
        try:
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(complained):
                runpy.run_path(self.args[1], run_name="__main__")
            self.returncode = 0
        except SystemExit as stop:
            self.returncode = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            if stop.code is not None and not isinstance(stop.code, int):  # sys.exit("why") prints why, as Python does
                complained.write(f"{stop.code}\n")
        except Exception:  # the child would have died of it: report it as the child would
            self.returncode = 1
            complained.write(traceback.format_exc())
        finally:
            sys.argv, sys.stdin, os._exit = saved
        output = (printed.getvalue(), complained.getvalue())
        return output if self.text else tuple(text.encode() for text in output)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout=None) -> int | None:
        return self.returncode

    def kill(self) -> None:
        """Nothing runs in the background to stop."""

    terminate = kill

    def __enter__(self) -> "PythonInProcess":
        return self

    def __exit__(self, *exception: object) -> None:
        return None


def python_in_process(popen, folders: list[str]):
    """subprocess.Popen, except that `python SCRIPT.py ARGS...` gives a PythonInProcess, for a script in one of
    folders (the assignment's read-only ones): the judge runs no other Python, whatever path a cell builds."""

    def start(args, *positional, **options):
        script = isinstance(args, list | tuple) and len(args) >= 2 and str(args[1]).endswith(".py")
        if not (script and args[0] == sys.executable):
            return popen(args, *positional, **options)
        path = Path(args[1]).resolve()
        if not any(path.is_relative_to(folder) for folder in folders):
            raise PermissionError(f"the judge runs only scripts of the assignment's read-only folders, not {path}")
        if options.get("cwd") is not None or options.get("env") is not None:
            raise ValueError(f"{path.name} runs in the judge itself, whose folder and environment cannot change")
        text = bool(options.get("text") or options.get("universal_newlines") or options.get("encoding"))
        return PythonInProcess(list(args), text)

    return start


def one_line(text: str) -> str:
    """A message as one line: its lines up to the arrays NumPy's assertions print, joined, cut to MESSAGE_LIMIT."""
    lines = []
    for line in text.strip().splitlines():
        if line.strip().startswith(("x:", "y:", "ACTUAL:", "DESIRED:")):
            break
        if line.strip():
            lines.append(line.strip())
    return "; ".join(lines)[:MESSAGE_LIMIT]


def run_cell(source: str, namespace: dict, output_limit: int, explain: dict[str, str], describe=None) -> dict:
    """Execute one cell; return what it printed, the number its last line gives if it gives one (partial points, as
    nbgrader reads a cell's result), and, if it failed, its error, all bounded.

    A name the cell needs but that is not defined is explained from explain: why it was not handed in, or which
    earlier step failed to define it. Other errors are put in the assignment's words by describe, its set-up's
    function that explains an error in one line, when it has one.
    """
    printed = io.StringIO()
    verdict: dict = {}
    try:
        with contextlib.redirect_stdout(printed):
            result = execute(source, namespace)
        if type(result) in (int, float) and math.isfinite(result):
            verdict["result"] = result
    except NameError as error:
        reason = explain.get(error.name or "") or explain.get("*") or explain.get("steps") or described(error, describe)
        verdict = {"ename": "NameError", "evalue": one_line(reason)}
    except BaseException as error:  # a failing check is a verdict, whatever it raised
        verdict = {"ename": type(error).__name__, "evalue": one_line(described(error, describe))}
    verdict["stdout"] = printed.getvalue()[:output_limit]
    return verdict


def execute(source: str, namespace: dict) -> object:
    """Run source as a notebook cell does: its statements, then, if the last is an expression, its value. Its hidden
    tests run with HiddenInputs.now set, so that a student's function failing on their inputs does not tell them."""
    tree = ast.parse(source, "<graded cell>")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    hidden = hidden_lines(source)
    for hides, statements in itertools.groupby(tree.body, key=lambda node: node.lineno in hidden):
        HiddenInputs.now = hides
        try:
            exec(compile(ast.Module(list(statements), []), "<graded cell>", "exec"), namespace)
        finally:
            HiddenInputs.now = False
    if last is None:
        return None
    HiddenInputs.now = last.lineno in hidden
    try:
        return eval(compile(ast.Expression(last.value), "<graded cell>", "eval"), namespace)
    finally:
        HiddenInputs.now = False


def hidden_lines(source: str) -> set[int]:
    """The numbers of the lines between the hidden tests' markers, where the cell's statements are hidden tests."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == "### BEGIN HIDDEN TESTS":
            inside = True
        elif marker == "### END HIDDEN TESTS":
            inside = False
        elif inside:
            hidden.add(number)
    return hidden


def described(error: BaseException, describe) -> str:
    """The error in the assignment's words, or its own message if the assignment has none or it fails."""
    if callable(describe):
        try:
            return str(describe(error))
        except Exception:  # a broken explanation must not hide the error
            pass
    return str(error)


def set_up(cells: list[dict]) -> dict:
    """The namespace the tests run in, after the assignment's set-up cells (imports and constants)."""
    namespace: dict = {"__name__": "__main__"}
    for cell in cells:
        setup = run_cell(cell["source"], namespace, MESSAGE_LIMIT, {})
        if "ename" in setup:
            raise RuntimeError(f"set-up cell {cell['id']} failed: {setup['ename']}: {setup['evalue']}")
    return namespace


def judge(request: dict, namespace: dict, events: Events) -> None:
    """Bind what was handed in, then run each cell not skipped, reporting as it goes."""
    skip = set(request.get("skip", []))
    output_limit = request.get("output_limit", 4000)
    explain: dict[str, str] = {}
    failed_steps = dict(request.get("failed_steps", {}))
    describe = namespace.get(request["handin"].get("explain", ""))  # from the set-up cells, before the hand-in
    loaded = False
    for cell in request["cells"]:
        if cell["id"] in skip or cell["id"] in failed_steps:
            continue
        if not loaded:
            problem = unpack(HANDIN_ARCHIVE, HANDIN_FOLDER)
            sealed = forbid_writes()
            if problem:
                handed_in = {name: Unavailable(problem) for name in request["handin"].get("functions", {})}
                explain = {"*": problem}
            else:
                poisoned = request.get("poisoned", {})
                handed_in, explain = handed_in_namespace(
                    request["handin"], HANDIN_FOLDER, poisoned, events.send, events.call_in_kernel
                )
            namespace.update(handed_in)
            loaded = True
            events.send(event="loaded", writes_forbidden=sealed)
        if failed_steps:
            explain["steps"] = "; ".join(
                f"the step '{step}' before this test {why}" for step, why in failed_steps.items()
            )
        events.send(event="cell", id=cell["id"])
        verdict = run_cell(cell["source"], namespace, output_limit, explain, describe)
        if cell["kind"] == "graded":
            events.send(event="verdict", id=cell["id"], **verdict)
        elif "ename" in verdict:
            failed_steps[cell["id"]] = f"failed: {verdict['ename']}: {verdict['evalue']}"
    events.send(event="done")


def without_graph_optimization() -> None:
    """The judge calls each graph a few times: TensorFlow's graph optimizer (grappler) would spend longer on a graph
    the size of ResNet50 (seconds, at its first call) than it saves, and the graphs answer the same without it."""
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def main() -> None:
    parser = argparse.ArgumentParser(description="Judge a submission's graded cells (run by the grader).")
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--replies-fd", type=int, required=True)
    args = parser.parse_args()
    events = Events(args.events_fd, args.replies_fd)
    without_graph_optimization()
    namespace = set_up(json.loads(sys.stdin.readline())["setup"])
    events.send(event="ready")
    request = json.loads(sys.stdin.readline())
    sys.stdin.close()
    subprocess.Popen = python_in_process(subprocess.Popen, request["scripts"])
    judge(request, namespace, events)
    os._exit(0)  # the verdicts are sent: skip TensorFlow's slow shutdown (about a second)


if __name__ == "__main__":
    main()
