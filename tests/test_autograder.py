"""The grader graded: one batch (a zip, as an LMS exports it) holds the solution, the unfilled release, every
mutant, every hostile submission and three unreadable files. Each must get exactly the points it deserves,
cell by cell, and nothing a submission does may reach the batch, the gradebook or the machine."""

import csv
import socket
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import ASSIGNMENT, NOTEBOOK, SOLUTION
from autograder.__main__ import main
from autograder.fixtures import CORRECT_VARIANTS, HOSTILE_CODE, MUTANTS, write_fixtures
from autograder.grading import GradingRun, grade

CELL_TIMEOUT = 60  # seconds: the slowest correct cell takes about 10, or 15 while another submission is graded
GRADED_CELLS = {
    "test_decode_shape_dtype": 5,
    "test_decode_range": 5,
    "test_decode_channel_order": 15,
    "test_batch_shape": 5,
    "test_batch_identical_rows": 5,
    "test_batch_different_rows": 10,
    "test_topk_planted": 10,
    "test_topk_batch": 10,
    "test_servable_outputs": 15,
    "test_export_signatures": 10,
    "test_export_reloaded_output": 10,
}
DECODE = {"test_decode_shape_dtype", "test_decode_range", "test_decode_channel_order"}
TOP_K = {"test_topk_planted", "test_topk_batch"}
EXPORT = {"test_export_signatures", "test_export_reloaded_output"}
# The graded cells each submission must fail; it keeps full points in every other cell.
EXPECTED_FAILURES = {
    "solution": set(),
    "default_dct": set(),  # tf.io.decode_jpeg(jpeg, channels=3): a correct answer too
    "unfilled_release": set(GRADED_CELLS),
    "decode_one_channel": set(GRADED_CELLS) - TOP_K,
    # grayscale JPEGs decode to one channel, which preprocess_input cannot flip
    "decode_without_channels": DECODE | {"test_servable_outputs", "test_export_reloaded_output"},
    "no_preprocess_input": {"test_decode_range", "test_decode_channel_order"},
    "preprocess_tf_mode": {"test_decode_channel_order"},
    "preprocess_torch_mode": {"test_decode_channel_order"},
    "means_in_rgb_without_flip": {"test_decode_channel_order"},
    "batch_first_image_only": {"test_batch_different_rows", "test_servable_outputs"},
    "top_k_of_3": TOP_K | {"test_servable_outputs", "test_export_signatures"},
    "top_k_ascending": TOP_K | {"test_servable_outputs"},
    "softmax_applied_again": TOP_K,
    "signature_input_renamed": EXPORT,
    "signature_outputs_swapped": EXPORT,
    "export_without_signatures": EXPORT,
    # Hostile submissions: the attack fails and changes nothing; the answers are graded as they are.
    "hostile_infinite_loop": set(),
    "hostile_memory_hog": set(),
    "hostile_network": set(),
    "hostile_read_files": set(),
    "hostile_write_grades": set(),
    "hostile_huge_output": set(),
    "hostile_monkeypatch_tests": TOP_K | {"test_servable_outputs"},  # its answers are top_k_ascending's
}
UNREADABLE = {
    "not_json": "is not a notebook (NotJSONError",
    "empty_file": "is empty",
    "wrong_name": "no serving_keras_resnet.ipynb (found homework.ipynb)",
}


