"""The judge and its supervisor, on small handed-in graphs that attack it: each attack costs only the cells that
call the attacking function, with a one-line reason, and can reach neither the tests nor anything writable."""

import bz2
import json
import logging
import resource
import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from traitlets.config import Config

from autograder.course.assignment import Assignment
from autograder.grading.supervisor import Judge, Supervisor
from autograder.inside import INSIDE
from autograder.inside.handin import hand_in, reply_for_judge

CELL_TIMEOUT = 10  # seconds: each cell here takes milliseconds, 300 MiB of output 1-2 s (the start is timed apart)
HIDDEN = "HIDDEN-TEST-MARKER-7d1e"  # in every test's source: no verdict may ever show it
JUDGE_SCRIPTS = Path(__file__).parent / "judge_scripts"  # what the cells below start as a new Python
WIRE = INSIDE / "wire.py"


EMPTY_VALUES = {"specs": {}, "numbers": {}, "paths": {}, "errors": {}}


def handed_in(folder: Path, functions: dict, values: dict | None = None, arrays: dict | None = None) -> Path:
    """A hand-in archive as autograder/inside/handin.py writes it: the functions as a SavedModel, the values, the
    arrays."""
    module = tf.Module()
    for name, function in functions.items():
        setattr(module, name, function)
    content = folder / "content"
    tf.saved_model.save(module, str(content / "functions"))
    (content / "values.json").write_text(json.dumps(values or EMPTY_VALUES))
    np.savez(content / "arrays.npz", **(arrays or {}))
    archive = folder / "handin.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(content.iterdir()):
            tar.add(path, path.name)
    return archive


def judged(
    folder: Path,
    functions: dict,
    cells: dict[str, str],
    archive: Path | None = None,
    handin: dict | None = None,
    setup: str = "import tensorflow as tf",
    readable: tuple[Path, ...] = (),
    kernel: object = None,
    **settings: int,
) -> tuple[dict, Supervisor]:
    """Judge the cells (grade id -> source, each calling functions) against the handed-in functions (or archive);
    the judge may read the folders readable, as it reads an assignment's."""
    config = Config()
    config.Judge.cell_timeout = CELL_TIMEOUT
    for name, value in settings.items():
        setattr(config.Judge, name, value)
    judge_cells = [
        {"id": "setup", "kind": "setup", "source": setup},
        *({"id": cell, "kind": "graded", "source": f"# {HIDDEN}\n{source}"} for cell, source in cells.items()),
    ]
    handin = handin or {"functions": {name: {} for name in functions}}
    archive = archive or handed_in(folder, functions)
    assignment = Assignment("judged", folder, handin=handin, readable=[str(path) for path in readable])
    supervisor = Supervisor(Judge(config=config), logging.getLogger("judge"), judge_cells, assignment, archive)
    verdicts = supervisor.judge_all("", kernel=kernel)
    assert HIDDEN not in json.dumps(verdicts)
    return verdicts, supervisor


def graph(body):
    """body as a graph of one float32 vector, the way a notebook's function is handed in."""
    return tf.function(body, input_signature=[tf.TensorSpec([None], tf.float32)])


def error(verdict: dict) -> str:
    return f"{verdict.get('ename')}: {verdict.get('evalue')}"


def test_correct_functions_pass_and_their_output_is_kept(tmp_path) -> None:
    double = graph(lambda x: 2 * x)
    cells = {"doubles": "assert double(tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 4.0]\nprint('passed')"}
    verdicts, _ = judged(tmp_path, {"double": double}, cells)
    assert verdicts == {"doubles": {"stdout": "passed\n"}}


class Kernel:
    """The student's kernel as the supervisor calls it: handin.py's replies, made in this process; a call of a
    function named "forever" runs out of its time."""

    def __init__(self, namespace: dict, spec: dict) -> None:
        self.namespace, self.spec, self.calls = namespace, spec, []

    def call_in_kernel(self, function: str, arguments: str, timeout: float) -> dict:
        self.calls.append(function)
        if function == "forever":
            return {"timed_out": True, "kernel_stopped": True}
        return reply_for_judge(self.namespace, self.spec, function, arguments, str(WIRE))


