"""Run in the student's kernel as it starts (ipython_kernel_config.py names it): a cell that still has a `???` blank
is refused before it runs, with a message that says which part's blank to fill in and on which line.

Without this, IPython reads a line that is only `???` as a request for help on `?` ("Object `?` not found."): the
cell "runs", and a function whose body is a blank is defined, does nothing and returns None, so the tests fail far
from the blank. A `???` inside a string or a comment is text, not a blank. The part is the notebook's heading above
the cell (parts.py, beside this file), read from the notebook as saved, when JupyterLab runs it. The file runs in
the notebook's namespace, so it leaves no name there.
"""


def refuse_unfilled_blanks(lines: list[str], part_of_running_cell=None) -> list[str]:
    """IPython's first input transformation: the cell as it is, or a SyntaxError at its first `???`."""
    import io
    import tokenize

    marks: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            marks = [*marks, token.start[0]] if token.string == "?" else []
            if len(marks) == 3 and len(set(marks)) == 1:
                where = ("this cell", marks[0], token.start[1] - 1, lines[marks[0] - 1])
                part = part_of_running_cell(get_ipython()) if part_of_running_cell else ""  # noqa: F821
                blank = f'the ??? of "{part}"' if part else "the ???"
                raise SyntaxError(f"a blank ??? is left: fill in {blank} with your code, then run the cell", where)
    except (tokenize.TokenError, IndentationError):  # an unfinished cell: Python itself says what is wrong
        pass
    return lines


def with_parts(transform):
    """The transformation, told the part of each cell by parts.py, loaded by path under a name of its own."""
    import functools
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_unfilled_blanks_parts", Path(__file__).with_name("parts.py"))
    parts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(parts)
    return functools.partial(transform, part_of_running_cell=parts.part_of_running_cell)


get_ipython().input_transformers_cleanup.insert(0, with_parts(refuse_unfilled_blanks))  # noqa: F821 (run by IPython)
del refuse_unfilled_blanks, with_parts
