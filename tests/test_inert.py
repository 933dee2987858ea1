"""What a submission names or says is inert wherever the grader shows it: the terminal, notes, the CSV files."""

import csv

from autograder.__main__ import summary
from autograder.grading.results import GradingRun, StudentResult
from autograder.report.export import write_canvas_csv, write_csv
from autograder.report.inert import inert
from autograder.report.notes import add_note, take_notes

FORGED = "x\x1b[2J\x1b[H\rGraded 4 of 4 submissions: all 100 of 100\u202e001/0\u2066\u200b\x85\u2028end"
SHOWN = "x\\x1b[2J\\x1b[H\\rGraded 4 of 4 submissions: all 100 of 100\\u202e001/0\\u2066\\u200b\\x85\\u2028end"


def test_every_invisible_character_is_shown_as_its_escape() -> None:
    assert inert(FORGED) == SHOWN
    assert inert("Zoë 山田 naïve 🙂") == "Zoë 山田 naïve 🙂", "visible text of any script stays as it is"
    assert inert("tab\there\nsurrogate \udce9, private \ue000, unassigned \U000e0fff") == (
        "tab\\there\\nsurrogate \\udce9, private \\ue000, unassigned \\U000e0fff"
    )
    blanks = "no\u00a0break, ideographic\u3000, filler\u3164, selector\ufe0f, braille\u2800, joiner\u034f"
    assert inert(blanks) == blanks.encode("unicode_escape").decode().replace("\\u00a0", "\\xa0")


def test_a_cut_never_splits_an_escape() -> None:
    assert inert("abc\x1bdef", 5) == "abc" and inert("abc\x1bdef", 8) == "abc\\x1bd"


def test_the_terminal_summary_and_notes_show_names_inert(tmp_path) -> None:
    add_note_log = type("Log", (), {"warning": lambda *args: None})()
    add_note(add_note_log, f"graded {FORGED}")
    run = GradingRun(tmp_path, [StudentResult("alice", 100, 100, notes=take_notes())], skipped=[FORGED])
    shown = summary(run)
    assert "\x1b" not in shown and "\u202e" not in shown and "\r" not in shown and "\u2028" not in shown
    assert f"  alice: graded {SHOWN}" in shown and f"belong to no student: {SHOWN}" in shown


def test_csv_files_hold_names_inert_and_no_formula(tmp_path) -> None:
    rows = [
        {
            "assignment": "a",
            "student_id": "s",
            "name": f"=cmd|{FORGED}",
            "lms_user_id": "7",
            "score": 1.0,
            "max_score": 2.0,
            "note": FORGED,
        }
    ]
    write_csv(tmp_path / "grades.csv", ["student_id", "name", "note"], rows)
    write_canvas_csv(tmp_path / "canvas.csv", rows)
    with (tmp_path / "grades.csv").open() as file:
        assert list(csv.DictReader(file)) == [{"student_id": "s", "name": f"'=cmd|{SHOWN}", "note": SHOWN}]
    text = (tmp_path / "canvas.csv").read_text()
    assert "\x1b" not in text and "\u202e" not in text and f"'=cmd|{SHOWN}" in text
