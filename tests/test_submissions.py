"""Reading a batch of submissions: every layout an instructor downloads or assembles, and every odd entry one
student can bring, must end as that student's outcome (or one clear error for a batch that is no batch)."""

import os
import re
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from autograder.intake import lms
from autograder.intake.submissions import (
    SAFE_ID,
    Batch,
    Submission,
    SubmissionLimits,
    SubmissionsError,
    read_batch,
    read_submissions,
)
from tests.helpers import hashed_id

NB = "serving_keras_resnet.ipynb"
SMALL = SubmissionLimits(max_notebook_bytes=1000)
BIG = 10 * 2**20 + 1  # bytes of zeros: a few KB once deflated


def write_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def by_id(submissions: list[Submission]) -> dict[str, Submission]:
    return {submission.student_id: submission for submission in submissions}


def graded(source: str, notes: list[str] | None = None, **fields: str) -> Submission:
    """What a readable notebook becomes: its bytes are its path, as the tests write them."""
    student_id = fields.pop("student_id", source.split("/")[0])
    return Submission(student_id, source.encode(), notes=notes or [], source=source, **fields)


def renamed(student_id: str, basis: str) -> str:
    return f"student id {student_id}: {basis!r} is not a safe folder name ({SAFE_ID})"


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The zip entries and files that were opened for reading."""
    names: list[str] = []
    zip_open, os_open = zipfile.ZipFile.open, os.open

    def open_entry(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return zip_open(self, name, mode, *args, **kwargs)

    def open_file(path, flags, *args, **kwargs):
        if flags & os.O_ACCMODE == os.O_RDONLY:
            names.append(Path(path).name)
        return os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_entry)
    monkeypatch.setattr(os, "open", open_file)
    return names


# Plain folders of student folders


def test_plain_folder_gives_each_student_their_notebook(tmp_path) -> None:
    folder = write_folder(tmp_path / "submissions", {f"{s}/{NB}": f"{s}/{NB}".encode() for s in ("alice", "bob")})
    assert read_batch(folder, NB) == Batch([graded(f"alice/{NB}"), graded(f"bob/{NB}")], skipped=[])


def test_zip_of_a_folder_is_read_through_its_wrapper(tmp_path) -> None:
    entries = [(f"submissions/{s}/{NB}", f"submissions/{s}/{NB}".encode()) for s in ("alice", "bob")]
    archive = write_zip(tmp_path / "export.zip", [("submissions/", b""), *entries])
    assert read_submissions(archive, NB) == [
        graded(f"submissions/alice/{NB}", student_id="alice"),
        graded(f"submissions/bob/{NB}", student_id="bob"),
    ]


def test_nested_folders_never_create_students(tmp_path) -> None:
    archive = write_zip(tmp_path / "one.zip", [(f"alice/carol/{NB}", f"alice/carol/{NB}".encode())])
    note = f"graded carol/{NB}, which is in a subfolder"
    assert read_submissions(archive, NB) == [graded(f"alice/carol/{NB}", [note])]


def test_a_folder_named_like_a_student_inside_another_belongs_to_the_outer_one(tmp_path) -> None:
    archive = write_zip(tmp_path / "b.zip", [(f"alice/bob/{NB}", f"alice/bob/{NB}".encode()), (f"bob/{NB}", b"")])
    submissions = by_id(read_submissions(archive, NB))
    assert submissions["alice"] == graded(f"alice/bob/{NB}", [f"graded bob/{NB}, which is in a subfolder"])
    assert submissions["bob"] == Submission("bob", b"", source=f"bob/{NB}")


def test_the_shallowest_notebook_is_graded_and_a_tie_is_a_problem(tmp_path) -> None:
    folder = write_folder(
        tmp_path / "s",
        {f"alice/{NB}": f"alice/{NB}".encode(), f"alice/old/{NB}": b"old", f"bob/a/{NB}": b"", f"bob/b/{NB}": b""},
    )
    submissions = by_id(read_submissions(folder, NB))
    assert submissions["alice"] == graded(f"alice/{NB}")
    problem = f"2 files could be {NB} (a/{NB}, b/{NB}): expected one"
    assert submissions["bob"] == Submission("bob", None, problem)


@pytest.mark.parametrize(
    "name",
    [
        "serving_keras_resnet (1).ipynb",
        "serving_keras_resnet-1.ipynb",
        "Serving_Keras_Resnet.ipynb",
        "serving_keras_resnet - Copy.ipynb",
        "Copy of serving_keras_resnet.ipynb",
    ],
)
def test_one_download_or_copy_of_the_notebook_is_accepted_with_a_note(tmp_path, name: str) -> None:
    folder = write_folder(tmp_path / "s", {f"alice/{name}": f"alice/{name}".encode(), "alice/data.csv": b""})
    assert read_submissions(folder, NB) == [graded(f"alice/{name}", [f"graded {name}: expected the name {NB}"])]


def test_the_exact_name_wins_over_a_copy_or_another_case_at_any_depth(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "c.zip",
        [
            (f"alice/{NB}", f"alice/{NB}".encode()),
            ("alice/Serving_Keras_Resnet.ipynb", b""),
            ("bob/serving_keras_resnet (1).ipynb", b""),
            (f"bob/deep/{NB}", f"bob/deep/{NB}".encode()),
        ],
    )
    assert read_submissions(archive, NB) == [
        graded(f"alice/{NB}"),
        graded(f"bob/deep/{NB}", [f"graded deep/{NB}, which is in a subfolder"]),
    ]


def test_without_a_notebook_the_problem_lists_what_was_found(tmp_path) -> None:
    files = {"alice/homework.ipynb": b"", "alice/data.csv": b"", **{f"bob/f{i:02}.txt": b"" for i in range(12)}}
    submissions = by_id(read_submissions(write_folder(tmp_path / "s", files), NB))
    assert submissions["alice"] == Submission("alice", None, f"no {NB} (found data.csv, homework.ipynb)")
    listed = ", ".join(f"f{i:02}.txt" for i in range(10))
    assert submissions["bob"] == Submission("bob", None, f"no {NB} (found {listed} and 2 more)")


def test_problems_and_notes_stay_on_one_line_whatever_the_names(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "n.zip",
        [("alice/notes\n.txt", b""), (f"bob/two\nlines/{NB}", f"bob/two\nlines/{NB}".encode())],
    )
    assert read_submissions(archive, NB) == [
        Submission("alice", None, f"no {NB} (found notes\\n.txt)"),
        graded(f"bob/two\nlines/{NB}", [f"graded two\\nlines/{NB}, which is in a subfolder"]),
    ]


def test_archives_are_never_opened(tmp_path, opened) -> None:
    archive = write_zip(
        tmp_path / "a.zip",
        [
            (f"alice/{NB}", f"alice/{NB}".encode()),
            ("alice/data.csv.gz", b"\x1f\x8b not opened"),
            ("bob/serving_keras_resnet.zip", b"PK not opened"),
        ],
    )
    submissions = by_id(read_submissions(archive, NB))
    assert submissions["alice"] == graded(
        f"alice/{NB}", ["did not open data.csv.gz: archives inside a submission are not opened"]
    )
    problem = f"no {NB} (found serving_keras_resnet.zip); archives inside a submission are not opened: hand in the "
    assert submissions["bob"] == Submission("bob", None, problem + ".ipynb itself")
    assert opened == [f"alice/{NB}"]


def test_an_empty_student_folder_is_that_students_problem(tmp_path) -> None:
    folder = write_folder(tmp_path / "s", {f"alice/{NB}": f"alice/{NB}".encode(), "bob/.DS_Store": b""})
    (folder / "carol").mkdir()
    archive = write_zip(tmp_path / "e.zip", [(f"alice/{NB}", f"alice/{NB}".encode()), ("bob/", b""), ("carol/", b"")])
    empty = f"empty folder: expected {NB}"
    for batch in (folder, archive):
        expected = [graded(f"alice/{NB}"), Submission("bob", None, empty), Submission("carol", None, empty)]
        assert read_submissions(batch, NB) == expected


def test_hidden_files_and_macos_forks_are_ignored(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "h.zip",
        [
            (f"__MACOSX/submissions/alice/._{NB}", b""),
            (f"submissions/alice/{NB}", f"submissions/alice/{NB}".encode()),
            ("submissions/alice/.DS_Store", b""),
            (f"submissions/alice/.ipynb_checkpoints/{NB}", b""),
            (f"submissions/.hidden/{NB}", b""),
            (f"submissions/bob/{NB}", f"submissions/bob/{NB}".encode()),
            ("submissions/.DS_Store", b""),
        ],
    )
    assert read_batch(archive, NB) == Batch(
        [graded(f"submissions/alice/{NB}", student_id="alice"), graded(f"submissions/bob/{NB}", student_id="bob")],
        skipped=[],
    )


def test_a_file_and_a_folder_with_the_same_name(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "f.zip",
        [("alice", b"a file"), (f"alice/{NB}", f"alice/{NB}".encode()), (f"bob/{NB}/{NB}", f"bob/{NB}/{NB}".encode())],
    )
    batch = read_batch(archive, NB)
    assert batch.skipped == ["alice"]
    assert batch.submissions == [
        graded(f"alice/{NB}"),
        graded(f"bob/{NB}/{NB}", [f"graded {NB}/{NB}, which is in a subfolder"]),
    ]


def test_of_duplicate_zip_entries_the_last_is_graded(tmp_path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = write_zip(tmp_path / "d.zip", [(f"alice/{NB}", b"first"), (f"alice/{NB}", f"alice/{NB}".encode())])
    note = f"the zip holds alice/{NB} 2 times: graded the last"
    assert read_submissions(archive, NB) == [graded(f"alice/{NB}", [note])]


def test_backslashes_separate_folders(tmp_path) -> None:
    archive = write_zip(tmp_path / "w.zip", [(f"alice\\{NB}", b"alice"), (f"bob\\sub\\{NB}", b"bob")])
    assert read_submissions(archive, NB) == [
        Submission("alice", b"alice", source=f"alice\\{NB}"),
        Submission("bob", b"bob", notes=[f"graded sub/{NB}, which is in a subfolder"], source=f"bob\\sub\\{NB}"),
    ]


def test_absolute_climbing_and_nul_names_are_ignored_with_a_note(tmp_path, opened) -> None:
    archive = write_zip(
        tmp_path / "u.zip",
        [
            (f"alice/{NB}", f"alice/{NB}".encode()),
            ("alice/../../evil.ipynb", b""),
            (f"alice/sub/..\\..\\{NB}", b""),
            ("alice/nulXname.ipynb", b""),
            ("/etc/passwd", b""),
            (f"../{NB}", b""),
            (f"C:/Users/{NB}", b""),
        ],
    )
    archive.write_bytes(archive.read_bytes().replace(b"nulXname", b"nul\0name"))
    assert read_batch(archive, NB) == Batch(
        [
            graded(
                f"alice/{NB}",
                [
                    f"ignored {name!r}: absolute paths, '..' and NUL are not allowed in names"
                    for name in ("alice/../../evil.ipynb", f"alice/sub/..\\..\\{NB}", "alice/nul\0name.ipynb")
                ],
            )
        ],
        skipped=[],
    )
    assert opened == [f"alice/{NB}"]


def never_read(student: str, kind: str) -> Submission:
    """The submission of a student whose notebook is a link or a special file."""
    return Submission(
        student, None, f"{NB} is a {kind}, which is never read: hand in the file itself", source=f"{student}/{NB}"
    )


def test_symbolic_links_in_a_zip_are_never_read(tmp_path, opened) -> None:
    archive = write_zip(
        tmp_path / "l.zip",
        [
            (symlink_info(f"alice/{NB}"), b"/etc/passwd"),
            (f"bob/{NB}", f"bob/{NB}".encode()),
            (symlink_info("bob/passwd"), b"/etc/passwd"),
        ],
    )
    assert read_submissions(archive, NB) == [never_read("alice", "symbolic link"), graded(f"bob/{NB}")]
    assert opened == [f"bob/{NB}"]


def test_symbolic_links_and_special_files_in_a_folder_are_never_followed_or_read(tmp_path, opened) -> None:
    outside = write_folder(tmp_path / "outside", {f"{NB}": b"not a submission"})
    folder = write_folder(tmp_path / "s", {f"bob/{NB}": f"bob/{NB}".encode()})
    (folder / "alice").mkdir()
    os.symlink("/etc/passwd", folder / "alice" / NB)
    os.symlink("/etc/passwd", folder / "bob" / "passwd.ipynb")
    os.symlink(outside, folder / "carol")
    (folder / "dave").mkdir()
    os.mkfifo(folder / "dave" / NB)  # opening it for reading would wait forever for a writer
    batch = read_batch(folder, NB)
    assert batch == Batch(
        [
            never_read("alice", "symbolic link"),
            graded(f"bob/{NB}"),
            never_read("dave", "special file"),
        ],
        skipped=["carol"],
    )
    assert opened == [NB]


def test_unsafe_and_colliding_ids_are_made_safe_and_unique(tmp_path) -> None:
    names = ["John Smith", "John_Smith", '=HYPERLINK("x")', "Alice", "alice", "x" * 150, "bell\x07"]
    folder = write_folder(tmp_path / "s", {f"{name}/{NB}": name.encode() for name in names})
    submissions = read_submissions(folder, NB)
    ids = {submission.notebook.decode(): submission.student_id for submission in submissions}
    hashed = {
        name: re.fullmatch(rf"({re.escape(safe)})-[0-9a-f]{{8}}", ids[name])
        for name, safe in [
            ("John Smith", "John_Smith"),
            ('=HYPERLINK("x")', "=HYPERLINK__x__"),
            ("alice", "alice"),
            ("x" * 150, "x" * 91),
            ("bell\x07", "bell_"),
        ]
    }
    assert all(hashed.values()), ids
    assert (ids["John_Smith"], ids["Alice"]) == ("John_Smith", "Alice")
    notes = {submission.notebook: submission.notes for submission in submissions}
    assert notes == {
        b"John Smith": [renamed(ids["John Smith"], "John Smith")],
        b"John_Smith": [],
        b'=HYPERLINK("x")': [renamed(ids['=HYPERLINK("x")'], '=HYPERLINK("x")')],
        b"Alice": [],
        b"alice": [f"student id {ids['alice']}: another student has the id alice"],
        b"x" * 150: [renamed(ids["x" * 150], "x" * 150)],
        b"bell\x07": [renamed(ids["bell\x07"], "bell\x07")],
    }
    assert read_submissions(folder, NB) == submissions, "ids are stable from one reading to the next"

    # An unsafe name's id is its own, whoever else a download holds: the same without John_Smith.
    alone = write_folder(tmp_path / "alone", {f"John Smith/{NB}": b"John Smith"})
    assert [submission.student_id for submission in read_submissions(alone, NB)] == [ids["John Smith"]]

    # A student whose own name is the hashed id keeps it; the renamed student gets one more suffix.
    john = ids["John Smith"]
    write_folder(folder, {f"{john}/{NB}": b"squatter"})
    again = {submission.notebook: submission.student_id for submission in read_submissions(folder, NB)}
    assert (again[b"squatter"], again[b"John Smith"]) == (john, f"{john}-3")


def test_a_slash_in_a_zip_name_separates_folders_and_never_reaches_an_id(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "n.zip", [(f"John Smith/{NB}", b"1"), (f"john/smith/{NB}", b"2"), (f"dot./{NB}", b"3")]
    )
    submissions = read_submissions(archive, NB)
    assert [(s.student_id, s.notebook, s.notes) for s in submissions] == [
        (hashed_id("John_Smith", "John Smith"), b"1", [renamed(hashed_id("John_Smith", "John Smith"), "John Smith")]),
        ("dot.", b"3", []),
        ("john", b"2", [f"graded smith/{NB}, which is in a subfolder"]),
    ]


# Downloads from learning-management systems


@pytest.mark.parametrize(
    ("name", "is_folder", "expected"),
    [
        (f"smithjohn_12345_6789012_{NB}", False, ("canvas", "12345", "smithjohn_12345", NB, (6789012, 0), False)),
        (f"doejane_LATE_23456_7890123_{NB}", False, ("canvas", "23456", "doejane_23456", NB, (7890123, 0), True)),
        (
            "leeann_34567_9012345_serving_keras_resnet-2.ipynb",
            False,
            ("canvas", "34567", "leeann_34567", NB, (9012345, 2), False),
        ),
        ("John Smith_123456_assignsubmission_file_", True, ("moodle", "123456", "John_Smith_123456", "", (), False)),
        (
            f"John Smith_123456_assignsubmission_file_{NB}",
            False,
            ("moodle", "123456", "John_Smith_123456", NB, (), False),
        ),
        ("John Smith_123456_assignsubmission_file_extra", True, None),  # a folder never has a file's name part
        ("John Smith_123456_assignsubmission_file_", False, None),
        (
            f"HW 1_j_doe_attempt_2024-03-04-22-15-30_{NB}",
            False,
            ("blackboard", "", "", NB, ("2024-03-04-22-15-30",), False),
        ),
        (
            "HW 1_j_doe_attempt_2024-03-04-22-15-30.txt",
            False,
            ("blackboard", "", "", "", ("2024-03-04-22-15-30",), False),
        ),
        (f"smithjohn_12345_6789012_{NB}", True, None),
        (NB, False, None),
        ("Smith_12345_6789012_x.ipynb", False, None),  # Canvas's sortable names are lowercase
    ],
)
def test_lms_entry_names(name: str, is_folder: bool, expected: tuple | None) -> None:
    found = lms.recognise(name, is_folder)
    fields = found and (found.lms, found.user_id, found.student, found.file, found.attempt, found.late)
    assert fields == expected


def test_blackboard_usernames_split_prefixes_by_what_the_batch_reveals() -> None:
    # A receipt reveals the assignment "HW_1", which splits a username holding an underscore.
    assert lms.blackboard_usernames({"HW_1_jdoe", "HW_1_a_b"}, {"HW_1_jdoe": "jdoe"}) == {
        "HW_1_jdoe": "jdoe",
        "HW_1_a_b": "a_b",
    }
    # Without receipts, the assignment is what all prefixes share; for a single prefix, the last underscore splits.
    assert lms.blackboard_usernames({"HW_1_jdoe", "HW_1_jdoe2"}, {}) == {"HW_1_jdoe": "jdoe", "HW_1_jdoe2": "jdoe2"}
    assert lms.blackboard_usernames({"Lab_3_jdoe"}, {}) == {"Lab_3_jdoe": "jdoe"}
    # Of two assignment names receipts reveal, the longer one that a prefix starts with splits it.
    known = {"HW_jdoe": "jdoe", "HW_1_amy": "amy"}
    assert lms.blackboard_usernames({*known, "HW_1_a_b"}, known) == {
        "HW_jdoe": "jdoe",
        "HW_1_amy": "amy",
        "HW_1_a_b": "a_b",
    }


def test_canvas_download(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "canvas_download.zip",
        [
            (f"smithjohn_12345_6789012_{NB}", b"smith"),
            (f"doejane_LATE_23456_7890123_{NB}", b"doe"),
            (f"leeann_34567_8901234_{NB}", b"lee first"),
            ("leeann_34567_9012345_serving_keras_resnet-1.ipynb", b"lee second"),
            ("leeann_34567_9012346_data-1.csv", b""),
            ("brownbob_45678_1111111_homework.ipynb", b""),
            ("README.txt", b"the instructor's own notes"),
        ],
    )
    batch = read_batch(archive, NB)
    assert batch.skipped == ["README.txt"]
    canvas = {"lms": "canvas"}
    assert batch.submissions == [
        Submission(
            "brownbob_45678", None, f"no {NB} (found homework.ipynb)", lms_user_id="45678", name="brownbob", **canvas
        ),
        Submission(
            "doejane_23456",
            b"doe",
            notes=["submitted late: the graded attempt is marked LATE"],
            lms_user_id="23456",
            name="doejane",
            source=f"doejane_LATE_23456_7890123_{NB}",
            **canvas,
        ),
        Submission(
            "leeann_34567",
            b"lee second",
            notes=["found 2 attempts: graded the newest, leeann_34567_9012345_serving_keras_resnet-1.ipynb"],
            lms_user_id="34567",
            name="leeann",
            source="leeann_34567_9012345_serving_keras_resnet-1.ipynb",
            **canvas,
        ),
        Submission(
            "smithjohn_12345",
            b"smith",
            lms_user_id="12345",
            name="smithjohn",
            source=f"smithjohn_12345_6789012_{NB}",
            **canvas,
        ),
    ]


def test_canvas_download_in_a_wrapper_folder_is_read_through_it(tmp_path) -> None:
    archive = write_zip(tmp_path / "w.zip", [(f"course/smithjohn_12345_6789012_{NB}", b"smith")])
    (submission,) = read_submissions(archive, NB)
    assert (submission.student_id, submission.notebook, submission.lms) == ("smithjohn_12345", b"smith", "canvas")


def receipt(name: str, username: str, stored: dict[str, str]) -> bytes:
    """A Blackboard receipt, as the Grade Center's "Assignment File Download" writes one per attempt."""
    files = "".join(f"\tOriginal filename: {original}\n\tFilename: {name}\n" for name, original in stored.items())
    return (
        f"Name: {name} ({username})\n"
        "Assignment: Serving Keras ResNet_v2\n"
        "Date Submitted: Monday, March 4, 2024 10:15:30 PM EST\n"
        "Current Grade: Needs Grading\n\n"
        "Submission Field:\nThere is no student submission text data for this assignment.\n\n"
        "Comments:\nThere are no student comments for this assignment.\n\n"
        f"Files:\n{files}"
    ).encode()


