"""Grade a batch of submissions with nbgrader's own steps: generate_assignment, autograde, generate_feedback and
export, in a course directory of their own, with every kernel sandboxed.

Submissions are read as data, one student at a time (autograder/intake/submissions.py): a student whose submission
cannot be read gets a note saying why and 0 points, and the rest of the batch goes on. Only each student's notebook
is filed for grading, and only the graded notebook is kept. Submissions are graded by several worker processes at
once (autograder/grading/workers.py), or on a Dask cluster (autograder/grading/cluster.py); nbgrader's SQLite
gradebook takes their short writes one at a time."""

import contextlib
import functools
import itertools
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from tqdm import tqdm
from traitlets.config import Config

from autograder.course.assignment import Assignment, find
from autograder.course.assignment_schema import MIB
from autograder.grading.course_folder import GradingCourse, check_outcome, prepare_course, put_venv_on_path
from autograder.grading.earlier_run import earlier_results, keep_results, notebook_digest, run_key
from autograder.grading.grade_files import export, write_histogram
from autograder.grading.one_submission import file_submission
from autograder.grading.results import GradingRun, StudentResult, table_row
from autograder.grading.workers import default_jobs, grade_each, memory_share
from autograder.intake.submissions import SubmissionLimits, read_batch
from autograder.report.export import canvas_column
from autograder.report.inert import inert
from autograder.sandbox.launch import check_tools

JUDGE_MARGIN = 180  # seconds a submission's judge may take beyond one cell's limit, when a run sets that limit


def grade(
    submissions: Path,
    out: Path,
    show_progress: bool = True,
    cell_timeout: int | None = None,
    jobs: int | None = None,
    limits: SubmissionLimits | None = None,
    settings: Config | None = None,
    assignment: Assignment | None = None,
    scheduler: str | None = None,
    canvas_assignment: str = "",
) -> GradingRun:
    """Grade every student's notebook in submissions (a folder or a .zip, plain or as an LMS downloads it); write
    reports to out.

    cell_timeout overrides the configured limit, in seconds, on each cell of a submission, in its kernel and in
    the judge; jobs is how many submissions are graded at once (default: one per core); limits bound what is read
    from submissions; settings override the course's nbgrader configuration (the sandbox's limits, say);
    assignment is the one graded (default: the only one in solutions/); with scheduler, the address of a Dask
    scheduler, each submission is graded on one of its workers (autograder/grading/cluster.py) instead of here;
    canvas_assignment is the Canvas assignment grades_canvas.csv fills, "Title (ID)".
    """
    started = time.monotonic()
    put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)  # raised inside nbgrader's gradebook code, harmless
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if canvas_assignment:
        canvas_column(canvas_assignment)
    limits = limits or SubmissionLimits()
    jobs = jobs or default_jobs()
    if scheduler:
        from autograder.grading.cluster import cluster_grader

        graders = cluster_grader(scheduler)  # connects first: a cluster that is not there stops the run at once
    else:
        check_tools()
        graders = contextlib.nullcontext(functools.partial(grade_each, jobs=jobs, memory=limits.grading_memory))
    with graders as grade_submissions:
        if not submissions.exists():
            raise FileNotFoundError(f"{submissions} does not exist: expected a .zip or a folder of submissions")
        assignment = assignment or find()
        overrides = assignment.limits.config(assignment.limits_set)  # the assignment's own, unless the run sets others
        overrides.PrepareJudging.apply_assignment_limits = False  # applied here, under this run's own options
        if not scheduler:  # the workers here share this machine's memory: none may take more than its share
            overrides.Sandbox.group_memory_limit = min(assignment.limits.memory * MIB, memory_share(jobs))
        if cell_timeout:
            overrides.Execute.timeout = cell_timeout
            overrides.Judge.cell_timeout = cell_timeout
            overrides.Judge.timeout = max(assignment.limits.judge, cell_timeout + JUDGE_MARGIN)
        overrides.merge(settings or Config())
        key = run_key(assignment, overrides)
        earlier = earlier_results(out, key)
        course = prepare_course(out / "course", assignment, overrides, keep=bool(earlier))
        run = grade_batch(submissions, out, show_progress, limits, course, grade_submissions, (key, earlier))
        run.canvas_column = canvas_assignment
        export(course.api(), assignment, run, canvas_assignment)
    run.seconds = time.monotonic() - started
    return run


def grade_batch(
    submissions: Path,
    out: Path,
    show_progress: bool,
    limits: SubmissionLimits,
    course: "GradingCourse",
    grade_submissions: Callable[["GradingCourse", list["StudentResult"]], Iterator["StudentResult"]],
    earlier: tuple[str, dict[str, StudentResult]] = ("", {}),
) -> GradingRun:
    """Read the batch, release the assignment in the course, file each readable notebook, grade them all with
    grade_submissions (here, or on a cluster), then export the grades, the feedback and the chart. earlier is the
    run's key and the results of an earlier run with that key, which are kept for the same notebooks; the results
    are written to out as they come (autograder/grading/earlier_run.py)."""
    key, kept = earlier
    assignment = course.assignment
    batch = read_batch(submissions, assignment.notebook_name, limits)
    out.mkdir(parents=True, exist_ok=True)
    api = course.api()
    check_outcome(api.generate_assignment(assignment.name, force=True), "generate_assignment")

    run = GradingRun(out, skipped=batch.skipped)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for submission in batch.submissions:
            gradebook.update_or_create_student(submission.student_id)
        max_score = gradebook.find_assignment(assignment.name).max_score
    same = {
        s.student_id for s in batch.submissions if s.student_id in kept and kept_for(kept[s.student_id], s.notebook)
    }
    run.results, run.kept = [kept[student] for student in sorted(same)], len(same)
    results = [file_submission(course, s, max_score, limits) for s in batch.submissions if s.student_id not in same]
    unreadable = [result for result in results if result.problem]
    readable = [result for result in results if not result.problem]
    progress = tqdm(total=len(results), desc="Grading", unit="submission", disable=not show_progress, file=sys.stderr)
    progress.write(f"{'student':24} {'score':>13} {'time':>8}  status")
    if run.kept:
        progress.write(f"kept the results of {run.kept} submissions graded by the earlier run in {out}")
    for result in itertools.chain(unreadable, grade_submissions(course, readable)):
        write_log(out, result)
        run.results.append(result)
        keep_results(out, key, run.results)
        progress.write(table_row(result))
        progress.update()
    progress.close()
    run.results.sort(key=lambda result: result.student_id)

    write_histogram(run, assignment)
    return run


def kept_for(result: StudentResult, notebook: bytes | None) -> bool:
    """Whether an earlier result stands for this notebook: the very same bytes."""
    return bool(result.notebook_sha256) and result.notebook_sha256 == notebook_digest(notebook)


def write_log(out: Path, result: StudentResult) -> None:
    """out/logs/<student_id>.log, what nbgrader said when a step failed for this student, each line inert (it can
    quote what the submission printed); the result then carries it no further."""
    if result.log:
        (out / "logs").mkdir(exist_ok=True)
        lines = (inert(line) for line in result.log.splitlines())
        (out / "logs" / f"{result.student_id}.log").write_text("\n".join(lines) + "\n")
        result.log = ""
