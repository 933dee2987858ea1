"""The feedback's step that hides hidden tests, limited to the cells whose content comes from the assignment."""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests


class ClearLockedHiddenTests(ClearHiddenTests):
    """ClearHiddenTests for locked cells only.

    Autograde gave every locked cell the source's content back, hidden tests included, so those are the only cells
    with hidden tests to hide. A student's own (unlocked) cell is shown as written: nbgrader's ClearHiddenTests would
    fail the whole feedback on a student's `### BEGIN HIDDEN TESTS` without its END, or in a cell that is not graded,
    and would silently cut a complete BEGIN/END region out of a graded answer.
    """

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if not utils.is_locked(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)
