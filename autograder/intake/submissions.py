"""Read a batch of submissions (a folder, or a .zip as an LMS downloads it) one student at a time, so that one
student's odd file becomes that student's problem and the rest of the batch is graded.

Only each student's notebook (and Blackboard's receipts) is ever read, as bytes, within size limits checked
before reading; nothing else of a submission is opened, extracted, followed (symbolic links) or written.

Layouts, decided per entry at the root of the batch (a single wrapper folder is looked through when it holds two
or more folders, or LMS-named entries), and the student id each gives:
- a folder per student, <student>/<notebook> at any depth: the folder's name (nested folders are the student's);
- Canvas, flat <sortable name>[_LATE]_<user id>_<submission id>_<file>: <sortable name>_<user id>;
- Moodle, <full name>_<participant id>_assignsubmission_file_/<file> (or flat, <...>_file_<file>):
  <full name>_<participant id>, spaces written as underscores;
- Blackboard, flat <assignment>_<username>_attempt_<date>_<file>, and a receipt <...>_attempt_<date>.txt per
  attempt: the username, as the receipt gives it, else as the file names give it.
The LMS's own user id (Canvas user id, Moodle participant id, Blackboard username) is kept in lms_user_id: that is
what identifies the student to the LMS. Of several attempts, the newest is graded.

Names are text whatever bytes they come as, each name of a path on its own (a folder made on one system may hold a
file from another): a folder's or file's name that is not UTF-8 is read as Windows-1252 (Latin-1 for the five bytes
it leaves undefined); a zip entry's, as UTF-8 when the zip flags it so or its bytes are UTF-8, else as the zip's old
code page, CP437, which every byte sequence is (a name flagged UTF-8 that is not is read so too, with a note); then
put in Unicode's composed form (NFC), so that a name reads the same from every system, but for a name that
would become another name of its folder so: it stays as written, with a note, and two students never merge.
Where they are shown, their invisible characters are escaped (autograder/report/inert.py).

An id keeps ASCII letters, digits and . _ - @ + =. A name with anything else, leading dots or more than 100
characters is made safe (_ for each other character, no leading dot, cut) and given "-" and 8 hex digits of a hash
of its LMS and name, with a note: its id is then the same in every download, whoever else is in it. Ids are unique
regardless of case, and none is the name another student's id is made from: a student whose safe name is taken
gets the hash too, and a note.

read_batch also gives the root entries that are no student (Batch.skipped), for the command to mention them;
read_submissions gives the students only.
"""

import contextlib
import functools
import hashlib
import io
import itertools
import lzma
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autograder.intake import lms
from autograder.report.inert import inert

MAX_ID_LENGTH = 100
SAFE_ID = f"expected letters, digits and ._-@+= only, at most {MAX_ID_LENGTH} of them"
MAX_RECEIPT_BYTES = 64 * 2**10
MAX_LISTED = 10
NOTE_LIMIT = 1000  # characters of one note about a submission
UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._\-@+=]")
WINDOWS_DRIVE = re.compile(r"[A-Za-z]:(/|$)")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")
# What a download or a copy makes of a file's name: "x (1).ipynb", "x-1.ipynb", "x - Copy.ipynb", "Copy of x.ipynb".
COPY_PREFIX = r"(?:copy of\s+)?"
COPY_SUFFIX = r"(?:\s*\(\d+\)|\s*-\s*copy(?:\s*\(\d+\))?|[\s_]copy(?:\s*\d+)?|[-_]\d+)?"
# What zipfile raises for a damaged, encrypted or oddly compressed zip or entry; OSError for an unreadable file.
READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    UnicodeDecodeError,
    NotImplementedError,
    RuntimeError,
    OSError,
)
FILE, FOLDER, LINK, SPECIAL = "file", "folder", "symbolic link", "special file"


@dataclass
class Submission:
    student_id: str  # a safe folder name, unique within the batch
    notebook: bytes | None  # the notebook's bytes; None when it cannot be graded
    problem: str = ""  # why it cannot be graded ("" when it can): one line, what was found and what is expected
    # What the reader did (graded the newest of 3 attempts, renamed an unsafe id, did not open an archive...), each
    # one line.
    notes: list[str] = field(default_factory=list)
    lms: str = ""  # "canvas", "moodle", "blackboard", or "" for a plain folder of student folders
    lms_user_id: str = ""  # the LMS's own user id, kept for uploading grades back
    name: str = ""  # the student's name as the LMS gives it, if it does
    source: str = ""  # where in SUBMISSIONS the chosen notebook is (graded, or the one that could not be read)