class ConnectionCounter:
    """A server on the loopback interface that counts who reaches it: nobody must, from inside the sandbox."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def batch(workdir: Path) -> tuple[GradingRun, dict[str, dict], ConnectionCounter]:
    out = workdir / "grading"
    course = out / "course"
    folder = workdir / "submissions"
    counter = ConnectionCounter()
    solution_copy = course / "submitted" / "solution" / ASSIGNMENT / NOTEBOOK
    write_fixtures(
        folder,
        port=counter.port,
        readable=[str(SOLUTION), str(course / "gradebook.db"), str(solution_copy)],
        writable=[str(SOLUTION), str(course / "gradebook.db"), str(solution_copy)],
    )
    for student, text in {"not_json": "{not json", "empty_file": ""}.items():
        (folder / student).mkdir()
        (folder / student / NOTEBOOK).write_text(text)
    (folder / "wrong_name").mkdir()
    nbformat.write(nbformat.read(SOLUTION, as_version=4), folder / "wrong_name" / "homework.ipynb")

    archive = workdir / "lms_export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(folder.rglob("*")):
            zipped.write(path, path.relative_to(folder.parent))
    try:
        run = grade(archive, out, show_progress=False, cell_timeout=CELL_TIMEOUT)
    finally:
        counter.close()
    with run.grades_csv.open() as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    return run, rows, counter


def autograded_cell_text(run: GradingRun, student: str, cell_id: str) -> str:
    path = run.out / "course" / "autograded" / student / ASSIGNMENT / NOTEBOOK
    cell = next(cell for cell in nbformat.read(path, as_version=4).cells if cell.get("id") == cell_id)
    return "".join(
        output.get("text", "") + output.get("ename", "") + output.get("evalue", "") for output in cell.outputs
    )


def test_fixtures_cover_every_mutant_and_attack() -> None:
    assert len(MUTANTS) >= 10
    expected = {"solution", "unfilled_release", *CORRECT_VARIANTS, *MUTANTS, *HOSTILE_CODE} - {"hostile_os_exit"}
    assert set(EXPECTED_FAILURES) == expected


@pytest.mark.parametrize("student", sorted(EXPECTED_FAILURES))
def test_each_submission_loses_exactly_the_cells_aimed_at_it(batch, student: str) -> None:
    run, rows, _ = batch
    row = rows[student]
    scores = {cell: float(row[cell]) for cell in GRADED_CELLS}
    expected = {
        cell: 0.0 if cell in EXPECTED_FAILURES[student] else float(points) for cell, points in GRADED_CELLS.items()
    }
    assert scores == expected, {"note": row["note"], **failed_cell_errors(run, student, scores, expected)}
    assert float(row["score"]) == sum(expected.values()) and float(row["max_score"]) == 100
    assert row["note"] == ""


def failed_cell_errors(run: GradingRun, student: str, scores: dict, expected: dict) -> dict[str, str]:
    """What each unexpectedly failed cell printed: the reason, when a test fails in a way it should not."""
    if not (run.out / "course" / "autograded" / student).exists():
        return {"autograded notebook": "missing"}
    return {
        cell: autograded_cell_text(run, student, cell)[-500:]
        for cell in scores
        if scores[cell] != expected[cell] and expected[cell]
    }


def test_csv_has_a_column_per_graded_cell_and_a_row_per_student(batch) -> None:
    run, rows, _ = batch
    with run.grades_csv.open() as file:
        header = next(csv.reader(file))
    assert header[:4] == ["assignment", "student_id", "score", "max_score"]
    assert header[4:-1] == list(GRADED_CELLS) and header[-1] == "note"
    assert set(rows) == {*EXPECTED_FAILURES, "hostile_os_exit", *UNREADABLE}


@pytest.mark.parametrize("student", sorted(UNREADABLE))
def test_unreadable_submissions_are_named_with_the_reason_and_graded_0(batch, student: str) -> None:
    run, rows, _ = batch
    assert float(rows[student]["score"]) == 0
    assert UNREADABLE[student] in rows[student]["note"]
    assert UNREADABLE[student] in next(r.problem for r in run.results if r.student_id == student)


def test_a_kernel_that_exits_is_graded_0_and_the_batch_goes_on(batch) -> None:
    _, rows, _ = batch
    assert float(rows["hostile_os_exit"]["score"]) == 0
    assert "kernel died" in rows["hostile_os_exit"]["note"]
    assert float(rows["solution"]["score"]) == 100


def test_attacks_from_inside_the_sandbox_fail(batch) -> None:
    run, rows, counter = batch
    assert counter.connections == 0
    assert "network blocked" in autograded_cell_text(run, "hostile_network", "part1")
    assert autograded_cell_text(run, "hostile_read_files", "part1").count("read blocked") == 3
    assert "MemoryError" in autograded_cell_text(run, "hostile_memory_hog", "part1")
    # Whatever the writer believed, the real files are untouched and the grades are the judge's.
    course = run.out / "course"
    for path in (SOLUTION, course / "gradebook.db", course / "submitted" / "solution" / ASSIGNMENT / NOTEBOOK):
        assert b"100 points please" not in path.read_bytes(), path
    assert float(rows["solution"]["score"]) == 100


def test_huge_output_is_trimmed(batch) -> None:
    run, _, _ = batch
    graded = run.out / "course" / "autograded" / "hostile_huge_output" / ASSIGNMENT / NOTEBOOK
    assert graded.stat().st_size < 1_000_000
    assert (run.out / "feedback" / "hostile_huge_output" / "serving_keras_resnet.html").stat().st_size < 2_000_000


def test_reports_feedback_and_disk(batch) -> None:
    run, _, _ = batch
    graded = [r for r in run.results if not r.problem]
    for result in graded:
        assert (run.out / "feedback" / result.student_id / "serving_keras_resnet.html").is_file()
        assert result.disk_bytes < 5_000_000, f"{result.student_id}: {result.disk_bytes} bytes left"
    assert (run.out / "grades.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = [p for p in (run.out / "course").rglob("*") if p.name in {"keras_servable", "handin"}]
    assert leftovers == [], "exported SavedModels must be deleted after grading"


def test_feedback_keeps_hidden_tests_hidden(batch) -> None:
    run, _, _ = batch
    html = (run.out / "feedback" / "solution" / "serving_keras_resnet.html").read_text()
    assert "Decoder channel order: passed." in html
    assert "BEGIN HIDDEN TESTS" not in html and "255, 255, 255" not in html


def test_command_line_reports_problems_and_bad_arguments(tmp_path, capsys) -> None:
    folder = tmp_path / "submissions"
    (folder / "nobody").mkdir(parents=True)
    (folder / "nobody" / NOTEBOOK).write_text("")
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Graded 0 of 1 submissions" in printed and "nobody: 0 points, serving_keras_resnet.ipynb is empty" in printed
    assert (tmp_path / "out" / "grades.csv").is_file()

    assert main(["grade", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist: expected a .zip or a folder of submissions" in capsys.readouterr().err
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--jobs", "0"]) == 2
    assert "jobs must be at least 1, got 0" in capsys.readouterr().err
