"""The grader graded: one batch, a zip as an LMS exports it, holds the solution, the unfilled release, every
mutant, every hostile and innocently broken submission, Canvas, Moodle and Blackboard entries, and odd files.
Each student must get exactly the points they deserve, cell by cell, with a note that says what happened; and
nothing a submission does may reach the batch, the gradebook, the other students, the hidden tests or the machine.
The sandbox's limits are set low here, so that the attacks on them are quick."""

import csv
import json
import re
import shutil
import socket
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from autograder import ASSIGNMENT, NOTEBOOK, RELEASE, REPO, SOLUTION
from autograder.fixtures.notebooks import (
    ACTIVE_GRADE_ID,
    CORRECT_VARIANTS,
    GRAPH_ATTACKS,
    HIDDEN_SOURCE_MARK,
    HIDING_CELL_MARK,
    KERNEL_ATTACKS,
    MUTANTS,
    write_batch_zip,
    write_fixtures,
)
from autograder.grading.results import GradingRun
from autograder.grading.run import grade
from autograder.sandbox.launch import MIB
from tests.helpers import RESNET, hashed_id

# The batch is graded once, in the first test that needs it: 10-15 min.
pytestmark = [pytest.mark.class_scale, pytest.mark.timeout(2400)]

CELL_TIMEOUT = 40  # seconds a kernel cell may run: the slowest, the set-up, takes 5, 10 two at a time
JUDGE_CELL_TIMEOUT = 15  # seconds a judged cell may run: the slowest correct one, the export check, takes about 4
REPORT = REPO / "build" / "fixtures" / "grades.csv"  # the batch's grades, kept for reports (never asserted on)
LIMITS = {"workdir": 400 * MIB, "tmp": 256 * MIB, "file": 400 * MIB, "processes": 256}
PLANTED_VARIABLE, PLANTED_VALUE = "AUTOGRADER_PLANTED_SECRET", "planted-3f1c9e-in-the-grader-environment"
GRADED_CELLS = {
    "test_decode_shape_dtype": 10,
    "test_decode_values": 10,
    "test_decode_bounds": 5,
    "test_my_checks": 15,
    "test_batch_shape": 5,
    "test_batch_rows": 5,
    "test_topk_planted": 5,
    "test_topk_batch": 5,
    "test_servable": 10,
    "test_export_signatures": 5,
    "test_export_reloaded_output": 5,
    "test_served_requests": 10,
    "test_served_labels": 10,
}
ALL = set(GRADED_CELLS)
DECODE = {"test_decode_shape_dtype", "test_decode_values"}  # Part 1
MY_TESTS = {"test_decode_bounds", "test_my_checks"}  # Part 2
BATCH = {"test_batch_shape", "test_batch_rows"}  # Part 3
TOP_K = {"test_topk_planted", "test_topk_batch"}  # Part 4
SERVABLE = {"test_servable"}  # Part 5
EXPORT = {"test_export_signatures", "test_export_reloaded_output"}  # Parts 6 and 7
SERVED = {"test_served_requests", "test_served_labels"}  # Part 8
# The graded cells each graded student must fail; they keep full points in every other cell but those of
# EXPECTED_PARTIAL. Each realistic mistake costs the cells of its own part only (error carried forward): a later
# part is judged with stand-ins for the earlier ones.
EXPECTED_FAILURES = {
    "solution": set(),
    "default_dct": set(),  # tf.io.decode_jpeg(jpeg, channels=3): a correct answer too
    "decode_image_instead": set(),
    "model_called_plainly": set(),
    "rest_instances_name_the_input": set(),
    "unfilled_release": ALL,
    "decode_one_channel": DECODE,  # its servable cannot serve: Parts 6 to 8 go on with the stand-in servable
    "decode_without_channels": DECODE,  # colour JPEGs decode, grayscale ones cannot be preprocessed
    "decode_not_resized": {"test_decode_shape_dtype"},
    "no_preprocess_input": {"test_decode_values"},
    "preprocess_tf_mode": {"test_decode_values"},
    "preprocess_torch_mode": {"test_decode_values"},
    "means_in_rgb_without_flip": {"test_decode_values"},
    "bounds_too_wide": {"test_decode_bounds"},
    "checks_of_the_shape_only": set(),  # partly: EXPECTED_PARTIAL
    "checks_too_strict": {"test_my_checks"},  # they reject a correct output
    "checks_call_the_decoder": {"test_my_checks"},
    "batch_first_image_only": {"test_batch_rows"},
    "map_without_output_type": BATCH,
    "top_k_of_3": TOP_K,
    "top_k_ascending": TOP_K,
    "softmax_applied_again": TOP_K,
    "servable_in_training_mode": SERVABLE,
    "model_without_its_top": SERVABLE,
    "servable_skips_postprocess": SERVABLE,
    "signature_input_unnamed": EXPORT,  # clients send images, which its export does not take
    "signature_default_only": EXPORT,
    "export_without_signatures": EXPORT,
    "rest_jpegs_not_base64": {"test_served_requests"},
    "grpc_input_renamed": {"test_served_requests"},
    "grpc_signature_renamed": {"test_served_requests"},
    "grpc_outputs_left_as_protos": {"test_served_labels"},
    "labels_parsed_in_reverse": {"test_served_labels"},
    # A graph that attacks the judge: only the cells that call it fail, each with its reason; the servable that
    # includes it never answers in the kernel either, so Parts 6 to 8 go on with the stand-in servable.
    "hostile_graph_never_returns": TOP_K,
    # Python functions that never return in the kernel when the judge calls them on a hidden input: only their
    # test fails; one that ignores the interrupt leaves the kernel busy, so Part 8's other test cannot call it.
    "hostile_python_never_returns": {"test_served_requests"},
    "hostile_python_ignores_the_interrupt": SERVED,
    # Kernel attacks (autograder/attacks): each fails and changes nothing. Added to the release, they earn
    # nothing; added to the solution, they do not cost it a point; added to a mutant, they do not fix it.
    **{f"hostile_{attack}": ALL for attack, base in KERNEL_ATTACKS.items() if base == "release"},
    "hostile_resources": set(),
    "hostile_full_tmp": ALL,  # its /tmp, full of files, leaves no room for the hand-in
    "hostile_monkeypatch_tests": TOP_K,  # its answers are top_k_ascending's
    # its answers are export_without_signatures'; the text it forged for max_value is no number
    "hostile_forged_handin": EXPORT | {"test_decode_bounds"},
    "edited_metadata": set(),
    "dressed_up": set(),  # its markdown would run in the pages that show it: it is shown inert
    "nbformat_3": set(),
    "fake_servable": ALL - EXPORT,  # a made-up servable, with the right signatures around it: Part 6's points
    # Entries of LMS downloads and odd folders (autograder/fixtures/notebooks.py: LMS_AND_ODD_ENTRIES), all the release.
    "smithjohn_12345": ALL,
    "John_Smith_123456": ALL,
    "jdoe": ALL,
    "alice": ALL,
    "bob": ALL,
    "dave": ALL,
    "setuid_zip": ALL,
    "extra_files": ALL,
}
EXPECTED_PARTIAL = {"checks_of_the_shape_only": {"test_my_checks": 2.5}}  # catches the one-channel decoder only
EXPECTED_NOTES = {
    "edited_metadata": [
        "cell 37 is a copy of test cell 'test_topk_batch' (cell 36): removed its grade metadata, only the original "
        "is graded; delete the copy",
        "cell 38 had grade metadata for an unknown id 'my_own_test'; it is graded as an ordinary cell",
    ],
    "dressed_up": [
        f"cell 8 had grade metadata for an unknown id '{ACTIVE_GRADE_ID}'; it is graded as an ordinary cell"
    ],
    "hostile_full_tmp": [
        "its kernel filled /tmp (it holds the most files it may, 100,000): writing there failed from then on"
    ],
    "hostile_os_exit": [
        "grading stopped in cell 3: the notebook's kernel died (the notebook exited or crashed); "
        "the cells after it did not run"
    ],
    "hostile_frame_flood": [
        "grading stopped in cell 3: its output was lost: it printed more than 256 MiB at once; "
        "the cells after it did not run"
    ],
    "hostile_uninterruptible_loop": [
        f"grading stopped in cell 3: it ran longer than {CELL_TIMEOUT} s and ignored the interrupt; "
        "the cells after it did not run"
    ],
}
FORMULA_ID = hashed_id("=HYPERLINK__http_", '=HYPERLINK("http:')
UNREADABLE = {
    "not_json": "is not a notebook (not JSON: Expecting property name enclosed in double quotes at line 1 column 2)",
    "empty_file": "serving_keras_resnet.ipynb is empty",
    "lone_surrogate": "is not a notebook (text that cannot be saved as UTF-8: surrogates not allowed)",
    "many_cells": "cells; the limit is 2,000",  # the release's, and 2,000 more
    "wrong_name": "no serving_keras_resnet.ipynb (found homework.ipynb)",
    "zip_bomb": "serving_keras_resnet.ipynb is 100 MiB; the limit is 20 MiB",
    # '=HYPERLINK("http://example.com")/...': the slashes make folders, the student is the top one
    "'" + FORMULA_ID: "serving_keras_resnet.ipynb is empty",  # as a spreadsheet shows the id
}