def test_python_functions_are_called_in_the_kernel_and_a_cell_s_number_is_its_points(tmp_path) -> None:
    """The judge calls the student's plain Python functions through the supervisor, in the kernel, with data; one
    that runs out of time fails its test and is not called again, nor is anything else in the kernel that is
    still busy with it; a cell whose last line is a number gives those points."""
    namespace = {"add": lambda a, b=0: a + b, "forever": lambda: None, "fails": lambda: 1 / 0}
    handin = {"functions": {}, "python": ["add", "forever", "fails"]}
    archive = tmp_path / "handin.tar"
    assert hand_in(namespace, handin, str(archive)) == {}
    cells = {
        "adds": "assert add(np.array([1, 2]), b=np.array([3, 4])).tolist() == [4, 6]\nprint('passed')\n1.5 * 2",
        "raises": "fails()",
        "forever": "forever()",
        "again": "forever()",
        "other": "add(1, 2)",
        "after": "print('still judged')\n'a text is no number'",
    }
    kernel = Kernel(namespace, handin)
    setup = "import numpy as np"
    verdicts, supervisor = judged(tmp_path, {}, cells, archive=archive, handin=handin, setup=setup, kernel=kernel)
    assert verdicts["adds"] == {"stdout": "passed\n", "result": 3.0}
    assert error(verdicts["raises"]) == "StudentCodeError: fails raised ZeroDivisionError: division by zero"
    assert error(verdicts["forever"]) == f"TimeoutError: forever did not finish within {CELL_TIMEOUT} s"
    assert error(verdicts["again"]) == (
        f"HandInError: forever did not finish within {CELL_TIMEOUT} s when an earlier test called it, "
        "so it is not called again"
    )
    assert error(verdicts["other"]) == (
        "HandInError: add cannot be called: the kernel was still running forever when its test ran out of time"
    )
    assert verdicts["after"] == {"stdout": "still judged\n"}
    assert kernel.calls == ["add", "fails", "forever"] and supervisor.poisoned.keys() == {"forever"}


def test_a_fresh_python_asked_for_by_a_check_runs_in_the_judge_itself(tmp_path) -> None:
    """A check that loads an export "in a fresh process" (the notebook's Part 7, serving/export_check.py) gets the
    judge, which never ran the notebook, instead of a new Python: started early with Popen and sent its input later,
    or run at once with run; what it prints and its exit status come back as a child's would, and its exit ends only
    the check. Only scripts of the assignment's read-only folders run there, in the judge's folder and environment."""
    start = "import os, subprocess, sys\nchild = subprocess.Popen([sys.executable, ECHO], stdin=subprocess.PIPE, "
    start += "stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)"
    cells = {
        "popen": f"ECHO = {str(JUDGE_SCRIPTS / 'echo.py')!r}\n{start}\n"
        "printed, _ = child.communicate('the export\\n')\n"
        "assert child.returncode == 3, child.returncode\nassert printed.split()[0] == str(os.getpid()), printed\n"
        "print(printed.split(maxsplit=1)[1].strip())",
        "run": f"done = subprocess.run([sys.executable, {str(JUDGE_SCRIPTS / 'refuse.py')!r}, 'an argument'], "
        "capture_output=True)\nprint(done.returncode, done.stdout, done.stderr)",
        "raises": f"done = subprocess.run([sys.executable, {str(JUDGE_SCRIPTS / 'divide.py')!r}], capture_output=True, "
        "text=True)\nprint(done.returncode, done.stderr.strip().splitlines()[-1])",
        "elsewhere": "subprocess.run([sys.executable, '/handin/planted.py'])",
        "moved": f"subprocess.run([sys.executable, {str(JUDGE_SCRIPTS / 'divide.py')!r}], cwd='/tmp')",
        "after": "print('the judge goes on')",
    }
    verdicts, _ = judged(tmp_path, {}, cells, readable=(JUDGE_SCRIPTS,))
    assert verdicts.pop("elsewhere")["evalue"] == (
        "the judge runs only scripts of the assignment's read-only folders, not /handin/planted.py"
    )
    assert (
        verdicts.pop("moved")["evalue"]
        == "divide.py runs in the judge itself, whose folder and environment cannot change"
    )
    assert verdicts == {
        "popen": {"stdout": "the export []\n"},
        "run": {"stdout": "1 b\"['an argument']\\n\" b'no\\n'\n"},
        "raises": {"stdout": "1 ZeroDivisionError: division by zero\n"},
        "after": {"stdout": "the judge goes on\n"},
    }


