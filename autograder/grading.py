"""Grade a batch of submissions with nbgrader's own steps: generate_assignment, autograde, generate_feedback and
export, in a course directory of their own, with every kernel sandboxed.

Submissions are read as data, one student at a time (autograder/submissions.py): a student whose submission cannot
be read gets a note saying why and 0 points, and the rest of the batch goes on. Only each student's notebook is
filed for grading, and only the graded notebook is kept. Submissions are graded by several worker processes at
once; nbgrader's SQLite gradebook takes their short writes one at a time.
"""

import contextlib
import functools
import itertools
import json
import multiprocessing
import os
import re
import resource
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from tqdm import tqdm
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder import REPO
from autograder.assignment import Assignment, find
from autograder.assignment_schema import MIB
from autograder.export import PerCellCsvExportPlugin, StudentRecord
from autograder.notes import take_notes
from autograder.sandbox import check_tools
from autograder.step_times import take_times, timed
from autograder.submissions import Submission, SubmissionLimits, read_batch

JUDGE_MARGIN = 180  # seconds a submission's judge may take beyond one cell's limit, when a run sets that limit
# The last error line of a traceback: "SomeError: what happened".
ERROR_LINE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (?P<message>.+)$")

COURSE_CONFIG = '''"""nbgrader settings of this grading run: the course's own, with this folder as the course root."""

import sys

sys.path.insert(0, {repo!r})
from pathlib import Path

from autograder.assignment import load

c = get_config()
load_subconfig({config!r})
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.ignore += {disposable!r}
_assignment = load(Path({folder!r}))
c.merge(_assignment.limits.config(_assignment.limits_set))  # the assignment's [limits]
'''


@dataclass
class StudentResult:
    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""  # why the submission could not be graded
    notes: list[str] = field(default_factory=list)  # what else happened to it
    lms: str = ""
    lms_user_id: str = ""
    name: str = ""
    seconds: float = 0.0
    disk_bytes: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each step (autograder/step_times.py)

    @property
    def note(self) -> str:
        return "; ".join([self.problem, *self.notes] if self.problem else self.notes)


@dataclass
class GradingRun:
    out: Path
    results: list[StudentResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries of the submissions that belong to no student
    seconds: float = 0.0

    @property
    def grades_csv(self) -> Path:
        return self.out / "grades.csv"


def memory_share(jobs: int) -> int:
    """Bytes of memory each of jobs grading workers' sandboxes may hold: 80 % of the machine's, shared."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8) // jobs


def default_jobs() -> int:
    """One submission per core: a submission's kernel and judge are mostly single-threaded Python and TensorFlow."""
    return max(1, len(os.sched_getaffinity(0)))


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
) -> GradingRun:
    """Grade every student's notebook in submissions (a folder or a .zip, plain or as an LMS downloads it); write
    reports to out.

    cell_timeout overrides the configured limit, in seconds, on each cell of a submission, in its kernel and in
    the judge; jobs is how many submissions are graded at once (default: one per core); limits bound what is read
    from submissions; settings override the course's nbgrader configuration (the sandbox's limits, say);
    assignment is the one graded (default: the only one in solutions/); with scheduler, the address of a Dask
    scheduler, each submission is graded on one of its workers (autograder/cluster.py) instead of here.
    """
    started = time.monotonic()
    _put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)  # raised inside nbgrader's gradebook code, harmless
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    limits = limits or SubmissionLimits()
    jobs = jobs or default_jobs()
    if scheduler:
        from autograder.cluster import cluster_grader

        graders = cluster_grader(scheduler)  # connects first: a cluster that is not there stops the run at once
    else:
        check_tools()
        graders = contextlib.nullcontext(functools.partial(grade_each, jobs=jobs, memory=limits.grading_memory))
    with graders as grade_submissions:
        if not submissions.exists():
            raise FileNotFoundError(f"{submissions} does not exist: expected a .zip or a folder of submissions")
        assignment = assignment or find()
        overrides = assignment.limits.config(assignment.limits_set)  # the assignment's own, unless the run sets others
        if not scheduler:  # the workers here share this machine's memory: none may take more than its share
            overrides.Sandbox.group_memory_limit = min(assignment.limits.memory * MIB, memory_share(jobs))
        if cell_timeout:
            overrides.Execute.timeout = cell_timeout
            overrides.Judge.cell_timeout = cell_timeout
            overrides.Judge.timeout = max(assignment.limits.judge, cell_timeout + JUDGE_MARGIN)
        overrides.merge(settings or Config())
        course = prepare_course(out / "course", assignment, overrides)
        run = grade_batch(submissions, out, show_progress, limits, course, grade_submissions)
    run.seconds = time.monotonic() - started
    return run


