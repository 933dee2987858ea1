"""The judge: runs a notebook's graded cells, hidden tests included, against what the submission handed in.

No student Python runs here: the student's functions arrive as TensorFlow graphs and the rest as plain values
(autograder/inside/handin.py), so nothing a submission did to its own kernel can change a verdict. The grader starts
this file sandboxed, in isolated mode (`python -I`), as a script that imports only the standard library, NumPy,
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

The grader (autograder/grading/supervisor.py) watches the events: a cell that runs too long, or a judge that dies, costs
only the cells that use the function being called at the time, which the judge is told to treat as unavailable
when the grader starts it again for the remaining cells.
"""

import argparse
import ast
import contextlib
import io
import json
import math
import os
import runpy
import subprocess
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the judge's read-only folder, for its companions only

from handin_contract import ARCHIVE, HANDED_IN, RESULT_LIMIT, JudgeRequest
from handin_reader import MESSAGE_LIMIT, HiddenInputs, Unavailable, handed_in_namespace, unpack
from landlock import forbid_writes

HANDIN_ARCHIVE = Path(ARCHIVE)
HANDIN_FOLDER = Path(HANDED_IN)  # an in-memory folder of the judge's own, where the hand-in is unpacked
GRADERS_OWN = ("HandInError", "StudentCodeError", "NameError")  # errors whose messages the grader writes
AFTER_HIDDEN_CALLS = (
    "its message is not shown: this test ran after the judge was restarted, once hidden tests had called the "
    "notebook's functions, which could have kept their inputs"
)


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
        self.send(event="kernel_call", function=function, arguments=arguments, hidden=HiddenInputs.now)
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


class Cell:
    """A graded cell's statements, split at its first hidden test: what runs with the visible tests, and the rest,
    which runs after every cell's visible tests (judge below)."""

    def __init__(self, source: str) -> None:
        tree = ast.parse(source, "<graded cell>")
        hidden = hidden_lines(source)
        first = next(
            (index for index, node in enumerate(tree.body) if hidden & {*range(node.lineno, node.end_lineno + 1)}),
            len(tree.body),
        )
        self.visible, self.hidden = tree.body[:first], tree.body[first:]


def run_cell(
    statements: list[ast.stmt],
    namespace: dict,
    output_limit: int,
    explain: dict[str, str],
    describe=None,
    hidden: bool = False,
) -> dict:
    """Execute statements, a cell or a part of one; return what they printed, the number the cell's last line gives
    if it gives one (partial points, as nbgrader reads a cell's result), and, if they failed, the error, all bounded.
    Hidden statements run with HiddenInputs.now set, so that a student's function failing on their inputs does not
    tell them.

    A name the cell needs but that is not defined is explained from explain: why it was not handed in, or which
    earlier step failed to define it. Other errors are put in the assignment's words by describe, its set-up's
    function that explains an error in one line, when it has one.
    """
    printed = io.StringIO()
    verdict: dict = {}
    HiddenInputs.now = hidden
    try:
        with contextlib.redirect_stdout(printed):
            result = execute(statements, namespace)
        if type(result) in (int, float) and math.isfinite(result):
            verdict["result"] = result
    except NameError as error:
        reason = explain.get(error.name or "") or explain.get("*") or explain.get("steps") or described(error, describe)
        verdict = {"ename": "NameError", "evalue": one_line(reason)}
    except BaseException as error:  # a failing check is a verdict, whatever it raised
        verdict = {"ename": type(error).__name__, "evalue": one_line(described(error, describe))}
    finally:
        HiddenInputs.now = False
    verdict["stdout"] = printed.getvalue()[:output_limit]
    return verdict


def execute(statements: list[ast.stmt], namespace: dict) -> object:
    """Run statements as a notebook cell does: each, then, if the last is an expression, its value."""
    *body, last = statements or [ast.Pass()]
    if not isinstance(last, ast.Expr):
        body, last = statements, None
    exec(compile(ast.fix_missing_locations(ast.Module(body, [])), "<graded cell>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<graded cell>", "eval"), namespace)


def hidden_lines(source: str) -> set[int]:
    """The numbers of the lines between the hidden tests' markers (at any indentation, as nbgrader finds them)."""
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
        setup = run_cell(ast.parse(cell["source"]).body, namespace, MESSAGE_LIMIT, {})
        if "ename" in setup:
            raise RuntimeError(f"set-up cell {cell['id']} failed: {setup['ename']}: {setup['evalue']}")
    return namespace


