"""What grading a batch gives: each student's result, and the run's."""

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StudentResult:
    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""  # why the submission itself could not be graded (it scores 0)
    not_graded: str = ""  # why the grader could not grade it, for reasons not of the submission (no score at all)
    notes: list[str] = field(default_factory=list)  # what else happened to it
    lms: str = ""
    lms_user_id: str = ""
    name: str = ""
    seconds: float = 0.0
    disk_bytes: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each step (autograder/report/step_times.py)
    notebook_sha256: str = ""  # of the notebook graded: a rerun keeps this result if the notebook is the same
    log: str = ""  # what nbgrader said of a step that failed, for the output folder's logs/<student_id>.log

    @property
    def note(self) -> str:
        why = [f"not graded: {self.not_graded}"] if self.not_graded else [self.problem] if self.problem else []
        return "; ".join([*why, *self.notes])


@dataclass
class GradingRun:
    out: Path
    results: list[StudentResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries of the submissions that belong to no student

    kept: int = 0  # results kept from an earlier run of the same command
    canvas_column: str = ""  # the Canvas assignment grades_canvas.csv fills, "Title (ID)", when given
    seconds: float = 0.0

    @property
    def grades_csv(self) -> Path:
        return self.out / "grades.csv"

    @property
    def not_graded(self) -> list[StudentResult]:
        return [result for result in self.results if result.not_graded]


def table_row(result: StudentResult) -> str:
    score = "-" if result.not_graded else f"{result.score:g}/{result.max_score:g}"
    status = f"not graded: {result.not_graded}" if result.not_graded else result.problem or "graded"
    return f"{result.student_id:24} {score:>13} {result.seconds:6.1f} s  {status}"
