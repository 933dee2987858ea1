"""What crosses between the student's kernel and the judge (autograder/inside/wire.py): every kind of value comes back
as it went, and a text that is not a value, or holds more than it may, is refused with the reason."""

import base64
import io
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from autograder.inside.wire import WireError, decode, encode

LIMIT = 1 << 20
RESPONSE = "tensorflow_serving.apis.predict_pb2.PredictResponse"


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_each_kind_comes_back_as_it_went() -> None:
    response = predict_pb2.PredictResponse()
    response.outputs["classes"].CopyFrom(tf.make_tensor_proto(np.array([[1, 2]], dtype=np.int32)))
    value = {
        "text": "ça ∑",
        "numbers": [1, -2.5, True, None, float("inf"), float("-inf")],
        "bytes": b"\xff\xd8\x00",
        "pair": ("label", 0.25),
        "sets": [{1, "a"}, frozenset({b"x"}), set()],
        "keys": {1: "one", ("x", 2): None, "$dict": 3},
        "nested": {"inner": [{"b64": "AA=="}]},
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "strings": np.array([b"a", b"bc"]),
        "scalar": np.float32(0.5),
        "tensor": tf.constant([1, 2], tf.int64),
        "message": response,
    }
    back = decode(encode(value, LIMIT), LIMIT, frozenset([RESPONSE]))
    assert back.keys() == value.keys()
    assert back["text"] == "ça ∑" and back["bytes"] == b"\xff\xd8\x00" and back["pair"] == ("label", 0.25)
    assert back["numbers"] == [1, -2.5, True, None, float("inf"), float("-inf")]
    assert back["nested"] == {"inner": [{"b64": "AA=="}]}
    assert back["sets"] == [{1, "a"}, frozenset({b"x"}), set()] and type(back["sets"][1]) is frozenset
    assert back["keys"] == {1: "one", ("x", 2): None, "$dict": 3}
    assert back["array"].dtype == np.float32 and back["array"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["strings"].tolist() == [b"a", b"bc"]
    assert isinstance(back["scalar"], np.float32) and back["scalar"] == 0.5
    assert back["tensor"].dtype == np.int64 and back["tensor"].tolist() == [1, 2]
    assert back["message"] == response
    assert np.isnan(decode(encode(float("nan"), LIMIT), LIMIT))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (object(), "a object, which is not data"),
        (np.array([b"a", None], dtype=object), "an array of Python objects"),
        (nested(40), "nested more than 32 deep"),
        ("x" * LIMIT, "characters of data; the limit is 1,048,576"),
    ],
)
def test_what_is_not_data_cannot_cross(value: object, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        encode(value, LIMIT)


def pickled_array() -> str:
    data = io.BytesIO()
    np.save(data, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return json.dumps({"$array": base64.b64encode(data.getvalue()).decode()})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"instances": []}', "an object that is none of the kinds"),
        ('{"$bytes": "***"}', "bytes that are not base64"),
        ('{"$tuple": "abc"}', "a malformed \\$tuple"),
        ('{"$set": [[1]]}', "a set of what cannot be in one: unhashable type: 'list'"),
        ('{"$dict": [[[1], 2]]}', "a dict of what cannot be in one: unhashable type: 'list'"),
        ('{"$dict": {"a": 1}}', "a malformed \\$dict"),
        ('{"$float": "1e400"}', "a malformed \\$float"),
        (pickled_array(), "an array that cannot be read"),
        ('{"$scalar": "' + base64.b64encode(b"not an array").decode() + '"}', "an array that cannot be read"),
        ('{"$message": ["os.system", "AA=="]}', "a message of type os.system; the types allowed here are " + RESPONSE),
        ('{"$message": ["' + RESPONSE + '", "////"]}', "a PredictResponse that cannot be parsed"),
        ("[" * 40 + "]" * 40, "nested more than 32 deep"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
        ('"' + "x" * LIMIT + '"', "characters of data; the limit is 1,048,576"),
    ],
)
def test_a_text_that_is_not_a_value_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode(text, LIMIT, frozenset([RESPONSE]))