@dataclass(frozen=True)
class SubmissionLimits:
    max_notebook_bytes: int = 20 * 2**20  # a notebook larger than this is refused with a note, unread
    max_cells: int = 2_000  # cells of a notebook (the assignment's have about 70): each costs time in every step
    max_entries: int = 200_000  # entries in an archive / files in a folder
    max_archive_bytes: int = 4 * 2**30  # size of the .zip file itself
    grading_memory: int = 2 * 2**30  # data a worker grading one notebook may hold (its kernel's messages, say)


@dataclass
class Batch:
    submissions: list[Submission]  # sorted by student_id
    skipped: list[str]  # root entries that are no student (such as a stray README.txt), as paths in SUBMISSIONS


class SubmissionsError(ValueError):
    """The whole batch cannot be read (not a folder or zip, a damaged zip, no recognisable student...)."""


@dataclass
class _Entry:
    """A file or folder of the batch, listed but not read."""

    name: str  # its path in SUBMISSIONS, as the zip or the folder gives it, decoded
    kind: str  # FILE, FOLDER, LINK or SPECIAL
    size: int  # bytes, as the zip's central directory declares it, or as lstat gives it
    open: Callable[[], IO[bytes]]
    copies: int = 1  # zip entries with this path: the last one is kept, as unzip does
    note: str = ""  # how its name was read, when that was not as given
    parts: tuple[str, ...] = field(init=False)  # path components, `\` being a separator too
    unsafe: bool = field(init=False)  # absolute, climbing out with "..", or holding NUL

    def __post_init__(self) -> None:
        path = self.name.replace("\\", "/")
        self.parts = tuple(part for part in path.split("/") if part not in ("", "."))
        self.unsafe = path.startswith("/") or bool(WINDOWS_DRIVE.match(path)) or ".." in self.parts
        self.unsafe |= "\0" in self.name

    @property
    def ignored(self) -> bool:
        """Hidden files and folders, and the resource forks macOS adds to zips: never anyone's submission."""
        return any(part.startswith(".") or part == "__MACOSX" for part in self.parts)


@dataclass
class _File:
    """A file of a student that may be their notebook."""

    entry: _Entry
    label: str  # its name as the student knows it: relative to their folder, or their name of an LMS upload
    depth: int = 0  # folders between the student's folder and the file
    attempt: tuple[int | str, ...] = ()  # orders LMS attempts, oldest first
    late: bool = False


@dataclass
class _Student:
    lms: str
    basis: str  # what the student id is made from
    lms_user_id: str = ""
    name: str = ""
    folder: bool = False  # a folder of its own (which may be empty)
    files: list[_File] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    student_id: str = ""  # given once every student of the batch is known


def read_submissions(path: Path, notebook_name: str, limits: SubmissionLimits = SubmissionLimits()) -> list[Submission]:
    """Every student in a folder or .zip with their notebook, sorted by student_id."""
    return read_batch(path, notebook_name, limits).submissions


def read_batch(path: Path, notebook_name: str, limits: SubmissionLimits = SubmissionLimits()) -> Batch:
    """Every student in a folder or .zip with their notebook, and the root entries that are no student."""
    with _entries(path, limits) as entries:
        visible = [entry for entry in entries if not entry.unsafe and not entry.ignored]
        root = _root(visible)
        students, by_folder, skipped = _students(visible, root)
        for entry in entries:
            if entry.unsafe and _under(entry, root, 2) and (owner := by_folder.get(entry.parts[len(root)])):
                owner.notes.append(f"ignored {entry.name!r}: absolute paths, '..' and NUL are not allowed in names")
        if not students:
            raise SubmissionsError(
                f"no student found in {path}: expected a folder per student (<student>/{notebook_name}) "
                "or a Canvas, Moodle or Blackboard download"
            )
        _assign_ids(students)
        submissions = [_submission(student, notebook_name, limits) for student in students]
    return Batch(sorted(submissions, key=lambda submission: submission.student_id), skipped)


