"""A submission the grader could not grade, for reasons not of its own, is told apart from one that scored 0: no
score, a note, the command's exit status 3; and an earlier run's results are kept only for the very same run."""

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder.__main__ import summary
from autograder.grading.earlier_run import earlier_results, keep_results, notebook_digest, run_key
from autograder.grading.results import GradingRun, StudentResult, table_row
from autograder.grading.run import kept_for
from autograder.grading.workers import not_graded_if_failed
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
