"""nbgrader settings for this course. The repository root is the course directory."""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import ClearSolutions, Execute, GetGrades

from autograder import REPO
from autograder.feedback import ClearLockedHiddenTests
from autograder.inline_solutions import ClearInlineSolutions
from autograder.judging import JudgeGradedCells, PrepareJudging
from autograder.repair import RepairGradeMetadata
from autograder.safe_outputs import KeepSafeOutputs
from autograder.sandboxed_kernel import SandboxedExecute

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

# Students' edits can break nbgrader's cell metadata (a pasted test cell, a new cell with grade metadata, an old
# schema_version): it is put back from the gradebook before nbgrader checks it, with a grading note per change.
c.Autograde.sanitize_preprocessors = [
    RepairGradeMetadata,
    *Autograde.class_traits()["sanitize_preprocessors"].default(),
]

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
    KeepSafeOutputs,
    *_grading_steps[_execute + 1 :],
]
c.PrepareJudging.setup_cells = ["setup", "checks"]
c.PrepareJudging.judge_cells = ["fresh_process_check"]
# Teaching cells: the judge checks the export itself, and the pictures are for the student.
c.PrepareJudging.skipped_cells = [
    "inspect",
    "inspect_report",
    "validate",
    "samples_picture",
    "skew_picture",
    "decoder_picture",
    "predictions_picture",
]
# What the notebook hands in (autograder/handin.py): the names its tests read. Functions are traced for one input.
c.PrepareJudging.handin = {
    "functions": {
        "build_jpeg_to_image_graph": {"input": [[], "string"]},
        "preprocess_input": {"input": [[None], "string"]},
        "postprocess_output": {"input": [[None, 1000], "float32"]},
        "serving_fn": {"input": [[None], "string"], "from": "serve_jpegs"},
    },
    "tracked": ["model"],  # its weights are saved with the functions, whose graphs read them
    "specs": ["test_jpeg_spec", "batch_jpeg_spec", "test_output_spec", "serving_input_spec"],
    "numbers": ["max_value", "min_value"],
    "arrays": ["test_image", "test_batch"],
    "paths": ["export_path"],
    "explain": "explain",  # the set-up's function that puts an error in one line, in the notebook's words
}
c.Execute.timeout = 120  # seconds per cell; the slowest correct cell takes about 10
c.Execute.interrupt_on_timeout = True
c.Sandbox.readable_paths = [str(SAMPLES)]
c.Sandbox.environment = {
    "SAMPLES_DIR": str(SAMPLES),
    "RESNET_WEIGHTS": "none",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# Feedback shows each test's result and message, but not the code of the hidden tests, so they stay useful;
# students' own cells are shown as they wrote them, even if they contain hidden-test markers.
c.GenerateFeedback.preprocessors = [GetGrades, ClearLockedHiddenTests, CSSHTMLHeaderPreprocessor]
# A submission's HTML must not run in the student's feedback or the instructor's formgrader.
c.HTMLExporter.sanitize_html = True
# Keep feedback readable and the gradebook small, whatever a submission prints.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50
