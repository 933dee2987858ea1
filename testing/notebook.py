"""Load a notebook's helper functions into this process, to test them from the command line.

Only the set-up cell and the answer cells that do nothing but define functions are run (the decoder, the batch
preprocessing, the top-k): building ResNet50 or exporting is left to the notebook itself. A helper whose cell is not
valid Python yet (a `???` left in it) is not loaded, with the reason; the others are, so each part can be tested as
soon as it is written.
"""

import ast
import linecache
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
STUDENT_NOTEBOOK = REPO / "notebooks" / "serving_keras_resnet" / "serving_keras_resnet.ipynb"
SETUP_CELL = "setup"
DEFINES_A_FUNCTION = re.compile(r"^def (\w+)", re.MULTILINE)


class NotebookError(Exception):
    """The notebook cannot be loaded as it is; the message says which cell and what to do."""


@dataclass
class Helpers:
    """The functions loaded from a notebook, and why each function that a cell defines could not be."""

    namespace: dict
    problems: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str):
        if name not in self.namespace:
            raise NotebookError(self.problems.get(name, f"the notebook defines no {name}: is it the exercise's?"))
        return self.namespace[name]


def load_helpers(path: Path) -> Helpers:
    """The namespace of the notebook's set-up cell and its function-only answer cells, run in order."""
    os.environ.setdefault("SAMPLES_DIR", str(REPO / "samples"))  # the notebook's own defaults are relative to it
    os.environ.setdefault("SERVING_DIR", str(REPO / "serving"))
    os.environ.setdefault("RESNET_WEIGHTS", "none")
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        raise NotebookError(f"cannot read {path} ({error}): expected the assignment's notebook") from error
    helpers = Helpers({"__name__": "notebook"})
    for number, cell in enumerate(nb.cells, start=1):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type != "code" or not (grade_id == SETUP_CELL or is_answer(cell)):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError as error:
            for name in DEFINES_A_FUNCTION.findall(cell.source):
                helpers.problems[name] = (
                    f"{name}: cell {number} ('{grade_id}') of {path.name} is not valid Python "
                    f"(line {error.lineno}: {error.msg}): fill in its ??? first"
                )
            continue
        if grade_id == SETUP_CELL or all(isinstance(node, ast.FunctionDef) for node in tree.body):
            filename = f"<{path.name}, cell {number}>"
            # AutoGraph reads a function's source to convert it: keep the cell's where the linecache finds it
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(keepends=True), filename)
            exec(compile(tree, filename, "exec"), helpers.namespace)
    return helpers


def is_answer(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))
