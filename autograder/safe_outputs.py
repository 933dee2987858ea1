"""Keep only inert outputs in a graded notebook: plain text and raster images.

A submission's outputs end up in front of people: the student's feedback page, and the instructor's formgrader,
which runs in the instructor's Jupyter (as the grading user). HTML, JavaScript, SVG or widget outputs from a
submission could run there, so they are replaced by a line that says what was removed. (nbconvert also sanitizes
the HTML of both pages: see the course's nbgrader_config.py.)
"""

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode


class KeepSafeOutputs(NbGraderPreprocessor):
    """Drop every output data type but the safe ones from every cell."""

    safe_types = List(Unicode(), ["text/plain", "image/png", "image/jpeg"], help="Output types kept").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        for output in cell.get("outputs", []):
            if "data" not in output:
                continue
            removed = sorted(kind for kind in output.data if kind not in self.safe_types)
            output.data = {kind: value for kind, value in output.data.items() if kind in self.safe_types}
            output.metadata = {kind: value for kind, value in output.get("metadata", {}).items() if kind in output.data}
            if removed and not output.data:
                output.data["text/plain"] = f"[removed when grading: an output of type {', '.join(removed)}]"
        return cell, resources
