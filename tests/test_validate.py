"""Students self-check with `nbgrader validate`: it runs the visible tests of a filled notebook."""

import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder import REPO, SOLUTION
from autograder.fixtures import MUTANTS, edited
from tests.helpers import SAMPLES, VENV_BIN


@pytest.mark.parametrize(
    ("submission", "verdict"),
    [
        ("solution", "Success! Your notebook passes all the tests."),
        ("top_k_ascending", "VALIDATION FAILED ON 3 CELL(S)"),
    ],
)
def test_nbgrader_validate(workdir: Path, submission: str, verdict: str) -> None:
    folder = workdir / "validate" / submission
    folder.mkdir(parents=True)
    nb = nbformat.read(SOLUTION, as_version=4) if submission == "solution" else edited(MUTANTS[submission])
    nbformat.write(nb, folder / SOLUTION.name)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "SAMPLES_DIR": str(SAMPLES),
        "RESNET_WEIGHTS": "none",
        "SERVABLE_DIR": str(folder / "keras_servable"),
    }
    done = subprocess.run(
        [str(VENV_BIN / "nbgrader"), "validate", str(folder / SOLUTION.name)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert verdict in done.stdout
