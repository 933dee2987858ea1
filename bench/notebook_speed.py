"""The solution notebook from a fresh kernel to its last cell (the export and its checks), with weights none, and
where the time goes; and nbgrader's Validate of the student release filled with the solution's answers."""

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder import REPO
from autograder.fixtures.notebooks import filled_release
from bench.stats import figure

# Which cells make up each part of the breakdown, by cell id; every other code cell counts as "tests".
BREAKDOWN = {
    "imports and setup": ("setup",),
    "model build": ("weights", "part5", "servable_trace", "servable_in_use"),
    "export": ("export",),
    "inspect and reload checks": (
        "fresh_process_start",
        "fresh_process_check",
        "inspect_report",
        "validate",
    ),
    "model server and queries": (
        "server_start",
        "rest_answer",
        "grpc_answer",
        "labels_answer",
        "server_peers",
        "server_stop",
    ),
}
EXPORT_CELL = "export"  # the cell that writes the SavedModel: the notebook's time "to export" ends with it
CELL_TIMEOUT_SECONDS = 600


def run_env(samples: Path, servable_dir: Path) -> dict[str, str]:
    env = {**os.environ, "RESNET_WEIGHTS": "none", "SAMPLES_DIR": str(samples), "SERVABLE_DIR": str(servable_dir)}
    env["SERVING_DIR"] = str(REPO / "serving")  # Part 8's model server, wherever the notebook is run from
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("SERVABLE_VERSION", None)
    return env


def run_once(notebook: Path, samples: Path, servable_dir: Path) -> tuple[float, float, dict[str, float]]:
    """Seconds from starting a kernel to the last cell and to the export written, and seconds per part of the
    breakdown."""
    nb = nbformat.read(notebook, as_version=4)
    env = run_env(samples, servable_dir)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}
    )
    started_at, start = datetime.now(UTC), time.perf_counter()
    client.execute(env=env)
    total = time.perf_counter() - start
    export = next(cell for cell in nb.cells if cell.get("id") == EXPORT_CELL)
    to_export = (moment(export.metadata["execution"]["shell.execute_reply"]) - started_at).total_seconds()
    parts = dict.fromkeys([*BREAKDOWN, "tests"], 0.0)
    for cell in nb.cells:
        if cell.cell_type == "code":
            part = next((name for name, ids in BREAKDOWN.items() if cell.get("id") in ids), "tests")
            parts[part] += cell_seconds(cell)
    parts["kernel start and messaging"] = total - sum(parts.values())
    return total, to_export, parts


def moment(timestamp: str) -> datetime:
    """A time as nbclient records it in a cell's metadata (ISO 8601, UTC)."""
    return datetime.fromisoformat(timestamp.rstrip("Z")).replace(tzinfo=UTC)


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    started, ended = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (started and ended):
        return 0.0
    return (moment(ended) - moment(started)).total_seconds()


def notebook(runs: int, notebook_path: Path, samples: Path, workdir: Path) -> tuple[dict, Path]:
    """The timings, and the SavedModel the first run exported (the servable the other sections measure)."""
    totals, to_export, breakdowns = [], [], []
    for run in range(runs):
        servable_dir = workdir / f"notebook_run_{run}"
        total, exported, parts = run_once(notebook_path, samples, servable_dir)
        totals.append(total)
        to_export.append(exported)
        breakdowns.append(parts)
        if run:
            shutil.rmtree(servable_dir)
    result = {
        "seconds": figure(totals, 2),
        "seconds_to_export": figure(to_export, 2),
        "breakdown_s": {part: figure([parts[part] for parts in breakdowns], 2) for part in breakdowns[0]},
    }
    return result, workdir / "notebook_run_0" / "1"


def validate(runs: int, samples: Path, workdir: Path) -> dict:
    """Seconds of a click of Validate (bench/validate_button.py) on the release with the solution's answers."""
    folder = workdir / "validate"
    folder.mkdir(parents=True, exist_ok=True)
    notebook = folder / "serving_keras_resnet.ipynb"
    nbformat.write(filled_release(), notebook)
    click = [sys.executable, "-m", "bench.validate_button", str(notebook)]
    seconds = []
    for _ in range(runs):
        done = subprocess.run(click, env=run_env(samples, folder / "unused"), cwd=REPO, capture_output=True, text=True)
        if done.returncode or not done.stdout.strip():
            raise RuntimeError(f"Validate did not run: {done.stderr[-2000:]}")
        clicked = json.loads(done.stdout.strip().splitlines()[-1])
        if clicked["findings"]:
            raise RuntimeError(f"Validate did not succeed: {json.dumps(clicked['findings'])[-2000:]}")
        seconds.append(clicked["seconds"])
    return {"seconds": figure(seconds, 2), "exports_left": (folder / "unused").exists()}