class ConnectionCounter:
    """A server on the loopback interface that counts who reaches it: nobody must, from inside the sandbox."""

    def __init__(self, server: socket.socket | None = None) -> None:
        self.server = server or socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1] if self.server.family == socket.AF_INET else 0
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


class UnixSocketCounter(ConnectionCounter):
    """A Unix socket on the host, only root may connect to: nobody must, not even the grader, which is root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        path.chmod(0o600)
        server.listen()
        super().__init__(server)


def low_limits() -> Config:
    settings = Config()
    settings.SandboxedKernelManager.workdir_size = LIMITS["workdir"]
    settings.SandboxedKernelManager.tmp_size = LIMITS["tmp"]
    settings.Sandbox.file_size_limit = LIMITS["file"]
    settings.Sandbox.process_limit = LIMITS["processes"]
    settings.Judge.cell_timeout = JUDGE_CELL_TIMEOUT
    return settings


@pytest.fixture(scope="module")
def batch(workdir: Path, monkeypatch_module) -> tuple[GradingRun, dict[str, dict], ConnectionCounter]:
    out = workdir / "grading"
    course = out / "course"
    folder = workdir / "submissions"
    counter = ConnectionCounter()
    host_socket = UnixSocketCounter(workdir / "host.sock")
    solution_copy = course / "submitted" / "solution" / ASSIGNMENT / NOTEBOOK
    targets = {
        "port": counter.port,
        "readable": [str(SOLUTION), str(course / "gradebook.db"), str(solution_copy)],
        "writable": [str(SOLUTION), str(course / "gradebook.db"), str(solution_copy)],
        "host_folders": [str(REPO), str(workdir)],
        "planted_variable": PLANTED_VARIABLE,
        "host_socket": str(host_socket.path),
    }
    write_fixtures(folder, targets)
    release = nbformat.read(RELEASE, as_version=4)
    surrogate = json.dumps({**release, "cells": [*release.cells, nbformat.v4.new_markdown_cell("\ud800")]})
    many_cells = json.dumps({**release, "cells": [*release.cells, *map(nbformat.v4.new_markdown_cell, "x" * 2000)]})
    odd_texts = {"not_json": "{not json", "empty_file": "", "lone_surrogate": surrogate, "many_cells": many_cells}
    for student, text in odd_texts.items():
        (folder / student).mkdir()
        (folder / student / NOTEBOOK).write_text(text)
    (folder / "wrong_name").mkdir()
    nbformat.write(nbformat.read(SOLUTION, as_version=4), folder / "wrong_name" / "homework.ipynb")
    archive = workdir / "lms_export.zip"
    write_batch_zip(folder, archive)

    monkeypatch_module.setenv(PLANTED_VARIABLE, PLANTED_VALUE)
    try:
        run = grade(archive, out, False, CELL_TIMEOUT, settings=low_limits(), assignment=RESNET)
    finally:
        counter.close()
        host_socket.close()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.grades_csv, REPORT)  # for reports: every fixture's score and note
    with run.grades_csv.open() as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    counter.connections += host_socket.connections
    return run, rows, counter


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def graded_notebook(run: GradingRun, student: str) -> nbformat.NotebookNode:
    return nbformat.read(run.out / "course" / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)


def cell_text(run: GradingRun, student: str, cell_id: str) -> str:
    """What a cell of a graded notebook printed, with its error, by cell id or grade id."""
    nb = graded_notebook(run, student)
    cell = next(c for c in nb.cells if cell_id in (c.get("id"), c.metadata.get("nbgrader", {}).get("grade_id")))
    return "".join(
        output.get("text", "") + output.get("ename", "") + ": " * ("ename" in output) + output.get("evalue", "")
        for output in cell.outputs
    )


def everything_written(run: GradingRun) -> str:
    """Every file the grading run left, as text: the grades, the graded notebooks and the feedback."""
    return "\n".join(
        path.read_text(errors="replace")
        for path in run.out.rglob("*")
        if path.is_file() and path.suffix in {".csv", ".ipynb", ".html", ".json", ".txt"}
    )


def every_output(run: GradingRun) -> str:
    """What every cell of every graded notebook printed or raised, and the notes: never the students' own code."""
    notebooks = (run.out / "course" / "autograded").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}")
    outputs = [json.dumps(cell.get("outputs", [])) for path in notebooks for cell in nbformat.read(path, 4).cells]
    return "\n".join([*outputs, run.grades_csv.read_text()])