@contextlib.contextmanager
def _entries(path: Path, limits: SubmissionLimits) -> Iterator[list[_Entry]]:
    """Every entry of the folder or zip, listed (the zip stays open for reading until the end)."""
    if path.is_dir():
        yield _folder_entries(path, limits)
        return
    if not path.is_file():
        raise SubmissionsError(f"{path} is neither a folder nor a file: expected a .zip or a folder of submissions")
    size = path.stat().st_size
    if size > limits.max_archive_bytes:
        raise SubmissionsError(
            f"{path} is {_bytes(size)}; the limit for a zip of submissions is {_bytes(limits.max_archive_bytes)}"
        )
    try:
        archive = _open_zip(path)
    except READ_ERRORS as error:
        raise SubmissionsError(f"{path} is not a readable zip file ({error}): expected a .zip or a folder") from error
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise _too_many(path, limits)
        yield _zip_entries(archive, infos)


def _zip_entries(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[_Entry]:
    listed = []
    for info in infos:
        mode = info.external_attr >> 16
        is_folder = info.filename.endswith(("/", "\\"))
        kind = FOLDER if is_folder else _kind(mode) if stat.S_IFMT(mode) else FILE
        # orig_filename: zipfile cuts filename at a NUL, which must be seen to be refused. Opened by name, which
        # is the last entry of that name as here, so that zipfile's errors name the entry rather than its ZipInfo.
        name, note = _zip_name(info, getattr(archive, "flags_cleared", frozenset()))
        listed.append((name, kind, info.file_size, functools.partial(archive.open, info), note))
    kept: dict[tuple[tuple[str, ...], bool], _Entry] = {}
    for entry in _composed(listed):
        key = (entry.parts, entry.kind == FOLDER)
        if key in kept:
            entry.copies += kept.pop(key).copies
        kept[key] = entry
    return list(kept.values())


def _folder_entries(folder: Path, limits: SubmissionLimits) -> list[_Entry]:
    """Every entry under folder, by lstat: symbolic links are listed as such and never followed."""
    entries: list[tuple] = []  # each entry's name as written, kind, size, opener and note
    pending = [folder]
    try:
        while pending:
            with os.scandir(pending.pop()) as listing:
                for item in listing:
                    if len(entries) == limits.max_entries:
                        raise _too_many(folder, limits)
                    status = item.stat(follow_symlinks=False)
                    name, note = _folder_name(Path(item.path).relative_to(folder).as_posix())
                    kind = _kind(status.st_mode)
                    entries.append((name, kind, status.st_size, functools.partial(_open, item.path), note))
                    if kind == FOLDER and not _Entry(name, kind, 0, _open).ignored:
                        pending.append(Path(item.path))
    except OSError as error:
        raise SubmissionsError(f"cannot read {folder} ({error}): expected a readable folder") from error
    return sorted(_composed(entries), key=lambda entry: entry.name)


def _folder_name(name: str) -> tuple[str, str]:
    """A path of the file system as text (Linux gives bytes that are not UTF-8 as surrogates), and how it was read."""
    read, odd = _decoded_path(os.fsencode(name), _windows_1252)
    return read, f"the name {odd[0]!r} is not UTF-8: read as Windows-1252" if odd else ""


def _decoded_path(raw: bytes, fallback: Callable[[bytes], str]) -> tuple[str, list[str]]:
    """raw, a path, as text, one name at a time (a folder made on one system may hold a file from another): UTF-8
    where a name is, else fallback; as written (see _composed). Also the names read by fallback."""
    names, odd = [], []
    for component in raw.split(b"/"):
        try:
            names.append(component.decode("utf-8"))
        except UnicodeDecodeError:
            names.append(fallback(component))
            odd.append(unicodedata.normalize("NFC", names[-1]))
    return "/".join(names), odd


KEPT = "kept as written"


def _composed(listed: list[tuple]) -> list[_Entry]:
    """The entries (name as written, kind, size, opener, note), each name of their paths in Unicode's composed form
    (NFC), so that a name reads the same from every system; except a name that composes like another name of the
    same folder written otherwise: it stays as written, with a note, so that two students or files never become
    one."""
    written: dict[tuple[str, str], set[str]] = {}
    for name, *_ in listed:
        parts = name.split("/")
        for depth, part in enumerate(parts):
            written.setdefault(("/".join(parts[:depth]), unicodedata.normalize("NFC", part)), set()).add(part)
    entries = []
    for name, kind, size, opener, note in listed:
        parts, shown, notes = name.split("/"), [], [note] if note else []
        for depth, part in enumerate(parts):
            composed = unicodedata.normalize("NFC", part)
            if part != composed and len(written["/".join(parts[:depth]), composed]) > 1:
                shown.append(part)
                notes.append(f"the name {part!r} is another name of its folder in another Unicode form: {KEPT}")
            else:
                shown.append(composed)
        entries.append(_Entry("/".join(shown), kind, size, opener, note="; ".join(notes)))
    return entries


def _windows_1252(raw: bytes) -> str:
    """raw as Windows-1252, with Latin-1 for the five bytes that Windows-1252 leaves undefined."""
    return "".join(byte.decode("cp1252", errors="ignore") or byte.decode("latin-1") for byte in map(bytes, zip(raw)))


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The zip at path; if a name its directory flags as UTF-8 is not, with that flag cleared for such names (in what
    zipfile reads, never in the file), so that zipfile reads them as CP437 rather than refuse the whole zip. The
    archive's flags_cleared lists the names that were."""
    try:
        return zipfile.ZipFile(path)
    except UnicodeDecodeError:
        patched = _FlagsCleared(path)
        archive = zipfile.ZipFile(patched)
        archive.flags_cleared = frozenset(patched.names)
        return archive


class _FlagsCleared(io.RawIOBase):
    """A zip file, read as it is except for the UTF-8 flag of each central directory entry whose name is not UTF-8."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("rb")
        self.patches: dict[int, int] = {}  # offset in the file -> the byte read there instead
        self.names: list[str] = []
        for offset, flags, raw, local in _central_directory(self.file):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:  # the flag's high byte, in the directory and in the entry's local header
                self.patches[offset + 9] = self.patches[local + 7] = (flags & ~UTF8_FLAG) >> 8
                self.names.append(raw.decode("cp437"))
        self.file.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def readinto(self, buffer) -> int:
        start = self.file.tell()
        data = self.file.read(len(buffer))
        patched = bytearray(data)
        for offset, value in self.patches.items():
            if start <= offset < start + len(data):
                patched[offset - start] = value
        buffer[: len(patched)] = patched
        return len(patched)

    def close(self) -> None:
        self.file.close()
        super().close()


UTF8_FLAG = 0x800  # bit 11 of an entry's flags: its name is UTF-8
CENTRAL_ENTRY = struct.Struct("<4s6H3L5H2L")  # PK\1\2, versions, flags, ..., sizes, name, extra, comment lengths, ...


def _central_directory(file: IO[bytes]) -> Iterator[tuple[int, int, bytes, int]]:
    """Each entry of a zip's central directory flagged UTF-8: its offset in the file, its flags, its raw name, and
    the offset of its local header (whose flags, in a zip that zipfile reads, are the same)."""
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(max(0, size - (1 << 16) - 22))
    tail = file.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0:
        return
    (start,) = struct.unpack_from("<L", tail, end + 16)  # the central directory's offset
    if start == 0xFFFFFFFF and (locator := tail.rfind(b"PK\x06\x07", 0, end)) >= 0:  # zip64
        (zip64_end,) = struct.unpack_from("<Q", tail, locator + 8)
        file.seek(zip64_end + 48)
        (start,) = struct.unpack("<Q", file.read(8))
    offset = start
    file.seek(offset)
    while True:
        header = file.read(CENTRAL_ENTRY.size)
        if len(header) < CENTRAL_ENTRY.size or header[:4] != b"PK\x01\x02":
            return
        fields = CENTRAL_ENTRY.unpack(header)
        flags, name_length, extra_length, comment_length = fields[3], fields[10], fields[11], fields[12]
        raw = file.read(name_length)
        if flags & UTF8_FLAG:
            yield offset, flags, raw, fields[16]
        offset += CENTRAL_ENTRY.size + name_length + extra_length + comment_length
        file.seek(offset)


def _zip_name(info: zipfile.ZipInfo, flags_cleared: frozenset[str]) -> tuple[str, str]:
    """An entry's name as text, as written: as zipfile read it (UTF-8 if flagged, else CP437), or as UTF-8 when its
    unflagged bytes are UTF-8 (as macOS and Linux zips write them); and how it was read, when not as flagged."""
    name = info.orig_filename
    if name in flags_cleared:
        return (
            name,
            f"the zip flags the name {unicodedata.normalize('NFC', name)!r} as UTF-8, which it is not: read as CP437",
        )
    if not info.flag_bits & UTF8_FLAG and not name.isascii():
        return _decoded_path(name.encode("cp437"), lambda raw: raw.decode("cp437"))[0], ""
    return name, ""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISDIR(mode):
        return FOLDER
    return FILE if stat.S_ISREG(mode) else SPECIAL


def _open(path: str) -> IO[bytes]:
    """A regular file opened as data: never through a symbolic link, never a device or a FIFO."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path} is not a regular file")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _too_many(path: Path, limits: SubmissionLimits) -> SubmissionsError:
    return SubmissionsError(f"{path} holds more than {limits.max_entries} entries: expected at most that many")