def test_a_function_that_never_returns_fails_only_the_cells_that_call_it(tmp_path) -> None:
    forever = graph(lambda x: tf.while_loop(lambda y: True, lambda y: y, [x])[0])
    double = graph(lambda x: 2 * x)
    cells = {
        "first_call": "forever(tf.constant([1.0]))",
        "other_function": "assert double(tf.constant([1.0])).numpy()[0] == 2.0",
        "second_call": "forever(tf.constant([2.0]))",
        "no_call": "print('still judged')",
    }
    verdicts, supervisor = judged(tmp_path, {"forever": forever, "double": double}, cells)
    assert error(verdicts["first_call"]) == f"TimeoutError: forever did not finish within {CELL_TIMEOUT} s"
    assert error(verdicts["second_call"]) == (
        f"HandInError: forever did not finish within {CELL_TIMEOUT} s when an earlier test called it, "
        "so it is not called again"
    )
    assert "ename" not in verdicts["other_function"] and verdicts["no_call"]["stdout"] == "still judged\n"
    assert supervisor.poisoned.keys() == {"forever"}


def test_a_function_that_crashes_the_judge_fails_only_the_cells_that_call_it(tmp_path) -> None:
    def crash(x):
        with tf.control_dependencies([tf.raw_ops.Abort(error_msg="crash the judge")]):
            return tf.identity(x)

    cells = {"crashes": "crash(tf.constant([1.0]))", "after": "print('judged again')"}
    verdicts, _ = judged(tmp_path, {"crash": graph(crash)}, cells)
    assert error(verdicts["crashes"]).startswith("JudgeError: crash stopped the judge (signal 6")
    assert verdicts["after"] == {"stdout": "judged again\n"}


def test_a_huge_tensor_fails_its_cell_in_bounded_memory_and_time(tmp_path) -> None:
    huge = graph(lambda x: x + tf.reduce_sum(tf.zeros([200_000, 200_000 + tf.shape(x)[0] * 0])))
    verdicts, _ = judged(tmp_path, {"huge": huge}, {"allocates": "huge(tf.constant([1.0]))", "after": "pass"})
    assert verdicts["allocates"]["ename"] in {"StudentCodeError", "TimeoutError", "JudgeError"}
    assert verdicts["after"] == {"stdout": ""}


def test_what_a_graph_prints_is_neither_kept_nor_piled_up_in_memory(tmp_path) -> None:
    def prints(x):
        line = tf.strings.reduce_join(tf.fill([1 << 20], "x"))

        def print_line(count):
            return tf.tuple([count + 1], control_inputs=[tf.print(line)])

        tf.while_loop(lambda count: count < 300, print_line, [0])
        return x

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdicts, _ = judged(tmp_path, {"prints": graph(prints)}, {"prints_300_mib": "prints(tf.constant([1.0]))"})
    assert verdicts == {"prints_300_mib": {"stdout": ""}}
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: the grader kept none of it


WRITE_TARGETS = ["/tmp/judged", "/handin/judged", "/submission/judged", "/grader/judged", "/dev/shm/judged"]


def writer(path: str):
    def writes(x):
        tf.io.write_file(path, "written by a handed-in graph")
        return x

    return graph(writes)


def reader(path: str):
    return graph(lambda x: x + tf.cast(tf.strings.length(tf.io.read_file(path)), tf.float32) * 0.0)


def test_a_graph_can_write_nowhere(tmp_path) -> None:
    """A graph that writes a file is not run (a file would keep state from one call to the next); and once the
    hand-in is loaded, nothing in the judge can write anywhere: Landlock forbids it, as a cell that tries shows."""
    writers = {f"writes_{number}": writer(path) for number, path in enumerate(WRITE_TARGETS)}
    cells = {f"write_{number}": f"writes_{number}(tf.constant([1.0]))" for number in range(len(WRITE_TARGETS))}
    tries = "for path in {targets!r}:\n    try:\n        open(path, 'w').close()\n        print('wrote', path)\n"
    tries += "    except OSError as error:\n        print('refused', path, type(error).__name__)"
    cells["cell_writes"] = tries.format(targets=WRITE_TARGETS)
    verdicts, _ = judged(tmp_path, writers, cells)
    for number in range(len(WRITE_TARGETS)):
        assert error(verdicts[f"write_{number}"]) == (
            f"HandInError: writes_{number} keeps state from one call to the next (WriteFile), "
            "which the judge does not run"
        )
    assert verdicts["cell_writes"]["stdout"].count("refused") == len(WRITE_TARGETS), verdicts["cell_writes"]
    assert not (tmp_path / "judged").exists()