def attack_output(run: GradingRun, student: str) -> str:
    """What the cell that holds a kernel attack printed."""
    cell = next(cell for cell in graded_notebook(run, student).cells if "ATTACK_TARGETS = " in cell.source)
    return cell_text(run, student, cell.get("id"))


def test_fixtures_cover_every_mutant_and_attack() -> None:
    assert len(MUTANTS) >= 10
    hostile = {f"hostile_{attack}" for attack in KERNEL_ATTACKS}
    fixtures = {"solution", "unfilled_release", *CORRECT_VARIANTS, *MUTANTS, *GRAPH_ATTACKS, *hostile}
    assert fixtures | {"edited_metadata"} <= set(EXPECTED_FAILURES)


@pytest.mark.parametrize("student", sorted(EXPECTED_FAILURES))
def test_each_submission_loses_exactly_the_cells_aimed_at_it(batch, student: str) -> None:
    run, rows, _ = batch
    row = rows[student]
    scores = {cell: float(row[cell]) for cell in GRADED_CELLS}
    expected = {
        cell: 0.0 if cell in EXPECTED_FAILURES[student] else float(points) for cell, points in GRADED_CELLS.items()
    }
    expected.update(EXPECTED_PARTIAL.get(student, {}))
    failed = {cell: cell_text(run, student, cell)[-300:] for cell in scores if scores[cell] != expected[cell]}
    assert scores == expected, {"note": row["note"], **failed}
    assert float(row["score"]) == sum(expected.values()) and float(row["max_score"]) == 100


