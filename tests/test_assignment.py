"""An assignment is a folder (autograder/course/assignment.py): copied under a new name into another course, it is
released and graded with no change to the grader; a mistake in its settings is an error that says where."""

import copy
import csv
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder import REPO, SOLUTION
from autograder.__main__ import main
from autograder.course.assignment import SETTINGS_FILE, AssignmentError, available, find, load, loadable
from autograder.course.assignment_schema import settings_table
from autograder.fixtures.notebooks import MUTANTS, apply_edits
from tests.helpers import VENV_BIN
from tests.test_autograder import CELL_TIMEOUT, EXPECTED_FAILURES, GRADED_CELLS

COPY = "copied_lesson"
WORD_STATS = REPO / "tests" / "assignments" / "word_stats"
MUTANT = "top_k_ascending"


@pytest.fixture(scope="module")
def copied_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch course with the repository's assignment copied in as COPY, its notebook renamed to match, and
    the folders its settings point to; its nbgrader configuration is the repository's."""
    root = tmp_path_factory.mktemp("course")
    folder = root / "solutions" / COPY
    shutil.copytree(SOLUTION.parent, folder, ignore=shutil.ignore_patterns("keras_servable", ".ipynb_checkpoints"))
    (folder / SOLUTION.name).rename(folder / f"{COPY}.ipynb")
    for data in ("samples", "serving"):  # the folders its settings let the notebook read
        (root / data).symlink_to(REPO / data, target_is_directory=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    (root / "autograder").symlink_to(REPO / "autograder", target_is_directory=True)
    return root


def test_a_copied_assignment_is_released_and_graded_without_code_changes(copied_course: Path, tmp_path) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    released = subprocess.run(
        [VENV_BIN / "nbgrader", "generate_assignment", COPY, "--no-db"],
        cwd=copied_course,
        env=env,
        capture_output=True,
        text=True,
    )
    assert released.returncode == 0, released.stderr[-3000:]
    release = copied_course / "notebooks" / COPY
    assert sorted(path.name for path in release.iterdir()) == [f"{COPY}.ipynb"]  # no settings, no exports
    assert "???" in (release / f"{COPY}.ipynb").read_text()

    solution = nbformat.read(copied_course / "solutions" / COPY / f"{COPY}.ipynb", as_version=4)
    submissions = tmp_path / "submissions"
    for student, nb in {"solution": solution, MUTANT: apply_edits(copy.deepcopy(solution), MUTANTS[MUTANT])}.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(nb, submissions / student / f"{COPY}.ipynb")
    out = tmp_path / "graded"
    folder = str(copied_course / "solutions" / COPY)
    command = ["grade", str(submissions), "--out", str(out), "--assignment", folder, "--quiet", "--jobs", "2"]
    assert main([*command, "--cell-timeout", str(CELL_TIMEOUT)]) == 0
    with (out / "grades.csv").open() as file:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    lost = sum(GRADED_CELLS[cell] for cell in EXPECTED_FAILURES[MUTANT])
    assert scores == {"solution": 100.0, MUTANT: 100.0 - lost}
    assert (out / "feedback" / MUTANT / f"{COPY}.html").is_file()


def test_the_only_assignment_is_the_default_and_a_wrong_name_lists_the_others(tmp_path) -> None:
    shutil.copytree(REPO / "tests" / "assignments" / "word_stats", tmp_path / "single" / "word_stats")
    assert find(solutions=tmp_path / "single").name == "word_stats"
    with pytest.raises(AssignmentError, match="no assignment 'nope': expected one of word_stats"):
        find("nope", solutions=tmp_path / "single")
    for name in ("one", "two"):
        shutil.copytree(SOLUTION.parent, tmp_path / "several" / name, ignore=shutil.ignore_patterns("keras_servable"))
    with pytest.raises(AssignmentError, match="2 assignments, and no --assignment to choose: expected one of one, two"):
        find(solutions=tmp_path / "several")


def copy_with_settings(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "solutions" / SOLUTION.parent.name
    shutil.copytree(SOLUTION.parent, folder, ignore=shutil.ignore_patterns("keras_servable"))
    settings = folder / SETTINGS_FILE
    assert old in settings.read_text()
    settings.write_text(settings.read_text().replace(old, new))
    for data in ("samples", "serving"):
        (tmp_path / data).symlink_to(REPO / data, target_is_directory=True)
    return folder


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("judged = ", "jugded = ", r"\[cells\] has no key 'jugded': expected one of setup, judged, skipped"),
        ("[release]", "[limit]\ncell = 30\n[release]", r"unknown table \[limit\]: expected the tables \[cells\], "),
        ("[release]", '[limits]\ncell = "30"\n[release]', r"\[limits\] cell = '30': expected integer > 0 \(seconds "),
        ("[release]", "[limits]\nnotebook = 0\n[release]", r"\[limits\] notebook = 0: expected integer > 0"),
        ('tracked = ["model"]', 'tracked = "model"', r"\[handin\] tracked = 'model': expected list of strings"),
        (
            "[release]",
            "[limits]\ncell = 400\n[release]",
            r"\[limits\] judge = 300 is shorter than cell = 400: expected",
        ),
        (
            "message_types = [",
            'messages = ["request"]\nmessage_types = [',
            r"\[handin\] messages = \['request'\]: expected table",
        ),
        ('"fresh_process_check"]', '"fresh_check"]', r"\[cells\] judged names fresh_check, which serving_keras_resnet"),
        ('"string[]"', '"string[]]"', r"\[handin.functions\] build_jpeg_to_image_graph = \{'input': 'string\[\]\]'\}"),
        ('"../../samples"', '"../../pictures"', r"\[sandbox\] folders SAMPLES_DIR = .*/pictures is not a folder"),
        ('"../../samples"', '"../.."', r"folders SAMPLES_DIR = .* holds the assignment's own folder, so students'"),
        ('["keras_servable"]', '["keras_servable", "*.ipynb"]', r"disposable \*.ipynb matches the notebook itself"),
        ("[release]", "[release", r"cannot read .*assignment.toml \(.*\): expected the assignment's settings"),
    ],
)
def test_a_mistake_in_the_settings_says_where(tmp_path, old: str, new: str, message: str) -> None:
    with pytest.raises(AssignmentError, match=message):
        load(copy_with_settings(tmp_path, old, new))


