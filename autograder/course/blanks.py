"""Where each name a test reads is defined, so that a name a submission left undefined is explained in words the
student can act on: 'word_counts is not defined: fill in the ??? of "Part 1: count the words", then run its cell'.

Read from the assignment's own notebook: each answer cell (nbgrader's solution cells) defines names (its functions,
classes and assignments), and belongs to the part whose heading is the last one above it. The submission's copy of
that cell says whether its blank is still there.
"""

import ast
from collections.abc import Iterator

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from autograder.jupyter.parts import parts

BLANK = "???"


def unfilled_reasons(assignment_nb: NotebookNode, submitted_nb: NotebookNode, names: set[str]) -> dict[str, str]:
    """Why each of names (those the tests read) may be missing from the submission, by name: the first answer cell
    of the assignment that defines it, still blank or not."""
    submitted = {_grade_id(cell): cell.source for cell in submitted_nb.cells if _grade_id(cell)}
    reasons: dict[str, str] = {}
    for cell, part in zip(assignment_nb.cells, parts(assignment_nb.cells), strict=True):
        part = part or "the notebook"
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        source = submitted.get(_grade_id(cell), "")
        for name in set(defined_names(cell.source)) & names - reasons.keys():
            if BLANK in source:
                reasons[name] = f'{name} is not defined: fill in the {BLANK} of "{part}", then run its cell'
            else:
                reasons[name] = f'{name} is not defined: its cell in "{part}" must define it and run without an error'
    return reasons


def defined_names(source: str) -> list[str]:
    """The names a cell defines in the notebook's namespace: its functions, classes, imports and names assigned,
    in nested blocks too (an if, a try, a with), not inside functions or comprehensions; a cell that is not Python
    even after IPython's transformations (its magics): none."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return []
    return list(dict.fromkeys(name for statement in tree.body for name in _stored(statement)))


def _stored(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
        return
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield from ((alias.asname or alias.name).split(".")[0] for alias in node.names)
        return
    if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        yield node.id
    for child in ast.iter_child_nodes(node):
        yield from _stored(child)


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")
