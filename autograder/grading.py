"""Grade a batch of submissions with nbgrader's own steps: generate_assignment, zip_collect, autograde,
generate_feedback and export, in a course directory of their own, with every kernel sandboxed.

Unreadable submissions are reported with the reason and graded 0; the rest of the batch goes on. Submissions are
graded by several worker processes at once; nbgrader's SQLite gradebook takes their short writes one at a time.
"""

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
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

from autograder import ASSIGNMENT, NOTEBOOK, REPO
from autograder.export import PerCellCsvExportPlugin

IGNORED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints"}

COURSE_CONFIG = '''"""nbgrader settings of this grading run: the course's own, with this folder as the course root."""

import sys

sys.path.insert(0, {repo!r})
c = get_config()
load_subconfig({config!r})
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.release_directory = "release"
'''


@dataclass
class StudentResult:
    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""
    seconds: float = 0.0
    disk_bytes: int = 0


@dataclass
class GradingRun:
    out: Path
    results: list[StudentResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def grades_csv(self) -> Path:
        return self.out / "grades.csv"


def default_jobs() -> int:
    """One submission per core: a submission's kernel and judge are mostly single-threaded Python and TensorFlow."""
    return max(1, len(os.sched_getaffinity(0)))


def grade(
    submissions: Path,
    out: Path,
    show_progress: bool = True,
    cell_timeout: int | None = None,
    jobs: int | None = None,
) -> GradingRun:
    """Grade every <student>/<notebook>.ipynb in submissions (a folder or a .zip); write reports to out.

    cell_timeout overrides the configured limit, in seconds, on each cell of a submission; jobs is how many
    submissions are graded at once (default: one per core).
    """
    started = time.monotonic()
    _put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)  # raised inside nbgrader's gradebook code, harmless
    if not shutil.which("bwrap") or not shutil.which("prlimit"):
        raise RuntimeError("grading runs student code under bubblewrap: install it (apt-get install bubblewrap)")
    if not submissions.exists():
        raise FileNotFoundError(f"{submissions} does not exist: expected a .zip or a folder of submissions")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    out.mkdir(parents=True, exist_ok=True)
    course = out / "course"
    api = course_api(course, cell_timeout, fresh=True)
    _check(api.generate_assignment(ASSIGNMENT, force=True), "generate_assignment")
    collect(submissions, course)
    problems = check_submissions(course)

    run = GradingRun(out)
    students = sorted({*problems, *submitted_students(course)})
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        for student_id in students:
            gradebook.update_or_create_student(student_id)
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    pending = [StudentResult(s, max_score=max_score, problem=problems.get(s, "")) for s in students]
    progress = tqdm(total=len(pending), desc="Grading", unit="submission", disable=not show_progress, file=sys.stderr)
    progress.write(f"{'student':24} {'score':>13} {'time':>8}  status")
    for result in grade_each(course, cell_timeout, pending, jobs or default_jobs()):
        run.results.append(result)
        progress.write(_table_row(result))
        progress.update()
    progress.close()
    run.results.sort(key=lambda result: result.student_id)

    export(api, run, {r.student_id: r.problem for r in run.results if r.problem})
    write_histogram(run)
    run.seconds = time.monotonic() - started
    return run


def grade_each(
    course: Path, cell_timeout: int | None, pending: list[StudentResult], jobs: int
) -> Iterator[StudentResult]:
    """Autograde the readable submissions, `jobs` at a time, yielding each result as it is done."""
    readable = [result for result in pending if not result.problem]
    yield from (result for result in pending if result.problem)
    if min(jobs, len(readable)) <= 1:
        api = course_api(course, cell_timeout)
        for result in readable:
            autograde(api, course, result)
            yield result
        return
    # Fresh interpreters, not forks: nbgrader and the kernel managers keep state that must not be shared.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(autograde_in_worker, course, cell_timeout, result) for result in readable]
        for future in as_completed(futures):
            yield future.result()


def autograde_in_worker(course: Path, cell_timeout: int | None, result: StudentResult) -> StudentResult:
    """One submission, graded in a worker process with its own connection to the gradebook."""
    _put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)
    autograde(course_api(course, cell_timeout), course, result)
    return result


def course_api(course: Path, cell_timeout: int | None, fresh: bool = False) -> NbGraderAPI:
    """nbgrader's API on the grading course directory (made anew if fresh), with the cell timeout applied."""
    config = prepare_course(course) if fresh else load_course_config(course)
    if cell_timeout:
        config.Execute.timeout = cell_timeout
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def prepare_course(course: Path) -> Config:
    """A fresh course directory whose nbgrader_config.py loads this course's settings; plain nbgrader works there."""
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        COURSE_CONFIG.format(
            repo=str(REPO),
            config=str(REPO / "autograder" / "nbgrader_config.py"),
            root=str(course),
            source=str(REPO / "solutions"),
        )
    )
    return load_course_config(course)


