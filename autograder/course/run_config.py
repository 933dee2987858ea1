"""nbgrader settings of one grading run, copied into its course directory (DIR/course) as nbgrader_config.py: the
course's own (autograder/course/nbgrader_config.py), with that folder as the course root, the assignment's folder's
parent as nbgrader's source and the assignment's [limits]. What differs from one run to the next is in
grading_run.json beside it (autograder/grading/course_folder.py writes it): the repository and the assignment."""

import json
import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
_run = json.loads((_here / "grading_run.json").read_text())
sys.path.insert(0, _run["repo"])

from autograder.course.assignment import load  # noqa: E402 (the repository is on the path only now)

c = get_config()
load_subconfig(str(Path(_run["repo"]) / "autograder" / "course" / "nbgrader_config.py"))
_assignment = load(Path(_run["assignment"]))
c.CourseDirectory.root = str(_here)
c.CourseDirectory.source_directory = str(_assignment.folder.parent)
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.ignore += _assignment.disposable
c.merge(_assignment.limits.config(_assignment.limits_set))  # the assignment's [limits]