def grade_batch(
    submissions: Path,
    out: Path,
    show_progress: bool,
    limits: SubmissionLimits,
    course: "GradingCourse",
    grade_submissions: Callable[["GradingCourse", list["StudentResult"]], Iterator["StudentResult"]],
) -> GradingRun:
    """Read the batch, release the assignment in the course, file each readable notebook, grade them all with
    grade_submissions (here, or on a cluster), then export the grades, the feedback and the chart."""
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
    results = [file_submission(course, submission, max_score, limits) for submission in batch.submissions]
    unreadable = [result for result in results if result.problem]
    readable = [result for result in results if not result.problem]
    progress = tqdm(total=len(results), desc="Grading", unit="submission", disable=not show_progress, file=sys.stderr)
    progress.write(f"{'student':24} {'score':>13} {'time':>8}  status")
    for result in itertools.chain(unreadable, grade_submissions(course, readable)):
        run.results.append(result)
        progress.write(_table_row(result))
        progress.update()
    progress.close()
    run.results.sort(key=lambda result: result.student_id)

    export(api, assignment, run)
    write_histogram(run, assignment)
    return run


@dataclass(frozen=True)
class GradingCourse:
    """The nbgrader course directory of one grading run, the assignment graded there, and the settings that
    override the course's own: all a worker process needs to grade a submission."""

    root: Path
    assignment: Assignment
    overrides: Config

    def api(self) -> NbGraderAPI:
        """nbgrader's API on the course directory, with the overrides applied."""
        config = load_course_config(self.root)
        config.merge(self.overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def graded_folder(self, student_id: str) -> Path:
        return self.root / "autograded" / student_id / self.assignment.name

    def feedback_folder(self, student_id: str) -> Path:
        return self.root / "feedback" / student_id / self.assignment.name

    def submitted_path(self, student_id: str) -> Path:
        """Where nbgrader's autograde reads the student's notebook."""
        return self.root / "submitted" / student_id / self.assignment.name / self.assignment.notebook_name

    def file_notebook(self, student_id: str, notebook: bytes) -> None:
        """File the notebook where autograde reads it, with fixed modes (the sandbox reads it as another user)."""
        path = self.submitted_path(student_id)
        path.parent.mkdir(mode=0o755, parents=True)
        path.write_bytes(notebook)
        path.chmod(0o644)


def grade_each(course: GradingCourse, readable: list[StudentResult], jobs: int, memory: int) -> Iterator[StudentResult]:
    """Autograde the filed submissions in `jobs` worker processes, yielding each result as it is done.

    A worker may use `memory` bytes of data. A worker that dies (out of memory, say) takes with it only the
    submissions it was grading at the time; each of those is then graded again alone, so that only the one that
    kills its worker again fails, with a note.
    """
    suspects = yield from graded_in_workers(course, readable, jobs, memory)
    for result in suspects:
        if (yield from graded_in_workers(course, [result], 1, memory)):
            keep_only(course.graded_folder(result.student_id), course.assignment.notebook_name)
            result.problem = (
                f"grading stopped: the process grading this notebook died twice (it may have used more than "
                f"{memory // 2**20} MiB: its kernel's messages are held there)"
            )
            yield result


def graded_in_workers(
    course: GradingCourse, results: list[StudentResult], jobs: int, memory: int
) -> Generator[StudentResult, None, list[StudentResult]]:
    """Grade results, `jobs` at a time, yielding each when done; return those in flight when a worker died."""
    waiting, lost = list(results), []
    # Fresh interpreters, not forks: nbgrader and the kernel managers keep state that must not be shared.
    context = multiprocessing.get_context("spawn")
    while waiting:
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=limit_memory, initargs=(memory,)) as pool:
            running: dict[Future, StudentResult] = {}
            while waiting or running:
                while waiting and len(running) < jobs:  # only as many as there are workers: all in flight
                    result = waiting.pop(0)
                    running[pool.submit(autograde_in_worker, course, result)] = result
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                try:
                    for future in done:
                        graded = future.result()
                        del running[future]
                        yield graded
                except BrokenProcessPool:
                    lost += running.values()
                    break
    return lost