def test_a_graph_sees_neither_the_tests_nor_the_verdicts_channel(tmp_path) -> None:
    """The tests reach the judge on stdin, the verdicts leave on a descriptor of their own: a graph can open
    neither, nor find any file holding the tests; what it shows in an error is cut to one bounded line."""

    def snoop(x):
        seen = tf.io.matching_files(["/*", "/grader/*", "/handin/*", "/submission/*", "/tmp/*", "/proc/*/*"])
        tf.debugging.Assert(False, [tf.strings.reduce_join(seen, separator=" ")], summarize=10000)
        return x

    channels = ["/proc/self/fd/0", "/proc/self/fd/3", "/dev/stdin", "/dev/fd/3"]
    readers = {"snoop": graph(snoop), **{f"reads_{n}": reader(path) for n, path in enumerate(channels)}}
    cells = {"snoops": "snoop(tf.constant([1.0]))"}
    cells |= {f"read_{n}": f"reads_{n}(tf.constant([1.0]))" for n in range(len(channels))}
    verdicts, _ = judged(tmp_path, readers, cells)
    snooped = error(verdicts["snoops"])
    assert snooped.startswith("StudentCodeError: snoop failed: assertion failed: [")
    assert "/grader/judge.py" in snooped and len(snooped) < 700
    for number in range(4):
        assert error(verdicts[f"read_{number}"]).startswith(f"StudentCodeError: reads_{number} failed: ")


def test_printed_output_and_messages_are_bounded(tmp_path) -> None:
    cells = {"prints": "print('x' * 100_000)", "long_message": "raise AssertionError('y' * 100_000)"}
    # A cell's visible and hidden parts, which run apart, share its bound.
    cells["both_parts"] = "print('v' * 100_000)\n### BEGIN HIDDEN TESTS\nprint('h' * 100_000)\n### END HIDDEN TESTS"
    verdicts, _ = judged(tmp_path, {}, cells, output_limit=500)
    assert verdicts["prints"]["stdout"] == "x" * 500
    assert verdicts["both_parts"]["stdout"] == "v" * 500
    assert len(verdicts["long_message"]["evalue"]) == 600


def test_too_many_stops_end_the_judging_with_a_reason(tmp_path) -> None:
    forevers = {f"forever_{n}": graph(lambda x: tf.while_loop(lambda y: True, lambda y: y, [x])[0]) for n in range(3)}
    cells = {f"calls_{n}": f"forever_{n}(tf.constant([1.0]))" for n in range(3)}
    verdicts, _ = judged(tmp_path, forevers, cells, restarts=1)
    assert error(verdicts["calls_0"]).startswith("TimeoutError")
    assert error(verdicts["calls_1"]).startswith("TimeoutError")
    assert error(verdicts["calls_2"]) == (
        "JudgeError: judging stopped: the judge was stopped too many times by this submission's functions"
    )


def test_only_the_names_the_assignment_hands_in_are_bound_and_each_is_checked(tmp_path) -> None:
    """A hand-in's values.json is the submission's data: extra names (which could replace the tests' own, such as
    a check's report) are ignored, and a value of the wrong kind is no value."""
    values = {
        "specs": {"spec": {"shape": [None], "dtype": "string"}, "bad_spec": {"shape": "x", "dtype": "float32"}},
        "numbers": {"number": 2.5, "bad_number": "1", "fresh_report": {"serving_default": "forged"}, "TOP_K": 3},
        "paths": {"export_path": "../../etc", "SAMPLES_DIR": "paths/SAMPLES_DIR"},
        "errors": {"missing": "missing is not defined: run the cell that sets it", "unknown": "x" * 10_000},
    }
    handin = {
        "functions": {},
        "specs": ["spec", "bad_spec"],
        "numbers": ["number", "bad_number", "missing"],
        "paths": ["export_path"],
        "arrays": ["array", "object_array"],
    }
    arrays = {"array": np.arange(3), "object_array": np.array([{"a": 1}], dtype=object)}
    archive = handed_in(tmp_path, {}, values, arrays)
    cells = {
        "bound": "assert spec.shape.as_list() == [None] and number == 2.5 and array.tolist() == [0, 1, 2]",
        "not_bound": "print(sorted(n for n in ('fresh_report', 'TOP_K', 'SAMPLES_DIR') if n in globals()))",
        "bad_spec": "bad_spec",
        "bad_number": "bad_number",
        "missing": "missing",
        "export_path": "export_path",
        "object_array": "object_array",
    }
    verdicts, _ = judged(tmp_path, {}, cells, archive=archive, handin=handin)
    assert verdicts["bound"] == {"stdout": ""} and verdicts["not_bound"] == {"stdout": "[]\n"}
    assert error(verdicts["bad_spec"]) == "NameError: bad_spec was not handed in as a tf.TensorSpec"
    assert error(verdicts["bad_number"]) == "NameError: bad_number was not handed in as a number"
    assert error(verdicts["missing"]) == "NameError: missing is not defined: run the cell that sets it"
    assert error(verdicts["export_path"]) == "NameError: export_path was not handed in as a folder"
    assert error(verdicts["object_array"]).startswith("NameError: object_array")


