"""Autograding copies of the solution, sandboxed, against a plain run of the same notebook: one at a time for the
cost of grading one submission, then batches of growing size, graded in parallel as instructors run them, to show
how grading time scales with the number of submissions; and a batch graded on a local Dask cluster with as many
one-thread workers as jobs, taking turns with the same batch graded here, for what a cluster costs over grading here."""

from pathlib import Path

import nbformat

from autograder import NOTEBOOK, SOLUTION
from autograder.course.assignment import load
from autograder.grading.results import GradingRun, StudentResult
from autograder.grading.run import grade
from autograder.grading.workers import default_jobs
from bench.stats import figure

ASSIGNMENT = load(SOLUTION.parent)  # the course's, whatever else solutions/ holds


def submissions(folder: Path, count: int) -> Path:
    """count students who each handed in the solution, in the folder layout an LMS export unpacks to."""
    solution = nbformat.read(SOLUTION, as_version=4)
    for number in range(1, count + 1):
        (folder / f"student_{number:02d}").mkdir(parents=True)
        nbformat.write(solution, folder / f"student_{number:02d}" / NOTEBOOK)
    return folder


def graded(count: int, jobs: int, workdir: Path, done: dict[tuple[int, int], GradingRun]) -> GradingRun:
    """Grade count copies of the solution, jobs at a time; a run already in done (same count and workers) is reused."""
    jobs = min(jobs, count)  # a batch of 1 is graded one at a time, however many workers are allowed
    if (count, jobs) not in done:
        name = f"{count}_by_{jobs}"
        folder = submissions(workdir / f"submissions_{name}", count)
        run = grade(folder, workdir / f"graded_{name}", show_progress=False, jobs=jobs, assignment=ASSIGNMENT)
        if any(result.score != result.max_score for result in run.results):
            raise RuntimeError(f"the solution did not earn full marks when grading {count}: see {run.grades_csv}")
        done[count, jobs] = run
    return done[count, jobs]


def grading(serial: int, batches: tuple[int, ...], plain_seconds: float | None, workdir: Path) -> dict:
    """`serial` submissions graded one at a time give the per-submission figures; then each batch, in parallel."""
    done: dict[tuple[int, int], GradingRun] = {}
    one_at_a_time = graded(serial, 1, workdir, done)
    jobs = default_jobs()
    batch_seconds = {str(count): round(graded(count, jobs, workdir, done).seconds, 1) for count in batches}
    result = {
        "seconds_per_submission": figure([r.seconds for r in one_at_a_time.results], 2),
        "breakdown_s": breakdown(one_at_a_time.results),
        "disk_mb_per_graded_submission": figure([r.disk_bytes / 1e6 for r in one_at_a_time.results], 3),
        "jobs": jobs,
        "batch_seconds": batch_seconds,
        "one_at_a_time_batch_seconds": {str(serial): round(one_at_a_time.seconds, 1)},
    }
    if str(serial) in batch_seconds:
        result[f"parallel_speedup_at_{serial}"] = round(one_at_a_time.seconds / batch_seconds[str(serial)], 2)
    largest = max(batches)
    result["throughput_s_per_submission"] = round(batch_seconds[str(largest)] / largest, 2)  # at full parallelism
    result["throughput_measured_on_submissions"] = largest
    if plain_seconds:
        result["ratio_to_plain_run"] = round(result["seconds_per_submission"]["median"] / plain_seconds, 3)
        result[f"batch_of_{largest}_ratio_to_plain_runs"] = round(
            batch_seconds[str(largest)] / (largest * plain_seconds), 3
        )
    return result


def breakdown(results: list[StudentResult]) -> dict[str, dict]:
    """Each grading step's seconds (autograder/report/step_times.py) over the submissions graded one at a time: the
    whole steps first, which add up to a submission's time, then their parts, slowest first."""
    steps = {step for result in results for step in result.steps}
    figures = {step: figure([result.steps.get(step, 0.0) for result in results], 2) for step in steps}
    order = sorted(steps, key=lambda step: (": " in step, -figures[step]["median"]))
    return {step: figures[step] for step in order}


def on_cluster(count: int, rounds: int, workdir: Path) -> dict:
    """A batch of count graded on a local Dask cluster of one single-threaded worker process per core, and here with
    as many jobs, taking turns for `rounds` rounds (here first, then the cluster first, and so on), so that a
    machine whose speed drifts slows both alike. Each cluster is started for its run; its start is not counted."""
    import dask
    from distributed import LocalCluster

    jobs = default_jobs()
    folder = submissions(workdir / f"submissions_cluster_{count}", count)
    out = workdir / f"graded_cluster_{count}"

    def here() -> GradingRun:
        return grade(folder, out, show_progress=False, jobs=jobs, assignment=ASSIGNMENT)

    def on_a_cluster() -> GradingRun:
        # The scheduler's and workers' scratch folders go into workdir, deleted after the run, not into /tmp for good
        with (
            dask.config.set({"temporary-directory": str(workdir)}),
            LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        ):
            return grade(folder, out, show_progress=False, scheduler=cluster.scheduler_address, assignment=ASSIGNMENT)

    seconds: dict[str, list[float]] = {"here": [], "cluster": []}
    for number in range(rounds):
        turns = [("here", here), ("cluster", on_a_cluster)]
        for where, grade_copies in turns if number % 2 == 0 else turns[::-1]:
            run = grade_copies()
            if any(result.score != result.max_score for result in run.results):
                raise RuntimeError(f"the solution did not earn full marks graded {where}: see {run.grades_csv}")
            seconds[where].append(run.seconds)
    local, cluster = figure(seconds["here"], 1), figure(seconds["cluster"], 1)
    return {
        "submissions": count,
        "workers": jobs,
        "seconds": cluster,
        "local_seconds": local,
        "overhead": round(cluster["median"] / local["median"] - 1, 3),
        "overhead_by_round": [round(c / h - 1, 3) for h, c in zip(seconds["here"], seconds["cluster"], strict=True)],
    }
