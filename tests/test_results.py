"""A submission the grader could not grade, for reasons not of its own, is told apart from one that scored 0: no
score, a note, the command's exit status 3; and an earlier run's results are kept only for the very same run."""

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder.__main__ import summary
from autograder.grading.earlier_run import earlier_results, keep_results, notebook_digest, run_key
from autograder.grading.one_submission import SEE_THE_LOG, real_error
from autograder.grading.results import GradingRun, StudentResult, table_row
from autograder.grading.run import kept_for, write_log
from autograder.grading.workers import not_graded_if_failed
from autograder.report.export import canvas_column, write_canvas_csv
from tests.helpers import RESNET


def failed(error: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(error)
    return future


def test_the_grader_failing_on_this_machine_leaves_the_submission_not_graded() -> None:
    result = not_graded_if_failed(failed(OSError(28, "No space left on device")), StudentResult("ann"))
    assert result.not_graded == "the grader failed on this machine (OSError: [Errno 28] No space left on device)"
    assert result.note.startswith("not graded: the grader failed on this machine")
    assert table_row(result).split()[1] == "-"
    with pytest.raises(BrokenProcessPool):  # a worker that died: its submissions are graded again, one by one
        not_graded_if_failed(failed(BrokenProcessPool()), StudentResult("bob"))


def test_the_summary_says_what_was_not_graded_and_how_to_grade_it(tmp_path) -> None:
    run = GradingRun(
        tmp_path, [StudentResult("ann", 80, 100), StudentResult("bob", not_graded="the cluster could not")]
    )
    text = summary(run)
    assert "Graded 1 of 2 submissions" in text
    assert "NOT GRADED: 1 submissions" in text and "Run the same command again: it grades only these" in text
    assert "  bob: not graded: the cluster could not" in text


def test_an_earlier_run_s_results_are_kept_only_for_the_same_assignment_settings_and_notebook(tmp_path) -> None:
    key = run_key(RESNET, Config())
    assert key == run_key(RESNET, Config()) != run_key(RESNET, Config({"Execute": {"timeout": 5}}))
    graded = StudentResult("ann", 80, 100, notebook_sha256=notebook_digest(b"ann's"))
    keep_results(tmp_path, key, [graded, StudentResult("bob", not_graded="the cluster could not")])
    assert earlier_results(tmp_path, key) == {}, "without the earlier run's gradebook, nothing is kept"
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "gradebook.db").touch()
    assert earlier_results(tmp_path, key) == {"ann": graded}  # bob, not graded, is graded again
    assert earlier_results(tmp_path, "another run") == {}
    assert kept_for(graded, b"ann's") and not kept_for(graded, b"ann's, changed")
    (tmp_path / "results.json").write_text("not JSON")
    assert earlier_results(tmp_path, key) == {}
    assert not list(Path(tmp_path).glob(".*.tmp"))


def test_a_failed_step_s_log_is_kept_for_the_instructor_inert(tmp_path) -> None:
    """A note says "see its log": the log is in the output folder, one file per student, and what a kernel printed
    into it cannot play tricks on the terminal that shows it."""
    result = StudentResult("ann", problem="grading failed: OSError: see its log in the output folder's logs/")
    result.log = "Traceback (most recent call last):\n\x1b[2J\x1b[HGraded 4 of 4 submissions: all 100 of 100\n"
    write_log(tmp_path, result)
    assert (tmp_path / "logs" / "ann.log").read_text() == (
        "Traceback (most recent call last):\n\\x1b[2J\\x1b[HGraded 4 of 4 submissions: all 100 of 100\n"
    )
    assert result.log == ""
    assert real_error("Traceback\nOSError: [Errno 28] No space left") == f"OSError: {SEE_THE_LOG}"


def test_canvas_s_import_fills_the_assignment_named_with_its_id_and_leaves_ungraded_scores_empty(tmp_path) -> None:
    """Canvas matches an import's column to an existing assignment by the ID in its name, "Title (ID)", as its own
    export writes it; a column without one becomes a new assignment. An empty score leaves Canvas's grade as it is."""
    rows = [
        {"assignment": "serving_keras_resnet", "student_id": "a", "name": "Ann", "lms_user_id": "7", "score": 90.0},
        {"assignment": "serving_keras_resnet", "student_id": "b", "name": "Bob", "lms_user_id": "8", "score": ""},
    ]
    rows[0]["max_score"] = rows[1]["max_score"] = 100.0
    write_canvas_csv(tmp_path / "canvas.csv", rows, canvas_column("Serving ResNet (123456)"))
    assert (tmp_path / "canvas.csv").read_text().splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Serving ResNet (123456)",
        "Points Possible,,,,,100.0",
        "Ann,7,,,,90.0",
        "Bob,8,,,,",
    ]
    with pytest.raises(ValueError, match=r"expected the assignment's column as Canvas's gradebook export names it"):
        canvas_column("Serving ResNet")
