"""Every benchmark figure is the median of repeated runs, reported with its spread (min, max) and run count."""

import statistics
import time
from collections.abc import Callable


def figure(samples: list[float], digits: int = 4) -> dict:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "runs": len(samples),
    }


def seconds_per_run(work: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of each of `runs` calls of work, after `warmup` untimed ones."""
    for _ in range(warmup):
        work()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
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
