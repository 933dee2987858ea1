"""Server-side batching: concurrent requests are merged into batches no larger than the limit, every caller gets
exactly its own rows, one bad request fails alone, a full queue is refused, and TF Serving's parameter file is read."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest

from serving.batching import Arrays, Batcher, BatchingParameters
from serving.errors import ServingError, invalid_argument
from tests.helpers import TF_SERVING


class DoublingModel:
    """Doubles its input and records the size of every call; refuses negative numbers, like a bad image."""

    def __init__(self, seconds_per_call: float = 0.0):
        self.calls: list[int] = []
        self.seconds_per_call = seconds_per_call
        self._lock = threading.Lock()

    def __call__(self, inputs: Arrays) -> Arrays:
        with self._lock:
            self.calls.append(len(inputs["x"]))
        if (inputs["x"] < 0).any():
            raise invalid_argument("negative input")
        time.sleep(self.seconds_per_call)
        return {"doubled": inputs["x"] * 2, "row_sum": inputs["x"].sum(axis=1)}


def parameters(**values: int) -> BatchingParameters:
    return BatchingParameters(**{"num_batch_threads": 1, "batch_timeout_micros": 200_000, **values})


def request(number: int, rows: int = 1) -> Arrays:
    return {"x": np.full((rows, 3), number, dtype=np.int64)}


def submit_all(batcher: Batcher, requests: list[Arrays]) -> list[Arrays | Exception]:
    def submit(inputs: Arrays) -> Arrays | Exception:
        try:
            return batcher.submit(inputs)
        except ServingError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(submit, requests))


def test_concurrent_requests_share_calls_and_each_gets_its_own_rows():
    model = DoublingModel()
    batcher = Batcher(model, parameters(max_batch_size=32), "test")
    requests = [request(number, rows=1 + number % 3) for number in range(12)]
    answers = submit_all(batcher, requests)
    for inputs, answer in zip(requests, answers, strict=True):
        np.testing.assert_array_equal(answer["doubled"], inputs["x"] * 2)
        np.testing.assert_array_equal(answer["row_sum"], inputs["x"].sum(axis=1))
    assert sum(model.calls) == sum(len(inputs["x"]) for inputs in requests)
    assert len(model.calls) < len(requests), f"no requests were merged: calls of {model.calls}"


def test_batches_stay_within_the_limit():
    model = DoublingModel(seconds_per_call=0.05)
    batcher = Batcher(model, parameters(max_batch_size=8), "test")
    answers = submit_all(batcher, [request(number, rows=3) for number in range(10)])
    assert all(not isinstance(answer, Exception) for answer in answers)
    assert max(model.calls) <= 8 and sum(model.calls) == 30
    assert max(model.calls) == 6, "two requests of 3 fit in a batch of 8"


def test_a_bad_request_fails_alone():
    model = DoublingModel()
    batcher = Batcher(model, parameters(), "test")
    answers = submit_all(batcher, [request(1), request(-1), request(2), request(3)])
    assert isinstance(answers[1], ServingError) and answers[1].code == grpc.StatusCode.INVALID_ARGUMENT
    for number, answer in zip((1, 2, 3), (answers[0], answers[2], answers[3]), strict=True):
        np.testing.assert_array_equal(answer["doubled"], request(number)["x"] * 2)


def test_a_full_queue_is_refused_as_unavailable():
    started, release = threading.Event(), threading.Event()

    def blocked_model(inputs: Arrays) -> Arrays:
        started.set()
        release.wait(30)
        return {"doubled": inputs["x"] * 2}

    batcher = Batcher(blocked_model, parameters(max_batch_size=2, max_enqueued_batches=1), "test")
    with ThreadPoolExecutor(max_workers=4) as pool:
        running = pool.submit(batcher.submit, request(0, rows=2))  # taken by the worker, which then blocks
        assert started.wait(30)
        queued = pool.submit(batcher.submit, request(1, rows=2))  # fills the queue: one batch of 2
        deadline = time.monotonic() + 30  # however slow the machine, the request is queued before the next comes
        while batcher._queued_rows < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ServingError, match="queue is full") as refused:
            batcher.submit(request(2))
        release.set()
        assert refused.value.code == grpc.StatusCode.UNAVAILABLE
        np.testing.assert_array_equal(queued.result(timeout=30)["doubled"], request(1, rows=2)["x"] * 2)
        running.result(timeout=30)


def test_a_closed_batcher_answers_queued_and_later_requests():
    model = DoublingModel(seconds_per_call=0.1)
    batcher = Batcher(model, parameters(), "test")
    with ThreadPoolExecutor(max_workers=3) as pool:
        early = [pool.submit(batcher.submit, request(number)) for number in range(2)]
        time.sleep(0.05)
        batcher.close()
        late = pool.submit(batcher.submit, request(5))
        for number, answer in enumerate([*early, late]):
            assert answer.result(timeout=30)["doubled"][0, 0] == 2 * (number if number < 2 else 5)


def test_tf_serving_batching_file_is_read():
    assert BatchingParameters.read(TF_SERVING / "batching.config") == BatchingParameters(
        max_batch_size=32, batch_timeout_micros=2000, num_batch_threads=2, max_enqueued_batches=16
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_batch_size { value: 8 }\nallowed_batch_sizes: 8", "cannot read 'allowed_batch_sizes: 8'"),
        ("pad_variable_length_inputs { value: 1 }", "unknown batching parameter(s) pad_variable_length_inputs"),
        ("max_batch_size { value: 0 }", "max_batch_size at least 1"),
    ],
)
def test_bad_batching_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "batching.config"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"batching\.config") as raised:
        BatchingParameters.read(path)
    assert message in str(raised.value)
