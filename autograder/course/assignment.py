"""An assignment is a folder: `<course>/solutions/<name>/<name>.ipynb` and `assignment.toml` beside it.

assignment.toml says what grading needs to know of the notebook: which cells set up the tests, which only the judge
runs, which never run when grading, what the notebook hands in for judging, what its sandbox may read, and what
running it leaves behind. Adding or changing an assignment means editing its folder, never the grader's code.
"""

import dataclasses
import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import REPO
from autograder.course.assignment_schema import Limits, SettingsError, parse

SETTINGS_FILE = "assignment.toml"
SOLUTIONS = REPO / "solutions"
# What nbgrader never copies from an assignment's folder into a release or a submission (nor the assignment's
# disposable files).
NEVER_RELEASED = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", SETTINGS_FILE]
FUNCTION_INPUT = re.compile(r"^(?P<dtype>[a-z][a-z0-9]*)\[(?P<shape>[^\]]*)\]$")  # "float32[None, 1000]"


class AssignmentError(ValueError):
    """An assignment folder that cannot be graded as it is; the message says what to change, and where."""


@dataclass(frozen=True)
class Assignment:
    name: str
    folder: Path
    setup_cells: list[str] = field(default_factory=list)
    judged_cells: list[str] = field(default_factory=list)
    skipped_cells: list[str] = field(default_factory=list)
    handin: dict = field(default_factory=dict)  # autograder/inside/handin.py's spec
    readable: list[str] = field(default_factory=list)  # absolute host folders the sandboxes may read
    environment: dict[str, str] = field(default_factory=dict)  # of the sandboxes, folders included
    disposable: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    limits_set: dict = field(default_factory=dict)  # the [limits] the file sets, which win over the course's
    # The files and folders nbgrader released beside the notebook (data files), by name, once the release is known
    # (autograder/grading/judging.py): the student's kernel and the judge see them read-only in their working folder.
    beside: dict[str, str] = field(default_factory=dict)

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def notebook(self) -> Path:
        return self.folder / self.notebook_name


def load(folder: Path) -> Assignment:
    """The assignment in folder, checked against its notebook; AssignmentError says what is wrong."""
    folder = folder.resolve()
    settings_path = folder / SETTINGS_FILE
    try:
        raw = tomllib.loads(settings_path.read_text())
        settings = parse(raw)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AssignmentError(f"cannot read {settings_path} ({error}): expected the assignment's settings") from error
    except SettingsError as error:
        raise AssignmentError(f"{settings_path}: {error}") from None
    handin = {key: value for key, value in dataclasses.asdict(settings.handin).items() if value}
    sandbox = settings.sandbox
    folders = {name: (folder / path).resolve() for name, path in sandbox.folders.items()}
    assignment = Assignment(
        name=folder.name,
        folder=folder,
        setup_cells=settings.cells.setup,
        judged_cells=settings.cells.judged,
        skipped_cells=settings.cells.skipped,
        handin={**handin, "functions": _functions(settings_path, settings.handin.functions)},
        readable=[str(path) for path in folders.values()],
        environment={**{name: str(path) for name, path in folders.items()}, **sandbox.environment},
        disposable=settings.release.disposable,
        limits=settings.limits,
        limits_set=dict(raw.get("limits", {})),
    )
    _check_against_notebook(assignment, settings_path)
    hiding = [pattern for pattern in assignment.disposable if fnmatch.fnmatch(assignment.notebook_name, pattern)]
    if hiding:
        raise AssignmentError(
            f"{settings_path}: [release] disposable {', '.join(hiding)} matches the notebook itself, which would "
            "then never be released: expected only what running it leaves behind"
        )
    for name, path in folders.items():
        if not path.is_dir():
            raise AssignmentError(f"{settings_path}: [sandbox] folders {name} = {path} is not a folder")
        if folder.is_relative_to(path):
            raise AssignmentError(
                f"{settings_path}: [sandbox] folders {name} = {path} holds the assignment's own folder, so students' "
                "code could read its solutions and hidden tests: expected a folder of data beside it"
            )
    return assignment


def find(name: str | None = None, solutions: Path = SOLUTIONS) -> Assignment:
    """The assignment called name in solutions, or the only one there when name is None; a name with a slash is
    the path of an assignment's folder, anywhere."""
    if name and "/" in name:
        return load(Path(name))
    names = available(solutions)
    if name is None and len(names) == 1:
        name = names[0]
    if name not in names:
        wanted = f"no assignment {name!r}" if name else f"{len(names)} assignments, and no --assignment to choose"
        raise AssignmentError(f"{solutions} has {wanted}: expected one of {', '.join(names) or 'none'}")
    return load(solutions / name)


def released_beside(release: Path, notebook_name: str) -> dict[str, str]:
    """What nbgrader released in the folder release beside the notebook, by name: the release, not the solutions'
    folder, so only what students got (nbgrader leaves out settings, checkpoints and disposable files at every
    depth, and copies links as files)."""
    if not release.is_dir():
        return {}
    return {
        path.name: str(path)
        for path in sorted(release.iterdir())
        if path.name != notebook_name and not path.is_symlink()
    }


def loadable(solutions: Path = SOLUTIONS) -> tuple[list[Assignment], dict[str, str]]:
    """Every assignment in solutions that can be loaded, and why each of the others cannot, by name: one broken
    folder stops no other assignment."""
    assignments, broken = [], {}
    for name in available(solutions):
        try:
            assignments.append(load(solutions / name))
        except AssignmentError as error:
            broken[name] = str(error)
    return assignments, broken


def available(solutions: Path = SOLUTIONS) -> list[str]:
    """The names of the assignments in solutions: each folder with an assignment.toml."""
    return sorted(path.parent.name for path in solutions.glob(f"*/{SETTINGS_FILE}"))


def _functions(settings_path: Path, functions: dict) -> dict:
    """handin.functions as handin.py takes them: each name's input as [shape, dtype], and where it comes from."""
    specs = {}
    for name, function in functions.items():
        function = {"input": function} if isinstance(function, str) else dict(function)
        match = FUNCTION_INPUT.match(str(function.get("input", "")).replace(" ", ""))
        if not match or set(function) - {"input", "from"}:
            raise AssignmentError(
                f"{settings_path}: [handin.functions] {name} = {function!r}: expected an input such as "
                '"string[None]" or "float32[None,1000]", or { input = "...", from = "python_name" }'
            )
        shape = [None if size == "None" else int(size) for size in match["shape"].split(",") if size]
        specs[name] = {"input": [shape, match["dtype"]], **({"from": function["from"]} if "from" in function else {})}
    return specs


def _check_against_notebook(assignment: Assignment, settings_path: Path) -> None:
    """Every cell the settings name is a cell of the notebook: a renamed cell would otherwise just not run."""
    try:
        nb = nbformat.read(assignment.notebook, as_version=4)
    except (OSError, ValueError) as error:
        problem = (
            f"cannot read {assignment.notebook} ({error}): expected the assignment's notebook, which is named after "
            f"its folder ({assignment.notebook_name})"
        )
        raise AssignmentError(problem) from error
    grade_ids = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
    for kind in ("setup", "judged", "skipped"):
        missing = [cell for cell in getattr(assignment, f"{kind}_cells") if cell not in grade_ids]
        if missing:
            raise AssignmentError(
                f"{settings_path}: [cells] {kind} names {', '.join(missing)}, which {assignment.notebook_name} has no "
                "cell for: expected the grade_id of one of its nbgrader cells"
            )