def test_blackboard_download_with_receipts(tmp_path) -> None:
    assignment = "Serving Keras ResNet_v2"
    first, second = f"{assignment}_jdoe_attempt_2024-03-01-10-00-00", f"{assignment}_jdoe_attempt_2024-03-04-22-15-30"
    smith = f"{assignment}_a_smith_attempt_2024-03-02-09-30-00"
    stored = f"{second}_serving_keras_resnet_1.ipynb"  # the receipt gives the student's own name of it
    archive = write_zip(
        tmp_path / "gradebook.zip",
        [
            (f"{first}.txt", receipt("Jane Doe", "jdoe", {f"{first}_{NB}": NB})),
            (f"{first}_{NB}", b"jane first"),
            (f"{second}.txt", receipt("Jane Doe", "jdoe", {stored: NB, f"{second}_notes.txt": "notes.txt"})),
            (stored, b"jane second"),
            (f"{second}_notes.txt", b""),
            (f"{smith}_{NB}", b"smith"),
            ("odd/x/receipt.txt", b""),
        ],
    )
    blackboard = {"lms": "blackboard"}
    assert read_batch(archive, NB) == Batch(
        [
            Submission(
                "a_smith",
                b"smith",
                notes=["no Blackboard receipt names this student: the username a_smith is from file names"],
                lms_user_id="a_smith",
                source=f"{smith}_{NB}",
                **blackboard,
            ),
            Submission(
                "jdoe",
                b"jane second",
                notes=[f"found 2 attempts: graded the newest, {stored}"],
                lms_user_id="jdoe",
                name="Jane Doe",
                source=stored,
                **blackboard,
            ),
            Submission("odd", None, f"no {NB} (found x/receipt.txt)"),
        ],
        skipped=[],
    )


