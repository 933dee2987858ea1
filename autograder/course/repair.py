"""Put the assignment's own nbgrader metadata back on a submission before nbgrader's sanitize steps check it.

Students edit notebooks in JupyterLab and innocently break the metadata, and nbgrader then fails the whole notebook:
a pasted copy of a test cell makes DeduplicateIds blank one of the two to `{}`, which CheckCellMetadata rejects as
an outdated schema ("nbgrader update ."); a grade_id the source does not know loses only its id in OverwriteCells,
and CheckCellMetadata rejects a graded cell without an id; a flipped grade or solution flag breaks OverwriteCells'
checksum. RepairGradeMetadata runs first and makes the source authoritative: each source cell's metadata is put back
on one cell, every other cell becomes ordinary, and each change is reported as a grading note.
"""

import reprlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.report.inert import inert
from autograder.report.notes import add_note

ROLE_FLAGS = ("grade", "solution", "locked", "task")


@dataclass(frozen=True)
class SourceCell:
    """One nbgrader cell of the assignment, as the gradebook recorded it when the assignment was generated."""

    metadata: dict
    cell_type: str
    cell_id: str | None  # its nbformat id in the source notebook, which tells the original from pasted copies

    @property
    def kind(self) -> str:
        """The cell's part in the assignment, in the words of the notes."""
        if self.metadata["solution"]:
            return "answer"
        if self.metadata["grade"]:
            return "test"
        return "task" if self.metadata["task"] else "locked"


class RepairGradeMetadata(NbGraderPreprocessor):
    """First sanitize step: each source cell's metadata on exactly one cell, no other nbgrader metadata, one note
    per change ("cell N" counts cells from the top, from 1). A source cell that no cell stands for is reported
    missing and, as in nbgrader, scores 0.

    The gradebook is the authority, as for OverwriteCells and SaveAutoGrades, so the two always agree; it does not
    keep nbformat cell ids, which are read from the source notebook to tell an original from its copies.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        source = self._source_cells(resources["nbgrader"])
        by_cell_id = {cell.cell_id: grade_id for grade_id, cell in source.items() if cell.cell_id}
        claims = [_claim(cell, source, by_cell_id) for cell in nb.cells]
        originals = _originals(nb.cells, claims, source)
        for index, (cell, grade_id) in enumerate(zip(nb.cells, claims, strict=True)):
            if grade_id is None:
                self._make_ordinary(cell, index)
            elif originals[grade_id] == index:
                self._restore(cell, index, source[grade_id])
            else:
                del cell.metadata["nbgrader"]
                add_note(
                    self.log,
                    f"cell {index + 1} is a copy of {source[grade_id].kind} cell '{grade_id}' "
                    f"(cell {originals[grade_id] + 1}): removed its grade metadata, only the original is graded; "
                    "delete the copy",
                )
        for grade_id in sorted(source.keys() - originals.keys()):
            scored = source[grade_id].metadata["grade"] or source[grade_id].metadata["task"]
            consequence = "; it scores 0" if scored else ""
            add_note(self.log, f"{source[grade_id].kind} cell '{grade_id}' is missing from the notebook{consequence}")
        return nb, resources

    def _source_cells(self, nbgrader: dict) -> dict[str, SourceCell]:
        cell_ids = self._source_cell_ids(nbgrader["assignment"], nbgrader["notebook"])
        with Gradebook(nbgrader["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(nbgrader["notebook"], nbgrader["assignment"])
            points = {cell.name: cell.max_score for cell in [*notebook.grade_cells, *notebook.task_cells]}
            grades = {cell.name for cell in notebook.grade_cells}
            solutions = {cell.name for cell in notebook.solution_cells}
            tasks = {cell.name for cell in notebook.task_cells}
            return {
                cell.name: SourceCell(
                    {
                        "grade": cell.name in grades,
                        "grade_id": cell.name,
                        "locked": cell.locked,
                        "schema_version": SCHEMA_VERSION,
                        "solution": cell.name in solutions,
                        "task": cell.name in tasks,
                        **({"points": points[cell.name]} if cell.name in points else {}),
                    },
                    cell.cell_type,
                    cell_ids.get(cell.name),
                )
                for cell in notebook.source_cells
            }

    def _source_cell_ids(self, assignment: str, notebook: str) -> dict[str, str]:
        """The nbformat id of each nbgrader cell of the source notebook, found as nbgrader's Autograde finds it."""
        coursedir = CourseDirectory(parent=self)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment), f"{notebook}.ipynb")
        try:
            cells = nbformat.read(path, as_version=4).cells
        except (OSError, ValueError) as error:
            self.log.warning("Cannot read %s (%s): the first of several copies of a cell is graded", path, error)
            return {}
        return {
            cell.metadata.nbgrader["grade_id"]: cell.id
            for cell in cells
            if "id" in cell and "grade_id" in cell.metadata.get("nbgrader", {})
        }

    def _make_ordinary(self, cell: NotebookNode, index: int) -> None:
        """Drop metadata no source cell owns; only metadata that gave the cell a part in grading is worth a note."""
        metadata = cell.metadata.pop("nbgrader", {})
        if isinstance(metadata, dict) and not any(metadata.get(flag) for flag in ROLE_FLAGS):
            return
        grade_id = metadata.get("grade_id") if isinstance(metadata, dict) else None
        what = (
            f"for an unknown id {inert(reprlib.repr(grade_id))}" if isinstance(grade_id, str) else "without a valid id"
        )
        add_note(self.log, f"cell {index + 1} had grade metadata {what}; it is graded as an ordinary cell")

    def _restore(self, cell: NotebookNode, index: int, source: SourceCell) -> None:
        """Give the original the source's metadata back if the student changed it; OverwriteCells then restores its
        type and, if it is locked, its content."""
        changed = _changes(cell, source)
        if changed:
            cell.metadata["nbgrader"] = nbformat.from_dict(source.metadata)
            add_note(
                self.log,
                f"{source.kind} cell '{source.metadata['grade_id']}' (cell {index + 1}) had its {', '.join(changed)} "
                "changed; it is graded as in the assignment",
            )