class Judging:
    """The cells of one judge's run and what it knows between them: the hand-in, loaded at the first cell; the
    steps that failed; and the hidden parts put off until every visible test has run."""

    def __init__(self, request: JudgeRequest, namespace: dict, events: Events) -> None:
        self.request, self.namespace, self.events = request, namespace, events
        self.output_limit = request.output_limit
        self.explain: dict[str, str] = {}
        self.failed_steps = dict(request.failed_steps)
        self.describe = namespace.get(request.handin.get("explain", ""))  # from the set-up, before the hand-in
        self.loaded = False
        self.put_off: list[tuple[dict, Cell, dict, str]] = []  # a cell, its statements, its scope, what it printed
        self.defined_by_hidden: dict = {}

    def run(self) -> None:
        """Each cell's visible part in order, then each hidden part in order.

        A student's plain Python functions live in their kernel, where they can keep what they were given: once a
        hidden test has called them, any later answer could tell its inputs. So no visible test runs after a hidden
        one; a hidden part runs in the names its cell had (and what earlier hidden parts defined), and the lines
        after a hidden test in a cell count as hidden."""
        skip = set(self.request.skip)
        for cell in self.request.cells:
            if cell["id"] in skip or cell["id"] in self.failed_steps:
                continue
            self.load()
            self.events.send(event="cell", id=cell["id"])
            try:
                statements = Cell(cell["source"])
            except SyntaxError as error:
                self.report(cell, {"ename": "SyntaxError", "evalue": one_line(str(error)), "stdout": ""})
                continue
            verdict = self.run_part(statements.visible, self.namespace, hidden=self.request.after_hidden_calls)
            if statements.hidden and "ename" not in verdict:
                self.put_off.append((cell, statements, dict(self.namespace), verdict["stdout"]))
            else:
                self.report(cell, verdict)
        for cell, statements, scope, printed in self.put_off:
            self.events.send(event="cell", id=cell["id"])
            scope.update(self.defined_by_hidden)
            before = dict(scope)
            verdict = self.run_part(statements.hidden, scope, hidden=True, printed=printed)
            self.defined_by_hidden.update({k: v for k, v in scope.items() if k not in before or before[k] is not v})
            self.report(cell, verdict)
        self.events.send(event="done")

    def load(self) -> None:
        """Bind what was handed in, once, before the first cell that is judged."""
        if self.loaded:
            return
        problem = unpack(HANDIN_ARCHIVE, HANDIN_FOLDER)
        sealed = forbid_writes()
        if problem:
            handed_in = {name: Unavailable(problem) for name in self.request.handin.get("functions", {})}
            self.explain = {"*": problem}
        else:
            poisoned = self.request.poisoned
            handed_in, self.explain = handed_in_namespace(
                self.request.handin, HANDIN_FOLDER, poisoned, self.events.send, self.events.call_in_kernel
            )
        self.namespace.update(handed_in)
        self.loaded = True
        self.events.send(event="loaded", writes_forbidden=sealed)

    def run_part(self, statements: list[ast.stmt], scope: dict, hidden: bool, printed: str = "") -> dict:
        if self.failed_steps:
            self.explain["steps"] = "; ".join(
                f"the step '{step}' before this test {why}" for step, why in self.failed_steps.items()
            )
        limit = self.output_limit - len(printed)
        verdict = run_cell(statements, scope, limit, self.explain, self.describe, hidden=hidden)
        verdict["stdout"] = printed + verdict["stdout"]
        return verdict

    def report(self, cell: dict, verdict: dict) -> None:
        if self.request.after_hidden_calls and verdict.get("ename") not in (None, *GRADERS_OWN):
            verdict["evalue"] = AFTER_HIDDEN_CALLS
        if cell["kind"] == "graded":
            self.events.send(event="verdict", id=cell["id"], **verdict)
        elif "ename" in verdict:
            self.failed_steps[cell["id"]] = f"failed: {verdict['ename']}: {verdict['evalue']}"


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
    first = json.loads(sys.stdin.readline())
    if first["graphs"]:
        without_graph_optimization()
    namespace = set_up(first["setup"])
    events.send(event="ready")
    request = JudgeRequest(**json.loads(sys.stdin.readline()))
    sys.stdin.close()
    subprocess.Popen = python_in_process(subprocess.Popen, request.scripts)
    Judging(request, namespace, events).run()
    os._exit(0)  # the verdicts are sent: skip TensorFlow's slow shutdown (about a second)


if __name__ == "__main__":
    main()
