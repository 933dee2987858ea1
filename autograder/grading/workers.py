"""Grade filed submissions in worker processes on this machine, a few at a time, each worker with its share of the
memory; a worker that dies costs only the submission that killed it."""

import multiprocessing
import os
import resource
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from autograder.grading.course_folder import GradingCourse
from autograder.grading.one_submission import autograde_in_worker, keep_only
from autograder.grading.results import StudentResult


def memory_share(jobs: int) -> int:
    """Bytes of memory each of jobs grading workers' sandboxes may hold: 80 % of the machine's, shared."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8) // jobs


def default_jobs() -> int:
    """One submission per core: a submission's kernel and judge are mostly single-threaded Python and TensorFlow."""
    return max(1, len(os.sched_getaffinity(0)))


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
                        graded = not_graded_if_failed(future, running[future])
                        del running[future]
                        yield graded
                except BrokenProcessPool:
                    lost += running.values()
                    break
    return lost


def limit_memory(memory: int) -> None:
    """Bound a worker's data (soft limit only: its sandboxes set their own limits)."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory, resource.getrlimit(resource.RLIMIT_DATA)[1]))


def not_graded_if_failed(future: Future, result: StudentResult) -> StudentResult:
    """The graded result; or, when the grader itself failed on this machine (a full disk, a missing tool: an
    error raised by the grader's code, not by the submission, whose errors are its result), the result not graded,
    with the reason, for a rerun to grade. A worker that died raises BrokenProcessPool, handled by the caller."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception as error:
        result.not_graded = f"the grader failed on this machine ({type(error).__name__}: {str(error)[:200]})"
        return result
