"""Grade one filed submission with nbgrader's autograde and generate_feedback steps, keeping only the graded
notebook, and say in the grader's words why a step failed."""

import json
import re
import shutil
import time
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from sqlalchemy.exc import SAWarning

from autograder.grading.course_folder import GradingCourse, put_venv_on_path
from autograder.grading.earlier_run import notebook_digest
from autograder.grading.results import StudentResult
from autograder.intake.submissions import Submission, SubmissionLimits
from autograder.report.notes import take_notes
from autograder.report.step_times import take_times, timed

# The last error line of a traceback: "SomeError: what happened".
ERROR_LINE = re.compile(r"^\s*(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (?P<message>.+)$")


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
        notebook_sha256=notebook_digest(submission.notebook),
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


def autograde_in_worker(course: GradingCourse, result: StudentResult) -> StudentResult:
    """One submission, graded in a worker process with its own connection to the gradebook."""
    put_venv_on_path()
    warnings.filterwarnings("ignore", category=SAWarning)
    autograde(course, result)
    return result


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
        result.log = _log(outcome)
        return
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        result.score = gradebook.find_submission(name, result.student_id).score
    with timed("feedback"):
        feedback = api.generate_feedback(name, result.student_id, force=True)
    if not feedback["success"]:
        result.problem = "feedback failed: " + real_error(feedback.get("error") or "", feedback.get("log") or "")
        result.log = _log(feedback)
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
    "BrokenPipeError": "a pipe between the grader and a sandbox broke (see its log in the output folder's logs/)",
    "DeadKernelError": "the notebook's kernel died",
    "CellTimeoutError": "a cell ran out of time",
}


SEE_THE_LOG = "see its log in the output folder's logs/"
LOG_LIMIT = 256 * 1024  # characters of an nbgrader step's log kept


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


def _log(outcome: dict) -> str:
    """What nbgrader said of a failed step, its end if long: its traceback, then its log."""
    return f"{outcome.get('error') or ''}\n{outcome.get('log') or ''}"[-LOG_LIMIT:]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0
