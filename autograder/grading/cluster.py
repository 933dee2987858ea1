"""Grading across machines on a Dask distributed cluster (`python -m autograder grade ... --scheduler ADDRESS`).

Each submission's grading is one Dask task. A worker grades it exactly as a local run does (autograder/grading/:
its kernel and judge sandboxed on the worker), in a throwaway course folder of its own, and sends back the results:
each graded cell's score, the autograded notebook and its feedback. The coordinator alone writes the one gradebook,
with nbgrader's API, and the outputs. A worker that dies while it grades loses nothing: the scheduler gives its task
to another worker, and each task's result is taken once.

Workers need what the coordinator has: this repository at the same path (or the assignment in its solutions/), the
same virtualenv, which has the grader installed (`make setup`), bubblewrap and unprivileged user namespaces. Start
each with one thread, as a submission's grading keeps a core busy: `.venv/bin/dask worker ADDRESS --nthreads 1`,
from any folder. A task the cluster cannot run (a scheduler or worker of another environment, say) leaves its
submission not graded, with no score, for a rerun; one that kills every worker it is given is the submission's.
"""

import atexit
import functools
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from distributed import Client, KilledWorker, as_completed
from distributed.diagnostics.plugin import WorkerPlugin
from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config

from autograder.course.assignment import find, load
from autograder.grading.course_folder import GradingCourse, check_outcome, prepare_course, put_venv_on_path
from autograder.grading.one_submission import autograde_in_worker
from autograder.grading.results import StudentResult
from autograder.sandbox.launch import check_tools

CONNECT_TIMEOUT = "10s"
MIN_IN_FLIGHT = 4  # tasks sent ahead while the cluster has no worker yet (one that scales up as it is used)


class SchedulerUnreachable(RuntimeError):
    """No Dask scheduler answers at the address given."""


class WorkerUnready(RuntimeError):
    """A worker of the cluster cannot run the grader."""


@dataclass
class GradedElsewhere:
    """What a worker sends back for one submission."""

    result: StudentResult
    scores: dict[str, float]  # each graded cell's score, by grade id
    notebook: bytes = b""  # the autograded notebook
    feedback: bytes = b""  # its feedback, HTML


class GradingWorker(WorkerPlugin):
    """What each worker of the cluster is set up with, however it was started.

    Its statistical profiler is off: it samples the stack of the thread that grades a hundred times a second, a
    deep stack of nbclient and asyncio; measured, 2.4 s of the worker's CPU per submission (6 % of grading one).
    Its temporary files go in its own Dask folder, which Dask deletes when the worker stops, and which the next
    worker started there deletes if this one was killed: a worker lost while it grades leaves nothing behind."""

    def setup(self, worker) -> None:
        put_venv_on_path()  # nbgrader runs alembic, from the environment's bin, which a worker's PATH may lack
        for callback in ("profile", "profile-cycle"):
            if callback in worker.periodic_callbacks:
                worker.periodic_callbacks.pop(callback).stop()
        tempfile.tempdir = worker.local_directory


@contextmanager
def cluster_grader(scheduler: str) -> Iterator[Callable[[GradingCourse, list[StudentResult]], Iterator[StudentResult]]]:
    """Grading on the cluster whose scheduler is at this address, while connected to it. In one line:
    SchedulerUnreachable if none answers, WorkerUnready if one of its workers cannot run the grader."""
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise SchedulerUnreachable(f"no Dask scheduler answers at {scheduler} ({error})") from None
    with client:
        try:
            # On each worker now (again at each run, so that a worker that cannot is found before any task is
            # sent), and on those that join later.
            client.register_plugin(GradingWorker())
        except Exception as error:  # raised on a worker: most often, it cannot import this repository's code
            # Dask wraps what it could not send back whole in a plain Exception, whose text is the original's repr
            reason = str(error) if type(error) is Exception else f"{type(error).__name__}: {error}"
            raise WorkerUnready(
                f"a worker of {scheduler} cannot run the grader ({reason}): start each worker with the environment "
                "that make setup made, which has the grader installed: .venv/bin/dask worker ADDRESS --nthreads 1 "
                "(docs/grading-at-scale.md)"
            ) from None
        yield functools.partial(grade_on_cluster, client=client)


