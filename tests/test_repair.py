"""Broken copies of the solution notebook, as students' edits in JupyterLab make them, graded by nbgrader's real
autograde and generate_feedback in a throwaway course: every step but Execute, so that no kernel starts and every
graded cell that is present scores full points. Without the repair (the control tests) nbgrader fails them; with
RepairGradeMetadata first in the sanitize steps they are graded under the source's metadata, with one note per
change, and ClearLockedHiddenTests shows a student's own hidden-tests marker instead of failing the feedback."""

import copy
import itertools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, GetGrades
from traitlets.config import Config

from autograder import ASSIGNMENT, NOTEBOOK, RELEASE, SOLUTION
from autograder.course.repair import RepairGradeMetadata
from autograder.report.feedback import ClearLockedHiddenTests
from autograder.report.notes import take_notes
from tests.helpers import VENV_BIN

# nbgrader's gradebook code raises harmless SAWarnings on each autograde
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

SOURCE = nbformat.read(SOLUTION, as_version=4)
SOURCE_CELLS = {cell.metadata.nbgrader["grade_id"]: cell for cell in SOURCE.cells if "nbgrader" in cell.metadata}
POINTS = {grade_id: cell.metadata.nbgrader.get("points", 0) for grade_id, cell in SOURCE_CELLS.items()}
SOURCE_METADATA_TOPK = dict(SOURCE_CELLS["test_topk_batch"].metadata.nbgrader)
COPY_NOTE = (
    "cell {copy} is a copy of {kind} cell '{grade_id}' (cell {original}): removed its grade metadata, "
    "only the original is graded; delete the copy"
)
CHANGE_NOTE = "{kind} cell '{grade_id}' (cell {cell}) had its {changed} changed; it is graded as in the assignment"
STUDENT_MARKER = "# ### BEGIN HIDDEN TESTS: my own checks, not the course's"


@dataclass
class Graded:
    success: bool
    log: str
    notes: list[str]
    notebook: NotebookNode | None
    score: float | None
    feedback: dict | None


