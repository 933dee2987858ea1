"""Run in the student's kernel as it starts (ipython_kernel_config.py names it): a cell that still has a `???` blank
is refused before it runs, with a message that says which line to fill in.

Without this, IPython reads a line that is only `???` as a request for help on `?` ("Object `?` not found."): the
cell "runs", and a function whose body is a blank is defined, does nothing and returns None, so the tests fail far
from the blank. A `???` inside a string or a comment is text, not a blank. The file runs in the notebook's
namespace, so it leaves no name there.
"""


def refuse_unfilled_blanks(lines: list[str]) -> list[str]:
    """IPython's first input transformation: the cell as it is, or a SyntaxError at its first `???`."""
    import io
    import tokenize

    marks: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            marks = [*marks, token.start[0]] if token.string == "?" else []
            if len(marks) == 3 and len(set(marks)) == 1:
                where = ("this cell", marks[0], token.start[1] - 1, lines[marks[0] - 1])
                raise SyntaxError("a blank ??? is left: replace it with your code, then run the cell", where)
    except (tokenize.TokenError, IndentationError):  # an unfinished cell: Python itself says what is wrong
        pass
    return lines


get_ipython().input_transformers_cleanup.insert(0, refuse_unfilled_blanks)  # noqa: F821 (run by IPython)
del refuse_unfilled_blanks
