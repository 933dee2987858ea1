"""Grading on a Dask cluster (autograder/grading/cluster.py): a real scheduler and two workers on loopback, each
started as docs/grading-at-scale.md says (`.venv/bin/dask scheduler`, `.venv/bin/dask worker`), as a process of its own,
from another folder than the repository, with neither PYTHONPATH nor the environment's bin on PATH. The grades equal a
local run's, cell by cell; a worker killed while it grades loses nothing and counts nothing twice; a scheduler that
does not answer, or a worker of another environment, is a one-line error; a cluster that cannot run the grading
leaves the submissions not graded (no score, exit status 3), and the same command run again grades only those."""

import csv
import os
import shutil
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

from autograder import NOTEBOOK, RELEASE, SOLUTION
from autograder.__main__ import NOT_ALL_GRADED, main
from autograder.fixtures.notebooks import with_answers
from autograder.grading.results import GradingRun
from autograder.grading.run import grade
from tests.helpers import RESNET, VENV_BIN, unused_loopback_port

ASSIGNMENT = ("--assignment", RESNET.name)  # named: solutions/ may hold others

pytestmark = pytest.mark.class_scale

# Answer cells whose grade ids start so: their tests pass, the rest fail quickly.
PARTS_1_TO_4 = ("part1", "part2", "part3", "part4")
WORKERS = ("worker-1", "worker-2")
# A Python other than the environment's, which sees its libraries but not the grader installed in it: a worker or
# scheduler set up carelessly, from another environment.
ANOTHER_PYTHON = [sys.base_prefix + "/bin/python3.11"]
ITS_LIBRARIES = {"PYTHONPATH": str(next(VENV_BIN.parent.glob("lib/python3.11/site-packages")))}


@dataclass
class Cluster:
    address: str
    processes: dict[str, subprocess.Popen]  # the scheduler and each worker, by name
    folder: Path  # their temporary folder, and their logs

    def start_worker(self, name: str, careless: bool = False) -> None:
        """A single-threaded worker, as docs/grading-at-scale.md starts one (without the nanny that would restart
        it)."""
        command = [*dask(careless), "worker", self.address, "--nthreads", "1", "--name", name, "--no-nanny"]
        self.processes[name] = start(name, command, self.folder, careless)


def dask(careless: bool = False) -> list[str]:
    """The documented `.venv/bin/dask`; or, careless, the same command run by another Python."""
    return [*ANOTHER_PYTHON, "-m", "dask"] if careless else [str(VENV_BIN / "dask")]