def pax_archive(path: Path, build) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)


def many_pax_members(path: Path) -> None:
    """A global pax header of 100,000 keywords, which tarfile copies into each of 2,000 members: 7 GB in all."""
    records = b"".join(f"{len(f' k{n:07d}=') + 3} k{n:07d}=\n".encode() for n in range(100_000))
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XGLTYPE, len(records)
    members = [tarfile.TarInfo(f"f{n}").tobuf(tarfile.USTAR_FORMAT) for n in range(2000)]
    padding = bytes(-len(records) % 512)
    path.write_bytes(header.tobuf(tarfile.USTAR_FORMAT) + records + padding + b"".join(members) + bytes(1024))


def deep_folders(path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        for depth in range(1, 200):
            info = tarfile.TarInfo("/".join(["d"] * depth))
            info.type = tarfile.DIRTYPE
            tar.addfile(info)

    pax_archive(path, build)


def too_many_members(path: Path) -> None:
    pax_archive(path, lambda tar: [tar.addfile(tarfile.TarInfo(f"f{n}")) for n in range(10_001)])


def huge_file(path: Path) -> None:
    """A member that declares 2 GiB and holds 64 MiB: the archive cannot be larger than the file-size limit."""
    info = tarfile.TarInfo("values.json")
    info.size = 2 << 30
    path.write_bytes(info.tobuf(tarfile.PAX_FORMAT) + bytes(64 << 20))


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (many_pax_members, ("HandInError: the hand-in could not be read", "JudgeError: loading the hand-in did not")),
        (deep_folders, "HandInError: the hand-in has folders more than 32 deep"),
        (too_many_members, "HandInError: the hand-in has more than 10000 files"),
        (huge_file, "HandInError: the hand-in could not be read"),
    ],
)
def test_a_crafted_hand_in_archive_is_unpacked_only_in_the_judge_and_refused(tmp_path, build, reason) -> None:
    """The grader never reads a hand-in: the judge unpacks it in its sandbox, into a folder of fixed size."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    archive = tmp_path / "handin.tar"
    build(archive)
    verdicts, _ = judged(tmp_path, {"f": None}, {"calls": "f(1)"}, archive=archive, handin={"functions": {"f": {}}})
    assert error(verdicts["calls"]).startswith(reason)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB
    assert sorted(path.name for path in tmp_path.iterdir()) == ["handin.tar", "judge-mounts"]
    points = list((tmp_path / "judge-mounts").iterdir())  # where the judge's in-memory folders were: empty now
    assert points and all(point.is_dir() and not any(point.iterdir()) for point in points)


def test_a_compressed_hand_in_is_refused_unopened(tmp_path) -> None:
    archive = tmp_path / "handin.tar"
    archive.write_bytes(bz2.compress(bytes(1 << 20)))
    verdicts, _ = judged(tmp_path, {"f": None}, {"calls": "f(1)"}, archive=archive, handin={"functions": {"f": {}}})
    assert error(verdicts["calls"]).startswith("HandInError: the hand-in could not be read: ReadError")


def test_a_broken_set_up_is_the_grader_s_problem_and_stops_at_once(tmp_path) -> None:
    cells = {"first": "pass", "second": "pass"}
    verdicts, _ = judged(tmp_path, {}, cells, setup="import tensorflow as tf\nraise RuntimeError('broken')")
    reason = (
        "JudgeError: the judge could not start: its set-up stopped the judge (exit status 1) (see the grader's log)"
    )
    assert {cell: error(verdict) for cell, verdict in verdicts.items()} == {"first": reason, "second": reason}


def test_no_graph_keeps_state_between_calls(tmp_path) -> None:
    """A graph that writes what it is given into a variable, or into a resource shared by name, could keep one
    test's inputs for a later error message. Variables a graph writes (a model in training mode updates its batch
    statistics) are put back after each call, so no later call, of it or of another graph, sees them; a graph that
    writes another resource is refused when loaded, with the reason; graphs that only read variables run."""
    kept = tf.Variable(tf.zeros([3]))

    def remembers(x):
        before = kept.read_value()
        kept.assign(x)
        return before

    table = tf.lookup.experimental.MutableHashTable(tf.int64, tf.float32, default_value=0.0, name="shared")

    def shares(x):
        table.insert(tf.cast(x, tf.int64), x)
        return x

    weight = tf.Variable(2.0)
    functions = {
        "remembers": graph(remembers),
        "shares": graph(shares),
        "reads": graph(lambda x: weight * x),
        "reveals": graph(lambda x: kept + 0.0 * x),
    }
    module_extras = {"kept": kept, "table": table, "weight": weight}
    archive = handed_in(tmp_path, {**functions, **module_extras})
    cells = {name: f"{name}(tf.constant([1.0, 2.0, 3.0]))\nprint('ran')" for name in functions}
    cells["remembers"] = (
        "for x in ([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]):\n"
        "    print(remembers(tf.constant(x)).numpy().tolist())\n"
        "print(reveals(tf.constant([1.0, 1.0, 1.0])).numpy().tolist())"
    )
    verdicts, _ = judged(tmp_path, functions, cells, archive=archive)
    assert verdicts["reads"] == {"stdout": "ran\n"}
    assert verdicts["remembers"] == {"stdout": "[0.0, 0.0, 0.0]\n[0.0, 0.0, 0.0]\n[0.0, 0.0, 0.0]\n"}
    assert error(verdicts["shares"]) == (
        "HandInError: shares keeps state from one call to the next (LookupTableInsertV2), which the judge does not run"
    )


def test_a_python_function_on_a_hidden_input_tells_it_neither_by_message_nor_by_class(tmp_path) -> None:
    """A student's plain Python function writes its error's message and names its class: on a hidden test's input,
    a class of its own is not named, nor is the reason the kernel gives for not calling it."""

    def by_class(x):
        raise type(f"Input_{x}", (Exception,), {})()

    def by_message(x):
        raise ValueError(f"the input was {x}")

    def vanishes(x):
        del namespace["vanishes"]  # called again, it is not there: the kernel's reply says so

    namespace = {"by_class": by_class, "by_message": by_message, "vanishes": vanishes}
    handin = {"functions": {}, "python": [*namespace]}
    archive = tmp_path / "handin.tar"
    hand_in(namespace, handin, str(archive))
    hidden = "### BEGIN HIDDEN TESTS\n{}(42)\n### END HIDDEN TESTS"
    cells = {name: hidden.format(name) for name in ("by_class", "by_message")}
    cells |= {"visible": "by_class(7)", "vanishes": f"vanishes(1)\n{hidden.format('vanishes')}"}
    kernel = Kernel(namespace, handin)
    verdicts, _ = judged(tmp_path, {}, cells, archive=archive, handin=handin, kernel=kernel)
    assert error(verdicts["visible"]) == "StudentCodeError: by_class raised Input_7:"
    assert error(verdicts["by_class"]) == (
        "StudentCodeError: by_class failed on a hidden test's input (an error of a class of its own)"
    )
    assert error(verdicts["by_message"]) == "StudentCodeError: by_message failed on a hidden test's input (ValueError)"
    assert error(verdicts["vanishes"]) == "HandInError: vanishes could not be called on a hidden test's input"


def test_a_function_failing_on_a_hidden_input_does_not_tell_it(tmp_path) -> None:
    """The message of an error a student's graph raises is the graph's to write: on a hidden test's input it could
    spell the input out. There, only the kind of error is shown; on a visible test's, the whole message."""

    def tells(x):
        tf.debugging.Assert(tf.reduce_all(x < 0), [x], summarize=10)
        return x

    source = "tells(tf.constant([{}]))"
    cells = {
        "visible": source.format("7.25, 8.5"),
        "hidden": "print('visible part')\n### BEGIN HIDDEN TESTS\n"
        + source.format("3.125, 4.75")
        + "\n### END HIDDEN TESTS",
    }
    verdicts, _ = judged(tmp_path, {"tells": graph(tells)}, cells)
    assert "7.25" in error(verdicts["visible"]) and "8.5" in error(verdicts["visible"])
    assert error(verdicts["hidden"]) == (
        "StudentCodeError: tells failed on a hidden test's input (InvalidArgumentError)"
    )
    assert verdicts["hidden"]["stdout"] == "visible part\n"