def test_an_unknown_assignment_on_the_command_line_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--assignment", "nope"]) == 2
    assert capsys.readouterr().err == (
        f"error: {REPO / 'solutions'} has no assignment 'nope': expected one of {', '.join(available())}\n"
    )
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "out"), "--assignment", str(tmp_path)]) == 2
    assert f"cannot read {tmp_path / SETTINGS_FILE}" in capsys.readouterr().err


def test_the_settings_table_in_the_readme_is_the_schema() -> None:
    assert settings_table() in (REPO / "docs" / "instructors.md").read_text()


def test_a_broken_folder_is_reported_and_the_others_load(tmp_path) -> None:
    """A notebook not named after its folder is the commonest mistake: the error says the name expected."""
    for name in ("good", "misnamed"):
        shutil.copytree(WORD_STATS, tmp_path / name)
        (tmp_path / name / "word_stats.ipynb").rename(tmp_path / name / f"{name}.ipynb")
    (tmp_path / "misnamed" / "misnamed.ipynb").rename(tmp_path / "misnamed" / "homework.ipynb")
    assignments, broken = loadable(tmp_path)
    assert [assignment.name for assignment in assignments] == ["good"]
    assert broken.keys() == {"misnamed"}
    assert "expected the assignment's notebook, which is named after its folder (misnamed.ipynb)" in broken["misnamed"]
    assert find("good", solutions=tmp_path).name == "good"