def start(name: str, command: list[str], folder: Path, careless: bool = False) -> subprocess.Popen:
    """One process of the cluster, started in folder (never the repository) with the environment a shell would
    give it: no PYTHONPATH, and PATH without the environment's bin; its output in folder."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PATH"] = os.pathsep.join(p for p in environment["PATH"].split(os.pathsep) if p != str(VENV_BIN))
    environment["TMPDIR"] = str(folder)  # what a worker killed in a test leaves is in the test's folder
    environment.update(ITS_LIBRARIES if careless else {})
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(command, cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT)


@contextmanager
def running_cluster(folder: Path, workers: dict[str, bool], careless_scheduler: bool = False) -> Iterator[Cluster]:
    """A scheduler on a free port and one single-threaded worker per name, careless or not; all killed at the
    end."""
    from distributed import Client

    port = unused_loopback_port()
    cluster = Cluster(f"tcp://127.0.0.1:{port}", {}, folder)
    scheduler = [*dask(careless_scheduler), "scheduler", "--port", str(port)]
    cluster.processes["scheduler"] = start("scheduler", scheduler, folder, careless_scheduler)
    for name, careless in workers.items():
        cluster.start_worker(name, careless)
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
    with running_cluster(tmp_path_factory.mktemp("cluster"), dict.fromkeys(WORKERS, False)) as started:
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
    table = rows_of(run.grades_csv)
    assert sum(1 for _ in run.grades_csv.open()) == len(table) + 1, "a student counted twice"
    return table


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    students = {"first_parts": first_parts_only(), "untouched": nbformat.read(RELEASE, 4), "not_json": "{not json"}
    return submissions(folder / "submissions", students)


@pytest.fixture(scope="module")
def local_run(batch: Path) -> GradingRun:
    """The batch graded on this machine, as without --scheduler."""
    return grade(batch, batch.parent / "local", show_progress=False, jobs=2, assignment=RESNET)


def test_grades_on_the_cluster_equal_a_local_run_cell_by_cell(cluster, batch, local_run, tmp_path) -> None:
    out = tmp_path / "cluster"
    run = grade(batch, out, show_progress=False, scheduler=cluster.address, assignment=RESNET)
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


def test_a_worker_of_another_environment_stops_the_run_in_one_line(batch, tmp_path, capsys) -> None:
    with running_cluster(tmp_path, {"careless": True}) as careless:
        command = ["grade", str(batch), "--out", str(tmp_path / "out"), "--scheduler", careless.address, *ASSIGNMENT]
        assert main(command) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: a worker of {careless.address} cannot run the grader (ModuleNotFoundError")
    assert "No module named 'autograder'" in error and ".venv/bin/dask worker" in error and "\n" not in error
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_cluster_that_cannot_grade_leaves_no_score_and_a_rerun_grades_only_what_is_missing(
    cluster, batch, local_run, tmp_path, capsys
) -> None:
    """A scheduler of another environment cannot read the tasks: no submission is graded, none gets a score (not
    a 0), and the command says so and exits 3. The same command on a working cluster grades them; run again, it
    keeps them, and grades only a notebook that changed."""
    out = tmp_path / "out"
    command = ["grade", str(batch), "--out", str(out), "--quiet", *ASSIGNMENT, "--scheduler"]
    (tmp_path / "careless").mkdir()
    with running_cluster(tmp_path / "careless", {"worker": False}, careless_scheduler=True) as careless:
        assert main([*command, careless.address]) == NOT_ALL_GRADED
    printed = capsys.readouterr().out
    assert "NOT GRADED: 2 submissions" in printed and "Run the same command again" in printed
    table = rows_of(out / "grades.csv")
    assert {table[student]["score"] for student in ("first_parts", "untouched")} == {""}
    assert table["first_parts"]["note"].startswith("not graded: the cluster could not grade it (")
    assert "not a notebook" in table["not_json"]["note"]  # the submission's own problem: read, noted, 0

    assert main([*command, cluster.address]) == 0
    assert rows_of(out / "grades.csv") == rows(local_run)
    assert "Graded 2 of 3 submissions" in capsys.readouterr().out

    changed = nbformat.read(batch / "untouched" / NOTEBOOK, 4)
    changed.cells.append(nbformat.v4.new_markdown_cell("An afterthought."))
    again = tmp_path / "again"
    shutil.copytree(batch, again)
    nbformat.write(changed, again / "untouched" / NOTEBOOK)
    assert main(["grade", str(again), *command[2:], cluster.address]) == 0
    assert "(2 kept from the earlier run in this folder)" in capsys.readouterr().out
    assert rows_of(out / "grades.csv") == rows(local_run)


def rows_of(grades_csv: Path) -> dict[str, dict]:
    with grades_csv.open() as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


def test_a_worker_killed_while_it_grades_loses_nothing_and_counts_nothing_twice(cluster, local_run, tmp_path) -> None:
    from distributed import Client

    students = {f"student_{number}": first_parts_only() for number in range(1, 4)}
    folder = submissions(tmp_path / "submissions", students)
    finished: dict[str, GradingRun] = {}
    grading = threading.Thread(
        target=lambda: finished.update(
            run=grade(folder, tmp_path / "out", False, scheduler=cluster.address, assignment=RESNET)
        )
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
