"""Grading on a Dask cluster (autograder/grading/cluster.py): a real `dask scheduler` and two `dask worker` processes on
loopback. The grades equal a local run's, cell by cell; a worker killed while it grades loses nothing and counts
nothing twice; a scheduler that does not answer is a one-line error that names its address."""

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder import NOTEBOOK, RELEASE, REPO, SOLUTION
from autograder.__main__ import main
from autograder.fixtures.notebooks import with_answers
from autograder.grading.results import GradingRun
from autograder.grading.run import grade
from tests.helpers import VENV_BIN, unused_loopback_port

pytestmark = pytest.mark.class_scale

# Answer cells whose grade ids start so: their tests pass, the rest fail quickly.
PARTS_1_TO_4 = ("part1", "part2", "part3", "part4")
WORKERS = ("worker-1", "worker-2")


@dataclass
class Cluster:
    address: str
    processes: dict[str, subprocess.Popen]  # the scheduler and each worker, by name
    folder: Path  # their temporary folder, and their logs

    def start_worker(self, name: str, from_the_repository: bool = True) -> None:
        """A single-threaded worker, as `dask worker` starts one (without the nanny that would restart it)."""
        worker = ["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        command = [sys.executable, "-m", *worker, "--name", name]
        self.processes[name] = start(name, command, self.folder, from_the_repository)


def start(name: str, command: list[str], folder: Path, from_the_repository: bool = True) -> subprocess.Popen:
    """One process of the cluster, its output in folder; from_the_repository=False starts it elsewhere, without
    the repository on its PYTHONPATH, as a careless set-up would."""
    environment = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    environment["TMPDIR"] = str(folder)  # what a worker killed in a test leaves is in the test's folder
    environment.pop("PYTHONPATH", None)
    if from_the_repository:
        environment["PYTHONPATH"] = str(REPO)
    log = (folder / f"{name}.log").open("wb")
    cwd = REPO if from_the_repository else folder
    return subprocess.Popen(command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT)


@contextmanager
def running_cluster(folder: Path, workers: dict[str, bool]) -> Iterator[Cluster]:
    """A scheduler on a free loopback port and one single-threaded worker per name, each started from the
    repository or not; all killed at the end."""
    from distributed import Client

    port = unused_loopback_port()
    scheduler = ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    cluster = Cluster(f"tcp://127.0.0.1:{port}", {}, folder)
    cluster.processes["scheduler"] = start("scheduler", [sys.executable, "-m", *scheduler], folder)
    for name, from_the_repository in workers.items():
        cluster.start_worker(name, from_the_repository)
    try:
        with Client(cluster.address, timeout="60s") as client:
            client.wait_for_workers(len(workers), timeout=120)
        yield cluster
    finally:
        for process in cluster.processes.values():
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), dict.fromkeys(WORKERS, True)) as started:
        yield started


def first_parts_only() -> nbformat.NotebookNode:
    """The release with the answers of Parts 1 to 4 filled in: quick to grade, and worth some of the points."""
    solution = nbformat.read(SOLUTION, as_version=4)
    return with_answers(
        {
            cell.id: cell.source
            for cell in solution.cells
            if cell.metadata.get("nbgrader", {}).get("solution")
            and cell.metadata.nbgrader.grade_id.startswith(PARTS_1_TO_4)
        }
    )


def submissions(folder: Path, students: dict[str, nbformat.NotebookNode | str]) -> Path:
    for student, notebook in students.items():
        (folder / student).mkdir(parents=True)
        if isinstance(notebook, str):
            (folder / student / NOTEBOOK).write_text(notebook)
        else:
            nbformat.write(notebook, folder / student / NOTEBOOK)
    return folder


def rows(run: GradingRun) -> dict[str, dict]:
    with run.grades_csv.open() as file:
        table = list(csv.DictReader(file))
    assert len({row["student_id"] for row in table}) == len(table), "a student counted twice"
    return {row["student_id"]: row for row in table}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    students = {"first_parts": first_parts_only(), "untouched": nbformat.read(RELEASE, 4), "not_json": "{not json"}
    return submissions(folder / "submissions", students)


@pytest.fixture(scope="module")
def local_run(batch: Path) -> GradingRun:
    """The batch graded on this machine, as without --scheduler."""
    return grade(batch, batch.parent / "local", show_progress=False, jobs=2)