def _under(entry: _Entry, root: tuple[str, ...], depth: int = 1) -> bool:
    """Whether entry is at least depth levels below root."""
    return entry.parts[: len(root)] == root and len(entry.parts) >= len(root) + depth


def _level(entries: Iterable[_Entry], root: tuple[str, ...]) -> tuple[list[_Entry], dict[str, list[_Entry]]]:
    """The entries right under root that are not folders, and the folders there, each with all the entries in it."""
    files: list[_Entry] = []
    folders: dict[str, list[_Entry]] = {}
    for entry in entries:
        if not _under(entry, root):
            continue
        if len(entry.parts) == len(root) + 1 and entry.kind != FOLDER:
            files.append(entry)
        else:
            folders.setdefault(entry.parts[len(root)], []).append(entry)
    return files, folders


def _root(entries: list[_Entry]) -> tuple[str, ...]:
    """Where the students are: the top, or a single wrapper folder that holds two or more folders or LMS entries."""
    files, folders = _level(entries, ())
    if files or len(folders) != 1:
        return ()
    (wrapper,) = folders
    inner_files, inner_folders = _level(folders[wrapper], (wrapper,))
    lms_named = any(lms.recognise(entry.parts[-1], is_folder=False) for entry in inner_files) or any(
        lms.recognise(name, is_folder=True) for name in inner_folders
    )
    return (wrapper,) if len(inner_folders) >= 2 or lms_named else ()


