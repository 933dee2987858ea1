"""Hand in a graded notebook's answers for judging, as data: run in the student's kernel after the notebook.

The grader runs this file in the kernel with IPython's `%run -i`, so the notebook's variables are its globals.
It writes one archive, the only host file the kernel may write, holding what the assignment's tests read
(autograder/course/assignment.py says what that is):
- functions/: a SavedModel with each function traced for its input signature (graphs only, no Python code),
  with the weights of the tracked objects (the model) that the graphs read;
- values.json: each spec's shape and dtype, each number, each JSON value, the folder of each path, and why
  anything could not be handed in;
- arrays.npz: each array;
- messages/<name>.bin: each protocol buffer message, serialized;
- paths/<name>/: a copy of the folder each path names (the export).
The assignment's plain Python functions are not handed in: they stay in the kernel, which keeps running while the
judge works, and `call_for_judge` (run by the grader in the kernel, one call at a time) calls one of them with the
arguments the judge sent and shows what it returned or raised, as data (wire.py), in an output only the grader reads.
Nothing here decides a verdict: a separate process, the judge, runs the tests on what this hands in.
"""

import importlib.util
import json
import os
import tarfile
import tempfile
from pathlib import Path

JSON_LIMIT = 16 << 20  # characters of each JSON value handed in


def _load(path: str, name: str):
    """The module in the file at path, by its path: a notebook's own module of the same name is not it."""
    loaded = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


if __name__ == "__main__":  # run in the kernel (%run -i) from the grader's read-only folder, beside the contract
    contract = _load(os.path.join(os.path.dirname(__file__), "handin_contract.py"), "autograder_handin_contract")
else:  # imported as autograder.inside.handin, by the grader's tests
    from autograder.inside import handin_contract as contract
WIRE_MODULE = os.path.join(os.path.dirname(__file__), "wire.py")


def hand_in(namespace: dict, spec: dict, archive: str) -> dict[str, str]:
    """Write what spec names from namespace into the archive; return why each missing thing is missing."""
    import numpy as np

    errors: dict[str, str] = {}
    explain = _explainer(namespace, spec)
    values: dict = {"specs": {}, "numbers": {}, "json": {}, "paths": {}, "errors": errors}
    graphs = contract.needs_tensorflow(spec)
    if graphs:
        import tensorflow as tf

        module = tf.Module()
    for name in spec.get("tracked", []):
        if name in namespace and hasattr(namespace[name], "weights"):
            setattr(module, f"{name}_weights", list(namespace[name].weights))
    for name, function in spec.get("functions", {}).items():
        source = function.get("from", name)
        if not callable(namespace.get(source)):
            errors[name] = _missing(source, namespace.get(source), "a function", explain)
            continue
        try:
            setattr(module, name, _graph(namespace, name, source, _tensor_spec(function)))
        except Exception as error:  # any failure to trace is the student's to see, with its reason
            errors[name] = f"{source} could not be traced into a graph: {explain(error)}"[:500]
    for name in spec.get("python", []):
        if not callable(namespace.get(name)):
            errors[name] = _missing(name, namespace.get(name), "a function", explain)
    for name in spec.get("specs", []):
        value = namespace.get(name)
        if isinstance(value, tf.TensorSpec):
            shape = None if value.shape.rank is None else value.shape.as_list()
            values["specs"][name] = {"shape": shape, "dtype": value.dtype.name}
        else:
            errors[name] = _missing(name, value, "a tf.TensorSpec", explain)
    for name in spec.get("numbers", []):
        try:
            values["numbers"][name] = float(namespace[name])
        except (KeyError, TypeError, ValueError) as error:
            errors[name] = _missing(name, namespace.get(name), "a number", explain, error)
    for name in spec.get("json", []):
        try:
            text = json.dumps(namespace[name], allow_nan=False)
            if len(text) > JSON_LIMIT:
                raise ValueError(f"{len(text):,} characters of JSON; the limit is {JSON_LIMIT:,}")
            values["json"][name] = json.loads(text)
        except (KeyError, TypeError, ValueError, RecursionError) as error:
            expected = "JSON data (dicts, lists, text, numbers)"
            errors[name] = _missing(name, namespace.get(name), expected, explain, error)
    messages = {}
    for name, message_type in spec.get("messages", {}).items():
        value = namespace.get(name)
        if type(value).__module__ + "." + type(value).__name__ == message_type:
            messages[name] = value.SerializeToString()
        else:
            errors[name] = _missing(name, value, f"a {message_type.rsplit('.', 1)[-1]}", explain)
    arrays = {}
    for name in spec.get("arrays", []):
        try:
            arrays[name] = np.asarray(namespace[name])
        except Exception as error:  # whatever the student left there, it is not an array
            errors[name] = _missing(name, namespace.get(name), "an array", explain, error)
    with tempfile.TemporaryDirectory(prefix="handin-") as scratch, tarfile.open(archive, "w") as tar:
        if graphs:
            tf.saved_model.save(module, os.path.join(scratch, "functions"))
            tar.add(os.path.join(scratch, "functions"), "functions")
        np.savez(os.path.join(scratch, "arrays.npz"), **arrays)
        tar.add(os.path.join(scratch, "arrays.npz"), "arrays.npz")
        for name, data in messages.items():
            Path(scratch, f"{name}.bin").write_bytes(data)
            tar.add(os.path.join(scratch, f"{name}.bin"), f"messages/{name}.bin")
        for name in spec.get("paths", []):
            folder = Path(str(namespace.get(name, "")))
            if name in namespace and folder.is_dir() and not folder.is_symlink():
                tar.add(folder, f"paths/{name}")
                values["paths"][name] = f"paths/{name}"
            else:
                errors[name] = _missing(name, namespace.get(name), "the path of a folder", explain)
        Path(scratch, "values.json").write_text(json.dumps(values))
        tar.add(os.path.join(scratch, "values.json"), "values.json")
    return errors


