"""Every benchmark figure is the median of repeated runs, reported with its spread (min, max) and run count."""

import statistics
import time
from collections.abc import Callable, Sequence


def figure(samples: list[float], digits: int = 4) -> dict:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "runs": len(samples),
    }


def seconds_per_run(work: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of each of `runs` calls of work, after `warmup` untimed ones."""
    return interleaved_seconds([work], runs, warmup)[0]


def interleaved_seconds(works: Sequence[Callable[[], object]], runs: int, warmup: int = 1) -> list[list[float]]:
    """Seconds of each work in each of `runs` rounds. The works take turns, so that a machine whose speed drifts
    (other tenants, clock changes) slows them alike and their ratio stays true."""
    for work in works:
        for _ in range(warmup):
            work()
    timings: list[list[float]] = [[] for _ in works]
    for _ in range(runs):
        for work, seconds in zip(works, timings, strict=True):
            start = time.perf_counter()
            work()
            seconds.append(time.perf_counter() - start)
    return timings


def rate(count: float, timings: list[float]) -> list[float]:
    """Per-run rates (e.g. images/s) of runs that each handled `count` items."""
    return [count / seconds for seconds in timings]


def repeated(function: Callable[[object], object], argument: object, times: int) -> Callable[[], None]:
    """A unit of timed work: function(argument), `times` times."""

    def work() -> None:
        for _ in range(times):
            function(argument)

    return work