def _students(entries: list[_Entry], root: tuple[str, ...]) -> tuple[list[_Student], dict[str, _Student], list[str]]:
    """The students at root, those with a folder by its name, and the root entries that are no student."""
    students: dict[tuple[str, str], _Student] = {}
    by_folder: dict[str, _Student] = {}
    skipped: list[str] = []
    files, folders = _level(entries, root)
    for folder, inside in sorted(folders.items()):
        found = lms.recognise(folder, is_folder=True)
        if found and not found.holds_submission:
            continue
        student = _lms_student(students, found) if found else students.setdefault(("", folder), _Student("", folder))
        student.folder = True
        by_folder[folder] = student
        if noted := next((entry.note for entry in inside if entry.note), ""):  # the folder's, or its first file's
            student.notes.append(noted)
        for entry in inside:
            relative = entry.parts[len(root) + 1 :]
            if relative and entry.kind != FOLDER:
                student.files.append(_File(entry, "/".join(relative), len(relative) - 1))

    blackboard: list[tuple[_Entry, lms.LmsEntry]] = []
    for entry in files:
        found = lms.recognise(entry.parts[-1], is_folder=False) if entry.kind == FILE else None
        if found is None:
            skipped.append(entry.name)
        elif found.lms == lms.BLACKBOARD:
            blackboard.append((entry, found))
        elif found.holds_submission:
            student = _lms_student(students, found)
            student.files.append(_File(entry, found.file, attempt=found.attempt, late=found.late))
            if entry.note:
                student.notes.append(entry.note)
    _add_blackboard(blackboard, students)
    return list(students.values()), by_folder, sorted(skipped)


