"""A second assignment, unlike the first, graded with no code of the grader edited (tests/assignments/word_stats,
never released to students): plain Python functions of two arguments, called in the student's kernel; a data file
beside the notebook, which the notebook and the judge's set-up read; limits of its own; 30 points. Its solution
scores full marks, its untouched release 0 with "fill in the ??? of <part>", one mistake costs its own test only,
and its [limits] apply; `check` says so, and refuses a solution that misses points."""

import copy
import csv
import html
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograder import REPO
from autograder.__main__ import main
from autograder.course.assignment import load, released_beside
from autograder.course.assignment_schema import Limits
from autograder.course.blanks import defined_names, unfilled_reasons
from autograder.grading.course_folder import load_course_config
from autograder.grading.grade_files import score_bins
from autograder.grading.run import grade
from tests.helpers import VENV_BIN

WORD_STATS = REPO / "tests" / "assignments" / "word_stats"
GRADES = pytest.mark.class_scale  # grades whole submissions, 8 times: with the class-scale tests
NOTEBOOK = "word_stats.ipynb"
TESTS = {"test_counts": 10.0, "test_top": 10.0, "test_ties": 10.0}
TIES_REVERSED = (
    "def top_words(counts, k):\n    return sorted(counts.items(), key=lambda item: item[1], reverse=True)[:k]"
)
SLEEPY = "\nimport time\n\ntime.sleep(60)"  # after its definition: the cell is cut by the assignment's 20 s limit
HOG = "\nkept = b'x' * (3 << 30)"  # within a process's limit (6 GiB), over the assignment's memory (2 GiB)


def cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    [found] = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return found


