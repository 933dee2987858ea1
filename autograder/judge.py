"""The judge: runs a notebook's graded cells in a fresh process, against what the submission handed in.

No student Python runs here: the student's functions arrive as TensorFlow graphs (autograder/handin.py), so
nothing a submission did to its own kernel (patching numpy.testing, AssertionError, IPython...) can change a
verdict. The grader runs this module sandboxed, in the submission's folder:

    python -m autograder.judge CELLS.json VERDICTS.json

CELLS.json lists {"id", "source", "graded"} in notebook order: the trusted set-up cells, then the checks.
VERDICTS.json gets, for each graded cell, what it printed and the error it raised, if any.
"""

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path

from autograder.handin import ARRAYS, FUNCTIONS, HAND_IN_DIR, NUMBERS, PATHS, SPECS


def handed_in_namespace() -> dict:
    """The names the tests read, bound to what the submission handed in; missing ones stay unbound."""
    import numpy as np
    import tensorflow as tf

    namespace: dict = {}
    values = json.loads(Path(f"{HAND_IN_DIR}.json").read_text()) if Path(f"{HAND_IN_DIR}.json").exists() else {}
    if Path(HAND_IN_DIR, "saved_model.pb").exists():
        handed_in = tf.saved_model.load(HAND_IN_DIR)
        namespace["_handed_in"] = handed_in  # keeps the variables the functions use alive
        namespace.update({name: getattr(handed_in, name) for name in FUNCTIONS if hasattr(handed_in, name)})
    for name in SPECS:
        if name in values:
            namespace[name] = tf.TensorSpec(values[name]["shape"], values[name]["dtype"])
    namespace.update({name: values[name] for name in NUMBERS if name in values})
    namespace.update({name: Path(values[name]) for name in PATHS if name in values})
    if Path(f"{HAND_IN_DIR}.npz").exists():
        with np.load(f"{HAND_IN_DIR}.npz") as arrays:
            namespace.update({name: arrays[name] for name in ARRAYS if name in arrays})
    return namespace


def run_cell(source: str, namespace: dict) -> dict:
    """Execute one cell; return what it printed and, if it failed, its error as a notebook error output."""
    printed = io.StringIO()
    verdict: dict = {"stdout": ""}
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<graded cell>", "exec"), namespace)
    except BaseException as error:  # a failing check is a verdict, whatever it raised
        verdict.update(
            ename=type(error).__name__,
            evalue=str(error),
            traceback=traceback.format_exception_only(type(error), error),
        )
    verdict["stdout"] = printed.getvalue()
    return verdict


def judge(cells: list[dict]) -> dict[str, dict]:
    """Run the cells in order; after the set-up cells, bind what was handed in; return the graded cells' verdicts."""
    namespace: dict = {"__name__": "__main__"}
    verdicts: dict[str, dict] = {}
    for cell in cells:
        if cell.get("setup"):
            setup = run_cell(cell["source"], namespace)
            if "ename" in setup:
                raise RuntimeError(f"set-up cell {cell['id']} failed: {setup['ename']}: {setup['evalue']}")
            namespace.update(handed_in_namespace())
            continue
        verdict = run_cell(cell["source"], namespace)
        if cell["graded"]:
            verdicts[cell["id"]] = verdict
    return verdicts


def main() -> None:
    cells_file, verdicts_file = sys.argv[1:3]
    verdicts = judge(json.loads(Path(cells_file).read_text()))
    Path(verdicts_file).write_text(json.dumps(verdicts))
    os._exit(0)  # the verdicts are written: skip TensorFlow's slow shutdown (about a second)


if __name__ == "__main__":
    main()