@dataclass
class Course:
    root: Path
    repaired: NbGraderAPI
    plain: NbGraderAPI
    students: Iterator[int]

    def autograde(self, nb: NotebookNode, repaired: bool = True, feedback: bool = False) -> Graded:
        """Submit nb as a new student, autograde it (and generate its feedback), and read back what nbgrader made."""
        api, student = self.repaired if repaired else self.plain, f"student{next(self.students)}"
        submitted = self.root / "submitted" / student / ASSIGNMENT / NOTEBOOK
        submitted.parent.mkdir(parents=True)
        nbformat.write(nb, submitted)
        take_notes()
        outcome = api.autograde(ASSIGNMENT, student, force=True, create=True)
        log = outcome.get("log", "") + outcome.get("error", "")
        notes = take_notes()
        if not outcome["success"]:
            return Graded(False, log, notes, None, None, None)
        with Gradebook(api.coursedir.db_url) as gradebook:
            score = gradebook.find_submission(ASSIGNMENT, student).score
        autograded = nbformat.read(self.root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        made = api.generate_feedback(ASSIGNMENT, student, force=True) if feedback else None
        if made and made["success"]:
            made["html"] = (self.root / "feedback" / student / ASSIGNMENT / NOTEBOOK).with_suffix(".html").read_text()
        return Graded(True, log, notes, autograded, score, made)


def course_config(root: Path, repaired: bool) -> Config:
    """nbgrader's defaults without Execute, the solutions as the source, and the repair steps if repaired."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.source_directory = str(SOLUTION.parents[1])
    config.CourseDirectory.release_directory = "release"
    sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
    config.Autograde.sanitize_preprocessors = [RepairGradeMetadata, *sanitize] if repaired else sanitize
    autograde = Autograde.class_traits()["autograde_preprocessors"].default()
    config.Autograde.autograde_preprocessors = [step for step in autograde if step is not Execute]
    clear_hidden_tests = ClearLockedHiddenTests if repaired else ClearHiddenTests
    config.GenerateFeedback.preprocessors = [GetGrades, clear_hidden_tests, CSSHTMLHeaderPreprocessor]
    return config


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Course]:
    root = tmp_path_factory.mktemp("course")
    apis = [
        NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for config in (
            course_config(root, repaired=True),
            course_config(root, repaired=False),
        )
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs alembic to make a gradebook
        generated = apis[0].generate_assignment(ASSIGNMENT, force=True)
        assert generated["success"], generated.get("log")
        yield Course(root, *apis, itertools.count())


def position(nb: NotebookNode, grade_id: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def pasted(cell: NotebookNode, cell_id: str = "pasted") -> NotebookNode:
    """A copy of a cell as JupyterLab pastes it: same content and metadata, a new nbformat id."""
    return nbformat.from_dict({**copy.deepcopy(cell), "id": cell_id})


def graded_metadata(nb: NotebookNode) -> dict[str, dict]:
    """The nbgrader metadata of each cell that has some, by grade_id, without the checksum OverwriteCells adds."""
    found = [cell.metadata.nbgrader for cell in nb.cells if "nbgrader" in cell.metadata]
    metadata = {meta["grade_id"]: {key: value for key, value in meta.items() if key != "checksum"} for meta in found}
    assert len(metadata) == len(found), "a grade_id on several cells"
    return metadata


def assert_graded_as_source(graded: Graded, missing: set[str] = frozenset()) -> None:
    """The source's metadata on one cell per grade_id, the source's content in locked cells, full points."""
    assert graded.success, graded.log
    present = {grade_id: cell for grade_id, cell in SOURCE_CELLS.items() if grade_id not in missing}
    assert graded_metadata(graded.notebook) == {grade_id: cell.metadata.nbgrader for grade_id, cell in present.items()}
    for cell in graded.notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            assert cell.cell_type == present[grade_id].cell_type
        if grade_id and present[grade_id].metadata.nbgrader["locked"]:
            assert cell.source == present[grade_id].source
    assert graded.score == 100 - sum(POINTS[grade_id] for grade_id in missing)


# Each case edits a copy of the solution notebook as a student might, and returns the notes it must get.
def unchanged(nb: NotebookNode) -> list[str]:
    return []


def moved_to_the_top(nb: NotebookNode) -> list[str]:
    nb.cells.insert(0, nb.cells.pop(position(nb, "test_topk_batch")))
    return []


def empty_metadata_on_a_markdown_cell(nb: NotebookNode) -> list[str]:
    nb.cells[0].metadata["nbgrader"] = {}  # what nbgrader's DeduplicateIds leaves on a copy; it gives no part
    return []


def hidden_tests_marker_in_an_answer(nb: NotebookNode) -> list[str]:
    nb.cells[position(nb, "part4")].source += f"\n{STUDENT_MARKER}\n"
    return []


def pasted_below(nb: NotebookNode) -> list[str]:
    original = position(nb, "test_topk_batch")
    nb.cells.insert(original + 1, pasted(nb.cells[original]))
    return [COPY_NOTE.format(copy=original + 2, kind="test", grade_id="test_topk_batch", original=original + 1)]


def pasted_at_the_top(nb: NotebookNode) -> list[str]:
    original = position(nb, "test_topk_batch")
    nb.cells.insert(0, pasted(nb.cells[original]))
    return [COPY_NOTE.format(copy=1, kind="test", grade_id="test_topk_batch", original=original + 2)]


def cut_and_pasted_twice(nb: NotebookNode) -> list[str]:
    """Neither copy keeps the source's nbformat id, so the first one is the original."""
    cut = nb.cells.pop(position(nb, "test_batch_shape"))
    nb.cells[2:2] = [pasted(cut, "first"), pasted(cut, "second")]
    return [COPY_NOTE.format(copy=4, kind="test", grade_id="test_batch_shape", original=3)]


def pasted_twice_at_the_end(nb: NotebookNode) -> list[str]:
    original = position(nb, "test_decode_values")
    nb.cells += [pasted(nb.cells[original], "first"), pasted(nb.cells[original], "second")]
    copies = [len(nb.cells) - 1, len(nb.cells)]
    note = COPY_NOTE.format(copy="{}", kind="test", grade_id="test_decode_values", original=original + 1)
    return [note.format(cell) for cell in copies]


def answer_copied_and_edited(nb: NotebookNode) -> list[str]:
    original = position(nb, "part4")
    nb.cells.insert(original + 1, pasted(nb.cells[original]))
    nb.cells[original + 1].source += "\n# my second try"
    return [COPY_NOTE.format(copy=original + 2, kind="answer", grade_id="part4", original=original + 1)]


def copy_with_a_new_grade_id(nb: NotebookNode) -> list[str]:
    original = position(nb, "test_topk_batch")
    nb.cells.insert(original + 1, pasted(nb.cells[original]))
    nb.cells[original + 1].metadata.nbgrader["grade_id"] = "my_test"
    return [f"cell {original + 2} had grade metadata for an unknown id 'my_test'; it is graded as an ordinary cell"]


def typed_metadata_without_id(nb: NotebookNode) -> list[str]:
    nb.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {"grade": True, "points": 5}}))
    return [f"cell {len(nb.cells)} had grade metadata without a valid id; it is graded as an ordinary cell"]


