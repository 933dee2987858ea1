"""Releasing assignments, and checking them before students get them.

`python -m autograder release` (`make release`): the student release of every assignment in solutions/, made by
nbgrader into notebooks/. `python -m autograder check`: each assignment's solution and untouched release graded
as submissions; an assignment whose solution does not score full marks is refused, with the tests it fails. In
both, a folder that is not a gradable assignment is reported and skipped, and the others go on.
"""

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import REPO
from autograder.course.assignment import SOLUTIONS, Assignment, loadable
from autograder.grading.run import grade


@dataclass(frozen=True)
class Check:
    """What grading an assignment's own notebooks gave."""

    assignment: str
    max_score: float
    solution: float
    release: float
    failures: list[str]  # the solution's failed tests: "grade_id: error"

    @property
    def ready(self) -> bool:
        return self.max_score > 0 and self.solution == self.max_score

    def __str__(self) -> str:
        scores = f"solution {self.solution:g}/{self.max_score:g}, untouched release {self.release:g}"
        if not self.ready:
            failed = "; ".join(self.failures) or "no failing test recorded"
            return f"{self.assignment}: REFUSED: {scores}: the solution must score full marks ({failed})"
        warning = ": the untouched release already scores points" if self.release else ""
        return f"{self.assignment}: ready ({scores}){warning}"


def release_all(solutions: Path = SOLUTIONS) -> int:
    """Release every assignment that loads; 0 if all did, 1 if any was skipped or failed."""
    assignments, broken = loadable(solutions)
    for name, reason in broken.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    failed = []
    for assignment in assignments:
        command = [Path(sys.executable).parent / "nbgrader", "generate_assignment", assignment.name, "--force"]
        if subprocess.run([*command, "--no-db"], cwd=REPO).returncode != 0:
            failed.append(assignment.name)
    for name in failed:
        print(f"failed {name}: nbgrader generate_assignment failed (see above)", file=sys.stderr)
    return 1 if broken or failed else 0


def check_all(assignments: list[Assignment], broken: dict[str, str]) -> int:
    """Check each assignment, printing one line each; 0 if all are ready, 1 otherwise."""
    for name, reason in broken.items():
        print(f"{name}: REFUSED: {reason}")
    ready = not broken
    for assignment in assignments:
        try:
            result = check(assignment)
        except Exception as error:  # one assignment that cannot be checked stops no other
            print(f"{assignment.name}: REFUSED: it could not be graded ({type(error).__name__}: {error})")
            ready = False
            continue
        print(result)
        ready = ready and result.ready
    return 0 if ready else 1


def check(assignment: Assignment) -> Check:
    """Grade the assignment's solution, then its untouched release as nbgrader makes it, as two submissions."""
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as scratch:
        solution = _graded(assignment, nbformat.read(assignment.notebook, as_version=4), Path(scratch, "solution"))
        released = Path(scratch, "solution", "out", "course", "release", assignment.name, assignment.notebook_name)
        release = _graded(assignment, nbformat.read(released, as_version=4), Path(scratch, "release"))
    result, graded = solution
    failures = [result.problem] if result.problem else _failures(graded)
    return Check(assignment.name, result.max_score, result.score, release[0].score, failures)


def _graded(assignment: Assignment, nb: nbformat.NotebookNode, scratch: Path) -> tuple:
    """The result of grading nb as a submission, and its graded notebook."""
    folder = scratch / "submissions" / "check"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / assignment.notebook_name)
    run = grade(folder.parent, scratch / "out", show_progress=False, assignment=assignment)
    [result] = run.results
    graded_path = scratch / "out" / "course" / "autograded" / "check" / assignment.name / assignment.notebook_name
    return result, nbformat.read(graded_path, as_version=4) if graded_path.is_file() else None


def _failures(graded: nbformat.NotebookNode | None) -> list[str]:
    """Each graded cell that failed, with its error."""
    if graded is None:
        return ["the solution could not be graded"]
    failures = []
    for cell in graded.cells:
        grading = cell.metadata.get("nbgrader", {})
        errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
        if grading.get("grade") and errors:
            error = ": ".join(part for part in (errors[0]["ename"], errors[0]["evalue"]) if part)
            failures.append(f"{grading['grade_id']}: {error}")
    return failures
