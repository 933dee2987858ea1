"""Autograding copies of the solution, sandboxed, against a plain run of the same notebook: one at a time for the
cost of grading one submission, then batches of growing size, graded in parallel as instructors run them, to show
how grading time scales with the number of submissions; and the largest batch again on a local Dask cluster with as
many one-thread workers as jobs, for what grading on a cluster costs over grading here."""

from pathlib import Path

import nbformat

from autograder import NOTEBOOK, SOLUTION
from autograder.grading import GradingRun, StudentResult, default_jobs, grade
from bench.stats import figure


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
        run = grade(folder, workdir / f"graded_{name}", show_progress=False, jobs=jobs)
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
    """Each grading step's seconds (autograder/step_times.py) over the submissions graded one at a time: the whole
    steps first, which add up to a submission's time, then their parts, slowest first."""
    steps = {step for result in results for step in result.steps}
    figures = {step: figure([result.steps.get(step, 0.0) for result in results], 2) for step in steps}
    order = sorted(steps, key=lambda step: (": " in step, -figures[step]["median"]))
    return {step: figures[step] for step in order}


def on_cluster(count: int, jobs: int, local_seconds: float, workdir: Path) -> dict:
    """The batch of count graded on a local Dask cluster of `jobs` single-threaded worker processes, against the
    same batch graded here with `jobs` workers (local_seconds, from the grader section of the same run)."""
    from distributed import LocalCluster

    folder = submissions(workdir / f"submissions_cluster_{count}", count)
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run = grade(
            folder, workdir / f"graded_cluster_{count}", show_progress=False, scheduler=cluster.scheduler_address
        )
    if any(result.score != result.max_score for result in run.results):
        raise RuntimeError(f"the solution did not earn full marks on the cluster: see {run.grades_csv}")
    seconds, local_seconds = round(run.seconds, 1), round(local_seconds, 1)
    return {
        "submissions": count,
        "workers": jobs,
        "seconds": seconds,
        "local_seconds": local_seconds,
        "overhead": round(seconds / local_seconds - 1, 3),
    }
