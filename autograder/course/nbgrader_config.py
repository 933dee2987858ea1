"""nbgrader settings for this course. The repository root is the course directory."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import ClearSolutions, Execute, GetGrades

from autograder.course.assignment import NEVER_RELEASED, loadable
from autograder.course.assignment_schema import Limits
from autograder.course.inline_solutions import ClearInlineSolutions
from autograder.course.repair import RepairGradeMetadata
from autograder.grading.judging import JudgeGradedCells, PrepareJudging
from autograder.grading.sandboxed_kernel import SandboxedExecute
from autograder.report.feedback import ClearLockedHiddenTests
from autograder.report.safe_markdown import KeepSafeMarkdown
from autograder.report.safe_outputs import KeepSafeOutputs

c = get_config()

# The instructor notebooks in solutions/ are nbgrader's source; the student release goes to notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Never copy an assignment's settings, what running its notebook leaves beside it (its assignment.toml says what:
# exported servables of ~100 MB each, say) or notebook checkpoints into a release or submission.
c.CourseDirectory.ignore = list(NEVER_RELEASED)
_assignments, _broken = loadable()  # a broken assignment is reported when it is released or graded, and skipped
c.CourseDirectory.ignore += sorted({path for assignment in _assignments for path in assignment.disposable})


def replaced(steps: list, old: type, new: type) -> list:
    """nbgrader's default list of steps with one step swapped for its subclass."""
    return [new if step is old else step for step in steps]


# Blanks are `???`, both for whole-line regions (### BEGIN/END SOLUTION) and for inline ones (### SOLUTION),
# which ClearInlineSolutions clears in ClearSolutions' place.
STUB = "???"
c.ClearSolutions.code_stub = {"python": STUB}
c.ClearInlineSolutions.inline_stub = STUB
c.GenerateAssignment.preprocessors = replaced(
    GenerateAssignment.class_traits()["preprocessors"].default(), ClearSolutions, ClearInlineSolutions
)

# Students' edits can break nbgrader's cell metadata (a pasted test cell, a new cell with grade metadata, an old
# schema_version): it is put back from the gradebook before nbgrader checks it, with a grading note per change.
c.Autograde.sanitize_preprocessors = [
    RepairGradeMetadata,
    *Autograde.class_traits()["sanitize_preprocessors"].default(),
]

# Grading runs each student's kernel in a sandbox (autograder/sandbox/launch.py), offline, on random weights, without
# the graded cells; the judge (autograder/grading/judging.py) then runs those in a fresh process against the graphs the
# notebook hands in, so nothing the student's code does to its kernel can change a verdict.
_grading_steps = Autograde.class_traits()["autograde_preprocessors"].default()
_execute = _grading_steps.index(Execute)
c.Autograde.autograde_preprocessors = [
    *_grading_steps[:_execute],
    PrepareJudging,
    SandboxedExecute,
    JudgeGradedCells,
    KeepSafeOutputs,
    *_grading_steps[_execute + 1 :],
    KeepSafeMarkdown,  # last: nbgrader's own steps read cells as the student left them
]
# The default limits; each assignment's own [limits] win: `grade` applies them itself, and otherwise the grading steps
# do, for the assignment they grade (PrepareJudging.apply_assignment_limits).
c.merge(Limits().config())
c.Execute.interrupt_on_timeout = True
c.Execute.iopub_timeout = 10  # seconds for a cell's last output to arrive after its reply (nbclient's 4 is tight)
# Feedback shows each test's result and message, but not the code of the hidden tests, so they stay useful;
# students' own cells are shown as they wrote them, even if they contain hidden-test markers.
c.GenerateFeedback.preprocessors = [GetGrades, ClearLockedHiddenTests, CSSHTMLHeaderPreprocessor]
# A submission's HTML must not run in the student's feedback or the instructor's formgrader: nbconvert sanitizes
# what its templates let it (outputs, which KeepSafeOutputs already keeps inert); nbgrader's templates render
# markdown cells without it, so KeepSafeMarkdown cleans them in the graded notebook both pages show.
c.HTMLExporter.sanitize_html = True
# Keep feedback readable and the gradebook small, whatever a submission prints.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50