def test_blackboard_download_without_receipts(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "bb.zip",
        [
            (f"HW_1_jdoe_attempt_2024-03-01-10-00-00_{NB}", b"jdoe"),
            (f"HW_1_jdoe2_attempt_2024-03-01-11-00-00_{NB}", b"jdoe2"),
            ("HW_1_jdoe2_attempt_2024-03-01-12-00-00_homework.ipynb", b""),
        ],
    )
    submissions = read_submissions(archive, NB)
    assert [(s.student_id, s.lms_user_id, s.notebook, s.notes) for s in submissions] == [
        (
            user,
            user,
            user.encode(),
            [f"no Blackboard receipt names this student: the username {user} is from file names"],
        )
        for user in ("jdoe", "jdoe2")
    ]
    single = write_zip(tmp_path / "one.zip", [(f"Lab_3_jdoe_attempt_2024-03-01-10-00-00_{NB}", b"jdoe")])
    assert [s.student_id for s in read_submissions(single, NB)] == ["jdoe"]


def test_a_blackboard_username_is_made_a_safe_id(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "bb.zip",
        [
            ("HW_j.doe!_attempt_2024-03-01-10-00-00.txt", receipt("Jane Doe", "j.doe!", {})),
            (f"HW_j.doe!_attempt_2024-03-01-10-00-00_{NB}", b"jd"),
        ],
    )
    (submission,) = read_submissions(archive, NB)
    j_doe = hashed_id("j.doe_", "j.doe!", "blackboard")
    assert submission == Submission(
        j_doe,
        b"jd",
        notes=[renamed(j_doe, "j.doe!")],
        lms="blackboard",
        lms_user_id="j.doe!",
        name="Jane Doe",
        source=f"HW_j.doe!_attempt_2024-03-01-10-00-00_{NB}",
    )


