"""The code that runs inside the sandboxes (autograder/inside/: the judge and its companions, the kernel's hand-in,
the probe) is loaded there by path, from the grader's read-only folder: it may import only the standard library, the
libraries a notebook uses, and its own companions in that folder, never the rest of the grader. Every file the
sandboxes are given is in that folder."""

import ast
import sys
from pathlib import Path

import pytest

from autograder.grading.supervisor import JUDGE_MODULES
from autograder.inside import INSIDE
from autograder.inside.handin_contract import MODULES

MODULES_INSIDE = sorted(path.name for path in INSIDE.glob("*.py") if path.name != "__init__.py")
LIBRARIES = {"numpy", "tensorflow", "google", "IPython"}  # what a notebook's sandbox has besides the standard library


def imported(path: Path) -> set[str]:
    """The top-level names a file imports, and the autograder modules it imports by their package."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            inside = node.module == "autograder.inside"
            names |= {f"{node.module}.{alias.name}" if inside else node.module for alias in node.names}
    return names


@pytest.mark.parametrize("module", MODULES_INSIDE)
def test_code_inside_the_sandboxes_imports_only_its_companions(module: str) -> None:
    companions = {name.removesuffix(".py") for name in MODULES_INSIDE}
    for name in imported(INSIDE / module):
        top, _, rest = name.partition(".")
        if top == "autograder":  # the grader's tests import it as a package: only its companions, there too
            assert rest.startswith("inside.") and rest.split(".")[1] in companions, f"{module} imports {name}"
        else:
            assert top in sys.stdlib_module_names | LIBRARIES | companions, f"{module} imports {name}"


def test_what_the_sandboxes_are_given_is_all_inside() -> None:
    """The judge's files and the contract's are all in autograder/inside/, so the boundary is one folder."""
    assert {*JUDGE_MODULES, *MODULES, "handin.py", "probe.py"} <= set(MODULES_INSIDE)
