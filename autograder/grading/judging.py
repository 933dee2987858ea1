"""nbgrader steps that move every verdict out of the student's kernel.

A student's kernel runs the student's code, so in it a test can be made to pass (by patching numpy.testing, say).
So when grading, the kernel runs the notebook without its graded cells and then hands in its answers as data
(autograder/inside/handin.py); the judge (autograder/inside/judge.py, supervised by autograder/grading/supervisor.py)
then runs the graded cells, hidden tests included, in a fresh sandboxed process against what was handed in. The judge's
verdicts become the graded cells' outputs, from which nbgrader's SaveAutoGrades scores them as usual, and which the
feedback shows.
"""

import copy
import dataclasses
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool
from traitlets.config import Config

from autograder.course.assignment import Assignment, load, released_beside
from autograder.course.blanks import unfilled_reasons
from autograder.grading.supervisor import Judge, Supervisor, failure
from autograder.inside import INSIDE
from autograder.inside.handin_contract import GRADER, KINDS
from autograder.report.step_times import timed

HAND_IN_MODULE = INSIDE / "handin.py"
HAND_IN_CELL = f"%run -i {GRADER}/{HAND_IN_MODULE.name}"  # handin.py, in the kernel, with the notebook's variables


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


@dataclass
class Judging:
    """One submission's judging, from before its kernel runs to its verdicts: the cells held back from the kernel,
    what the kernel hands in and where, and the judge's supervisor."""

    cells: list[dict]
    held: dict[str, str]
    assignment: Assignment
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="autograder-judging-")))
    # The hand-in cell's id, new for each submission: no cell of the student's can take it and be dropped with it.
    hand_in_id: str = field(default_factory=lambda: f"grader-hand-in-{uuid.uuid4().hex}")
    supervisor: Supervisor | None = None
    missing: dict[str, str] = field(default_factory=dict)  # why each name an answer cell defines may be missing
    stopped: str = ""  # why the kernel stopped before the end, if it did
    verdicts: dict[str, dict] | None = None  # the judge's, once it has judged while the kernel ran
    limits: Config = field(default_factory=Config)  # the assignment's [limits], where the run's config has not

    @property
    def archive(self) -> Path:
        """The one host file the kernel writes: its hand-in."""
        return self.scratch / "handin.tar"

    @property
    def calls(self) -> Path:
        """A host folder the kernel reads, read-only: the arguments of each call the judge makes in it."""
        return self.scratch / "calls"

    @property
    def handin(self) -> dict:
        """What the kernel hands in, and the words for a name it cannot."""
        return {**self.assignment.handin, "missing": self.missing}

    def discard(self) -> None:
        if self.supervisor:
            self.supervisor.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


class PrepareJudging(NbGraderPreprocessor):
    """Before the kernel runs: hold back the cells the judge runs, append the hand-in cell, start the judge. Which
    cells are which, and what is handed in, is the assignment's to say (autograder/course/assignment.py)."""

    apply_assignment_limits = Bool(
        True,
        help="Apply the [limits] of the assignment graded to its kernel and judge (plain nbgrader, Formgrader); "
        "`grade` applies them itself, under its own options, and turns this off",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        assignment = self.assignment(resources["nbgrader"]["assignment"])
        source = nbformat.read(assignment.notebook, as_version=4)
        missing = unfilled_reasons(source, nb, read_by_tests(assignment.handin))
        held, cells = {}, []
        for cell in nb.cells:
            grade_id, graded = _grade_id(cell), utils.is_grade(cell)
            if grade_id in assignment.setup_cells:
                cells.append({"id": grade_id, "source": cell.source, "kind": "setup"})
            elif graded or grade_id in assignment.judged_cells:
                cells.append({"id": grade_id, "source": cell.source, "kind": "graded" if graded else "judge"})
            if graded or grade_id in assignment.judged_cells or grade_id in assignment.skipped_cells:
                held[grade_id] = cell.source
                cell.source = ""  # an empty cell is not run
        limits = assignment.limits.config(assignment.limits_set) if self.apply_assignment_limits else Config()
        judging = Judging(cells, held, assignment, missing=missing, limits=limits)
        nb.cells.append(new_code_cell(HAND_IN_CELL, id=judging.hand_in_id))
        judging.archive.touch(mode=0o600)
        judging.calls.mkdir(mode=0o755)
        judge = Judge(parent=self, config=with_limits(self.config, limits))
        judging.supervisor = Supervisor(judge, self.log, cells, assignment, judging.archive)
        judging.supervisor.prewarm()
        resources["judging"] = judging
        return nb, resources

    def assignment(self, name: str) -> Assignment:
        """The assignment's folder in the course's source directory, read afresh for each submission."""
        return released(name, self.config)


def with_limits(config: Config, limits: Config) -> Config:
    """config with limits over it, config itself unchanged."""
    merged = copy.deepcopy(config)
    merged.merge(limits)
    return merged


def read_by_tests(handin: dict) -> set[str]:
    """The notebook's names that the hand-in reads: each kind's, and the Python function each graph is traced from."""
    functions = handin.get("functions", {})
    sources = {function.get("from", name) for name, function in functions.items()}
    return sources | {name for kind in KINDS if kind != "functions" for name in handin.get(kind, [])}


def released(name: str, config: Config) -> Assignment:
    """The assignment called name in the course that config describes, with the files released beside its notebook
    there (its release folder, as nbgrader made it)."""
    course = CourseDirectory(config=config)
    assignment = load(Path(course.format_path(course.source_directory, ".", name)))
    release = Path(course.format_path(course.release_directory, ".", name))
    return dataclasses.replace(assignment, beside=released_beside(release, assignment.notebook_name))


class JudgeGradedCells(NbGraderPreprocessor):
    """After the kernel has run: judge the graded cells on its hand-in, put the verdicts in, clean up."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        judging: Judging = resources.pop("judging")
        nb.cells = [cell for cell in nb.cells if cell.get("id") != judging.hand_in_id]
        try:
            verdicts = judging.verdicts
            if verdicts is None:  # the kernel stopped before its hand-in: there is no kernel to call functions in
                with timed("judge, after the kernel"):
                    verdicts = judging.supervisor.judge_all(judging.stopped)
        finally:
            judging.discard()
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id in judging.held:
                cell.source = judging.held[grade_id]
                cell.outputs = _outputs(verdicts.get(grade_id)) if utils.is_grade(cell) else []
        return nb, resources


def _outputs(verdict: dict | None) -> list[NotebookNode]:
    """A graded cell's outputs from its verdict: what it printed, then its error if it failed."""
    verdict = verdict or failure("JudgeError", "no verdict")
    outputs = [new_output("stream", name="stdout", text=verdict["stdout"])] if verdict.get("stdout") else []
    if "result" in verdict and "ename" not in verdict:  # partial points, which nbgrader reads from the cell's result
        outputs.append(new_output("execute_result", data={"text/plain": repr(verdict["result"])}, execution_count=None))
    if "ename" in verdict:
        error = {"ename": verdict["ename"], "evalue": verdict["evalue"]}
        outputs.append(new_output("error", **error, traceback=[f"{error['ename']}: {error['evalue']}"]))
    return outputs