def test_a_student_cannot_hand_in_as_another_blackboard_student(tmp_path) -> None:
    """Blackboard stores a student's file as <assignment>_<username>_attempt_<date>_<their file name>: a file
    named like a receipt of another student, with a notebook named to match, must stay its uploader's."""
    jdoe, mallory = (
        "Serving ResNet_jdoe_attempt_2026-11-20-09-30-00",
        "Serving ResNet_mallory_attempt_2026-11-21-10-00-00",
    )
    forged = "x_attempt_2099-01-01-00-00-00"
    archive = write_zip(
        tmp_path / "bb.zip",
        [
            (f"{jdoe}.txt", receipt("Jane Doe", "jdoe", {})),
            (f"{jdoe}_{NB}", b"jdoe's"),
            (f"{mallory}.txt", receipt("Mal Lory", "mallory", {})),
            (f"{mallory}_{forged}.txt", receipt("Jane Doe", "jdoe", {})),
            (f"{mallory}_{forged}_{NB}", b"mallory's"),
        ],
    )
    jane, mal = read_submissions(archive, NB)
    assert (jane.student_id, jane.notebook, jane.notes) == ("jdoe", b"jdoe's", [])
    assert (mal.student_id, mal.notebook) == ("mallory", None)
    assert mal.problem == f"no {NB} (found {forged}.txt, {forged}_{NB})"  # their file, under their own name


