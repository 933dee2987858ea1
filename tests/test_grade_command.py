"""Grading one notebook at a time with `grade` and `python -m autograder grade`: a notebook is stopped at its time
limit however its cells share it, and the command line reports problems and bad arguments in one line each. (The
class-scale batch of every fixture is tests/test_autograder.py.)"""

import re

import nbformat
from traitlets.config import Config

from autograder import NOTEBOOK
from autograder.__main__ import main
from autograder.fixtures.notebooks import stalling
from autograder.grading.run import grade
from tests.helpers import RESNET

ASSIGNMENT = ("--assignment", RESNET.name)  # named: solutions/ may hold others


def test_a_notebook_is_stopped_at_its_time_limit_however_its_cells_share_it(tmp_path) -> None:
    """Cells that each keep within a cell's time limit cannot, together, hold a grading worker for longer than the
    notebook's limit; a cell cut short by that limit is reported as such even when it ignores the interrupt.

    The set-up takes 4-12 s and must keep within a cell's limit (15 s); the 3 cells after it, which ignore interrupts,
    sleep 36 s in all, so the notebook's limit (24 s) stops one of them, whatever the set-up took."""
    folder = tmp_path / "submissions"
    (folder / "stalling").mkdir(parents=True)
    nbformat.write(stalling(12), folder / "stalling" / NOTEBOOK)
    settings = Config()
    settings.SandboxedExecute.notebook_timeout = 24
    run = grade(folder, tmp_path / "out", show_progress=False, cell_timeout=15, settings=settings, assignment=RESNET)
    [result] = run.results
    assert result.score == 0
    assert re.fullmatch(
        r"grading stopped in cell \d+: the notebook ran longer than 24 s in all; the cells after it did not run",
        result.note,
    ), result.note


def test_command_line_reports_problems_and_bad_arguments(tmp_path, capsys) -> None:
    folder = tmp_path / "submissions"
    (folder / "nobody").mkdir(parents=True)
    (folder / "nobody" / NOTEBOOK).write_text("")
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--quiet", *ASSIGNMENT]) == 0
    printed = capsys.readouterr().out
    assert "Graded 0 of 1 submissions" in printed and "nobody: 0 points, serving_keras_resnet.ipynb is empty" in printed
    assert (tmp_path / "out" / "grades.csv").is_file()

    assert main(["grade", str(tmp_path / "missing"), "--out", str(tmp_path / "out"), *ASSIGNMENT]) == 2
    assert "does not exist: expected a .zip or a folder of submissions" in capsys.readouterr().err
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--jobs", "0", *ASSIGNMENT]) == 2
    assert "jobs must be at least 1, got 0" in capsys.readouterr().err
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / NOTEBOOK).write_text("{}")
    assert main(["grade", str(flat), "--out", str(tmp_path / "out"), *ASSIGNMENT]) == 2
    assert "no student found" in capsys.readouterr().err
