"""The hand-in (autograder/inside/handin.py, run in the student's kernel) and its reader
(autograder/inside/handin_reader.py, run in the judge), end to end in this process: each kind of answer crosses as data,
and whatever cannot be handed in arrives with its reason instead."""

import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from autograder.inside import INSIDE
from autograder.inside.handin import hand_in, reply_for_judge
from autograder.inside.handin_reader import (
    MESSAGE_BYTES_LIMIT,
    HandInError,
    JudgedFunction,
    StudentCodeError,
    handed_in_namespace,
    unpack,
)

REQUEST_TYPE = "tensorflow_serving.apis.predict_pb2.PredictRequest"


def no_kernel(function: str, arguments: str) -> dict:
    return {"unavailable": f"{function}: no kernel here"}


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
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None, no_kernel)
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
        bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None, no_kernel)
        assert "request" not in bound and missing["request"] == "request was not handed in as a message"
        assert bound["body"] == [1]
    (unpacked / "values.json").write_text('{"json": {"body": "' + "x" * (64 << 20) + '"}}')
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None, no_kernel)
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
    bound, _ = handed_in_namespace(spec, unpacked, {}, lambda **event: None, no_kernel)
    assert bound["served"](tf.constant([1.0, 2.0])).numpy().tolist() == [10.0, 20.0]
    assert [variable.numpy() for variable in bound["served"].variables] == [10.0]
    assert bound["served_scalar"](tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 3.0]
    assert bound["served_scalar"].variables == []


WIRE = INSIDE / "wire.py"


def in_this_process(namespace: dict, spec: dict):
    """What the grader's kernel calls do, with namespace as the kernel's: handin.py's reply to each call."""

    def call(function: str, arguments: str) -> dict:
        return reply_for_judge(namespace, spec, function, arguments, str(WIRE))

    return call


def test_a_python_function_is_called_where_it_lives_and_only_data_crosses(tmp_path: Path) -> None:
    """A plain Python function is not handed in: the judge calls it in the kernel with its arguments as data, and
    gets back what it returned (lists, tuples, arrays, bytes, messages), what it raised, or why it cannot be called."""

    def labels(classes, probabilities):
        return [
            [(f"class {c}", float(p)) for c, p in zip(row, ps, strict=True)]
            for row, ps in zip(classes, probabilities, strict=True)
        ]

    def request(jpegs):
        message = predict_pb2.PredictRequest()
        message.inputs["images"].CopyFrom(tf.make_tensor_proto(jpegs, dtype=tf.string))
        return message

    namespace = {
        "labels": labels,
        "request": request,
        "rejects": lambda image: np.testing.assert_array_less(image, 0),
        "returns_a_function": lambda: print,
        "not_a_function": 3,
        "explain": lambda error: f"in your words: {error}",
    }
    spec = {"python": ["labels", "request", "rejects", "returns_a_function", "not_a_function", "missing"]}
    spec["message_types"] = [REQUEST_TYPE]
    spec["explain"] = "explain"
    archive = tmp_path / "handin.tar"
    errors = hand_in(namespace, spec, str(archive))
    assert errors == {
        "not_a_function": "not_a_function is a int, expected a function",
        "missing": "in your words: name 'missing' is not defined",
    }
    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None, in_this_process(namespace, spec))
    assert bound["labels"](np.array([[3, 1]]), [[0.5, 0.25]]) == [[("class 3", 0.5), ("class 1", 0.25)]]
    assert tf.make_ndarray(bound["request"]([b"\xff\xd8", b"jpeg"]).inputs["images"]).tolist() == [b"\xff\xd8", b"jpeg"]
    assert bound["rejects"](np.array([-1.0])) is None
    with pytest.raises(StudentCodeError) as rejected:
        bound["rejects"](np.array([1.0]))
    assert str(rejected.value).startswith("rejects raised AssertionError: in your words: \nArrays are not strictly")
    with pytest.raises(StudentCodeError) as unreadable:
        bound["returns_a_function"]()
    assert str(unreadable.value) == (
        "returns_a_function raised TypeError: returns_a_function returned what cannot be handed to the judge: "
        "a builtin_function_or_method, which is not data (expected numbers, text, bytes, lists, tuples, sets, "
        "dictionaries, arrays or messages)"
    )
    for name in ("not_a_function", "missing"):
        with pytest.raises(HandInError, match=errors[name]):
            bound[name]()
    assert set(missing) == {"not_a_function", "missing"}


def test_a_tracked_object_reaches_the_judge_as_its_weights(tmp_path: Path) -> None:
    weights = [tf.Variable(tf.zeros([3, 4])), tf.Variable(tf.zeros([4]))]
    namespace = {"model": type("Model", (), {"weights": weights})()}
    archive = tmp_path / "handin.tar"
    assert hand_in(namespace, {"tracked": ["model", "absent"]}, str(archive)) == {}
    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    bound, _ = handed_in_namespace({"tracked": ["model", "absent"]}, unpacked, {}, lambda **event: None, no_kernel)
    assert [weight.shape.as_list() for weight in bound["model"].weights] == [[3, 4], [4]]
    assert "absent" not in bound


def test_graphs_the_judge_cannot_load_are_named_as_such(tmp_path: Path) -> None:
    """A hand-in whose graphs use an op this TensorFlow does not have (a custom op, say) is not a crash of the
    judge: every function is unavailable, with the op's name."""
    spec = {"functions": {"double": {"input": [[None], "float32"]}}}
    archive = tmp_path / "handin.tar"
    assert hand_in({"double": lambda x: x + x}, spec, str(archive)) == {}
    unpacked = tmp_path / "unpacked"
    assert unpack(archive, unpacked) == ""
    saved = unpacked / "functions" / "saved_model.pb"
    assert b"AddV2" in saved.read_bytes()
    saved.write_bytes(saved.read_bytes().replace(b"AddV2", b"Zz9q2"))
    bound, missing = handed_in_namespace(spec, unpacked, {}, lambda **event: None, no_kernel)
    reason = "the handed-in graphs cannot be loaded: they use the op Zz9q2, which this TensorFlow does not have"
    assert missing == {"*": reason}
    with pytest.raises(HandInError, match=reason):
        bound["double"](tf.constant([1.0]))


def test_an_assignment_of_plain_values_hands_in_no_graphs(tmp_path: Path) -> None:
    """Without functions, tracked models or tensor specs to hand in, the kernel saves no SavedModel and the judge
    loads none, so neither needs TensorFlow (a few seconds of each submission's grading)."""
    spec = {"python": ["count"], "numbers": ["n"]}
    archive = tmp_path / "handin.tar"
    assert hand_in({"count": len, "n": 3}, spec, str(archive)) == {}
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["arrays.npz", "values.json"]
    assert unpack(archive, tmp_path / "unpacked") == ""
    namespace, missing = handed_in_namespace(spec, tmp_path / "unpacked", {}, print, no_kernel)
    assert (namespace["n"], missing) == (3.0, {})