def _claim(cell: NotebookNode, source: dict[str, SourceCell], by_cell_id: dict[str, str]) -> str | None:
    """The source cell that a cell with nbgrader metadata stands for: the one its grade_id names, else the one
    with its nbformat id (an original whose grade_id was lost or edited), if any."""
    if "nbgrader" not in cell.metadata:
        return None
    metadata = cell.metadata.nbgrader
    grade_id = metadata.get("grade_id") if isinstance(metadata, dict) else None
    if isinstance(grade_id, str) and grade_id in source:
        return grade_id
    return by_cell_id.get(cell.get("id"))


def _originals(cells: list[NotebookNode], claims: list[str | None], source: dict[str, SourceCell]) -> dict[str, int]:
    """Where each claimed source cell's metadata stays: on the cell with the source's nbformat id, else the first."""
    originals: dict[str, int] = {}
    for index, grade_id in enumerate(claims):
        if grade_id and cells[index].get("id") == source[grade_id].cell_id:
            originals.setdefault(grade_id, index)
    for index, grade_id in enumerate(claims):
        if grade_id:
            originals.setdefault(grade_id, index)
    return originals


def _changes(cell: NotebookNode, source: SourceCell) -> list[str]:
    """What a source cell's metadata and type have lost, in the words of the notes."""
    metadata = cell.metadata.get("nbgrader")
    if isinstance(metadata, dict):
        # OverwriteCells rewrites the checksum; the optional cell_type only records the type, checked below.
        keys = sorted((metadata.keys() | source.metadata.keys()) - {"checksum", "cell_type"})
        changed = [key.replace("_", " ") for key in keys if not _same(metadata.get(key), source.metadata.get(key))]
        recorded_type = metadata.get("cell_type", source.cell_type)
    else:
        changed, recorded_type = ["grade metadata"], source.cell_type
    if source.cell_type != cell.cell_type or source.cell_type != recorded_type:
        changed.append("cell type")
    return changed


def _same(value: object, expected: object) -> bool:
    """Equal as JSON values: True is not 1, though Python says so; 5 and 5.0 are the same number of points."""
    return isinstance(value, bool) == isinstance(expected, bool) and value == expected
