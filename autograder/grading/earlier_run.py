"""What an earlier run of the same command left in its folder, DIR/results.json: a rerun keeps the results it
graded and grades only the rest (those it could not grade, and notebooks that changed since). A run of another
assignment, of a changed assignment or with other settings starts afresh."""

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from traitlets.config import Config

from autograder.course.assignment import Assignment
from autograder.grading.results import StudentResult

RESULTS = "results.json"


def run_key(assignment: Assignment, overrides: Config) -> str:
    """What a run's results depend on besides the notebooks: the files of the assignment's folder (its notebook,
    settings and data; not the folders running it leaves) and the run's settings."""
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode())
    for path in sorted(assignment.folder.iterdir()):
        if path.is_file() and not path.is_symlink():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def notebook_digest(notebook: bytes | None) -> str:
    return hashlib.sha256(notebook).hexdigest() if notebook is not None else ""


def earlier_results(out: Path, key: str) -> dict[str, StudentResult]:
    """The results an earlier run with the same key graded in out (its course folder still there), by student."""
    try:
        earlier = json.loads((out / RESULTS).read_text())
        if earlier["key"] != key or not (out / "course" / "gradebook.db").is_file():
            return {}
        results = [StudentResult(**result) for result in earlier["results"]]
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one this grader wrote: start afresh
        return {}
    return {result.student_id: result for result in results if not result.not_graded}


def keep_results(out: Path, key: str, results: list[StudentResult]) -> None:
    """Write the results so far, whole or not at all, for a rerun."""
    staged = out / f".{RESULTS}.tmp"
    staged.write_text(json.dumps({"key": key, "results": [asdict(result) for result in results]}, indent=1))
    os.replace(staged, out / RESULTS)
