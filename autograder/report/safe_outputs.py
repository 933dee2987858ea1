"""Keep only inert outputs in a graded notebook: plain text, its invisible characters escaped (a bidirectional
override would reorder what a reader sees), and raster images, with at most a size in pixels.

A submission's outputs end up in front of people: the student's feedback page, and the instructor's formgrader,
which runs in the instructor's Jupyter (as the grading user). HTML, JavaScript, SVG or widget outputs from a
submission could run there, so they are replaced by a line that says what was removed. (nbconvert also sanitizes
the HTML of both pages: see the course's nbgrader_config.py.) An image's metadata is kept only as whole numbers:
nbconvert writes its width and height into the page unquoted, where any other text could add attributes.
"""

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from autograder.report.inert import inert, inert_lines


class KeepSafeOutputs(NbGraderPreprocessor):
    """Drop every output data type but the safe ones from every cell."""

    safe_types = List(Unicode(), ["text/plain", "image/png", "image/jpeg"], help="Output types kept").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        for output in cell.get("outputs", []):
            for key in ("text", "evalue"):
                if isinstance(output.get(key), str):
                    output[key] = inert_lines(output[key])
            if isinstance(output.get("traceback"), list):
                output.traceback = [inert_lines(str(line)) for line in output.traceback]
            if "data" not in output:
                continue
            removed = sorted(kind for kind in output.data if kind not in self.safe_types)
            output.data = {kind: value for kind, value in output.data.items() if kind in self.safe_types}
            if isinstance(output.data.get("text/plain"), str):
                output.data["text/plain"] = inert_lines(output.data["text/plain"])
            output.metadata = image_sizes(output.get("metadata", {}), output.data)
            if removed and not output.data:
                kinds = inert(", ".join(removed), 200)  # the kernel names them
                output.data["text/plain"] = f"[removed when grading: an output of type {kinds}]"
        return cell, resources


def image_sizes(metadata: dict, data: dict) -> dict:
    """Of an output's metadata, only each kept image's width and height, and only when they are whole numbers."""
    sizes = {}
    for kind, value in metadata.items():
        if kind in data and kind.startswith("image/") and isinstance(value, dict):
            kept = {key: value[key] for key in ("width", "height") if type(value.get(key)) is int and value[key] > 0}
            if kept:
                sizes[kind] = kept
    return sizes