def load_course_config(course: Path) -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def collect(submissions: Path, course: Path) -> None:
    """nbgrader zip_collect: extract the zip (or copy the folder) and file each notebook under its student."""
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    if submissions.is_dir():
        shutil.copytree(submissions, archive / submissions.name)
    elif submissions.suffix == ".zip":
        shutil.copy(submissions, archive)
    else:
        raise ValueError(f"{submissions} is neither a folder nor a .zip file")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "zip_collect", ASSIGNMENT, "--force"],
        cwd=course,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed:\n{done.stderr[-3000:]}")


def submitted_students(course: Path) -> list[str]:
    submitted = course / "submitted"
    return sorted(path.name for path in submitted.iterdir()) if submitted.exists() else []


def check_submissions(course: Path) -> dict[str, str]:
    """Why each unreadable submission cannot be graded, by student; those submissions are set aside."""
    extracted = course / "downloaded" / ASSIGNMENT / "extracted"
    files_by_student: dict[str, list[str]] = {}
    for path in sorted(extracted.rglob("*")):
        if path.is_file() and not IGNORED_FOLDERS & set(path.parts) and not path.name.startswith("."):
            files_by_student.setdefault(path.parent.name, []).append(path.name)

    problems = {}
    for student_id, names in files_by_student.items():
        notebook = course / "submitted" / student_id / ASSIGNMENT / NOTEBOOK
        problem = unreadable_reason(notebook) if notebook.exists() else f"no {NOTEBOOK} (found {', '.join(names)})"
        if problem:
            problems[student_id] = problem
            shutil.rmtree(course / "submitted" / student_id, ignore_errors=True)
    return problems


def unreadable_reason(notebook: Path) -> str:
    """Why nbgrader cannot read this notebook, or '' if it can."""
    if notebook.stat().st_size == 0:
        return f"{NOTEBOOK} is empty"
    try:
        nb = nbformat.read(notebook, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"{NOTEBOOK} is not a notebook (not JSON: {error})"
    except Exception as error:  # nbformat raises several types for malformed notebooks
        return f"{NOTEBOOK} is not a notebook ({type(error).__name__}: {error})"
    if not any(cell.get("metadata", {}).get("nbgrader") for cell in nb.cells):
        return f"{NOTEBOOK} is not this assignment's notebook (no graded cells)"
    return ""


def autograde(api: NbGraderAPI, course: Path, result: StudentResult) -> None:
    """nbgrader autograde of one student (which also deletes what the notebook exported), then its feedback."""
    started = time.monotonic()
    outcome = api.autograde(ASSIGNMENT, result.student_id, force=True, create=True)
    result.seconds = time.monotonic() - started
    if not outcome["success"]:
        log = outcome.get("log") or ""
        if "DeadKernelError" in log:
            result.problem = "the notebook's kernel died (the notebook exited or crashed), so nothing could be graded"
        else:
            result.problem = "grading failed: " + _last_line(outcome.get("error") or log)
        return
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        result.score = gradebook.find_submission(ASSIGNMENT, result.student_id).score
    feedback = api.generate_feedback(ASSIGNMENT, result.student_id, force=True)
    if not feedback["success"]:
        result.problem = "feedback failed: " + _last_line(feedback.get("error") or "")
    result.disk_bytes = sum(_size(course / step / result.student_id) for step in ("autograded", "feedback"))


def export(api: NbGraderAPI, run: GradingRun, notes: dict[str, str]) -> None:
    """nbgrader's export step with the per-cell CSV plugin; feedback HTML is gathered under out/feedback."""
    plugin = PerCellCsvExportPlugin(config=api.config, to=str(run.grades_csv), notes=notes)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    feedback_dir = run.out / "feedback"
    shutil.rmtree(feedback_dir, ignore_errors=True)
    for html in sorted((Path(api.coursedir.root) / "feedback").glob(f"*/{ASSIGNMENT}/*.html")):
        target = feedback_dir / html.parts[-3] / html.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(html, target)


def write_histogram(run: GradingRun) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [result.score for result in run.results]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.hist(scores, bins=range(0, 106, 5), color="#4c72b0", edgecolor="white")
    axes.set_xlabel("score (out of 100)")
    axes.set_ylabel("students")
    mean = sum(scores) / len(scores) if scores else 0.0
    axes.set_title(f"{ASSIGNMENT}: {len(scores)} submissions, mean {mean:.1f}")
    path = run.out / "grades.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def _table_row(result: StudentResult) -> str:
    score = f"{result.score:g}/{result.max_score:g}"
    return f"{result.student_id:24} {score:>13} {result.seconds:6.1f} s  {result.problem or 'graded'}"


def _check(outcome: dict, step: str) -> None:
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader {step} failed:\n{outcome.get('error') or outcome.get('log')}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _put_venv_on_path() -> None:
    """nbgrader shells out to alembic (and we to nbgrader): the virtualenv's bin must come first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != venv_bin:
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