def test_an_oversized_blackboard_receipt_is_ignored_unread(tmp_path, opened) -> None:
    stem = "HW_jdoe_attempt_2024-03-01-10-00-00"
    archive = write_zip(tmp_path / "bb.zip", [(f"{stem}.txt", b"Name: x (y)\n" * 10_000), (f"{stem}_{NB}", b"jdoe")])
    (submission,) = read_submissions(archive, NB)
    assert (submission.student_id, submission.notebook) == ("jdoe", b"jdoe")
    assert submission.notes == [
        f"ignored a Blackboard receipt: {stem}.txt is 117.2 KiB; the limit is 64 KiB",
        "no Blackboard receipt names this student: the username jdoe is from file names",
    ]
    assert opened == [f"{stem}_{NB}"]


def test_moodle_download(tmp_path) -> None:
    archive = write_zip(
        tmp_path / "moodle.zip",
        [
            (f"John Smith_123456_assignsubmission_file_/{NB}", b"john 1"),
            ("John Smith_123456_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>"),
            (f"John Smith_222222_assignsubmission_file_/work/{NB}", b"john 2"),
            ("Jane Roe_654321_assignsubmission_onlinetext_/onlinetext.html", b"<p>text only</p>"),
            (f"Ann Lee_777_assignsubmission_file_{NB}", b"ann"),
        ],
    )
    moodle = {"lms": "moodle"}
    assert read_batch(archive, NB) == Batch(
        [
            Submission(
                "Ann_Lee_777",
                b"ann",
                lms_user_id="777",
                name="Ann Lee",
                source=f"Ann Lee_777_assignsubmission_file_{NB}",
                **moodle,
            ),
            Submission(
                "John_Smith_123456",
                b"john 1",
                lms_user_id="123456",
                name="John Smith",
                source=f"John Smith_123456_assignsubmission_file_/{NB}",
                **moodle,
            ),
            Submission(
                "John_Smith_222222",
                b"john 2",
                notes=[f"graded work/{NB}, which is in a subfolder"],
                lms_user_id="222222",
                name="John Smith",
                source=f"John Smith_222222_assignsubmission_file_/work/{NB}",
                **moodle,
            ),
        ],
        skipped=[],
    )


