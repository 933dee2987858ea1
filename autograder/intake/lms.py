"""The names that learning-management systems give the entries of a "download all submissions" zip, and
Blackboard's receipts.

Canvas, Moodle and Blackboard each encode the student, and for Canvas and Blackboard the attempt, in the name of
every file or folder at the root of their download. Recognising those names here keeps submissions.py about
folders, zips and limits. Nothing in this module reads a file: it is given names, and the text of receipts.
"""

import os
import re
from dataclasses import dataclass, field

CANVAS, MOODLE, BLACKBOARD = "canvas", "moodle", "blackboard"

# <sortable name>[_LATE]_<user id>_<submission id>_<file>; Canvas adds -1, -2 ... to a file uploaded again.
_CANVAS = re.compile(r"(?P<name>[a-z0-9]*)(?P<late>_LATE)?_(?P<user>\d+)_(?P<attempt>\d+)_(?P<file>.+)")
_CANVAS_AGAIN = re.compile(r"(?P<stem>.+)-(?P<again>\d+)(?P<ext>\.[^.]+)?")
# <full name>_<participant id>_assignsubmission_<plugin>_: a folder, or followed by the file's name when flat.
# Moodle writes underscores in names as spaces, so the first such group is the one.
_MOODLE = re.compile(r"(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)")
# <assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>, or .txt for the attempt's receipt. The student
# names <file>, which may itself look like "x_attempt_<date>.txt": the first "_attempt_<date>" is Blackboard's.
_BLACKBOARD = re.compile(r"(?P<prefix>.+?)_attempt_(?P<date>\d{4}(?:-\d\d){5})(?:_(?P<file>.+)|(?P<receipt>\.txt))")
MAX_NAME = 255  # characters of an LMS's entry name: none is longer, and a crafted longer one is no LMS's


@dataclass(frozen=True)
class LmsEntry:
    """What an LMS says about one entry at the root of its download."""

    lms: str
    user_id: str  # Blackboard: "" here, the username is found batch-wide (blackboard_usernames)
    name: str  # the student's name as the entry spells it ("" for Blackboard)
    student: str  # what the student id is made from ("" for Blackboard, whose id is the username)
    file: str = ""  # the student's own name of the file; "" for a folder or a receipt
    attempt: tuple[int | str, ...] = ()  # orders one student's attempts, oldest first
    late: bool = False
    holds_submission: bool = True  # False for Moodle's online-text entries, which never hold a notebook
    prefix: str = ""  # Blackboard: "<assignment>_<username>"
    receipt: bool = False  # Blackboard: the attempt's receipt


@dataclass(frozen=True)
class Receipt:
    """What a Blackboard receipt says: the student, and the student's name of each stored file."""

    name: str = ""
    username: str = ""
    originals: dict[str, str] = field(default_factory=dict)  # stored file name -> the student's file name


def recognise(name: str, is_folder: bool) -> LmsEntry | None:
    """The LMS entry this root file or folder name is, or None if it follows no LMS's pattern. A name longer than
    any LMS writes is none of theirs (and the patterns, which a crafted name could make work hard, never see it)."""
    if len(name) > MAX_NAME:
        return None
    if found := _MOODLE.fullmatch(name):
        if is_folder == bool(found["file"]):
            return None
        user = found["user"]
        return LmsEntry(
            MOODLE,
            user,
            found["name"],
            f"{found['name']}_{user}".replace(" ", "_"),
            file=found["file"],
            holds_submission=found["plugin"] == "file",
        )
    if is_folder:
        return None
    if found := _BLACKBOARD.fullmatch(name):
        return LmsEntry(
            BLACKBOARD,
            "",
            "",
            "",
            file=found["file"] or "",
            attempt=(found["date"],),
            prefix=found["prefix"],
            receipt=bool(found["receipt"]),
        )
    if found := _CANVAS.fullmatch(name):
        file, again = found["file"], 0
        if resubmitted := _CANVAS_AGAIN.fullmatch(file):
            file, again = resubmitted["stem"] + (resubmitted["ext"] or ""), int(resubmitted["again"])
        return LmsEntry(
            CANVAS,
            found["user"],
            found["name"],
            f"{found['name']}_{found['user']}",
            file=file,
            attempt=(int(found["attempt"]), again),
            late=bool(found["late"]),
        )
    return None


def parse_receipt(text: str) -> Receipt:
    """The student ("Name: Jane Doe (jdoe)") and the "Original filename:" of each "Filename:" of a receipt. Read
    line by line with string methods, in time linear in the receipt's length, whatever it holds."""
    name = username = original = ""
    originals = {}
    for line in map(str.strip, text.splitlines()):
        key, _, value = line.partition(":")
        if key == "Name" and not username and value.endswith(")") and "(" in value:
            full_name, _, inside = value[:-1].rpartition("(")
            if ")" not in inside:
                name, username = full_name.strip(), inside.strip()
        elif key == "Original filename":
            original = value.strip()
        elif key == "Filename" and original:
            originals[value.strip()] = original
            original = ""
    return Receipt(name, username, originals)


def blackboard_usernames(prefixes: set[str], known: dict[str, str]) -> dict[str, str]:
    """The username in each "<assignment>_<username>" prefix; known: the usernames receipts give, by prefix.

    Assignment names and usernames may both hold underscores, so a prefix alone is ambiguous. A receipt settles
    its own prefix and reveals the assignment name, which splits the others; failing that, the part that all the
    prefixes of the batch share is the assignment's; failing that (a single student), the last underscore splits.
    """
    assignments = {p[: -len(u) - 1] for p, u in known.items() if p.endswith(f"_{u}")}
    # Names, not paths: the characters they share is what is wanted.
    shared = os.path.commonprefix(sorted(prefixes)) if len(prefixes) > 1 else ""  # noqa: RUF071
    shared = shared[: shared.rfind("_") + 1]
    usernames = {}
    for prefix in prefixes:
        assignment = _longest_known(prefix, assignments)
        if prefix in known:
            usernames[prefix] = known[prefix]
        elif assignment is not None:
            usernames[prefix] = prefix[len(assignment) + 1 :]
        else:
            usernames[prefix] = prefix[len(shared) :] if shared else prefix.rpartition("_")[2]
    return usernames


def _longest_known(prefix: str, assignments: set[str]) -> str | None:
    """The longest of assignments that prefix starts with, followed by "_": a look-up per underscore of prefix, so
    that a batch of many receipts naming many assignments is read in linear time."""
    position = len(prefix)
    while (position := prefix.rfind("_", 0, position)) >= 0:
        if prefix[:position] in assignments:
            return prefix[:position]
    return None
