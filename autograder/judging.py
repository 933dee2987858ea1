"""nbgrader steps that move every verdict out of the student's kernel.

A student's kernel runs the student's code, so in it a test can be made to pass (by patching numpy.testing, say).
So when grading, the kernel runs the notebook without its graded cells and hands in its functions as graphs
(autograder/handin.py); then the judge (autograder/judge.py) runs the graded cells, hidden tests included, in a
fresh sandboxed process against what was handed in. The judge's output and errors become the graded cells'
outputs, from which nbgrader's SaveAutoGrades scores them as usual, and which the feedback shows.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from autograder import REPO
from autograder.handin import HAND_IN_CELL, HAND_IN_DIR
from autograder.sandbox import Sandbox

HAND_IN_CELL_ID = "grader-hand-in"


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


class PrepareJudging(NbGraderPreprocessor):
    """Before the kernel runs: hold back the cells the judge runs, and append the hand-in cell."""

    setup_cells = List(Unicode(), [], help="grade_ids of locked cells the judge runs first").tag(config=True)
    judge_cells = List(Unicode(), [], help="grade_ids of locked cells only the judge runs").tag(config=True)
    skipped_cells = List(Unicode(), [], help="grade_ids of locked cells not run at all when grading").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        held, for_judge = {}, []
        for cell in nb.cells:
            grade_id, graded = _grade_id(cell), utils.is_grade(cell)
            if grade_id in self.setup_cells:
                for_judge.append({"id": grade_id, "source": cell.source, "graded": False, "setup": True})
            elif graded or grade_id in self.judge_cells:
                for_judge.append({"id": grade_id, "source": cell.source, "graded": graded})
            if graded or grade_id in self.judge_cells or grade_id in self.skipped_cells:
                held[grade_id] = cell.source
                cell.source = ""  # an empty cell is not run
        nb.cells.append(new_code_cell(HAND_IN_CELL, id=HAND_IN_CELL_ID))
        resources["judging"] = {"held": held, "cells": for_judge}
        return nb, resources


class JudgeGradedCells(NbGraderPreprocessor):
    """After the kernel has run: judge the graded cells in a fresh sandboxed process, then clean up."""

    timeout = Integer(600, help="Seconds the judge may take for one submission").tag(config=True)
    disposable = List(
        Unicode(),
        ["keras_servable", HAND_IN_DIR, f"{HAND_IN_DIR}.json", f"{HAND_IN_DIR}.npz"],
        help="Files and folders a graded notebook leaves behind that are deleted after judging",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        judging = resources.pop("judging")
        nb.cells = [cell for cell in nb.cells if cell.get("id") != HAND_IN_CELL_ID]
        workdir = Path(resources["metadata"]["path"]).resolve()
        try:
            verdicts = self._run_judge(judging["cells"], workdir)
        finally:
            self._dispose(workdir)
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id in judging["held"]:
                cell.source = judging["held"][grade_id]
                cell.outputs = _outputs(verdicts.get(grade_id)) if utils.is_grade(cell) else []
        return nb, resources

    def _run_judge(self, cells: list[dict], workdir: Path) -> dict[str, dict]:
        with tempfile.TemporaryDirectory(prefix="judge-") as scratch:
            cells_file, verdicts_file = Path(scratch, "cells.json"), Path(scratch, "verdicts.json")
            cells_file.write_text(json.dumps(cells))
            judge = [sys.executable, "-m", "autograder.judge", str(cells_file), str(verdicts_file)]
            sandbox = Sandbox(parent=self)
            sandbox.environment = {**sandbox.environment, "PYTHONPATH": str(REPO)}
            command = sandbox.wrap(judge, str(workdir), [scratch], [str(workdir), str(REPO / "autograder")])
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                return _all_failed(cells, f"the judge took longer than {self.timeout} s")
            if done.returncode != 0 or not verdicts_file.exists():
                return _all_failed(cells, "the judge failed: " + (done.stderr.strip().splitlines() or ["?"])[-1])
            return json.loads(verdicts_file.read_text())

    def _dispose(self, workdir: Path) -> None:
        for name in self.disposable:
            path = workdir / name
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()


def _all_failed(cells: list[dict], reason: str) -> dict[str, dict]:
    failure = {"stdout": "", "ename": "JudgeError", "evalue": reason, "traceback": [f"JudgeError: {reason}"]}
    return {cell["id"]: failure for cell in cells if cell["graded"]}


def _outputs(verdict: dict | None) -> list[NotebookNode]:
    """A graded cell's outputs from its verdict: what it printed, then its error if it failed."""
    verdict = verdict or {"stdout": "", "ename": "JudgeError", "evalue": "no verdict", "traceback": []}
    outputs = [new_output("stream", name="stdout", text=verdict["stdout"])] if verdict["stdout"] else []
    if "ename" in verdict:
        outputs.append(
            new_output("error", ename=verdict["ename"], evalue=verdict["evalue"], traceback=verdict["traceback"])
        )
    return outputs
