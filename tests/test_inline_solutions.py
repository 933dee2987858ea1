"""The inline-blank marker, alone and inside nbgrader's generate_assignment pipeline."""

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course.inline_solutions import ClearInlineSolutions, InlineSolutionError, blank_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("image = tf.io.decode_jpeg(jpeg, channels=3)  ### SOLUTION", "image = ???"),
        ("    image = decode(jpeg)  ### SOLUTION", "    image = ???"),
        ("spec = tf.TensorSpec([], tf.string)  # one JPEG  ### SOLUTION", "spec = ???  # one JPEG"),
        ("a, b = tf.math.top_k(x, k=K)  ### SOLUTION", "a, b = ???"),
        ("x = f(k=1, j=2)  ### SOLUTION", "x = ???"),
        ("    return post(y)  ### SOLUTION", "    return ???"),
        ("s = T(shape=[None, 10], dtype=f)  ### SOLUTION: [None, 10]", "s = T(shape=???, dtype=f)"),
        ("label = '### SOLUTION'", None),
        ("x = 1  # a comment", None),
        ("x = 1", None),
    ],
)
def test_blank_line(line: str, expected: str | None) -> None:
    assert blank_line(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("print(x)  ### SOLUTION", "needs an assignment or a return"),
        ("x = f(a, a)  ### SOLUTION: a", "found it 2 times"),
        ("x = f(a)  ### SOLUTION: b", "found it 0 times"),
    ],
)
def test_marker_that_cannot_be_blanked_is_an_error(line: str, message: str) -> None:
    with pytest.raises(InlineSolutionError, match=message):
        blank_line(line)


def clear(*cells):
    config = Config()
    config.ClearSolutions.code_stub = {"python": "???"}
    nb = new_notebook(
        cells=list(cells),
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    return ClearInlineSolutions(config=config).preprocess(nb, {})[0]


def solution_cell(source: str):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "solution": True,
        "grade": False,
        "grade_id": "answer",
        "locked": False,
        "schema_version": 3,
    }
    return cell


def test_a_solution_cell_keeps_everything_but_its_inline_blanks() -> None:
    nb = clear(solution_cell("def f(x):\n    y = g(x)  ### SOLUTION\n    return y"))
    assert nb.cells[0].source == "def f(x):\n    y = ???\n    return y"


def test_inline_and_whole_line_blanks_in_one_cell() -> None:
    source = "x = 1  ### SOLUTION\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\nz = 3"
    assert clear(solution_cell(source)).cells[0].source == "x = ???\n???\nz = 3"


def test_a_solution_cell_without_blanks_is_blanked_whole_as_nbgrader_does() -> None:
    assert clear(solution_cell("x = 1")).cells[0].source == "???"


def test_an_inline_blank_outside_a_solution_cell_is_refused() -> None:
    with pytest.raises(RuntimeError, match="non-solution cell"):
        clear(new_code_cell("x = 1  ### SOLUTION"))
