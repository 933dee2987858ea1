"""Values that cross a sandbox's boundary as data: the arguments the judge sends a Python function in the student's
kernel, and what comes back.

One line of JSON, in which every value that JSON cannot hold as itself is a one-key object naming its kind:
`{"$bytes": base64}`, `{"$tuple": [...]}`, `{"$set": [...]}`, `{"$frozenset": [...]}`, `{"$dict": [[key, value],
...]}` (every dictionary, whatever its keys, so that no student's dictionary can pass for a kind),
`{"$array": base64 .npy}`, `{"$scalar": base64 .npy}` (a NumPy scalar),
`{"$float": "nan"}`, and `{"$message": ["package.module.Type", base64]}` (a protocol buffer message). Arrays are read
without pickles; a message is parsed only as one of the types the reader allows. Both sides import this file: the
judge from its read-only folder, the kernel's hand-in from /grader. Only the standard library here; NumPy and
protocol buffers are imported when a value needs them.
"""

import base64
import importlib
import io
import json
import math

MAX_DEPTH = 32  # nested lists, tuples and dictionaries
KINDS = ("$bytes", "$tuple", "$set", "$frozenset", "$dict", "$array", "$scalar", "$float", "$message")
COLLECTIONS = {"$tuple": tuple, "$set": set, "$frozenset": frozenset}  # kinds that hold a list of values


class WireError(ValueError):
    """A value that cannot cross, or a text that is not a value; the message says which and why."""


def encode(value: object, limit: int) -> str:
    """value as one line of JSON of at most limit characters; WireError says why it cannot be."""
    text = json.dumps(_plain(value, 0), allow_nan=False, separators=(",", ":"))
    if len(text) > limit:
        raise WireError(f"{len(text):,} characters of data; the limit is {limit:,}")
    return text


def decode(text: str, limit: int, message_types: frozenset[str] = frozenset()) -> object:
    """The value text holds; WireError says why text is not one (too long, malformed, a message of a type not in
    message_types)."""
    if len(text) > limit:
        raise WireError(f"{len(text):,} characters of data; the limit is {limit:,}")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not JSON: {str(error)[:100]}") from None
    return _value(tree, 0, message_types)


def type_name(value: object) -> str:
    """A message's type as its reader names it: package.module.Type."""
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _plain(value: object, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise WireError(f"nested more than {MAX_DEPTH} deep")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_plain(item, depth + 1) for item in value]
    for kind, collection in COLLECTIONS.items():
        if isinstance(value, collection):
            return {kind: [_plain(item, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {"$dict": [[_plain(key, depth + 1), _plain(item, depth + 1)] for key, item in value.items()]}
    if hasattr(value, "SerializeToString") and hasattr(type(value), "FromString"):
        return {"$message": [type_name(value), base64.b64encode(value.SerializeToString()).decode("ascii")]}
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow tensor: its value
        value = value.numpy()
    kind = type(value).__module__.split(".")[0]
    if kind == "numpy":
        return _numpy(value)
    raise WireError(
        f"a {type(value).__name__}, which is not data (expected numbers, text, bytes, lists, "
        "tuples, sets, dictionaries, arrays or messages)"
    )


def _numpy(value: object) -> dict:
    import numpy as np

    array = np.asarray(value)
    if array.dtype.hasobject:
        raise WireError("an array of Python objects (expected numbers, booleans or fixed-size text)")
    data = io.BytesIO()
    np.save(data, array, allow_pickle=False)
    kind = "$array" if isinstance(value, np.ndarray) else "$scalar"
    return {kind: base64.b64encode(data.getvalue()).decode("ascii")}


def _value(tree: object, depth: int, message_types: frozenset[str]) -> object:
    if depth > MAX_DEPTH:
        raise WireError(f"nested more than {MAX_DEPTH} deep")
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    if isinstance(tree, list):
        return [_value(item, depth + 1, message_types) for item in tree]
    if not (isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in KINDS):
        raise WireError(f"an object that is none of the kinds {', '.join(KINDS)}")
    ((kind, content),) = tree.items()
    if kind in COLLECTIONS and isinstance(content, list):
        return _hashed(COLLECTIONS[kind], (_value(item, depth + 1, message_types) for item in content))
    if kind == "$dict" and isinstance(content, list) and all(isinstance(p, list) and len(p) == 2 for p in content):
        pairs = (
            (_value(key, depth + 1, message_types), _value(item, depth + 1, message_types)) for key, item in content
        )
        return _hashed(dict, pairs)
    if kind == "$float" and content in ("nan", "inf", "-inf"):
        return float(content)
    if kind == "$bytes" and isinstance(content, str):
        return _base64(content)
    if kind in ("$array", "$scalar") and isinstance(content, str):
        return _array(_base64(content), scalar=kind == "$scalar")
    if kind == "$message" and isinstance(content, list) and len(content) == 2:
        return _message(*content, message_types)
    raise WireError(f"a malformed {kind}")


def _hashed(collection: type, items: object) -> object:
    """collection(items); WireError where an item (a set's, a dictionary's key) cannot be hashed."""
    try:
        return collection(items)
    except TypeError as error:
        raise WireError(f"a {collection.__name__} of what cannot be in one: {str(error)[:100]}") from None


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise WireError("bytes that are not base64") from None


def _array(data: bytes, scalar: bool) -> object:
    import numpy as np

    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise WireError(f"an array that cannot be read: {str(error)[:100]}") from None
    if not isinstance(array, np.ndarray):
        raise WireError("an array file that holds no array")
    if scalar:
        if array.ndim:
            raise WireError("a scalar with dimensions")
        return array[()]
    return array


def _message(name: object, text: object, message_types: frozenset[str]) -> object:
    if name not in message_types or not isinstance(text, str):
        allowed = ", ".join(sorted(message_types)) or "none"
        raise WireError(f"a message of type {str(name)[:100]}; the types allowed here are {allowed}")
    from google.protobuf.message import DecodeError

    module, _, type_ = str(name).rpartition(".")
    try:
        return getattr(importlib.import_module(module), type_).FromString(_base64(text))
    except DecodeError as error:
        raise WireError(f"a {type_} that cannot be parsed: {str(error)[:100]}") from None