def _lms_student(students: dict[tuple[str, str], _Student], found: lms.LmsEntry) -> _Student:
    """The student of a Canvas or Moodle entry, by the LMS's user id."""
    new = _Student(found.lms, found.student, found.user_id, found.name)
    return students.setdefault((found.lms, found.user_id), new)


def _add_blackboard(items: list[tuple[_Entry, lms.LmsEntry]], students: dict[tuple[str, str], _Student]) -> None:
    """File Blackboard's entries under their usernames, which the receipts give when they can be read."""
    receipts: dict[str, list[lms.Receipt]] = {}
    notes: dict[str, list[str]] = {}
    for entry, found in items:
        if found.receipt:
            data, problem = _read(entry, entry.parts[-1], MAX_RECEIPT_BYTES)
            if data is None:
                notes.setdefault(found.prefix, []).append(f"ignored a Blackboard receipt: {problem}")
            else:
                receipts.setdefault(found.prefix, []).append(lms.parse_receipt(data.decode("utf-8", "replace")))
    # A receipt names the student of its own prefix, "<assignment>_<username>", or nobody.
    known = {prefix: r.username for prefix, some in receipts.items() for r in some if prefix.endswith(f"_{r.username}")}
    usernames = lms.blackboard_usernames({found.prefix for _, found in items}, known)
    for prefix in sorted(usernames):
        username = usernames[prefix]
        student = students.setdefault((lms.BLACKBOARD, username), _Student(lms.BLACKBOARD, username, username))
        student.name = student.name or next((r.name for r in receipts.get(prefix, []) if r.name), "")
        student.notes.extend(notes.get(prefix, []))
        if prefix not in known:
            student.notes.append(
                f"no Blackboard receipt names this student: the username {username} is from file names"
            )
    originals = {stored: name for some in receipts.values() for r in some for stored, name in r.originals.items()}
    for entry, found in items:
        if not found.receipt:
            label = originals.get(entry.parts[-1], found.file)
            students[lms.BLACKBOARD, usernames[found.prefix]].files.append(_File(entry, label, attempt=found.attempt))


def _assign_ids(students: list[_Student]) -> None:
    """A safe id for each student, unique regardless of case and never the basis of another student's id (their
    folder's name, say), and a note for each id that is not its basis. A name that is not safe always gets its
    hash: its id then depends on it alone, not on which other students a download holds."""
    taken: set[str] = set()
    bases = {_safe_id(student.basis).casefold() for student in students}
    for student in sorted(students, key=lambda s: (_safe_id(s.basis) != s.basis, s.lms, s.basis)):
        safe = _safe_id(student.basis)
        digest = hashlib.sha256(f"{student.lms}:{student.basis}".encode()).hexdigest()[:8]
        suffixes = itertools.chain([f"-{digest}"], (f"-{digest}-{tries}" for tries in itertools.count(3)))
        hashed = (safe[: MAX_ID_LENGTH - len(suffix)] + suffix for suffix in suffixes)
        ids = itertools.chain([safe] if safe == student.basis else [], hashed)
        unique = next(i for i in ids if i.casefold() not in taken and (i == safe or i.casefold() not in bases))
        if safe != student.basis:
            student.notes.append(f"student id {unique}: {student.basis!r} is not a safe folder name ({SAFE_ID})")
        elif unique != safe:
            student.notes.append(f"student id {unique}: another student has the id {safe}")
        taken.add(unique.casefold())
        student.student_id = unique


def _safe_id(basis: str) -> str:
    safe = UNSAFE_ID_CHARACTERS.sub("_", unicodedata.normalize("NFC", basis)).lstrip(".")[:MAX_ID_LENGTH]
    return safe or "student"


def _submission(student: _Student, notebook_name: str, limits: SubmissionLimits) -> Submission:
    submission = Submission(
        student.student_id, None, lms=student.lms, lms_user_id=student.lms_user_id, name=student.name
    )
    chosen, submission.problem = _choose(student, notebook_name)
    if chosen is not None:
        submission.source = chosen.entry.name
        if chosen.entry.kind != FILE:
            submission.problem = (
                f"{chosen.label} is a {chosen.entry.kind}, which is never read: hand in the file itself"
            )
        else:
            submission.notebook, submission.problem = _read(chosen.entry, chosen.label, limits.max_notebook_bytes)
    submission.problem = _one_line(submission.problem)
    submission.notes = [_one_line(note) for note in student.notes]
    return submission


