"""What a grading run leaves for the instructor beside the feedback: grades.csv (and grades_canvas.csv) through
nbgrader's export, the feedback pages gathered by student, and a histogram of the scores."""

import shutil
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograder.course.assignment import Assignment
from autograder.grading.results import GradingRun
from autograder.report.export import PerCellCsvExportPlugin, StudentRecord


def export(api: NbGraderAPI, assignment: Assignment, run: GradingRun, canvas_column: str = "") -> None:
    """nbgrader's export step with the per-cell CSV plugin; feedback HTML is gathered under out/feedback."""
    records = {
        r.student_id: StudentRecord(
            note=r.note, graded=not r.not_graded, lms=r.lms, lms_user_id=r.lms_user_id, name=r.name
        )
        for r in run.results
    }
    canvas = str(run.out / "grades_canvas.csv") if any(r.lms == "canvas" for r in run.results) else ""
    plugin = PerCellCsvExportPlugin(
        config=api.config,
        to=str(run.grades_csv),
        records=records,
        canvas_to=canvas,
        canvas_column=canvas_column,
        student=sorted(records),
    )
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    feedback_dir = run.out / "feedback"
    shutil.rmtree(feedback_dir, ignore_errors=True)
    for html in sorted((Path(api.coursedir.root) / "feedback").glob(f"*/{assignment.name}/*.html")):
        if html.parts[-3] not in records:  # a student of an earlier run's batch only
            continue
        target = feedback_dir / html.parts[-3] / html.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(html, target)


def write_histogram(run: GradingRun, assignment: Assignment) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [result.score for result in run.results if not result.not_graded]
    most = max((result.max_score for result in run.results), default=0.0) or 100.0
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.hist(scores, bins=score_bins(most), color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"score (out of {most:g})")
    axes.set_ylabel("students")
    mean = sum(scores) / len(scores) if scores else 0.0
    axes.set_title(f"{assignment.name}: {len(scores)} submissions, mean {mean:.1f}")
    path = run.out / "grades.png"
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def score_bins(most: float) -> list[float]:
    """The histogram's bins: 20 of equal width from 0 to the assignment's maximum, the last holding full marks."""
    width = most / 20
    return [width * step for step in range(22)]
