"""The nbgrader course directory of one grading run: made fresh, its nbgrader_config.py the course's own settings
with this folder as the course root, the assignment's folder as the source and the assignment's [limits]
(autograder/course/run_config.py, whose values are in grading_run.json beside it); plain nbgrader works there."""

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder import REPO
from autograder.course.assignment import Assignment

RUN_CONFIG = Path(__file__).parents[1] / "course" / "run_config.py"


@dataclass(frozen=True)
class GradingCourse:
    """The nbgrader course directory of one grading run, the assignment graded there, and the settings that
    override the course's own: all a worker process needs to grade a submission."""

    root: Path
    assignment: Assignment
    overrides: Config

    def api(self) -> NbGraderAPI:
        """nbgrader's API on the course directory, with the overrides applied."""
        config = load_course_config(self.root)
        config.merge(self.overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def graded_folder(self, student_id: str) -> Path:
        return self.root / "autograded" / student_id / self.assignment.name

    def feedback_folder(self, student_id: str) -> Path:
        return self.root / "feedback" / student_id / self.assignment.name

    def submitted_path(self, student_id: str) -> Path:
        """Where nbgrader's autograde reads the student's notebook."""
        return self.root / "submitted" / student_id / self.assignment.name / self.assignment.notebook_name

    def file_notebook(self, student_id: str, notebook: bytes) -> None:
        """File the notebook where autograde reads it, with fixed modes (the sandbox reads it as another user); what
        an earlier run graded of this student is removed."""
        for earlier in (self.graded_folder(student_id), self.feedback_folder(student_id)):
            shutil.rmtree(earlier, ignore_errors=True)
        path = self.submitted_path(student_id)
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.write_bytes(notebook)
        path.chmod(0o644)


def prepare_course(root: Path, assignment: Assignment, overrides: Config, keep: bool = False) -> GradingCourse:
    """A fresh course directory (or, to keep, the earlier run's) whose nbgrader_config.py loads this course's
    settings, with the assignment's folder as its source; plain nbgrader works there."""
    if root.exists() and not keep:  # kept: an earlier run's gradebook and graded notebooks, for a rerun
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(RUN_CONFIG, root / "nbgrader_config.py")
    values = {"repo": str(REPO), "assignment": str(assignment.folder)}
    (root / "grading_run.json").write_text(json.dumps(values, indent=1))
    return GradingCourse(root, assignment, overrides)


def load_course_config(course: Path) -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def check_outcome(outcome: dict, step: str) -> None:
    """An nbgrader step that failed stops the run, with nbgrader's error."""
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader {step} failed:\n{outcome.get('error') or outcome.get('log')}")


def put_venv_on_path() -> None:
    """nbgrader shells out to alembic (and we to nbgrader): the virtualenv's bin must come first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != venv_bin:
        os.environ["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
