"""The student release in notebooks/ is nbgrader's output for solutions/: current, blanked, clean, and safe to run."""

import os
import re
import subprocess

import nbformat
import pytest

from autograder import ASSIGNMENT, RELEASE, REPO, SOLUTION
from tests.helpers import VENV_BIN, cell_text, notebook_env, run_notebook

# Every blank the exercise asks for, by the nbgrader grade_id of its cell, as the student sees it.
EXPECTED_BLANKS = {
    "part1": ["???"],
    "part2": ["max_value = ???", "min_value = ???", "???"],
    "part3": ["images = ???"],
    "part4": ["???"],
    "part5": ["model = ???", "???"],
    "part6": ["signature_input = ???", "SIGNATURES = ???"],
    "rest_answer": ["???"],
    "grpc_answer": ["???"],
    "labels_answer": ["return ???", "???"],
}
MARKED_LINE = re.compile(r"^(?P<code>.*?)\s*(#.*)?### SOLUTION(:\s*(?P<text>.*\S))?\s*$")
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(?P<code>.*?)\n\s*### END SOLUTION", re.DOTALL)


def nbgrader_cells(nb, kind: str) -> dict[str, nbformat.NotebookNode]:
    """Cells whose nbgrader metadata marks them as `kind` ('solution', 'grade' or 'locked'), by grade_id."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get(kind)
    }


def cells_by_grade_id(nb) -> dict[str, nbformat.NotebookNode]:
    return nbgrader_cells(nb, "solution")


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE, as_version=4)


def test_release_is_what_nbgrader_generates_from_the_solution(tmp_path) -> None:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(
        [
            str(VENV_BIN / "nbgrader"),
            "generate_assignment",
            ASSIGNMENT,
            "--no-db",
            "--force",
            f"--CourseDirectory.release_directory={tmp_path}",
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    generated = tmp_path / ASSIGNMENT
    assert sorted(path.name for path in generated.iterdir()) == [RELEASE.name]
    assert nbformat.read(generated / RELEASE.name, as_version=4) == nbformat.read(RELEASE, as_version=4), (
        "notebooks/ is out of date: run `make release` and commit the result"
    )


def is_locked(cell) -> bool:
    return cell.metadata.get("nbgrader", {}).get("locked", False)


def test_release_has_every_blank(release) -> None:
    cells = cells_by_grade_id(release)
    assert set(cells) == set(EXPECTED_BLANKS)
    for grade_id, blanks in EXPECTED_BLANKS.items():
        lines = [line.strip() for line in cells[grade_id].source.splitlines()]
        for blank in blanks:
            assert blank in lines, f"{grade_id}: no line {blank!r}"
        assert cells[grade_id].source.count("???") == len(blanks), grade_id
    # Blanks are where students write; a locked cell may name them in its messages ("fill in the ???").
    code = [cell.source for cell in release.cells if cell.cell_type == "code" and not is_locked(cell)]
    assert sum(source.count("???") for source in code) == sum(map(len, EXPECTED_BLANKS.values()))


def test_release_has_none_of_the_solution_code(release) -> None:
    solution = nbformat.read(SOLUTION, as_version=4)
    release_text = "\n".join(cell.source for cell in release.cells)
    assert "### SOLUTION" not in release_text and "BEGIN SOLUTION" not in release_text
    release_cells = cells_by_grade_id(release)
    for grade_id, cell in cells_by_grade_id(solution).items():
        regions = [
            line.strip() for region in SOLUTION_REGION.finditer(cell.source) for line in region["code"].splitlines()
        ]
        for line in regions:
            assert line not in release_text, f"solution line leaked: {line}"
        marked = [MARKED_LINE.match(line) for line in cell.source.splitlines()]
        marked = [match for match in marked if match]
        assert marked or regions, f"{grade_id}: a solution cell with no solution in it"
        for match in marked:
            assert match["code"].strip() not in release_text, f"solution line leaked: {match['code'].strip()}"
            if match["text"]:
                assert match["text"] not in release_cells[grade_id].source, f"solution text leaked: {match['text']}"


def test_graded_cells_are_locked_and_worth_100_points() -> None:
    graded = nbgrader_cells(nbformat.read(SOLUTION, as_version=4), "grade")
    assert sum(cell.metadata["nbgrader"]["points"] for cell in graded.values()) == 100
    assert all(cell.metadata["nbgrader"]["locked"] for cell in graded.values())
    assert len(graded) >= 10 and all(grade_id.startswith("test_") for grade_id in graded)


def test_hidden_tests_are_kept_out_of_the_release(release) -> None:
    solution_tests = nbgrader_cells(nbformat.read(SOLUTION, as_version=4), "grade")
    release_tests = nbgrader_cells(release, "grade")
    assert set(release_tests) == set(solution_tests)
    hidden = re.compile(r"\n?### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", re.DOTALL)
    with_hidden = [grade_id for grade_id, cell in solution_tests.items() if hidden.search(cell.source)]
    assert len(with_hidden) >= 10, "every part has hidden tests"
    for grade_id, cell in solution_tests.items():
        assert release_tests[grade_id].source == hidden.sub("", cell.source), grade_id
    assert "HIDDEN TESTS" not in "".join(cell.source for cell in release.cells)


def test_committed_notebooks_have_no_outputs() -> None:
    for path in (SOLUTION, RELEASE):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {cell.id}"
    subprocess.run([str(VENV_BIN / "nbstripout"), "--keep-id", "--verify", str(SOLUTION), str(RELEASE)], check=True)


def test_release_run_as_is_errors_at_the_blanks_and_finishes(tmp_path) -> None:
    nb = nbformat.read(RELEASE, as_version=4)
    temporary = tmp_path / "tmp"  # the kernel's temporary folder
    temporary.mkdir()
    env = notebook_env(tmp_path / "servables", RESNET_WEIGHTS="none", TMPDIR=str(temporary))
    run_notebook(nb, env, allow_errors=True)

    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = {cell.id: next((o for o in cell.outputs if o.output_type == "error"), None) for cell in code_cells}
    for cell in code_cells:
        if "???" in cell.source and not is_locked(cell):
            assert errors[cell.id] is not None and errors[cell.id].ename == "SyntaxError", cell.id
    for given in ("setup", "weights", "checks", "samples_picture", "fresh_process_start"):
        assert errors[given] is None, f"{given}: {cell_text(next(c for c in code_cells if c.id == given))}"
    assert errors["export"] is not None, "nothing to export: the export cell must fail"
    assert not (tmp_path / "servables").exists()
    assert sorted(path.name for path in temporary.iterdir()) == [], "the stopped kernel left temporary files"