def test_a_single_moodle_folder_in_a_wrapper_is_read_through_it(tmp_path) -> None:
    archive = write_zip(tmp_path / "m.zip", [(f"download/Zoë Ünal_42_assignsubmission_file_/{NB}", b"zoe")])
    (submission,) = read_submissions(archive, NB)
    zoe = hashed_id("Zo___nal_42", "Zoë_Ünal_42", "moodle")
    assert (submission.student_id, submission.name, submission.lms_user_id) == (zoe, "Zoë Ünal", "42")
    assert submission.notes == [renamed(zoe, "Zoë_Ünal_42")]


# Limits, damage and batches that are no batch


def test_a_notebook_declared_over_the_limit_is_never_opened(tmp_path, opened) -> None:
    archive = write_zip(tmp_path / "z.zip", [(f"alice/{NB}", bytes(BIG)), (f"bob/{NB}", f"bob/{NB}".encode())])
    assert archive.stat().st_size < 50_000
    assert read_submissions(archive, NB, SMALL) == [
        Submission("alice", None, f"{NB} is 10.0 MiB; the limit is 1000 bytes", source=f"alice/{NB}"),
        graded(f"bob/{NB}"),
    ]
    folder = write_folder(tmp_path / "s", {f"alice/{NB}": bytes(BIG)})
    assert read_submissions(folder, NB, SMALL) == [
        Submission("alice", None, f"{NB} is 10.0 MiB; the limit is 1000 bytes", source=f"alice/{NB}"),
    ]
    assert opened == [f"bob/{NB}"]


def patched(path: Path, name: str, offset: int, value: bytes) -> Path:
    """The zip with bytes of the named entry's central directory header replaced, at offset in the header."""
    data = bytearray(path.read_bytes())
    header = data.rindex(b"PK\x01\x02", 0, data.index(name.encode(), data.index(b"PK\x01\x02")))
    data[header + offset : header + offset + len(value)] = value
    path.write_bytes(bytes(data))
    return path


def test_a_zip_that_under_declares_a_size_is_read_no_further_than_the_limit(tmp_path) -> None:
    archive = write_zip(tmp_path / "lie.zip", [(f"alice/{NB}", bytes(BIG)), (f"bob/{NB}", f"bob/{NB}".encode())])
    patched(archive, f"alice/{NB}", 24, struct.pack("<I", 900))  # the uncompressed size
    problem = f"{NB} cannot be read (Bad CRC-32 for file 'alice/{NB}'): expected an intact, unencrypted file"
    assert read_submissions(archive, NB, SMALL) == [
        Submission("alice", None, problem, source=f"alice/{NB}"),
        graded(f"bob/{NB}"),
    ]


def test_a_file_that_grows_after_it_was_listed_is_read_no_further_than_the_limit(tmp_path, monkeypatch) -> None:
    folder = write_folder(tmp_path / "s", {f"alice/{NB}": b"{}"})
    os_open = os.open

    def grow_then_open(path, *args, **kwargs):
        Path(path).write_bytes(bytes(BIG))
        return os_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", grow_then_open)
    problem = f"{NB} holds more than its declared 2 bytes; the limit is 1000 bytes"
    assert read_submissions(folder, NB, SMALL) == [Submission("alice", None, problem, source=f"alice/{NB}")]


@pytest.mark.parametrize(
    ("swap", "reason"),
    [
        (os.mkfifo, "{path} is not a regular file"),  # opened without O_NONBLOCK, it would wait for a writer
        (lambda path: os.symlink("/etc/passwd", path), "[Errno 40] Too many levels of symbolic links: '{path}'"),
    ],
    ids=["FIFO", "symbolic link"],
)
def test_a_file_swapped_after_it_was_listed_is_not_read(tmp_path, monkeypatch, swap, reason: str) -> None:
    folder = write_folder(tmp_path / "s", {f"alice/{NB}": b"{}"})
    os_open = os.open

    def swap_then_open(path, *args, **kwargs):
        Path(path).unlink()
        swap(path)
        return os_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", swap_then_open)
    problem = f"{NB} cannot be read ({reason.format(path=folder / 'alice' / NB)}): expected an intact, unencrypted file"
    assert read_submissions(folder, NB) == [Submission("alice", None, problem, source=f"alice/{NB}")]


def test_a_folder_that_cannot_be_listed_is_an_error(tmp_path, monkeypatch) -> None:
    folder = write_folder(tmp_path / "s", {f"alice/{NB}": b"{}"})
    scandir = os.scandir

    def refuse_alice(path):
        if Path(path).name == "alice":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_alice)
    message = f"cannot read {folder} ([Errno 13] Permission denied: '{folder / 'alice'}'): expected a readable folder"
    with pytest.raises(SubmissionsError, match=re.escape(message)):
        read_submissions(folder, NB)


@pytest.mark.parametrize(
    ("offset", "value", "reason"),
    [
        (16, b"\xff\xff\xff\xff", f"Bad CRC-32 for file 'alice/{NB}'"),
        (10, struct.pack("<H", 99), "That compression method is not supported"),
        (8, struct.pack("<H", 1), f"File 'alice/{NB}' is encrypted, password required for extraction"),
    ],
    ids=["bad CRC", "unknown compression", "encrypted"],
)
def test_a_damaged_entry_is_that_students_problem(tmp_path, offset: int, value: bytes, reason: str) -> None:
    archive = write_zip(tmp_path / "d.zip", [(f"alice/{NB}", b"{}" * 100), (f"bob/{NB}", f"bob/{NB}".encode())])
    patched(archive, f"alice/{NB}", offset, value)
    problem = f"{NB} cannot be read ({reason}): expected an intact, unencrypted file"
    assert read_submissions(archive, NB) == [
        Submission("alice", None, problem, source=f"alice/{NB}"),
        graded(f"bob/{NB}"),
    ]


