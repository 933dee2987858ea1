"""The hand-in (autograder/handin.py, run in the student's kernel) and its reader (autograder/handin_reader.py, run
in the judge), end to end in this process: each kind of answer crosses as data, and whatever cannot be handed in
arrives with its reason instead."""

from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from autograder.handin import hand_in
from autograder.handin_reader import MESSAGE_BYTES_LIMIT, JudgedFunction, handed_in_namespace, unpack

REQUEST_TYPE = "tensorflow_serving.apis.predict_pb2.PredictRequest"


def test_each_kind_crosses_as_data_and_each_missing_answer_says_why(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "saved_model.pb").write_bytes(b"graph")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "resnet"
    namespace = {
        "double": lambda x: 2 * x,
        "fails": lambda x: x[5],  # a scalar cannot be indexed: tracing fails
        "spec": tf.TensorSpec([None], tf.string),
        "number": 2.5,
        "body": {"instances": [{"b64": "AA=="}], "signature_name": "serving_default"},
        "not_json": {b"bytes": 1},
        "request": request,
        "not_a_request": {"model_spec": {"name": "resnet"}},
        "array": np.arange(3),
        "export_path": export,
        "explain": lambda error: f"in your words: {type(error).__name__}",
    }
    spec = {
        "functions": {"double": {"input": [[None], "float32"]}, "fails": {"input": [[], "float32"]}},
        "specs": ["spec"],
        "numbers": ["number"],
        "json": ["body", "not_json", "never_set"],
        "messages": {"request": REQUEST_TYPE, "not_a_request": REQUEST_TYPE},
        "arrays": ["array"],
        "paths": ["export_path"],
        "explain": "explain",
    }
    archive = tmp_path / "handin.tar"
    errors = hand_in(namespace, spec, str(archive))
    assert errors == {
        "fails": "fails could not be traced into a graph: ValueError: in your words: ValueError",
        "not_json": "not_json is a dict, expected JSON data (dicts, lists, text, numbers) "
        "(TypeError: keys must be str, int, float, bool or None, not bytes)",
        "never_set": "in your words: NameError",
        "not_a_request": "not_a_request is a dict, expected a PredictRequest",
    }

    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None)
    assert isinstance(bound["double"], JudgedFunction)
    assert bound["double"](tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 4.0]
    assert bound["spec"] == tf.TensorSpec([None], tf.string) and bound["number"] == 2.5
    assert bound["body"] == namespace["body"] and bound["request"] == request
    assert bound["array"].tolist() == [0, 1, 2]
    assert (bound["export_path"] / "saved_model.pb").read_bytes() == b"graph"
    assert set(missing) == {"fails", "not_json", "never_set", "not_a_request"}
    assert missing["not_a_request"] == errors["not_a_request"]


def test_a_forged_message_or_oversized_values_are_no_answer(tmp_path: Path) -> None:
    spec = {"functions": {}, "json": ["body"], "messages": {"request": REQUEST_TYPE}}
    archive = tmp_path / "handin.tar"
    hand_in({"body": [1], "request": predict_pb2.PredictRequest()}, spec, str(archive))
    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    for forged in (b"\xff\xff\xff", bytes(MESSAGE_BYTES_LIMIT + 1)):  # no PredictRequest; too large to parse
        (unpacked / "messages" / "request.bin").write_bytes(forged)
        bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None)
        assert "request" not in bound and missing["request"] == "request was not handed in as a message"
        assert bound["body"] == [1]
    (unpacked / "values.json").write_text('{"json": {"body": "' + "x" * (64 << 20) + '"}}')
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None)
    assert "body" not in bound and missing == {"*": "the notebook handed nothing in: it did not run to the end"}


def test_the_notebook_s_own_trace_is_handed_in_when_it_takes_exactly_the_input(tmp_path: Path) -> None:
    """Tracing ResNet50 again costs seconds: a concrete function for the very input is handed in as it is."""
    weight = tf.Variable(10.0)
    own_trace = tf.function(lambda x: x * weight).get_concrete_function(tf.TensorSpec([None], tf.float32))
    scalar_trace = tf.function(lambda x: x * weight).get_concrete_function(tf.TensorSpec([], tf.float32))
    namespace = {
        "model": type("Model", (), {"weights": [weight]})(),
        "add_one": lambda x: x + 1,
        "served": own_trace,  # the notebook's trace of its servable: handed in as it is
        "served_scalar": scalar_trace,  # traced for another input: the Python function is traced instead
    }
    spec = {
        "tracked": ["model"],
        "functions": {
            "served": {"input": [[None], "float32"], "from": "add_one"},
            "served_scalar": {"input": [[None], "float32"], "from": "add_one"},
        },
    }
    archive = tmp_path / "handin.tar"
    assert hand_in(namespace, spec, str(archive)) == {}
    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    bound, _ = handed_in_namespace(spec, unpacked, {}, lambda **event: None)
    assert bound["served"](tf.constant([1.0, 2.0])).numpy().tolist() == [10.0, 20.0]
    assert [variable.numpy() for variable in bound["served"].variables] == [10.0]
    assert bound["served_scalar"](tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 3.0]
    assert bound["served_scalar"].variables == []
