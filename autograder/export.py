"""nbgrader export plugin: one CSV row per student, with a column per graded cell and a note on problems."""

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Dict, Unicode


class PerCellCsvExportPlugin(ExportPlugin):
    """Like nbgrader's CSV export, plus each graded cell's score (by grade_id) and why a submission got 0."""

    notes = Dict(Unicode(), help="A note per student id, e.g. why the submission could not be graded").tag(config=True)

    def export(self, gradebook: Gradebook) -> None:
        destination = Path(self.to or "grades.csv")
        assignments = [a for a in gradebook.assignments if not self.assignment or a.name in self.assignment]
        students = [s for s in gradebook.students if not self.student or s.id in self.student]
        cell_names = [cell.name for a in assignments for nb in a.notebooks for cell in nb.grade_cells]
        header = ["assignment", "student_id", "score", "max_score", *cell_names, "note"]
        with destination.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
            for assignment in assignments:
                for student in students:
                    writer.writerow(self._row(gradebook, assignment, student.id, cell_names))
        self.log.info("Exported grades of %d students to %s", len(students), destination)

    def _row(self, gradebook: Gradebook, assignment, student_id: str, cell_names: list[str]) -> dict:
        row = {"assignment": assignment.name, "student_id": student_id, "max_score": assignment.max_score}
        row.update(dict.fromkeys(cell_names, 0.0), score=0.0, note=self.notes.get(student_id, ""))
        try:
            submission = gradebook.find_submission(assignment.name, student_id)
        except MissingEntry:
            row["note"] = row["note"] or "no submission"
            return row
        row["score"] = submission.score
        for notebook in submission.notebooks:
            row.update({grade.name: grade.score for grade in notebook.grades if grade.name in row})
        return row