@pytest.mark.parametrize("student", sorted(EXPECTED_NOTES))
def test_notes_say_what_happened(batch, student: str) -> None:
    _, rows, _ = batch
    assert rows[student]["note"] == "; ".join(EXPECTED_NOTES[student])


def test_graded_students_without_a_story_have_no_note(batch) -> None:
    _, rows, _ = batch
    quiet = set(EXPECTED_FAILURES) - set(EXPECTED_NOTES) - {"smithjohn_12345", "alice", "dave", "jdoe", "extra_files"}
    assert {student: rows[student]["note"] for student in quiet if rows[student]["note"]} == {}


@pytest.mark.parametrize("student", sorted(UNREADABLE))
def test_unreadable_submissions_are_named_with_the_reason_and_graded_0(batch, student: str) -> None:
    _, rows, _ = batch
    assert float(rows[student]["score"]) == 0
    assert UNREADABLE[student] in rows[student]["note"]


def test_a_spreadsheet_never_reads_a_student_id_as_a_formula(batch) -> None:
    run, rows, _ = batch
    formula = FORMULA_ID
    assert formula not in rows and "'" + formula in rows
    assert f",'{formula}," in run.grades_csv.read_text()


def test_lms_downloads_are_mapped_to_their_students(batch) -> None:
    run, rows, _ = batch
    canvas = rows["smithjohn_12345"]
    assert (canvas["lms"], canvas["lms_user_id"], canvas["name"]) == ("canvas", "12345", "smithjohn")
    assert "2 attempts" in canvas["note"] and "serving_keras_resnet-1.ipynb" in canvas["note"]
    assert (rows["John_Smith_123456"]["lms"], rows["John_Smith_123456"]["name"]) == ("moodle", "John Smith")
    assert (rows["jdoe"]["lms"], rows["jdoe"]["lms_user_id"], rows["jdoe"]["name"]) == (
        "blackboard",
        "jdoe",
        "Jane Doe",
    )
    with (run.out / "grades_canvas.csv").open() as file:
        canvas_rows = list(csv.reader(file))
    assert canvas_rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["Points Possible", "", "", "", "", "100.0"],
        ["smithjohn", "12345", "", "", "", "0.0"],
    ]


