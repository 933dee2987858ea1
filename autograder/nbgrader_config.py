"""nbgrader settings for this course. The repository root is the course directory."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, Execute, GetGrades

from autograder import REPO
from autograder.collect import StudentFolderCollector
from autograder.inline_solutions import ClearInlineSolutions
from autograder.judging import JudgeGradedCells, PrepareJudging
from autograder.sandbox import SandboxedExecute

SAMPLES = REPO / "samples"

c = get_config()

# The instructor notebooks in solutions/ are nbgrader's source; the student release goes to notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Never copy exported servables (~100 MB each) or notebook checkpoints into a release or submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "keras_servable", "feedback"]


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

# Collecting: a folder (or a zip of one) holding <student>/<notebook>.ipynb; other notebook names are skipped.
c.ZipCollectApp.collector_plugin = StudentFolderCollector
c.ZipCollectApp.strict = True

# Grading runs each student's kernel in a sandbox (autograder/sandbox.py), offline, on random weights, without
# the graded cells; the judge (autograder/judging.py) then runs those in a fresh process against the graphs the
# notebook hands in, so nothing the student's code does to its kernel can change a verdict.
_grading_steps = Autograde.class_traits()["autograde_preprocessors"].default()
_execute = _grading_steps.index(Execute)
c.Autograde.autograde_preprocessors = [
    *_grading_steps[:_execute],
    PrepareJudging,
    SandboxedExecute,
    JudgeGradedCells,
    *_grading_steps[_execute + 1 :],
]
c.PrepareJudging.setup_cells = ["setup"]
c.PrepareJudging.judge_cells = ["fresh_process_check"]
c.PrepareJudging.skipped_cells = ["inspect", "validate"]  # teaching cells: the judge checks the export itself
c.Execute.timeout = 120  # seconds per cell; the slowest correct cell takes about 10
c.Execute.interrupt_on_timeout = True
c.Sandbox.readable_paths = [str(SAMPLES)]
c.Sandbox.environment = {
    "SAMPLES_DIR": str(SAMPLES),
    "RESNET_WEIGHTS": "none",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# Feedback shows each test's result and message, but not the code of the hidden tests, so they stay useful.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
# Keep feedback readable and the gradebook small, whatever a submission prints.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50
