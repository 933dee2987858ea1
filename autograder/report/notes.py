"""Grading notes: what a grading step did to a submission that its student and instructor should know about.

nbgrader runs its steps in the grader's own process, inside `autograde`; a step reports a note with add_note and
the grader takes the notes of a submission when its autograde returns. Notes are never read back from nbgrader's
log, which also carries text that a submission printed. Each note is one line, of bounded length, with every
invisible character shown as its escape (autograder/report/inert.py), so that a note can neither be forged nor play
tricks on a terminal or spreadsheet.
"""

import logging

from autograder.report.inert import inert

NOTE_LIMIT = 400
_notes: list[str] = []


def add_note(log: logging.Logger, message: str) -> None:
    """Report one note about the submission being graded (and log it)."""
    note = inert(message, NOTE_LIMIT)
    _notes.append(note)
    log.warning("Grading note: %s", note)


def take_notes() -> list[str]:
    """The notes reported since the last call, in order and without repeats; they are forgotten."""
    notes = list(dict.fromkeys(_notes))
    _notes.clear()
    return notes
