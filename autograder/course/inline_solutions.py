"""Inline blanks for nbgrader: blank part of a line, where ### BEGIN/END SOLUTION would blank whole lines.

In a solution cell of the instructor notebook, a line that ends with the marker comment

    image = tf.io.decode_jpeg(jpeg, channels=3)  ### SOLUTION
    spec = tf.TensorSpec([], tf.string)  # one JPEG  ### SOLUTION
    spec = tf.TensorSpec(shape=[None, 1000], dtype=tf.float32)  ### SOLUTION: [None, 1000]

becomes, in the student release,

    image = ???
    spec = ???  # one JPEG
    spec = tf.TensorSpec(shape=???, dtype=tf.float32)

The plain marker blanks the right-hand side of the line's assignment (or the value of its `return`);
`### SOLUTION: <text>` blanks exactly that text, which must occur once in the line's code.
The marker comment is removed and any comment before it is kept for the student.
"""

import io
import re
import tokenize

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearSolutions
from traitlets import Unicode

MARKER_PATTERN = re.compile(r"\s*### SOLUTION(?::\s*(?P<text>.*\S))?\s*$")


class InlineSolutionError(ValueError):
    """A line carries the inline marker but cannot be blanked as it stands."""


def blank_line(line: str, stub: str = "???") -> str | None:
    """Return the line with its inline solution replaced by stub, or None if it carries no marker."""
    comment = _comment_token(line)
    if comment is None:
        return None
    marker = MARKER_PATTERN.search(comment.string)
    if marker is None:
        return None
    code = line[: comment.start[1]].rstrip()
    student_comment = comment.string[: marker.start()].rstrip()
    text = marker.group("text")
    blanked = _replace_text(code, text, stub) if text else _replace_value(code, stub)
    return f"{blanked}  {student_comment}" if student_comment else blanked


def _comment_token(line: str) -> tokenize.TokenInfo | None:
    """The line's comment token, found by Python's tokenizer so that '#' inside strings is no comment."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip("\n") + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    return next((token for token in tokens if token.type == tokenize.COMMENT), None)


def _replace_text(code: str, text: str, stub: str) -> str:
    count = code.count(text)
    if count != 1:
        raise InlineSolutionError(
            f"'### SOLUTION: {text}' must name text found exactly once in {code!r}; found it {count} times"
        )
    return code.replace(text, stub)


def _replace_value(code: str, stub: str) -> str:
    """Blank what follows the first top-level '=' of an assignment, or the 'return' keyword."""
    stripped = code.lstrip()
    indent = code[: len(code) - len(stripped)]
    if stripped.startswith("return "):
        return f"{indent}return {stub}"
    depth = 0
    tokens = tokenize.generate_tokens(io.StringIO(stripped + "\n").readline)
    for token in tokens:
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            depth += 1
        elif token.string in ")]}":
            depth -= 1
        elif token.string == "=" and depth == 0:
            return f"{indent}{stripped[: token.end[1]]} {stub}"
    raise InlineSolutionError(
        f"'### SOLUTION' needs an assignment or a return in {code!r}; use '### SOLUTION: <text>' to name the blank"
    )


class ClearInlineSolutions(ClearSolutions):
    """nbgrader's ClearSolutions, which also blanks inline solutions (lines marked '### SOLUTION').

    A cell with inline blanks keeps the rest of its code, as a cell with a ### BEGIN/END SOLUTION region does;
    nbgrader's checks apply alike, e.g. an inline blank outside a solution cell is an error.
    """

    inline_stub = Unicode("???", help="What replaces an inline solution").tag(config=True)

    def _replace_solution_region(self, cell: NotebookNode, language: str) -> bool:
        replaced_inline = cell.cell_type == "code" and self._replace_inline_solutions(cell)
        replaced_region = super()._replace_solution_region(cell, language)
        return replaced_inline or replaced_region

    def _replace_inline_solutions(self, cell: NotebookNode) -> bool:
        lines = cell.source.split("\n")
        blanked = [blank_line(line, self.inline_stub) for line in lines]
        cell.source = "\n".join(old if new is None else new for old, new in zip(lines, blanked, strict=True))
        return any(new is not None for new in blanked)
