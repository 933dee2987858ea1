"""Which part of a notebook a cell is in: the last heading (`#` to `###`, outside fenced code) of the markdown cells
above it. The grader's feedback uses it (autograder/course/blanks.py), and so does the student's kernel
(unfilled_blanks.py, beside this file, which loads it by path: it imports only the standard library)."""

import json
import os
import re

HEADING = re.compile(r"#{1,3} +(?P<text>[^\n]+)")  # a part's heading; smaller ones are within a part


def last_heading(source: str) -> str:
    """The text of a markdown cell's last heading, or ''."""
    headings, fenced = [], False
    for line in source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (found := HEADING.match(line)):
            headings.append(found["text"].strip())
    return headings[-1] if headings else ""


def parts(cells: list) -> list[str]:
    """The part of each cell (a notebook's cells, as nbformat or JSON gives them), '' before the first heading."""
    found, part = [], ""
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            part = last_heading(source if isinstance(source, str) else "".join(source)) or part
        found.append(part)
    return found


def part_of_running_cell(shell: object) -> str:
    """The part of the cell the IPython shell runs, in the notebook it runs for, as saved: Jupyter Server names that
    notebook in JPY_SESSION_NAME, and JupyterLab sends each cell's id with its code. '' where either is unknown."""
    try:
        cell_id = shell.kernel.get_parent()["metadata"]["cellId"]
        with open(os.environ["JPY_SESSION_NAME"], encoding="utf-8") as file:
            cells = json.load(file)["cells"]
        return next(part for cell, part in zip(cells, parts(cells), strict=True) if cell.get("id") == cell_id)
    except (AttributeError, KeyError, OSError, ValueError, TypeError, StopIteration):
        return ""