def _one_line(message: str) -> str:
    """The message with the invisible characters a name may hold (a newline, an escape, a bidi override) escaped,
    and at most NOTE_LIMIT characters: a note quotes names, which may be as long as a file system allows."""
    return inert(message, NOTE_LIMIT)


def _choose(student: _Student, notebook_name: str) -> tuple[_File | None, str]:
    """The student's notebook: the newest attempt, exactly named rather than a copy, the shallowest; or why none."""
    ranked = [(file, rank) for file in student.files if (rank := _rank(file.label, notebook_name)) is not None]
    archives = sorted(file.label for file in student.files if file.label.lower().endswith(ARCHIVE_SUFFIXES))
    if not ranked:
        if not student.files:
            return None, f"{'empty folder' if student.folder else 'no file'}: expected {notebook_name}"
        hint = "; archives inside a submission are not opened: hand in the .ipynb itself" if archives else ""
        return None, f"no {notebook_name} (found {_listing(sorted(f.label for f in student.files))}){hint}"

    def preference(file: _File, rank: int) -> tuple:
        return file.attempt, -rank, -file.depth

    best = max(preference(*candidate) for candidate in ranked)
    tied = [(file, rank) for file, rank in ranked if preference(file, rank) == best]
    if len(tied) > 1:
        return None, f"{len(tied)} files could be {notebook_name} ({_listing(f.label for f, _ in tied)}): expected one"
    ((chosen, rank),) = tied
    attempts = {file.attempt for file, _ in ranked}
    notes = [
        (len(attempts) > 1, f"found {len(attempts)} attempts: graded the newest, {chosen.entry.parts[-1]}"),
        (chosen.late, "submitted late: the graded attempt is marked LATE"),
        (rank > 0, f"graded {chosen.label}: expected the name {notebook_name}"),
        (chosen.depth > 0, f"graded {chosen.label}, which is in a subfolder"),
        (chosen.entry.copies > 1, f"the zip holds {chosen.entry.name} {chosen.entry.copies} times: graded the last"),
        (bool(archives), f"did not open {_listing(archives)}: archives inside a submission are not opened"),
    ]
    student.notes.extend(note for applies, note in notes if applies)
    return chosen, ""


def _rank(label: str, notebook_name: str) -> int | None:
    """0 for the notebook's exact name, 1 for a download or a copy of it (or another case), None for another file."""
    name = label.rpartition("/")[2]
    if name == notebook_name:
        return 0
    return 1 if _copy_of(notebook_name).fullmatch(name) else None


@functools.cache
def _copy_of(notebook_name: str) -> re.Pattern[str]:
    stem, suffix = os.path.splitext(notebook_name)
    return re.compile(COPY_PREFIX + re.escape(stem) + COPY_SUFFIX + re.escape(suffix), re.IGNORECASE)


def _read(entry: _Entry, label: str, limit: int) -> tuple[bytes | None, str]:
    """The entry's bytes, or None and why not: an entry declared over limit is not opened, and whatever the zip
    declares (or however the file grew since it was listed), no more than limit + 1 bytes are read."""
    if entry.size > limit:
        return None, f"{label} is {_bytes(entry.size)}; the limit is {_bytes(limit)}"
    try:
        with entry.open() as stream:
            data = stream.read(limit + 1)  # zipfile inflates in chunks, and stops at the size its directory declares
    except READ_ERRORS as error:
        reason = re.sub(r"<ZipInfo filename=('.*?').*?>", r"\1", str(error)) or type(error).__name__  # its name only
        return None, f"{label} cannot be read ({reason}): expected an intact, unencrypted file"
    if len(data) > limit:
        return None, f"{label} holds more than its declared {_bytes(entry.size)}; the limit is {_bytes(limit)}"
    return data, ""


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return ", ".join(names[:MAX_LISTED]) + more


def _bytes(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size // scale} {unit}" if size % scale == 0 else f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
