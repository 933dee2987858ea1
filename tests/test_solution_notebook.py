"""The solution notebook runs top to bottom offline, exports a servable, and handles its settings clearly."""

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from autograder import SOLUTION
from autograder.fixtures.notebooks import MUTANTS, filled_release
from tests.conftest import SolutionRun
from tests.helpers import cell_by_id, cell_text, notebook_env, run_notebook


def test_solution_exports_a_savedmodel(solution_run: SolutionRun) -> None:
    export = solution_run.export_path
    assert (export / "saved_model.pb").is_file()
    assert (export / "variables" / "variables.index").is_file()
    assert [path.name for path in solution_run.servable_dir.iterdir()] == ["1"], "staging folders were left behind"
    assert f"Exported the servable to {export}" in cell_text(cell_by_id(solution_run.notebook, "export"))


def test_solution_prints_top5_labels_for_every_sample(solution_run: SolutionRun) -> None:
    printed = cell_text(cell_by_id(solution_run.notebook, "validate"))
    for name in ["cat_sample.jpg", "coffee.jpg", "edge/grayscale.jpg", "edge/wide_320x213.jpg"]:
        assert name in printed
    assert "answers as the in-memory one does" in printed
    assert "RANDOM weights" not in printed, "a weights file was given: no random-weights warning expected"


def graded_cells(nb):
    return [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")]


def test_every_graded_test_passes_on_the_solution(solution_run: SolutionRun) -> None:
    """(The other correct decoder, TensorFlow's default DCT, is graded in tests/test_autograder.py: 100 points.)
    The test of the student's own checks gives its points as its result: all of them."""
    for cell in graded_cells(solution_run.notebook):
        assert cell_text(cell).split("\n")[0].endswith("passed.") or "passed. They catch 6 of the 6" in cell_text(cell)
        results = [output for output in cell.outputs if output.output_type == "execute_result"]
        assert [result.data["text/plain"] for result in results] in ([], ["15.0"]), cell.id
    skew = cell_text(cell_by_id(solution_run.notebook, "skew"))
    assert "cat_sample.jpg       values that differ from Keras':   0.0%   largest difference:   0.0" in skew
    assert "wide_320x213.jpg     values that differ from Keras'" in skew and "(resized: PIL nearest vs yours)" in skew


def test_offline_imagenet_warns_and_an_existing_version_is_refused(solution_run: SolutionRun, tmp_path) -> None:
    """With the default RESNET_WEIGHTS=imagenet and no network, the notebook warns and goes on with random weights;
    SERVABLE_VERSION naming an existing version stops the export with a message saying what to do."""
    before = sorted(path.name for path in solution_run.servable_dir.iterdir())
    version_1 = solution_run.export_path / "saved_model.pb"
    version_1_bytes = version_1.read_bytes()
    nb = nbformat.read(SOLUTION, as_version=4)
    env = notebook_env(solution_run.servable_dir, SERVABLE_VERSION="1", KERAS_HOME=str(tmp_path / "keras"))

    with pytest.raises(CellExecutionError) as refused:
        run_notebook(nb, env)

    warning = cell_text(cell_by_id(nb, "weights"))
    assert "WARNING: the ImageNet weights could not be downloaded" in warning
    assert "predictions are MEANINGLESS" in warning
    assert "ResNet50 weights: random, seed 1234" in warning
    assert "The servable's model and its steps: passed." in cell_text(cell_by_id(nb, "test_servable"))
    message = str(refused.value)
    assert "FileExistsError" in message and "Cannot export version 1" in message
    assert "Unset SERVABLE_VERSION" in message
    assert sorted(path.name for path in solution_run.servable_dir.iterdir()) == before
    assert version_1.read_bytes() == version_1_bytes


def test_missing_weights_file_is_a_clear_error(tmp_path) -> None:
    missing = tmp_path / "no_such.weights.h5"
    nb = nbformat.read(SOLUTION, as_version=4)
    with pytest.raises(CellExecutionError) as failed:
        run_notebook(nb, notebook_env(tmp_path / "servables", RESNET_WEIGHTS=str(missing)))
    message = str(failed.value)
    assert "FileNotFoundError" in message
    assert f"RESNET_WEIGHTS='{missing}': expected 'imagenet', 'none' or the path of a Keras weights file" in message
    assert not (tmp_path / "servables").exists()


def test_a_mistake_costs_its_own_part_in_the_notebook_and_a_failed_cell_is_not_called_blank(tmp_path) -> None:
    """Run as a student does, a notebook whose Part 6 signature forgets its input's name fails Part 6's tests only,
    each naming Part 6; the Part 8 cells the bad export breaks say that their cell failed, not that it is blank."""
    nb = filled_release(MUTANTS["signature_input_unnamed"])
    run_notebook(nb, notebook_env(tmp_path / "servables", RESNET_WEIGHTS="none"), allow_errors=True)
    shown = {cell.id: "\n".join(error_lines(cell)) for cell in nb.cells if cell.cell_type == "code"}
    failed_tests = {cell.id for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade") and shown[cell.id]}
    assert failed_tests == {"test_export_signatures", "test_export_reloaded_output"}
    assert all("(Part 6" in shown[test] for test in failed_tests), shown
    assert "grpc_answer is not defined, since the cell of Part 8 that defines it failed" in shown["labels_answer"]
    assert "fill in the ???" not in shown["labels_answer"]


def error_lines(cell) -> list[str]:
    """What the notebook shows of a cell's error: its short traceback (the checks' explain), not the raw error."""
    return [line for output in cell.get("outputs", []) if output.output_type == "error" for line in output.traceback]