def _graph(namespace: dict, name: str, source: str, spec):
    """The function as a graph for inputs of spec: the notebook's own trace, when name already holds one for exactly
    that input (tracing ResNet50 again would cost seconds), else the Python function source traced now."""
    import tensorflow as tf

    traced = namespace.get(name)
    if isinstance(traced, tf.types.experimental.ConcreteFunction):
        inputs, keywords = traced.structured_input_signature
        (only, *others) = [*inputs, *keywords.values()] or [None]
        if not others and isinstance(only, tf.TensorSpec) and (only.shape, only.dtype) == (spec.shape, spec.dtype):
            return traced
    function = tf.function(namespace[source], input_signature=[spec])
    function.get_concrete_function()
    return function


def _tensor_spec(function: dict):
    import tensorflow as tf

    shape, dtype = function["input"]
    return tf.TensorSpec(shape, dtype)


def _explainer(namespace: dict, spec: dict):
    """The notebook's own one-line explanation of an error (spec["explain"] names it); else, for a name left
    undefined, the grader's (spec["missing"]: which part's blank defines it, autograder/course/blanks.py), or its first
    line."""
    explain = namespace.get(spec.get("explain", ""))
    missing = spec.get("missing", {})

    def first_line(error: BaseException) -> str:
        if isinstance(error, NameError) and error.name in missing:
            return f"NameError: {missing[error.name]}"
        return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"

    def one_line(error: BaseException) -> str:
        try:
            return f"{type(error).__name__}: {explain(error)}"
        except Exception:  # the student's kernel may have replaced it with anything: fall back to the error itself
            return first_line(error)

    return one_line if callable(explain) else first_line


def _missing(name: str, value: object, expected: str, explain, error: Exception | None = None) -> str:
    if value is None:
        return explain(NameError(f"name {name!r} is not defined", name=name)).removeprefix("NameError: ")
    detail = f" ({type(error).__name__}: {str(error)[:200]})" if error else ""
    return f"{name} is a {type(value).__name__}, expected {expected}{detail}"


def call_for_judge(namespace: dict, name: str, arguments_file: str) -> None:
    """Show the reply to one call the judge asks for, its arguments in arguments_file, as this cell's last output:
    only the grader reads it. The function's own prints and displays before it are the student's."""
    from IPython.display import publish_display_data

    spec = json.loads(Path(contract.SPEC).read_text())
    arguments = Path(arguments_file).read_text()
    publish_display_data({contract.REPLY_TYPE: json.dumps(reply_for_judge(namespace, spec, name, arguments))})


def reply_for_judge(namespace: dict, spec: dict, name: str, arguments: str, wire_module: str = WIRE_MODULE) -> dict:
    """Call the notebook's function name with arguments (wire text: [args, kwargs]); the reply: {"value": wire
    text}, {"raised": [type, message]} or {"unavailable": why}, each message in the notebook's words (spec names
    its explain function)."""
    wire = _load(wire_module, "autograder_wire")
    explain = _explainer(namespace, spec)
    function = namespace.get(name)
    if not callable(function):
        return {"unavailable": _missing(name, function, "a function", explain)}
    args, kwargs = wire.decode(arguments, len(arguments), frozenset(spec.get("message_types", [])))
    try:
        return {"value": wire.encode(function(*args, **kwargs), contract.RESULT_LIMIT)}
    except wire.WireError as error:
        return {"raised": ["TypeError", f"{name} returned what cannot be handed to the judge: {error}"]}
    except Exception as error:  # whatever the student's function raises is its answer to this call
        return {"raised": [type(error).__name__, explain(error).split(": ", 1)[-1]]}


if __name__ == "__main__":
    hand_in(globals(), json.loads(Path(contract.SPEC).read_text()), contract.ARCHIVE)
