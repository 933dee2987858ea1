"""The command-line tests beside the notebook (testing/): they pass on the solution, fail on each mutant in the
test named for its mistake, and say in one line what to do with a notebook whose helpers are still blank."""

import copy
import io
import os
import subprocess
import sys
import unittest
from pathlib import Path

import nbformat
import pytest

from autograder import REPO, SOLUTION
from autograder.fixtures.notebooks import MUTANTS, apply_edits
from testing import test_helpers  # as a module: pytest must not collect its tests on the student's notebook

MUTANT_FAILS = {
    "means_in_rgb_without_flip": "test_channel_order_is_bgr_with_means_subtracted",
    "decode_without_channels": "test_grayscale_jpeg_becomes_three_channels",
    "batch_first_image_only": "test_batch_rows_follow_their_images",
    "top_k_ascending": "test_top_k_keeps_five_classes_most_probable_first",
}


def failing_tests(notebook) -> set[str]:
    """Run HelperTests on notebook in this process; the names of the tests that fail or err."""
    tests = test_helpers.HelperTests
    tests.notebook, tests.helpers = notebook, None
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(tests)
    result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
    return {test.id().rsplit(".", 1)[-1] for test, _ in result.failures + result.errors}


@pytest.fixture
def quiet_notebook_env(monkeypatch) -> None:
    monkeypatch.setenv("SAMPLES_DIR", str(REPO / "samples"))
    monkeypatch.setenv("RESNET_WEIGHTS", "none")


@pytest.mark.parametrize("mutant", sorted(MUTANT_FAILS))
def test_each_mutant_fails_the_test_named_for_its_mistake(tmp_path, quiet_notebook_env, mutant: str) -> None:
    notebook = tmp_path / f"{mutant}.ipynb"
    nbformat.write(apply_edits(nbformat.read(SOLUTION, as_version=4), MUTANTS[mutant]), notebook)
    assert failing_tests(notebook) == {MUTANT_FAILS[mutant]}


def test_the_solution_passes_every_test(quiet_notebook_env) -> None:
    assert failing_tests(SOLUTION) == set()


def run(module: str, *args: str, temporary: Path) -> subprocess.CompletedProcess:
    """Run a module as a student does; tf.test's scratch folder goes into temporary, not the machine's /tmp."""
    env = {**os.environ, "TEST_TMPDIR": str(temporary)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True, text=True)


def test_from_the_command_line_each_part_is_tested_as_soon_as_it_is_written(tmp_path) -> None:
    """The solution passes; a release with only Part 1 filled in passes the decoder's tests, and each test of a
    helper still blank fails with one line that names its cell."""
    passed = run("testing.test_helpers", str(SOLUTION), temporary=tmp_path)
    assert passed.returncode == 0, passed.stderr[-3000:]
    assert "OK" in passed.stderr and "SKIPPED" not in passed.stderr
    release = nbformat.read(REPO / "notebooks" / SOLUTION.parent.name / SOLUTION.name, as_version=4)
    solution = {cell.id: cell.source for cell in nbformat.read(SOLUTION, as_version=4).cells}
    part1_only = copy.deepcopy(release)
    next(cell for cell in part1_only.cells if cell.id == "part1").source = solution["part1"]
    notebook = tmp_path / "part1_only.ipynb"
    nbformat.write(part1_only, notebook)
    tested = run("testing.test_helpers", str(notebook), temporary=tmp_path)
    assert tested.returncode == 1
    for decoder_test in ("test_decoder_gives_a_224x224x3_float32_image", "test_channel_order_is_bgr_with_means"):
        assert f"[       OK ] HelperTests.{decoder_test}" in tested.stderr
    blank = "fill in its ??? first"
    assert (
        "AssertionError: preprocess_input: cell 26 ('part3') of part1_only.ipynb is not valid Python" in tested.stderr
    )
    assert tested.stderr.count(blank) == 3 * 2, "each of the 3 tests of blank helpers says it (tf.test shows it twice)"


def test_the_eager_example_shows_what_each_helper_returns(tmp_path) -> None:
    shown = run("testing.eager_example", str(SOLUTION), temporary=tmp_path)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "cat_sample.jpg decoded: shape (224, 224, 3), dtype float32" in shown.stdout
    assert "rows equal: True" in shown.stdout
