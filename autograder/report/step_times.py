"""How long each step of grading one submission took, for the breakdown that `make bench` prints.

As with grading notes (autograder/report/notes.py), nbgrader runs the steps in the grader's own process, inside
`autograde`: each step records its seconds here, and the grader takes them when autograde returns. A step's name
is either a whole step ("hand-in") or one of its parts ("kernel: export", "judge: load hand-in"), so that the whole
steps add up to the submission's time and the parts say where a step's time went.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

_seconds: dict[str, float] = {}


def record(step: str, seconds: float) -> None:
    """Add seconds to a step (a step that runs several times, a kernel's cells say, adds up)."""
    _seconds[step] = _seconds.get(step, 0.0) + seconds


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Record the time the block takes, however it ends."""
    started = time.monotonic()
    try:
        yield
    finally:
        record(step, time.monotonic() - started)


def take_times() -> dict[str, float]:
    """The steps recorded since the last call, in seconds; they are forgotten."""
    times = {step: round(seconds, 3) for step, seconds in _seconds.items()}
    _seconds.clear()
    return times