def grade_on_cluster(course: GradingCourse, readable: list[StudentResult], client) -> Iterator[StudentResult]:
    """Grade the filed submissions of the course as tasks on the client's cluster, yielding each result when its
    grades are in the gradebook; a submission whose task fails gets a note, and the others go on. Only about two
    tasks per worker thread are in flight at a time, so that a large class's notebooks wait here rather than in the
    scheduler's memory, and each result is released from the cluster once recorded."""
    waiting = list(readable)
    running: dict = {}
    done = as_completed()
    while waiting or running:
        while waiting and len(running) < max(MIN_IN_FLIGHT, 2 * sum(client.nthreads().values())):
            result = waiting.pop(0)
            notebook = course.submitted_path(result.student_id).read_bytes()
            folder = str(course.assignment.folder)
            future = client.submit(grade_on_worker, folder, course.overrides, result, notebook, pure=False)
            running[future] = result
            done.add(future)
        future = next(done)
        result = running.pop(future)
        try:
            graded = future.result()
        except KilledWorker:  # each worker it was given to died of it: this submission's doing
            result.problem = "grading stopped: every worker of the cluster that graded this submission died"
            yield result
            continue
        except Exception as error:  # the cluster could not run the task (its environment, say): nobody's fault here
            result.not_graded = f"the cluster could not grade it ({type(error).__name__}: {str(error)[:200]})"
            yield result
            continue
        finally:
            future.release()
        record(course, graded)
        yield graded.result


def record(course: GradingCourse, graded: GradedElsewhere) -> None:
    """Put a worker's results where a local run leaves them: the autograded notebook, the feedback, and each
    cell's score in the gradebook; the result's score is then the gradebook's."""
    result, name = graded.result, course.assignment.name
    stem = Path(course.assignment.notebook_name).stem
    if graded.notebook:
        course.graded_folder(result.student_id).mkdir(parents=True, exist_ok=True)
        (course.graded_folder(result.student_id) / course.assignment.notebook_name).write_bytes(graded.notebook)
    if graded.feedback:
        course.feedback_folder(result.student_id).mkdir(parents=True, exist_ok=True)
        (course.feedback_folder(result.student_id) / f"{stem}.html").write_bytes(graded.feedback)
    if not graded.scores:
        return
    api = course.api()
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        gradebook.update_or_create_submission(name, result.student_id)
        for cell, score in graded.scores.items():
            gradebook.find_grade(cell, stem, name, result.student_id).auto_score = score
        gradebook.db.commit()
        result.score = gradebook.find_submission(name, result.student_id).score


_worker_courses: dict[str, GradingCourse] = {}
_one_at_a_time = threading.Lock()


def grade_on_worker(
    assignment_folder: str, overrides: Config, result: StudentResult, notebook: bytes
) -> GradedElsewhere:
    """A Dask task: grade one notebook in this worker's own course folder; return its results, and leave nothing
    of it behind."""
    with _one_at_a_time:  # a worker started with more threads still grades one submission at a time
        course = worker_course(assignment_folder, overrides)
        course.file_notebook(result.student_id, notebook)
        try:
            autograde_in_worker(course, result)
            graded = GradedElsewhere(result, scores(course, result.student_id))
            autograded = course.graded_folder(result.student_id) / course.assignment.notebook_name
            graded.notebook = autograded.read_bytes() if autograded.is_file() else b""
            html = sorted(course.feedback_folder(result.student_id).glob("*.html"))
            graded.feedback = html[0].read_bytes() if html else b""
            return graded
        finally:
            for step in ("submitted", "autograded", "feedback"):
                shutil.rmtree(course.root / step / result.student_id, ignore_errors=True)


def worker_course(assignment_folder: str, overrides: Config) -> GradingCourse:
    """This worker's course for the assignment and settings: made (and its release generated) at the first task,
    deleted when the worker exits. The assignment is read from its folder, or by name from this repository."""
    key = json.dumps([assignment_folder, overrides], sort_keys=True, default=str)
    if key not in _worker_courses:
        check_tools()
        folder = Path(assignment_folder)
        assignment = load(folder) if folder.is_dir() else find(folder.name)
        scratch = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        course = prepare_course(scratch / "course", assignment, overrides)
        check_outcome(course.api().generate_assignment(assignment.name, force=True), "generate_assignment")
        _worker_courses[key] = course
    return _worker_courses[key]


def scores(course: GradingCourse, student_id: str) -> dict[str, float]:
    """Each graded cell's score in this worker's gradebook; none if grading failed before the gradebook had any."""
    api = course.api()
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        try:
            submission = gradebook.find_submission(course.assignment.name, student_id)
        except MissingEntry:
            return {}
        return {grade.name: grade.auto_score or 0.0 for notebook in submission.notebooks for grade in notebook.grades}