def test_flipped_compressed_bytes_fail_only_that_student(tmp_path) -> None:
    text = "".join(f"cell {i}: {i * i}\n" for i in range(2000)).encode()
    archive = write_zip(tmp_path / "d.zip", [(f"alice/{NB}", text), (f"bob/{NB}", f"bob/{NB}".encode())])
    data = bytearray(archive.read_bytes())
    middle = data.index(f"alice/{NB}".encode()) + 200
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    archive.write_bytes(bytes(data))
    reason = "Error -3 while decompressing data: invalid distance too far back"
    assert read_submissions(archive, NB) == [
        Submission(
            "alice", None, f"{NB} cannot be read ({reason}): expected an intact, unencrypted file", source=f"alice/{NB}"
        ),
        graded(f"bob/{NB}"),
    ]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: b"not a zip", "File is not a zip file"),
        (lambda data: data[:-30], "File is not a zip file"),  # cut in its end-of-directory record
        (lambda data: data.replace(b"PK\x01\x02", b"PK\x01\x00"), "Bad magic number for central directory"),
    ],
    ids=["not a zip", "truncated", "damaged directory"],
)
def test_a_file_that_is_no_readable_zip_is_an_error(tmp_path, damage, reason: str) -> None:
    path = write_zip(tmp_path / "submissions.zip", [(f"alice/{NB}", b"{}")])
    path.write_bytes(damage(path.read_bytes()))
    message = f"{path} is not a readable zip file ({reason}): expected a .zip or a folder"
    with pytest.raises(SubmissionsError, match=re.escape(message)):
        read_submissions(path, NB)


def test_a_path_that_is_neither_a_folder_nor_a_file_is_an_error(tmp_path) -> None:
    message = f"{tmp_path / 'missing'} is neither a folder nor a file: expected a .zip or a folder of submissions"
    with pytest.raises(SubmissionsError, match=re.escape(message)):
        read_submissions(tmp_path / "missing", NB)


def test_a_batch_without_students_is_an_error(tmp_path) -> None:
    archive = write_zip(tmp_path / "root.zip", [(NB, b"{}"), ("notes.txt", b"")])
    folder = write_folder(tmp_path / "flat", {NB: b"{}"})
    for batch in (archive, folder):
        message = (
            f"no student found in {batch}: expected a folder per student (<student>/{NB}) "
            "or a Canvas, Moodle or Blackboard download"
        )
        with pytest.raises(SubmissionsError, match=re.escape(message)):
            read_submissions(batch, NB)


def test_root_files_next_to_students_are_skipped_and_listed(tmp_path) -> None:
    folder = write_folder(tmp_path / "s", {NB: b"", "README.txt": b"", f"alice/{NB}": f"alice/{NB}".encode()})
    assert read_batch(folder, NB) == Batch([graded(f"alice/{NB}")], skipped=["README.txt", NB])


def test_too_many_entries_or_too_big_a_zip_is_an_error(tmp_path) -> None:
    files = {f"{student}/{name}": b"" for student in ("alice", "bob") for name in (NB, "notes.txt")}
    archive = write_zip(tmp_path / "many.zip", list(files.items()))
    folder = write_folder(tmp_path / "many", files)
    for batch, entries in ((archive, 4), (folder, 6)):  # the folder's entries include its 2 folders
        message = f"{batch} holds more than {entries - 1} entries: expected at most that many"
        with pytest.raises(SubmissionsError, match=re.escape(message)):
            read_submissions(batch, NB, SubmissionLimits(max_entries=entries - 1))
        assert len(read_submissions(batch, NB, SubmissionLimits(max_entries=entries))) == 2
    size = archive.stat().st_size
    with pytest.raises(
        SubmissionsError, match=re.escape(f"{archive} is {size} bytes; the limit for a zip of submissions is 100 bytes")
    ):
        read_submissions(archive, NB, SubmissionLimits(max_archive_bytes=100))


def test_no_id_is_another_students_folder_name(tmp_path) -> None:
    """Ann and ann collide; the suffixed id ann-<hash> would be the name of a third student's folder: never."""
    taken = hashed_id("ann", "ann")
    names = ["Ann", "ann", taken]
    folder = write_folder(tmp_path / "s", {f"{name}/{NB}": name.encode() for name in names})
    ids = {submission.notebook.decode(): submission.student_id for submission in read_submissions(folder, NB)}
    assert ids == {"Ann": "Ann", "ann": f"{taken}-3", taken: taken}


def test_a_folder_name_that_is_not_utf8_is_read_as_windows_1252(tmp_path) -> None:
    """unzip leaves a zip made on Windows as folders whose names are Latin-1 bytes: read, noted, graded."""
    root = write_folder(tmp_path / "s", {f"bob/{NB}": b"bob"})
    jose = os.path.join(os.fsencode(root), "Jos\xe9 \x81".encode("latin-1"))
    os.mkdir(jose)
    with open(os.path.join(jose, NB.encode()), "wb") as notebook:
        notebook.write(b"jose")
    submissions = by_id(read_submissions(root, NB))
    jose_id = hashed_id("Jos___", "José \x81")
    assert submissions["bob"].notebook == b"bob" and submissions[jose_id].notebook == b"jose"
    assert submissions[jose_id].notes[0] == "the name 'José \\x81' is not UTF-8: read as Windows-1252"
    assert submissions[jose_id].source == f"José \x81/{NB}"


def zip_with_raw_names(path: Path, names: dict[bytes, bool]) -> Path:
    """A zip of one notebook per raw name (its bytes as they are), each flagged UTF-8 or not."""
    with zipfile.ZipFile(path, "w") as archive:
        for number, raw in enumerate(names):
            archive.writestr(f"placeholder{number:04d}/{NB}", raw)
    data = path.read_bytes()
    for number, raw in enumerate(names):
        placeholder = f"placeholder{number:04d}".encode()
        assert len(raw) == len(placeholder), "the same length: offsets stay"
        data = data.replace(placeholder, raw)
    data = bytearray(data)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        offset = 0
        while (offset := data.find(signature, offset)) >= 0:
            name_at = offset + (30 if signature == b"PK\x03\x04" else 46)
            raw = bytes(data[name_at : name_at + 15])
            flags = struct.unpack_from("<H", data, offset + flags_at)[0]
            flagged = next(flag for name, flag in names.items() if raw.startswith(name))
            struct.pack_into("<H", data, offset + flags_at, flags | 0x800 if flagged else flags & ~0x800)
            offset += 4
    path.write_bytes(bytes(data))
    return path


