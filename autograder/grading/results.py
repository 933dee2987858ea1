"""What grading a batch gives: each student's result, and the run's."""

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StudentResult:
    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""  # why the submission could not be graded
    notes: list[str] = field(default_factory=list)  # what else happened to it
    lms: str = ""
    lms_user_id: str = ""
    name: str = ""
    seconds: float = 0.0
    disk_bytes: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # seconds of each step (autograder/report/step_times.py)

    @property
    def note(self) -> str:
        return "; ".join([self.problem, *self.notes] if self.problem else self.notes)


@dataclass
class GradingRun:
    out: Path
    results: list[StudentResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries of the submissions that belong to no student
    seconds: float = 0.0

    @property
    def grades_csv(self) -> Path:
        return self.out / "grades.csv"


def table_row(result: StudentResult) -> str:
    score = f"{result.score:g}/{result.max_score:g}"
    return f"{result.student_id:24} {score:>13} {result.seconds:6.1f} s  {result.problem or 'graded'}"