def test_no_visible_test_runs_after_a_hidden_test_has_called_the_kernel(tmp_path) -> None:
    """A plain Python function lives in the student's kernel and can keep what it is given; so every visible test
    runs before any hidden one, and a cell's lines after its first hidden test (markers at any indentation) count
    as hidden: a kept hidden input reaches no visible test's message."""
    kept: list = []

    def keeps(x):
        kept.append(x)
        raise ValueError(f"kept so far: {kept}")

    namespace = {"keeps": keeps}
    handin = {"functions": {}, "python": ["keeps"]}
    archive = tmp_path / "handin.tar"
    hand_in(namespace, handin, str(archive))
    cells = {
        "first": "secret = 'SECRET-1'\nprint('before')\n### BEGIN HIDDEN TESTS\nkeeps(secret)\n### END HIDDEN TESTS",
        "nested": "for value in ['SECRET-2']:\n    ### BEGIN HIDDEN TESTS\n    keeps(value)\n    ### END HIDDEN TESTS",
        "tail": "print('visible')\n### BEGIN HIDDEN TESTS\nsecret = 'SECRET-3'\n### END HIDDEN TESTS\nkeeps(secret)",
        "visible": "secret = 'shown'\nkeeps(secret)",
    }
    kernel = Kernel(namespace, handin)
    verdicts, _ = judged(tmp_path, {}, cells, archive=archive, handin=handin, kernel=kernel)
    assert kept == ["shown", "SECRET-1", "SECRET-2", "SECRET-3"]  # the visible call first
    assert error(verdicts["visible"]) == "StudentCodeError: keeps raised ValueError: kept so far: ['shown']"
    for cell in ("first", "nested", "tail"):
        assert error(verdicts[cell]) == "StudentCodeError: keeps failed on a hidden test's input (ValueError)"
    assert verdicts["first"]["stdout"] == "before\n" and verdicts["tail"]["stdout"] == "visible\n"


