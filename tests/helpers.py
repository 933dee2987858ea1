"""Paths and notebook runners shared by the tests."""

import hashlib
import os
import socket
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder import REPO, SOLUTION
from autograder.course.assignment import load

SAMPLES = REPO / "samples"
TF_SERVING = REPO / "serving" / "tf_serving"
VENV_BIN = Path(sys.executable).parent
CELL_TIMEOUT = 300


# The course's assignment, named: the suite passes whatever other assignments solutions/ holds.
RESNET = load(SOLUTION.parent)


def hashed_id(safe: str, basis: str, lms: str = "") -> str:
    """The id of a student whose name is not safe (autograder/intake/submissions.py): the safe name, "-" and the hash of
    its LMS and name."""
    return f"{safe}-{hashlib.sha256(f'{lms}:{basis}'.encode()).hexdigest()[:8]}"


def unused_loopback_port() -> int:
    """A loopback port that nothing listens on, so a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def offline_env() -> dict[str, str]:
    """Send any HTTP(S) download to a closed loopback port: it fails at once and never leaves the machine."""
    proxy = f"http://127.0.0.1:{unused_loopback_port()}"
    return {
        "http_proxy": proxy,
        "https_proxy": proxy,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "no_proxy": "",
        "NO_PROXY": "",
    }


def notebook_env(servable_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a notebook kernel in the tests: offline, the repo's samples, a throwaway export folder."""
    env = {key: value for key, value in os.environ.items() if key not in {"RESNET_WEIGHTS", "SERVABLE_VERSION"}}
    env.update(offline_env())
    env.update(SAMPLES_DIR=str(SAMPLES), SERVABLE_DIR=str(servable_dir), TF_CPP_MIN_LOG_LEVEL="2")
    env.update(SERVING_DIR=str(REPO / "serving"))  # Part 8's model server, wherever the notebook runs
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(settings)
    return env


def run_notebook(notebook: Path | NotebookNode, env: dict[str, str], allow_errors: bool = False) -> NotebookNode:
    """Execute a notebook top to bottom in a fresh kernel, in its assignment folder; return it with outputs.

    Raises nbclient's CellExecutionError at the first failing cell unless allow_errors is set;
    the notebook passed in keeps the outputs of the cells that ran.
    """
    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, Path) else notebook
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(SOLUTION.parent)}},
    )
    client.execute(env=env)
    return nb


def cell_text(cell: NotebookNode) -> str:
    """Everything a code cell printed, including error names and messages."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def cell_by_id(nb: NotebookNode, cell_id: str) -> NotebookNode:
    return next(cell for cell in nb.cells if cell.get("id") == cell_id)