def answered(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    """nb with the cell grade_id's source replaced."""
    nb = copy.deepcopy(nb)
    cell(nb, grade_id).source = source
    return nb


def write(folder: Path, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    for student, nb in notebooks.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(nb, folder / student / NOTEBOOK)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[dict[str, dict], Path]:
    """The solution, one mistake and a cell that overruns the assignment's limit, then the untouched release that
    the first run made; every row of grades.csv by student, and the second run's folder."""
    scratch = tmp_path_factory.mktemp("word_stats")
    assignment = load(WORD_STATS)
    solution = nbformat.read(WORD_STATS / NOTEBOOK, as_version=4)
    first = {
        "solution": solution,
        "ties_reversed": answered(solution, "part2", TIES_REVERSED),
        "sleepy": answered(solution, "part1", cell(solution, "part1").source + SLEEPY),
        "hog": answered(solution, "part1", cell(solution, "part1").source + HOG),
    }
    run = grade(write(scratch / "first", first), scratch / "out1", show_progress=False, assignment=assignment, jobs=2)
    release = nbformat.read(scratch / "out1" / "course" / "release" / "word_stats" / NOTEBOOK, as_version=4)
    again = grade(
        write(scratch / "second", {"untouched": release}), scratch / "out2", show_progress=False, assignment=assignment
    )
    rows = {}
    for finished in (run, again):
        with finished.grades_csv.open() as file:
            rows |= {row["student_id"]: row for row in csv.DictReader(file)}
    return rows, scratch


@GRADES
def test_the_solution_scores_full_marks_out_of_the_assignment_s_own_maximum(graded) -> None:
    rows, _ = graded
    assert (rows["solution"]["score"], rows["solution"]["max_score"], rows["solution"]["note"]) == ("30.0", "30.0", "")
    assert {cell: float(rows["solution"][cell]) for cell in TESTS} == TESTS


@GRADES
def test_one_mistake_costs_its_own_test_only(graded) -> None:
    rows, _ = graded
    assert {cell: float(rows["ties_reversed"][cell]) for cell in TESTS} == {**TESTS, "test_ties": 0.0}
    assert rows["ties_reversed"]["score"] == "20.0"


@GRADES
def test_the_untouched_release_scores_0_and_says_which_blank_to_fill(graded) -> None:
    rows, scratch = graded
    assert rows["untouched"]["score"] == "0.0"
    graded_nb = scratch / "out2" / "course" / "autograded" / "untouched" / "word_stats" / NOTEBOOK
    errors = {
        graded_cell.metadata["nbgrader"]["grade_id"]: output["evalue"]
        for graded_cell in nbformat.read(graded_nb, as_version=4).cells
        for output in graded_cell.get("outputs", [])
        if output.get("output_type") == "error"
    }
    assert errors["test_counts"] == (
        'word_counts is not defined: fill in the ??? of "Part 1: count the words", then run its cell'
    )
    assert errors["test_ties"] == (
        'top_words is not defined: fill in the ??? of "Part 2: the most frequent words", then run its cell'
    )
    feedback = html.unescape((scratch / "out2" / "feedback" / "untouched" / "word_stats.html").read_text())
    assert errors["test_counts"] in feedback


@GRADES
def test_the_assignment_s_limits_apply(graded) -> None:
    """Its [limits] cell = 20: a cell that sleeps 60 s (within the default limit, 120 s) is cut; its functions,
    defined before the sleep, count. Its memory = 2048: a kernel that holds 3 GiB is stopped, and the note says
    why."""
    rows, scratch = graded
    sleepy = nbformat.read(scratch / "out1" / "course" / "autograded" / "sleepy" / "word_stats" / NOTEBOOK, 4)
    assert [output.get("ename") for output in cell(sleepy, "part1").outputs] == [
        "KeyboardInterrupt",
        "CellTimeoutError",
    ]
    assert rows["sleepy"]["score"] == "30.0"
    assert (rows["hog"]["score"], rows["hog"]["note"]) == (
        "0.0",
        "grading stopped in cell 4: the notebook's kernel went over its memory limit (2048 MiB for its kernel and "
        "judge together) and was stopped; the cells after it did not run",
    )


def test_the_histogram_spans_the_assignment_s_maximum() -> None:
    assert score_bins(30.0)[0] == 0.0 and score_bins(30.0)[-2:] == [30.0, 31.5]
    assert score_bins(100.0) == list(range(0, 106, 5))


@GRADES
def test_check_says_ready_and_refuses_a_solution_that_misses_points(tmp_path, capsys) -> None:
    assert main(["check", "--assignment", str(WORD_STATS)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "word_stats: ready (solution 30/30, untouched release 0)"
    broken = tmp_path / "word_stats"
    shutil.copytree(WORD_STATS, broken)
    solution = nbformat.read(broken / NOTEBOOK, as_version=4)
    nbformat.write(answered(solution, "part2", TIES_REVERSED), broken / NOTEBOOK)
    assert main(["check", "--assignment", str(broken)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "word_stats: REFUSED: solution 20/30, untouched release 0: the solution must score full marks "
        "(test_ties: AssertionError)"
    )


def test_only_what_nbgrader_released_is_beside_the_notebook(tmp_path) -> None:
    """The files the sandboxes see beside the notebook come from the release, never from the solutions' folder:
    not the notebook itself, no link (which could point at the solutions)."""
    (tmp_path / NOTEBOOK).write_text("{}")
    (tmp_path / "stopwords.txt").write_text("a")
    (tmp_path / "data").mkdir()
    (tmp_path / "everything").symlink_to(REPO / "solutions", target_is_directory=True)
    assert released_beside(tmp_path, NOTEBOOK) == {
        "data": str(tmp_path / "data"),
        "stopwords.txt": str(tmp_path / "stopwords.txt"),
    }
    assert released_beside(tmp_path / "not released", NOTEBOOK) == {}


def test_the_names_a_cell_defines_and_the_part_it_is_in() -> None:
    source = (
        "%time x = 1\nimport numpy as np\nif True:\n    a, b = 1, 2\ntry:\n    c = 3\nexcept Exception:\n    pass\n"
    )
    source += "y = [q for q in range(3)]\n\n\ndef f():\n    inner = 1\n"
    assert defined_names(source) == ["np", "a", "b", "c", "y", "f"]
    assert defined_names("x = ???") == []
    release = nbformat.read(WORD_STATS / NOTEBOOK, as_version=4)
    filled = answered(release, "part2", "top_words = None  # not a blank any more")
    reasons = unfilled_reasons(
        release,
        answered(filled, "part1", "def word_counts(text, stopwords):\n    ???"),
        {"word_counts", "top_words", "STOPWORDS"},
    )
    assert reasons == {
        "word_counts": 'word_counts is not defined: fill in the ??? of "Part 1: count the words", then run its cell',
        "top_words": 'top_words is not defined: its cell in "Part 2: the most frequent words" must define it and run '
        "without an error",
    }


def test_limits_set_by_an_assignment_are_the_only_ones_it_overrides() -> None:
    config = Limits(cell=20).config({"cell"})
    assert (config.Execute.timeout, config.Judge.cell_timeout, config.Judge.timeout) == (20, 20, 300)
    assert "SandboxedExecute" not in config and "Sandbox" not in config


@GRADES
def test_plain_nbgrader_applies_the_assignment_s_limits_too(tmp_path, monkeypatch) -> None:
    """nbgrader's own autograde (and Formgrader's button) with the course's configuration applies the assignment's
    [limits] as `grade` does: its cell limit of 20 s cuts a 60 s sleep that the default 120 s would let finish."""
    config = load_course_config(REPO)
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.source_directory = str(WORD_STATS.parent)
    config.CourseDirectory.release_directory = "release"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs alembic
    assert api.generate_assignment("word_stats", force=True)["success"]
    solution = nbformat.read(WORD_STATS / NOTEBOOK, as_version=4)
    submitted = tmp_path / "submitted" / "sleepy" / "word_stats" / NOTEBOOK
    submitted.parent.mkdir(parents=True)
    nbformat.write(answered(solution, "part1", cell(solution, "part1").source + SLEEPY), submitted)
    assert api.autograde("word_stats", "sleepy", force=True, create=True)["success"]
    graded = nbformat.read(tmp_path / "autograded" / "sleepy" / "word_stats" / NOTEBOOK, as_version=4)
    assert [output.get("ename") for output in cell(graded, "part1").outputs] == [
        "KeyboardInterrupt",
        "CellTimeoutError",
    ]
