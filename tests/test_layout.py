"""The grader's layout holds: its modules import one another without a circle, so each job's package can be read
(and changed) from the bottom up; the command modules on top are imported by none of the others."""

import ast
import graphlib

from autograder import REPO

PACKAGE = REPO / "autograder"
COMMANDS = {"autograder.__main__", "autograder.release", "autograder.probing"}


def module_name(path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def imports() -> dict[str, set[str]]:
    """Each module of the grader (its fixtures' attacks apart: notebook code) and the grader's modules it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "attacks" not in path.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder"):
                found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("autograder")}
        graph[name] = {imported for imported in found if imported in modules and imported != name}
    return graph


def test_no_module_of_the_grader_imports_itself_through_others() -> None:
    graphlib.TopologicalSorter(imports()).prepare()  # raises CycleError, naming the circle


def test_the_commands_are_imported_by_no_other_module() -> None:
    graph = imports()
    assert graph.keys() >= COMMANDS
    assert {name: sorted(found & COMMANDS) for name, found in graph.items() if found & COMMANDS} == {
        "autograder.__main__": ["autograder.probing", "autograder.release"]
    }