def metadata_not_a_dict_on_a_new_cell(nb: NotebookNode) -> list[str]:
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "test"}))
    return [f"cell {len(nb.cells)} had grade metadata without a valid id; it is graded as an ordinary cell"]


def metadata_change(grade_id: str, kind: str, changed: str, **metadata: object) -> Callable[[NotebookNode], list[str]]:
    """A case that sets some of a source cell's nbgrader metadata; the cell keeps its nbformat id."""

    def edit(nb: NotebookNode) -> list[str]:
        index = position(nb, grade_id)
        nb.cells[index].metadata.nbgrader.update(metadata)
        return [CHANGE_NOTE.format(kind=kind, grade_id=grade_id, cell=index + 1, changed=changed)]

    edit.__name__ = f"{grade_id}:" + ",".join(f"{key}={value}" for key, value in metadata.items())
    return edit


def metadata_replaced(name: str, metadata: object, changed: str) -> Callable[[NotebookNode], list[str]]:
    """A case that replaces test_topk_batch's nbgrader metadata: the cell is still known by its nbformat id."""

    def edit(nb: NotebookNode) -> list[str]:
        index = position(nb, "test_topk_batch")
        nb.cells[index].metadata["nbgrader"] = copy.deepcopy(metadata)
        return [CHANGE_NOTE.format(kind="test", grade_id="test_topk_batch", cell=index + 1, changed=changed)]

    edit.__name__ = name
    return edit


grade_flag_off = metadata_change("test_topk_batch", "test", "grade", grade=False)
metadata_not_a_dict = metadata_replaced("metadata_not_a_dict", "test", "grade metadata")


def answer_turned_into_markdown(nb: NotebookNode) -> list[str]:
    index = position(nb, "part4")
    cell = nb.cells[index]
    nb.cells[index] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata, id=cell.id)
    return [CHANGE_NOTE.format(kind="answer", grade_id="part4", cell=index + 1, changed="cell type")]