def test_grades_on_the_cluster_equal_a_local_run_cell_by_cell(cluster, batch, local_run, tmp_path) -> None:
    out = tmp_path / "cluster"
    run = grade(batch, out, show_progress=False, scheduler=cluster.address)
    local, distributed = rows(local_run), rows(run)
    assert distributed == local
    assert 0 < float(local["first_parts"]["score"]) < float(local["first_parts"]["max_score"])
    assert "not a notebook" in distributed["not_json"]["note"]
    for student in ("first_parts", "untouched"):
        assert (out / "feedback" / student / f"{Path(NOTEBOOK).stem}.html").is_file()
        graded = nbformat.read(out / "course" / "autograded" / student / SOLUTION.parent.name / NOTEBOOK, 4)
        assert any(cell.get("outputs") for cell in graded.cells if cell.metadata.get("nbgrader", {}).get("grade"))
    assert (out / "grades.png").is_file()
    assert profiling_workers(cluster) == [], "a worker's statistical profiler still samples the grading"


def profiling_workers(cluster: Cluster) -> list[str]:
    """The workers whose statistical profiler runs (autograder/grading/cluster.py: GradingWorker turns it off)."""
    from distributed import Client

    with Client(cluster.address, timeout="30s") as client:
        profiling = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
    return [address for address, running in profiling.items() if running]


def test_an_unreachable_scheduler_is_a_one_line_error_naming_it(batch, tmp_path, capsys) -> None:
    address = f"tcp://127.0.0.1:{unused_loopback_port()}"
    args = ["grade", str(batch), "--out", str(tmp_path), "--scheduler", address]
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: no Dask scheduler answers at " + address) and "\n" not in error


def test_a_worker_that_cannot_import_the_grader_stops_the_run_in_one_line(batch, tmp_path, capsys) -> None:
    with running_cluster(tmp_path, {"outside": False}) as careless:
        assert main(["grade", str(batch), "--out", str(tmp_path / "out"), "--scheduler", careless.address]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: a worker of {careless.address} cannot run the grader (ModuleNotFoundError")
    assert "No module named 'autograder'" in error and "PYTHONPATH" in error and "\n" not in error
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_worker_killed_while_it_grades_loses_nothing_and_counts_nothing_twice(cluster, local_run, tmp_path) -> None:
    from distributed import Client

    students = {f"student_{number}": first_parts_only() for number in range(1, 4)}
    folder = submissions(tmp_path / "submissions", students)
    finished: dict[str, GradingRun] = {}
    grading = threading.Thread(
        target=lambda: finished.update(run=grade(folder, tmp_path / "out", False, scheduler=cluster.address))
    )
    grading.start()
    victim = killed_while_grading(Client(cluster.address, timeout="30s"), cluster)
    grading.join(timeout=600)
    assert victim in WORKERS and "run" in finished
    assert cluster.processes[victim].wait(timeout=30) == -signal.SIGKILL
    graded = rows(finished["run"])
    assert set(graded) == set(students)
    expected = {name: value for name, value in rows(local_run)["first_parts"].items() if name != "student_id"}
    for student, row in graded.items():
        assert {name: value for name, value in row.items() if name != "student_id"} == expected, student
    assert not leftovers_once_a_worker_replaces(victim, cluster), "the killed worker's scratch is still there"


def leftovers_once_a_worker_replaces(victim: str, cluster: Cluster) -> list[Path]:
    """Start a worker in the killed one's place, as a nanny would; what grading left in the cluster's temporary
    folder outside the live workers' own folders."""
    from distributed import Client

    cluster.start_worker(f"{victim}-replacement")
    with Client(cluster.address, timeout="30s") as client:
        client.wait_for_workers(len(WORKERS), timeout=120)
        live = [Path(folder) for folder in client.run(lambda dask_worker: dask_worker.local_directory).values()]
    scratch = cluster.folder.rglob("autograder-*")
    return [path for path in scratch if not any(path.is_relative_to(folder) for folder in live)]


def killed_while_grading(client, cluster: Cluster) -> str:
    """Kill, with SIGKILL, the first worker seen grading a submission for 3 s; its name."""
    with client:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy:
                time.sleep(3)
                names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
                name = names[busy[0]]
                cluster.processes[name].send_signal(signal.SIGKILL)
                return name
            time.sleep(0.2)
    raise AssertionError("no worker took a submission within 300 s")