def test_nested_folders_never_create_students_and_odd_files_stop_nobody(batch) -> None:
    run, rows, _ = batch
    assert {"carol", "lms_export", "submissions"}.isdisjoint(rows)
    assert "carol/serving_keras_resnet.ipynb" in rows["alice"]["note"]
    assert "bob/serving_keras_resnet.ipynb" in rows["dave"]["note"] and rows["bob"]["note"] == ""
    assert (
        rows["extra_files"]["note"] == "did not open data.csv.gz, work.zip: archives inside a submission are not opened"
    )
    submitted = run.out / "course" / "submitted"
    for student in ("setuid_zip", "extra_files", "alice"):
        files = [path for path in (submitted / student).rglob("*") if path.is_file()]
        assert [path.name for path in files] == [NOTEBOOK]
        assert (files[0].stat().st_mode & 0o7777) == 0o644, "only the notebook, with fixed modes"


def test_attacks_from_inside_the_sandbox_fail(batch) -> None:
    run, _, counter = batch
    assert counter.connections == 0
    attacks = {f"hostile_{attack}": attack_output(run, f"hostile_{attack}") for attack in KERNEL_ATTACKS}
    assert {name: text for name, text in attacks.items() if "ESCAPED" in text or "LEAKED" in text} == {}
    escape = attacks["hostile_escape"]
    assert escape.count("blocked: remount") == 7 and escape.count("blocked: write into") == 7
    assert "blocked: new user namespace" in escape and "blocked: setuid(0)" in escape
    assert "network blocked" in attacks["hostile_network"]
    assert "blocked: replacing the heartbeat socket: Permission denied" in attacks["hostile_socket_swap"]
    assert attacks["hostile_read_files"].count("read blocked") == 3
    assert "MemoryError" in attacks["hostile_memory_hog"]
    # No reference code is where the student's code runs: not as the notebook runs, not when the judge calls it.
    assert "nothing found while the notebook runs" in attacks["hostile_reference_hunt"]
    assert "nothing found while the judge calls" in cell_text(run, "hostile_reference_hunt", "test_my_checks")
    for folder in (REPO, REPO / "samples", Path(sys.prefix)):
        assert not (folder / "escaped.txt").exists()
    # Whatever the writer believed, the real files are untouched and the grades are the judge's.
    course = run.out / "course"
    for path in (SOLUTION, course / "gradebook.db", course / "submitted" / "solution" / ASSIGNMENT / NOTEBOOK):
        assert b"100 points please" not in path.read_bytes(), path


def test_the_grader_environment_never_reaches_a_submission(batch) -> None:
    run, _, _ = batch
    secrets = attack_output(run, "hostile_secrets")
    assert "the planted variable is not here" in secrets and "Permission denied" in secrets
    assert PLANTED_VALUE not in everything_written(run)


