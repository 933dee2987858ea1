"""nbgrader settings for this course. The repository root is the course directory."""

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

from autograder.inline_solutions import ClearInlineSolutions

c = get_config()

# The instructor notebooks in solutions/ are nbgrader's source; the student release goes to notebooks/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Never copy exported servables (~100 MB each) or notebook checkpoints into a release or submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "keras_servable", "feedback"]

# Blanks are `???`, both for whole-line regions (### BEGIN/END SOLUTION) and for inline ones (### SOLUTION),
# which ClearInlineSolutions clears in ClearSolutions' place.
STUB = "???"
c.ClearSolutions.code_stub = {"python": STUB}
c.ClearInlineSolutions.inline_stub = STUB
c.GenerateAssignment.preprocessors = [
    ClearInlineSolutions if step is ClearSolutions else step
    for step in GenerateAssignment.class_traits()["preprocessors"].default()
]