CASES = [
    unchanged,
    moved_to_the_top,
    empty_metadata_on_a_markdown_cell,
    hidden_tests_marker_in_an_answer,
    pasted_below,
    pasted_at_the_top,
    cut_and_pasted_twice,
    pasted_twice_at_the_end,
    answer_copied_and_edited,
    copy_with_a_new_grade_id,
    typed_metadata_without_id,
    metadata_not_a_dict_on_a_new_cell,
    metadata_change("test_topk_batch", "test", "schema version", schema_version=2),
    metadata_change("test_topk_batch", "test", "schema version", schema_version=4),
    metadata_change("test_topk_batch", "test", "locked, points", locked=False, points=50),
    grade_flag_off,
    metadata_change("test_topk_batch", "test", "solution", solution=True),
    metadata_change("test_topk_batch", "test", "locked", locked=1),
    metadata_change("test_topk_batch", "test", "extra", extra="x"),
    metadata_change("test_topk_batch", "test", "cell type", cell_type="markdown"),
    metadata_change("part4", "answer", "grade, points", grade=True, points=10),
    metadata_not_a_dict,
    metadata_replaced(
        "grade_id_deleted", {k: v for k, v in SOURCE_METADATA_TOPK.items() if k != "grade_id"}, "grade id"
    ),
    metadata_replaced("grade_id_edited", {**SOURCE_METADATA_TOPK, "grade_id": "mine"}, "grade id"),
    answer_turned_into_markdown,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_repaired_notebook_is_graded_under_the_source_metadata_with_one_note_per_change(
    course: Course, case: Callable[[NotebookNode], list[str]]
) -> None:
    nb = copy.deepcopy(SOURCE)
    notes = case(nb)
    graded = course.autograde(nb)
    assert graded.notes == notes
    assert_graded_as_source(graded)


def test_the_unfilled_release_gets_no_note_and_keeps_its_metadata(course: Course) -> None:
    """The notebook students start from, with the checksums and recorded cell types that generate_assignment adds."""
    release = nbformat.read(RELEASE, as_version=4)
    graded = course.autograde(release)
    assert graded.success, graded.log
    assert graded.notes == []
    assert graded_metadata(graded.notebook) == graded_metadata(release)


def test_without_the_source_notebook_the_first_of_several_copies_is_graded(
    course: Course, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The gradebook keeps no nbformat ids: without the source notebook an original and its copies look alike."""
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    nb = copy.deepcopy(SOURCE)
    original = position(nb, "test_topk_batch")
    nb.cells.insert(0, pasted(nb.cells[original]))
    resources = {
        "nbgrader": {"db_url": course.repaired.coursedir.db_url, "assignment": ASSIGNMENT, "notebook": SOLUTION.stem}
    }
    take_notes()
    with caplog.at_level(logging.WARNING):
        RepairGradeMetadata(config=config).preprocess(nb, resources)
    assert "Cannot read" in caplog.text
    assert take_notes() == [COPY_NOTE.format(copy=original + 2, kind="test", grade_id="test_topk_batch", original=1)]
    assert "nbgrader" in nb.cells[0].metadata
    assert "nbgrader" not in nb.cells[original + 1].metadata


@pytest.mark.parametrize(
    ("grade_id", "note"),
    [
        ("test_topk_batch", "test cell 'test_topk_batch' is missing from the notebook; it scores 0"),
        ("setup", "locked cell 'setup' is missing from the notebook"),
        ("part4", "answer cell 'part4' is missing from the notebook"),
    ],
)
def test_deleted_cell_is_reported_and_graded_as_nbgrader_does(course: Course, grade_id: str, note: str) -> None:
    nb = copy.deepcopy(SOURCE)
    del nb.cells[position(nb, grade_id)]
    graded = course.autograde(nb)
    assert graded.notes == [note]
    assert_graded_as_source(graded, missing={grade_id})


@pytest.mark.parametrize(
    ("case", "error"),
    [
        (pasted_below, "SchemaTooOldError: Outdated schema version: 0 (expected 3)"),
        (copy_with_a_new_grade_id, "ValidationError: nbgrader cell does not have a grade_id"),
        (grade_flag_off, "RuntimeError: Inconsistent checksums for cell test_topk_batch"),
        (metadata_not_a_dict, "AttributeError: 'str' object has no attribute 'get'"),
    ],
    ids=lambda value: getattr(value, "__name__", "error"),
)
def test_without_the_repair_nbgrader_fails_the_whole_notebook(
    course: Course, case: Callable[[NotebookNode], list[str]], error: str
) -> None:
    nb = copy.deepcopy(SOURCE)
    case(nb)
    graded = course.autograde(nb, repaired=False)
    assert not graded.success
    assert error in graded.log


@pytest.mark.parametrize(
    ("marker", "error"),
    [
        (STUDENT_MARKER, "No end hidden tests statement found"),
        (f"{STUDENT_MARKER}\nassert True\n# ### END HIDDEN TESTS", "Hidden test region detected in a non-grade cell"),
    ],
    ids=["begin", "begin-and-end"],
)
def test_feedback_shows_a_students_hidden_tests_marker_and_hides_the_courses(
    course: Course, marker: str, error: str
) -> None:
    nb = copy.deepcopy(SOURCE)
    nb.cells[position(nb, "part4")].source += f"\n{marker}\n"
    plain = course.autograde(nb, repaired=False, feedback=True)
    assert not plain.feedback["success"]
    assert error in plain.feedback["log"]

    repaired = course.autograde(nb, feedback=True)
    assert repaired.feedback["success"], repaired.feedback.get("log")
    # The HTML shows each comment whole: the student's markers are there, none of the locked test cells'.
    assert repaired.feedback["html"].count("HIDDEN TESTS") == marker.count("HIDDEN TESTS")


def test_clear_locked_hidden_tests_keeps_student_cells_and_clears_locked_ones(course: Course) -> None:
    nb = copy.deepcopy(SOURCE)
    answer = position(nb, "part4")
    nb.cells[answer].source += f"\n{STUDENT_MARKER}\n"
    autograded = course.autograde(nb).notebook
    release = nbformat.read(course.root / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    locked_with_hidden_tests = [
        index
        for index, cell in enumerate(autograded.cells)
        if cell.metadata.get("nbgrader", {}).get("locked") and "BEGIN HIDDEN TESTS" in cell.source
    ]
    assert len(locked_with_hidden_tests) > 1

    cleared, _ = ClearLockedHiddenTests().preprocess(copy.deepcopy(autograded), {})
    assert cleared.cells[answer].source == autograded.cells[answer].source
    assert STUDENT_MARKER in cleared.cells[answer].source
    for index in locked_with_hidden_tests:  # as the students saw them in the release
        assert cleared.cells[index].source == release.cells[index].source