def test_sandbox_limits_stop_disk_memory_and_process_hogs(batch) -> None:
    run, rows, _ = batch
    resources = attack_output(run, "hostile_resources")
    assert f"filler.bin: stopped after {LIMITS['file'] // MIB} MiB: File too large" in resources
    assert "/tmp/filler.bin: stopped after" in resources and "No space left on device" in resources
    assert f"/grader/handin.tar: stopped after {LIMITS['file'] // MIB} MiB: File too large" in resources
    started = int(resources.split("started ")[1].split(" processes")[0])
    assert started < LIMITS["processes"] and "Resource temporarily unavailable" in resources
    assert rows["hostile_resources"]["score"] == "100.0"
    # A million empty files: the folder refuses them at its limit, and the hand-in says why it could not be written.
    full = attack_output(run, "hostile_full_tmp")
    made = re.search(r"/tmp: stopped after (\d+) files: No space left on device", full)
    assert made and 90_000 < int(made[1]) < 100_000, full  # the folder's limit, less what the kernel had there
    assert cell_text(run, "hostile_full_tmp", "test_topk_planted").endswith(
        "the notebook ran to its end but handed nothing in: its /tmp is full"
    )


def test_forged_modules_in_the_submission_are_never_imported(batch) -> None:
    run, rows, _ = batch
    planted = attack_output(run, "hostile_forged_judge")
    assert "planted ./autograder/inside/judge.py" in planted and "blocked: /grader/judge.py" in planted
    assert "FORGED CODE RAN" not in every_output(run)
    assert rows["hostile_forged_judge"]["score"] == "0.0"