def limit_memory(memory: int) -> None:
    """Bound a worker's data (soft limit only: its sandboxes set their own limits)."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory, resource.getrlimit(resource.RLIMIT_DATA)[1]))


def autograde_in_worker(course: GradingCourse, result: StudentResult) -> StudentResult:
    """One submission, graded in a worker process with its own connection to the gradebook."""
    _put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)
    autograde(course, result)
    return result


def prepare_course(root: Path, assignment: Assignment, overrides: Config) -> GradingCourse:
    """A fresh course directory whose nbgrader_config.py loads this course's settings, with the assignment's folder
    as its source; plain nbgrader works there."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        COURSE_CONFIG.format(
            repo=str(REPO),
            config=str(REPO / "autograder" / "nbgrader_config.py"),
            root=str(root),
            source=str(assignment.folder.parent),
            disposable=assignment.disposable,
            folder=str(assignment.folder),
        )
    )
    return GradingCourse(root, assignment, overrides)


def load_course_config(course: Path) -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def file_submission(
    course: GradingCourse, submission: Submission, max_score: float, limits: SubmissionLimits
) -> StudentResult:
    """File a readable notebook where nbgrader's autograde looks for it (fixed modes, nothing else); its result."""
    result = StudentResult(
        submission.student_id,
        max_score=max_score,
        problem=submission.problem,
        notes=list(submission.notes),
        lms=submission.lms,
        lms_user_id=submission.lms_user_id,
        name=submission.name,
    )
    if submission.notebook is not None and not result.problem:
        result.problem = unreadable_reason(submission.notebook, course.assignment.notebook_name, limits.max_cells)
    if not result.problem:
        course.file_notebook(submission.student_id, submission.notebook)
    return result


def unreadable_reason(notebook: bytes, name: str, max_cells: int) -> str:
    """Why nbgrader cannot read this notebook, called name, or '' if it can; a one-line reason, however large."""
    if not notebook.strip():
        return f"{name} is empty"
    try:
        data = json.loads(notebook.decode("utf-8"))
        if not isinstance(data, dict) or not {"cells", "worksheets"} & data.keys():  # worksheets: nbformat 3
            return f"{name} is not a notebook (JSON, but not a notebook: no cells)"
        nb = nbformat.from_dict(data)
        nb = nbformat.convert(nb, 4) if nb.get("nbformat", 4) != 4 else nb
        nbformat.validate(nb)
        nbformat.writes(nb).encode("utf-8")  # as grading will save it: JSON's escapes allow unpaired surrogates
    except UnicodeDecodeError as error:
        return f"{name} is not a notebook (not UTF-8 text: {error.reason} at byte {error.start})"
    except UnicodeEncodeError as error:
        return f"{name} is not a notebook (text that cannot be saved as UTF-8: {error.reason})"
    except json.JSONDecodeError as error:
        return f"{name} is not a notebook (not JSON: {error.msg} at line {error.lineno} column {error.colno})"
    except Exception as error:  # nbformat raises several types for malformed notebooks
        # nbformat's message quotes the notebook: only what kind of error it was
        return f"{name} is not a notebook ({type(error).__name__}: it does not follow the notebook format)"
    if len(nb.cells) > max_cells:
        return f"{name} has {len(nb.cells):,} cells; the limit is {max_cells:,}"
    if not any(cell.get("metadata", {}).get("nbgrader") for cell in nb.cells):
        return f"{name} is not this assignment's notebook (no graded cells)"
    return ""


def autograde(course: GradingCourse, result: StudentResult) -> None:
    """nbgrader autograde of one student, keeping only the graded notebook, then its feedback; how long each step
    took (result.steps) adds up to the submission's time."""
    api = course.api()
    started = time.monotonic()
    take_notes()  # none of an earlier submission's
    take_times()
    try:
        _autograde_and_give_feedback(api, course, result)
    finally:
        result.seconds = time.monotonic() - started
        result.steps = take_times()
        whole_steps = sum(seconds for step, seconds in result.steps.items() if ": " not in step)
        result.steps["nbgrader's own steps"] = round(result.seconds - whole_steps, 3)


