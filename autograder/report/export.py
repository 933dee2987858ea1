"""nbgrader export plugin: one CSV row per student, with a column per graded cell and notes on what happened; and
the same scores in the CSV that Canvas's gradebook imports. A submission the grader could not grade has empty
scores, not 0.

Every text cell is made safe for spreadsheets and for whoever reads them: its invisible characters are escaped
(autograder/report/inert.py), and a value that begins with `=`, `+`, `-` or `@` would run as a formula in Excel,
LibreOffice or Google Sheets, so it gets a leading apostrophe, as OWASP advises.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Dict, Unicode

from autograder.report.inert import inert

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class StudentRecord:
    """What the grader knows about a student besides the gradebook: the LMS identity and the notes."""

    note: str = ""
    graded: bool = True  # False: the grader could not grade it, and its scores are left empty
    lms: str = ""
    lms_user_id: str = ""
    name: str = ""


def spreadsheet_safe(value: object) -> object:
    """value, its invisible characters escaped and with a leading apostrophe if it is text that a spreadsheet would
    read as a formula."""
    if not isinstance(value, str):
        return value
    value = inert(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class PerCellCsvExportPlugin(ExportPlugin):
    """Like nbgrader's CSV export, plus each graded cell's score (by grade_id), the LMS identity and the notes."""

    records = Dict(help="A StudentRecord per student id")
    canvas_to = Unicode("", help="Also write Canvas's gradebook import CSV here, for students from a Canvas download")
    canvas_column = Unicode(
        "", help="The Canvas assignment the import fills, 'Title (ID)' as Canvas's export names it (default: the name)"
    )

    def export(self, gradebook: Gradebook) -> None:
        destination = Path(self.to or "grades.csv")
        assignments = [a for a in gradebook.assignments if not self.assignment or a.name in self.assignment]
        students = [s for s in gradebook.students if not self.student or s.id in self.student]
        cell_names = [cell.name for a in assignments for nb in a.notebooks for cell in nb.grade_cells]
        header = ["assignment", "student_id", "name", "lms", "lms_user_id", "score", "max_score", *cell_names, "note"]
        rows = [
            self._row(gradebook, assignment, student.id, cell_names)
            for assignment in assignments
            for student in students
        ]
        write_csv(destination, header, rows)
        self.log.info("Exported grades of %d students to %s", len(students), destination)
        if self.canvas_to:
            rows_of_canvas = [row for row in rows if row["lms"] == "canvas"]
            write_canvas_csv(Path(self.canvas_to), rows_of_canvas, self.canvas_column)

    def _row(self, gradebook: Gradebook, assignment, student_id: str, cell_names: list[str]) -> dict:
        record = self.records.get(student_id, StudentRecord())
        row = {"assignment": assignment.name, "student_id": student_id, "max_score": assignment.max_score}
        row.update(name=record.name, lms=record.lms, lms_user_id=record.lms_user_id, note=record.note)
        row.update(dict.fromkeys(cell_names, 0.0), score=0.0)
        if not record.graded:  # no score at all, not 0: an import leaves the LMS's grade as it is
            row.update(dict.fromkeys(cell_names, ""), score="")
            return row
        try:
            submission = gradebook.find_submission(assignment.name, student_id)
        except MissingEntry:
            row["note"] = row["note"] or "no submission"
            return row
        row["score"] = submission.score
        for notebook in submission.notebooks:
            row.update({grade.name: grade.score for grade in notebook.grades if grade.name in row})
        return row


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})


def write_canvas_csv(path: Path, rows: list[dict], column: str = "") -> None:
    """Canvas's gradebook import: Student, ID (Canvas's user id), SIS columns left empty, one assignment column,
    and the 'Points Possible' row Canvas itself exports. Canvas matches students by ID, and the assignment by the ID
    in its column's name, "Title (ID)", as its own export writes it: a column without one becomes a new assignment
    on import."""
    if not rows:
        return
    assignment = column or rows[0]["assignment"]
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]
    points = {"Student": "Points Possible", assignment: rows[0]["max_score"]}
    students = [
        {"Student": row["name"] or row["student_id"], "ID": row["lms_user_id"], assignment: row["score"]}
        for row in rows
    ]
    write_csv(path, header, [points, *students])


CANVAS_COLUMN = re.compile(r".+ \(\d+\)")


def canvas_column(text: str) -> str:
    """text, the Canvas assignment to fill as Canvas's gradebook export names its column; ValueError otherwise."""
    if not CANVAS_COLUMN.fullmatch(text):
        raise ValueError(
            f"--canvas-assignment {text!r}: expected the assignment's column as Canvas's gradebook export names it, "
            "'Title (ID)', for example 'Serving ResNet (123456)'"
        )
    return text
