"""No student can cost another a point: a correct notebook graded beside a submission that floods the machine with
busy processes, each in a session of its own, scores full marks with no note, because each grading worker's
sandboxes run in control groups of their own, with an equal share of the CPU (autograder/sandbox/cgroups.py)."""

import os

import nbformat
import pytest

from autograder import NOTEBOOK, SOLUTION
from autograder.fixtures.notebooks import hostile
from autograder.grading.run import grade
from tests.helpers import RESNET

pytestmark = [pytest.mark.class_scale, pytest.mark.timeout(1200)]


def test_a_correct_notebook_graded_beside_a_cpu_and_process_flood_scores_full_marks(tmp_path) -> None:
    assert os.geteuid() == 0, "control groups need the grader to run as root, as CI and grading workers do"
    submissions = tmp_path / "submissions"
    for student, nb in {"correct": nbformat.read(SOLUTION, 4), "flood": hostile("cpu_flood", {})}.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, submissions / student / NOTEBOOK)
    run = grade(submissions, tmp_path / "graded", show_progress=False, jobs=2, assignment=RESNET)
    results = {result.student_id: result for result in run.results}
    assert (results["correct"].score, results["correct"].note) == (100.0, "")
    graded = nbformat.read(tmp_path / "graded" / "course" / "autograded" / "flood" / SOLUTION.parent.name / NOTEBOOK, 4)
    printed = "".join(output.get("text", "") for cell in graded.cells for output in cell.get("outputs", []))
    assert "spinners running" in printed, "the flood did run beside it"