def test_a_judge_restarted_after_hidden_calls_shows_errors_by_kind_only(tmp_path) -> None:
    """A graph that crashes the judge in a hidden test makes the grader start another judge for the cells left,
    whose visible parts then run again after the kernel has seen hidden inputs: their messages are not shown."""
    kept: list = []

    def keeps(x):
        kept.append(x)
        return kept

    def crash(x):
        with tf.control_dependencies([tf.raw_ops.Abort(error_msg="crash the judge")]):
            return tf.identity(x)

    namespace = {"keeps": keeps}
    handin = {"functions": {"crash": {}}, "python": ["keeps"]}
    archive = handed_in(tmp_path, {"crash": graph(crash)})
    cells = {
        "crashes": "### BEGIN HIDDEN TESTS\nkeeps('SECRET')\ncrash(tf.constant([1.0]))\n### END HIDDEN TESTS",
        "later": "assert keeps('shown') == ['shown'], keeps('again')\n"
        "### BEGIN HIDDEN TESTS\npass\n### END HIDDEN TESTS",
    }
    kernel = Kernel(namespace, handin)
    verdicts, supervisor = judged(tmp_path, {}, cells, archive=archive, handin=handin, kernel=kernel)
    assert error(verdicts["crashes"]).startswith("JudgeError: crash stopped the judge (signal 6")
    assert kept[:2] == ["shown", "SECRET"] and supervisor.hidden_called
    assert error(verdicts["later"]) == (
        "AssertionError: its message is not shown: this test ran after the judge was restarted, once hidden tests "
        "had called the notebook's functions, which could have kept their inputs"
    )