def test_feedback_never_shows_hidden_tests(batch) -> None:
    run, _, _ = batch
    for student in ("solution", "unfilled_release", "hostile_graph_never_returns"):
        html = (run.out / "feedback" / student / "serving_keras_resnet.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "255, 255, 255" not in html


def test_a_function_that_never_returns_costs_only_the_cells_that_call_it(batch) -> None:
    run, _, _ = batch
    student = "hostile_graph_never_returns"
    assert cell_text(run, student, "test_topk_planted") == (
        f"TimeoutError: postprocess_output did not finish within {JUDGE_CELL_TIMEOUT} s"
    )
    assert cell_text(run, student, "test_topk_batch") == (
        f"HandInError: postprocess_output did not finish within {JUDGE_CELL_TIMEOUT} s when an earlier test "
        "called it, so it is not called again"
    )
    assert "Decoder values: passed." in cell_text(run, student, "test_decode_values")
    # A Python function called in the kernel: its test fails; the kernel, interrupted, goes on with the next call.
    hangs = f"TimeoutError: rest_predict_body did not finish within {JUDGE_CELL_TIMEOUT} s"
    assert cell_text(run, "hostile_python_never_returns", "test_served_requests") == hangs
    assert "Reading the answers: passed." in cell_text(run, "hostile_python_never_returns", "test_served_labels")
    # One that ignores the interrupt keeps the kernel busy: the calls after it are refused at once, with the reason.
    assert cell_text(run, "hostile_python_ignores_the_interrupt", "test_served_requests") == hangs
    assert cell_text(run, "hostile_python_ignores_the_interrupt", "test_served_labels").startswith(
        "HandInError: top_5_labels cannot be called: the kernel was still running rest_predict_body"
    )
    assert "on the stand-in servable, since yours cannot serve: serving_fn did not answer" in cell_text(
        run, student, "test_export_signatures"
    )


def test_grading_notes_come_only_from_the_grader(batch) -> None:
    """What a submission prints (here, a graph that prints lines like notes, then never returns) is never a note."""
    _, rows, _ = batch
    assert "regraded" not in "".join(row["note"] for row in rows.values())


def test_a_submission_s_html_and_javascript_never_run_in_feedback(batch) -> None:
    run, _, _ = batch
    html = (run.out / "feedback" / "hostile_html_output" / "serving_keras_resnet.html").read_text()
    for active in ("<img src=x onerror", "<script>document.title", "<script>alert"):  # escaped in the code shown
        assert active not in html
    images = (run.out / "feedback" / "hostile_image_attributes" / "serving_keras_resnet.html").read_text()
    assert len(re.findall(r"<img ", images)) == 2, "both images are shown"
    assert re.findall(r"<img [^>]*\son\w+=", images) == [], "with no attribute but their size"
    graded = every_output(run)
    assert "text/html" not in graded and "application/javascript" not in graded and "image/svg+xml" not in graded


def test_a_students_markdown_is_shown_inert_and_every_cell_is_shown(batch) -> None:
    """nbgrader's feedback and formgrade pages render markdown cells unsanitized: the graded notebook both show
    has the student's notes as text, with no script, handler, javascript: link, frame or full-page box, and the
    answer whose metadata asked nbconvert to hide it."""
    run, _, _ = batch
    graded = graded_notebook(run, "dressed_up")
    html = (run.out / "feedback" / "dressed_up" / "serving_keras_resnet.html").read_text()
    feedback = re.sub(r"<style.*?</style>", "", html, flags=re.DOTALL)  # the page's CSS names javascript: links
    markdown = "\n".join(cell.source for cell in graded.cells if cell.cell_type == "markdown")
    for page in (feedback, markdown):
        assert page.count("My notes on Part 1") == 2, "both copies of the notes are shown"
        for active in ("<script>document.title", "onerror=", "javascript:", "<iframe", '<div style="position'):
            assert active not in page
    assert HIDDEN_SOURCE_MARK.split(":")[0] in feedback
    assert not any("transient" in cell.metadata for cell in graded.cells)
    # A raw HTML cell in the page's own classes is shown as text: the one score header is the grader's.
    assert '<div class="panel panel-default" style="position: fixed' not in html
    fake = "serving_keras_resnet (Score: 999.0"
    assert f"<h4>{fake}" not in html and f"&lt;h4&gt;{fake}" in html
    # A cell with the id the hand-in cell once had is in the record, and so is a bidirectional override, escaped.
    hiding = [cell for cell in graded.cells if HIDING_CELL_MARK in cell.source]
    assert [output.get("text") for cell in hiding for output in cell.outputs] == [f"{HIDING_CELL_MARK}\n"]
    assert feedback.count(HIDING_CELL_MARK.split("'")[0]) == 2, "its source and its output, in the feedback"
    assert "\u202e" not in html and "\\u202e" in html


def test_output_is_bounded(batch) -> None:
    run, _, _ = batch
    graded = run.out / "course" / "autograded" / "hostile_huge_output" / ASSIGNMENT / NOTEBOOK
    assert graded.stat().st_size < 1_000_000
    assert (run.out / "feedback" / "hostile_huge_output" / "serving_keras_resnet.html").stat().st_size < 2_000_000


def test_reports_feedback_and_disk(batch) -> None:
    run, _, _ = batch
    graded = [r for r in run.results if not r.problem]
    for result in graded:
        assert (run.out / "feedback" / result.student_id / "serving_keras_resnet.html").is_file()
        assert result.disk_bytes < 1_000_000, f"{result.student_id}: {result.disk_bytes} bytes left"
    assert (run.out / "grades.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    course_bytes = sum(path.stat().st_size for path in (run.out / "course").rglob("*") if path.is_file())
    assert course_bytes < 1_000_000 * len(run.results), "only notebooks, feedback and the gradebook are kept"


def test_feedback_says_what_to_fix_as_the_notebook_does(batch) -> None:
    """The judge puts errors in the notebook's words (its `explain`): the student reads in the feedback the message
    and hint that JupyterLab showed, one line each, not TensorFlow's traceback."""
    run, _, _ = batch
    html = (run.out / "feedback" / "decode_one_channel" / "serving_keras_resnet.html").read_text()
    hint = "the image has fewer than 3 channels: a grayscale JPEG must become RGB too"
    assert html.count(hint) >= 4, "Part 1's tests say it, and the export's, which say why they used the stand-in"
    assert "on the stand-in servable, since yours cannot serve: serving_fn could not be traced" in html
    assert "could not be traced into a graph: ValueError: in build_jpeg_to_image_graph (Part 1)" in html
    shown = re.sub(r"<style.*?</style>", "", html, flags=re.DOTALL)  # the page's CSS names a "Traceback" style
    assert "Traceback" not in shown and "autograph" not in shown


def test_feedback_shows_students_their_own_text(batch) -> None:
    run, _, _ = batch
    html = (run.out / "feedback" / "edited_metadata" / "serving_keras_resnet.html").read_text()
    assert "BEGIN HIDDEN TESTS: my notes on what the tests check" in html
