"""The code that runs inside the sandboxes (the judge and its companions, the kernel's hand-in) is loaded there by
path, from the grader's read-only folder: it may import only the standard library, the libraries a notebook uses,
and its own companions in that folder, never the rest of the grader."""

import ast
import sys

import pytest

from autograder import REPO
from autograder.handin_contract import MODULES
from autograder.supervisor import JUDGE_MODULES

INSIDE = sorted({*JUDGE_MODULES, *MODULES, "handin.py"})
LIBRARIES = {"numpy", "tensorflow", "google", "IPython"}  # what a notebook's sandbox has besides the standard library


def imported(path) -> set[str]:
    """The top-level names a file imports, and the autograder modules it imports by their package."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {
                f"{node.module}.{alias.name}" if node.module == "autograder" else node.module for alias in node.names
            }
    return names


@pytest.mark.parametrize("module", INSIDE)
def test_code_inside_the_sandboxes_imports_only_its_companions(module: str) -> None:
    companions = {name.removesuffix(".py") for name in INSIDE}
    for name in imported(REPO / "autograder" / module):
        top, _, rest = name.partition(".")
        if top == "autograder":  # the grader's tests import it as a package: only its companions, there too
            assert rest.split(".")[0] in companions, f"{module} imports {name}"
        else:
            assert top in sys.stdlib_module_names | LIBRARIES | companions, f"{module} imports {name}"
