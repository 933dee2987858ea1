"""Where each name a test reads is defined, so that a name a submission left undefined is explained in words the
student can act on: 'word_counts is not defined: fill in the ??? of "Part 1: count the words", then run its cell'.

Read from the assignment's own notebook: each answer cell (nbgrader's solution cells) defines names (its functions,
classes and assignments), and belongs to the part whose heading is the last one above it. The submission's copy of
that cell says whether its blank is still there.
"""

import ast

from nbformat import NotebookNode

BLANK = "???"


def unfilled_reasons(assignment_nb: NotebookNode, submitted_nb: NotebookNode) -> dict[str, str]:
    """Why each name an answer cell of the assignment defines may be missing from the submission, by name."""
    submitted = {_grade_id(cell): cell.source for cell in submitted_nb.cells if _grade_id(cell)}
    reasons, part = {}, "the notebook"
    for cell in assignment_nb.cells:
        if cell.cell_type == "markdown":
            part = _heading(cell.source) or part
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        source = submitted.get(_grade_id(cell), "")
        for name in defined_names(cell.source):
            if BLANK in source:
                reasons[name] = f'{name} is not defined: fill in the {BLANK} of "{part}", then run its cell'
            else:
                reasons[name] = f'{name} is not defined: its cell in "{part}" must define it and run without an error'
    return reasons


def defined_names(source: str) -> list[str]:
    """The names a cell's top level defines: functions, classes, and names assigned (an unparsable cell: none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def _heading(source: str) -> str:
    """The text of a markdown cell's first heading, or ''."""
    line = next((line for line in source.splitlines() if line.startswith("#")), "")
    return line.lstrip("#").strip()


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")