def _autograde_and_give_feedback(api: NbGraderAPI, course: GradingCourse, result: StudentResult) -> None:
    name = course.assignment.name
    outcome = api.autograde(name, result.student_id, force=True, create=True)
    result.notes += take_notes()
    keep_only(course.graded_folder(result.student_id), course.assignment.notebook_name)
    if not outcome["success"]:
        result.problem = "grading failed: " + real_error(outcome.get("error") or "", outcome.get("log") or "")
        return
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        result.score = gradebook.find_submission(name, result.student_id).score
    with timed("feedback"):
        feedback = api.generate_feedback(name, result.student_id, force=True)
    if not feedback["success"]:
        result.problem = "feedback failed: " + real_error(feedback.get("error") or "", feedback.get("log") or "")
    result.disk_bytes = sum(_size(course.root / step / result.student_id) for step in ("autograded", "feedback"))


def keep_only(folder: Path, name: str) -> None:
    """Delete everything in folder but the file name: a graded notebook's leftovers never reach feedback."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name == name and path.is_file() and not path.is_symlink():
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# What an nbgrader failure was, in the grader's words: its messages can hold what a kernel sent (an output that
# does not validate is quoted whole), and no note quotes a submission.
FAILURES = {
    "ValidationError": "the graded notebook is not a valid notebook: its kernel sent an output nbformat refuses",
    "MemoryError": "the grading worker ran out of memory",
    "BrokenPipeError": "a pipe between the grader and a sandbox broke (see the grader's log)",
    "DeadKernelError": "the notebook's kernel died",
    "CellTimeoutError": "a cell ran out of time",
}
SEE_THE_LOG = "see the grader's log"


def real_error(*texts: str) -> str:
    """The error behind an nbgrader failure, by the type of the last "SomeError: message" line that is not
    nbgrader's own "see the above traceback", from its traceback and then its log: what it means, never its
    message (the grader's log has it)."""
    for text in texts:
        errors = [match for line in text.splitlines() if (match := ERROR_LINE.match(line))]
        errors = [m for m in errors if "above traceback" not in m["message"]]
        if errors:
            name = errors[-1]["name"].rsplit(".", 1)[-1]
            return f"{name}: {FAILURES.get(name, SEE_THE_LOG)}"
    return f"unknown error: {SEE_THE_LOG}"


def export(api: NbGraderAPI, assignment: Assignment, run: GradingRun) -> None:
    """nbgrader's export step with the per-cell CSV plugin; feedback HTML is gathered under out/feedback."""
    records = {
        r.student_id: StudentRecord(note=r.note, lms=r.lms, lms_user_id=r.lms_user_id, name=r.name) for r in run.results
    }
    canvas = str(run.out / "grades_canvas.csv") if any(r.lms == "canvas" for r in run.results) else ""
    plugin = PerCellCsvExportPlugin(config=api.config, to=str(run.grades_csv), records=records, canvas_to=canvas)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    feedback_dir = run.out / "feedback"
    shutil.rmtree(feedback_dir, ignore_errors=True)
    for html in sorted((Path(api.coursedir.root) / "feedback").glob(f"*/{assignment.name}/*.html")):
        target = feedback_dir / html.parts[-3] / html.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(html, target)


def write_histogram(run: GradingRun, assignment: Assignment) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [result.score for result in run.results]
    most = max((result.max_score for result in run.results), default=0.0) or 100.0
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.hist(scores, bins=score_bins(most), color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (out of {most:g})")
    axes.set_ylabel("students")
    mean = sum(scores) / len(scores) if scores else 0.0
    axes.set_title(f"{assignment.name}: {len(scores)} submissions, mean {mean:.1f}")
    path = run.out / "grades.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def score_bins(most: float) -> list[float]:
    """The histogram's bins: 20 of equal width from 0 to the assignment's maximum, the last holding full marks."""
    width = most / 20
    return [width * step for step in range(22)]


def _table_row(result: StudentResult) -> str:
    score = f"{result.score:g}/{result.max_score:g}"
    return f"{result.student_id:24} {score:>13} {result.seconds:6.1f} s  {result.problem or 'graded'}"


def check_outcome(outcome: dict, step: str) -> None:
    """An nbgrader step that failed stops the run, with nbgrader's error."""
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader {step} failed:\n{outcome.get('error') or outcome.get('log')}")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _put_venv_on_path() -> None:
    """nbgrader shells out to alembic (and we to nbgrader): the virtualenv's bin must come first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != venv_bin:
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
