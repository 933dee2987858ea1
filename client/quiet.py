"""Command-line tools whose output is their answer: TensorFlow prints start-up lines (oneDNN, CUDA) from C++ before
its logging is configured, so TF_CPP_MIN_LOG_LEVEL cannot hide them, and a closed pipe must not print a traceback."""

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block; Python exceptions still surface afterwards."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """tensorflow, imported without its start-up chatter."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import tensorflow

    return tensorflow


def run_command(main: Callable[[], int]) -> None:
    """Exit with main's status; output piped into a reader that stops early (`| head`) ends it quietly."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit cannot fail again
        status = 1
    sys.exit(status)