def test_zip_names_of_every_encoding_are_read_and_the_batch_goes_on(tmp_path) -> None:
    """A name flagged UTF-8 that is not, a UTF-8 name not flagged (as macOS and Linux write them) and a CP437 one:
    each student is read, with a note where the zip's flag was wrong."""
    names = {b"bad-utf8-\xe9\xe9\xe9\xe9\xe9\xe9": True, b"utf8-sans-flag"[:9] + "ç".encode() * 3: False}
    names[b"cp437-\x80\x81\x82\x83\x84\x85\x86\x87\x88"] = False
    names[b"bob" + b"_" * 12] = True
    archive = zip_with_raw_names(tmp_path / "batch.zip", names)
    submissions = {submission.notebook: submission for submission in read_submissions(archive, NB)}
    assert len(submissions) == 4
    bad = submissions[b"bad-utf8-\xe9\xe9\xe9\xe9\xe9\xe9"]
    assert bad.notes[0] == f"the zip flags the name 'bad-utf8-ΘΘΘΘΘΘ/{NB}' as UTF-8, which it is not: read as CP437"
    assert submissions[b"utf8-sans" + "ç".encode() * 3].source == f"utf8-sansççç/{NB}"
    assert submissions[b"cp437-\x80\x81\x82\x83\x84\x85\x86\x87\x88"].source == f"cp437-Çüéâäàåçê/{NB}"


@pytest.mark.timeout(20)
def test_a_crafted_receipt_or_entry_name_is_read_in_linear_time() -> None:
    """A receipt's name line of 60,000 spaces took a backtracking pattern minutes; LMS names longer than any LMS
    writes are none of theirs, unmatched."""
    receipt = lms.parse_receipt("Name:" + " " * 60_000 + "x\nName: Jane Doe (j(d)oe)\nName: Jane Doe (jdoe)\n")
    assert (receipt.name, receipt.username) == ("Jane Doe", "jdoe")
    assert lms.parse_receipt("Name: Jane (J.) Doe (jdoe)").username == "jdoe"
    crafted = "a" + "_1" * 30_000 + "_attempt_2026-11-20-09-30-00_x.ipynb"
    assert lms.recognise(crafted, is_folder=False) is None
    assert lms.recognise("Course_jdoe_attempt_2026-11-20-09-30-00_x.ipynb", is_folder=False).prefix == "Course_jdoe"


def test_an_entry_named_with_a_nul_cannot_stand_in_for_the_notebook(tmp_path) -> None:
    """zipfile cuts a name at a NUL: opened by its cut name, an ignored entry `alice/nb\\0x` would be read in place
    of the real `alice/nb`. Each entry is opened as itself."""
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr(f"alice/{NB}", b"the real one")
        writer.writestr(f"alice/{NB}XQQ", b"a shadow")
    archive.write_bytes(archive.read_bytes().replace(f"{NB}XQQ".encode(), f"{NB}\0QQ".encode()))
    [alice] = read_submissions(archive, NB)
    assert alice.notebook == b"the real one"


class RawName(zipfile.ZipInfo):
    """A zip entry whose name is written as these bytes, unflagged, whatever they are."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw.decode("cp437"))
        self.raw = raw

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # zipfile's own name
        return self.raw, self.flag_bits


def test_each_name_of_a_path_is_decoded_on_its_own(tmp_path) -> None:
    """A folder named in UTF-8 holding a folder named in Latin-1 (made on another system) is one student, in a
    folder and in a zip: read whole, the path would be Windows-1252 from its first name, another student's."""
    path = "Zoë".encode() + b"/r\xe9sum\xe9/" + NB.encode()
    root = tmp_path / "s"
    os.makedirs(os.path.dirname(os.path.join(os.fsencode(root), path)))
    Path(os.fsdecode(os.path.join(os.fsencode(root), path))).write_bytes(b"zoe")
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(RawName("Zoë/".encode()), b"")
        zipped.writestr(RawName(path), b"zoe")
    for batch, read_as in ((root, "résumé"), (archive, "rΘsumΘ")):
        (submission,) = read_submissions(batch, NB)
        assert (submission.notebook, submission.source) == (b"zoe", f"Zoë/{read_as}/{NB}")
        assert submission.student_id == hashed_id("Zo_", "Zoë")
    assert read_submissions(root, NB)[0].notes[:1] == ["the name 'résumé' is not UTF-8: read as Windows-1252"]


def test_two_names_in_two_unicode_forms_stay_two_students(tmp_path) -> None:
    """ "José" written composed (as Linux and Windows write it) and decomposed (as macOS did): one name to a reader,
    and put in composed form they would merge two students into one. The second keeps its form, with a note."""
    composed, decomposed = "Jos\u00e9", "Jose\u0301"
    root = write_folder(tmp_path / "s", {f"{composed}/{NB}": b"composed", f"{decomposed}/{NB}": b"decomposed"})
    archive = write_zip(tmp_path / "z.zip", [(f"{composed}/{NB}", b"composed"), (f"{decomposed}/{NB}", b"decomposed")])
    for batch in (root, archive):
        submissions = {submission.notebook: submission for submission in read_submissions(batch, NB)}
        assert submissions.keys() == {b"composed", b"decomposed"}
        assert submissions[b"composed"].source == f"{composed}/{NB}"
        assert submissions[b"decomposed"].source == f"{decomposed}/{NB}"
        assert submissions[b"composed"].student_id != submissions[b"decomposed"].student_id
        assert submissions[b"decomposed"].notes[0] == (
            f"the name {decomposed!r} is another name of its folder in another Unicode form: kept as written"
        )
