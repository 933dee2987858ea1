"""Session fixtures: the expensive artefacts (a weights file, an executed solution, its SavedModel) are made
once, in a throwaway folder that is deleted at the end, since each weighs about 100 MB."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbformat import NotebookNode

from autograder import SOLUTION
from serving.launcher import LocalServer
from tests.helpers import TF_SERVING, notebook_env, run_notebook

TEST_SEED = 7  # not the notebook's seed: a servable that ignored the weights file would fail the parity tests
# Files that TensorFlow's autograph writes for a process's traced functions and deletes when that process exits.
AUTOGRAPH_FILES = "__autograph_generated_file"
TEMPORARY_FOLDER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Give the tests, and every process they start, a temporary folder of their own, so that what they leave there
    is theirs (tests_leave_no_temporary_files)."""
    config.stash[TEMPORARY_FOLDER] = Path(tempfile.mkdtemp(prefix="serving-keras-resnet-tmp-"))
    os.environ["TMPDIR"] = str(config.stash[TEMPORARY_FOLDER])
    tempfile.tempdir = None  # read TMPDIR again


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash[TEMPORARY_FOLDER], ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def tests_leave_no_temporary_files() -> Iterator[None]:
    """After the last test, the temporary folder holds only pytest's own folders (and this process's autograph
    files): notebooks, kernels, servers, graders and clusters clean up after themselves."""
    yield
    folder = Path(tempfile.gettempdir())
    left = sorted(path.name for path in folder.iterdir() if not path.name.startswith(("pytest-of-", AUTOGRAPH_FILES)))
    assert left == [], f"the tests left these in the temporary folder {folder}: {left}"


@dataclass
class SolutionRun:
    notebook: NotebookNode
    servable_dir: Path
    export_path: Path


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="serving-keras-resnet-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def weights_file(workdir: Path) -> Path:
    """A Keras weights file of ResNet50 with seeded random weights: what tests use instead of ImageNet's."""
    import keras

    keras.utils.set_random_seed(TEST_SEED)
    path = workdir / f"resnet50_seed{TEST_SEED}.weights.h5"
    keras.applications.ResNet50(weights=None).save_weights(path)
    return path


@pytest.fixture(scope="session")
def solution_run(workdir: Path, weights_file: Path) -> SolutionRun:
    """The solution notebook executed top to bottom in a fresh kernel, exporting with the test weights."""
    servable_dir = workdir / "keras_servable"
    nb = run_notebook(SOLUTION, notebook_env(servable_dir, RESNET_WEIGHTS=str(weights_file)))
    return SolutionRun(nb, servable_dir, servable_dir / "1")


@pytest.fixture(scope="session")
def reference_model(weights_file: Path):
    """Keras' ResNet50 with the same weights as the exported servable, for parity checks."""
    import keras

    model = keras.applications.ResNet50(weights=None)
    model.load_weights(weights_file)
    return model


@pytest.fixture(scope="session")
def serving_signature(solution_run: SolutionRun):
    """The exported servable's serving_default signature, loaded in this process."""
    import tensorflow as tf

    return tf.saved_model.load(str(solution_run.export_path)).signatures["serving_default"]


SERVER_MAX_REQUEST_BYTES = 4 << 20  # small, so that a test can send a request over the limit cheaply


@pytest.fixture(scope="session")
def model_server(workdir: Path, solution_run: SolutionRun) -> Iterator[LocalServer]:
    """The local model server in a subprocess, serving the exported servable as version 1 of "resnet"."""
    base_path = workdir / "served"
    base_path.mkdir()
    (base_path / "1").symlink_to(solution_run.export_path, target_is_directory=True)
    with LocalServer(base_path, max_request_bytes=SERVER_MAX_REQUEST_BYTES) as server:
        yield server


@pytest.fixture(scope="session")
def batching_model_server(model_server: LocalServer) -> Iterator[LocalServer]:
    """A second local server on the same versions, merging concurrent requests with TF Serving's batching file."""
    with LocalServer(model_server.model_base_path, batching_parameters_file=TF_SERVING / "batching.config") as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark a test whose body failed, for fixtures that save evidence then (tests/test_browser.py)."""
    report = yield
    if report.when == "call" and report.failed:
        item.failed_call = True
    return report
