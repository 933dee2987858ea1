"""Read a submission's hand-in (autograder/inside/handin.py) in the judge: unpack it, then bind what the tests read.

Everything here is untrusted data, read inside the judge's sandbox, whose limits bound it: the archive is a plain
(uncompressed) tar of at most MAX_MEMBERS plain files and folders, unpacked into an in-memory folder of fixed size.
Only the names the assignment says are handed in are bound, each checked for its kind (a function, a spec, a
number, JSON data, an array, a protocol buffer message, a folder, the weights of a tracked object); a name that is
missing or malformed is bound to nothing, and its reason is kept to explain the tests that need it. Arrays are
loaded without pickles; a message is parsed as the type the assignment names, never one the hand-in names. The
assignment's plain Python functions are not handed in: each is bound to a KernelFunction, which asks the grader to
call it in the student's kernel, where it lives, and brings back what it returned as data (wire.py). Only the
standard library, NumPy, TensorFlow, the assignment's message types and wire.py: the judge imports this file from
its read-only folder.
"""

import builtins
import json
import math
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

if __package__:  # imported as autograder.inside.handin_reader, by the grader's tests
    from autograder.inside.handin_contract import ARGUMENTS_LIMIT, KINDS, RESULT_LIMIT
    from autograder.inside.wire import WireError, decode, encode
else:  # the judge's companion, beside it in its read-only folder
    from handin_contract import ARGUMENTS_LIMIT, KINDS, RESULT_LIMIT
    from wire import WireError, decode, encode

MAX_MEMBERS = 10_000
VALUES_LIMIT = 64 << 20  # bytes of values.json read at most
MESSAGE_BYTES_LIMIT = 64 << 20  # bytes of a handed-in message parsed at most
MAX_DEPTH = 32
MESSAGE_LIMIT = 600  # characters of an error message kept in a verdict
NOTHING_HANDED_IN = "the notebook handed nothing in: it did not run to the end"


# A graph may hold no stateful op but these: one that keeps state from one call to the next (a variable it writes, a
# table, queue or resource shared by name) could keep one test's inputs for a later error message. Reading variables
# (a model's weights), calling functions, control flow, assertions, printing and random numbers keep no data.
# Stateful ops that carry nothing from one call to the next: reads of variables and tables, calls, control flow,
# printing, random numbers and a call's own arrays.
STATELESS_ENOUGH = (
    *("ReadVariableOp", "ResourceGather", "ResourceGatherNd", "LookupTableFindV2", "LookupTableSizeV2"),
    *("StatefulPartitionedCall", "PartitionedCall", "While", "If", "Case", "Assert"),
    *("RandomUniform", "RandomUniformInt", "RandomStandardNormal", "RandomShuffle", "RandomGamma", "RandomPoissonV2"),
    *("TruncatedNormal", "Multinomial"),
)
STATELESS_ENOUGH_PREFIXES = ("Print", "TensorArray")
# Writes to variables (a model called in training mode updates its batch statistics): after each call of such a
# graph, the variables it reads are put back to their handed-in values, so that no call sees what another wrote.
VARIABLE_WRITES = ("AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "ResourceScatter")


# The error classes a kind may be named by on a hidden input: Python's own (a student's class could be named after
# the input).
BUILTIN_ERRORS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}


class HandInError(Exception):
    """Something the tests need was not handed in; the message says why."""


class StudentCodeError(Exception):
    """A handed-in function failed when a test called it; the message says which and how, in a line."""


class HiddenInputs:
    """Whether the test code running now is a hidden test's (set by the judge, segment by segment): what a student's
    function raises on a hidden input is shown as its kind only, never as its message, which the function writes
    and could make tell the input."""

    now = False


def failed(name: str, what: str, error_type: str) -> StudentCodeError:
    """The error a test sees when the student's function name fails: what, or only error_type on a hidden input."""
    if HiddenInputs.now:
        return StudentCodeError(f"{name} failed on a hidden test's input ({error_type[:60]})")
    return StudentCodeError(f"{name} {what}"[:MESSAGE_LIMIT])


class KernelFunction:
    """A plain Python function of the student's, as the tests call it: each call goes to the student's kernel, where
    the function lives, as data (its arguments out, what it returned or raised back), through call, which takes
    the function's name and the arguments as wire text and gives the kernel's reply. No test, expected value or
    verdict goes with it."""

    def __init__(self, name: str, call: Callable[[str, str], dict], message_types: frozenset[str]) -> None:
        self.name, self.call, self.message_types = name, call, message_types

    def __call__(self, *args: object, **kwargs: object) -> object:
        try:
            arguments = encode([list(args), kwargs], ARGUMENTS_LIMIT)
        except WireError as error:  # the test's own arguments: the assignment's mistake
            raise HandInError(f"the test's arguments for {self.name} cannot be sent to the kernel: {error}") from None
        reply = self.call(self.name, arguments)
        if "raised" in reply:
            error_type, message = (str(part) for part in reply["raised"])
            kind = error_type if error_type in BUILTIN_ERRORS else "an error of a class of its own"
            raise failed(self.name, f"raised {error_type[:60]}: {message}", kind)
        if "value" not in reply:
            if HiddenInputs.now and not reply.get("by_grader"):  # the kernel's reason: the student's code writes it
                raise HandInError(f"{self.name} could not be called on a hidden test's input")
            raise HandInError(str(reply.get("unavailable", f"{self.name} could not be called"))[:MESSAGE_LIMIT])
        try:
            return decode(str(reply["value"]), RESULT_LIMIT, self.message_types)
        except WireError as error:
            raise failed(self.name, f"returned what cannot be read: {error}", "WireError") from None


class TrackedWeights:
    """A tracked object (the model) as the judge has it: only its weights, handed in with the functions that read
    them, as `.weights`, so that a test can count them as it would on the object itself."""

    def __init__(self, weights: list) -> None:
        self.weights = list(weights)


class JudgedFunction:
    """A handed-in function as the tests call it: each call is reported (to the grader, which times it), and
    its errors are put in one line that names the function, instead of TensorFlow's internals."""

    def __init__(self, name: str, function: object, report, writes_variables: bool = False) -> None:
        self.name, self.function, self.report = name, function, report
        # For a graph that writes variables: each variable it reads, and the value to put back after each call.
        self.fresh = [(variable, variable.numpy()) for variable in self.variables] if writes_variables else []

    @property
    def variables(self) -> list:
        """The variables its graph reads, as a traced function lists them (a test may count a model's weights)."""
        concrete = getattr(self.function, "get_concrete_function", None)  # a handed-in trace is concrete already
        return list((concrete() if concrete else self.function).variables)

    def __call__(self, *args: object, **kwargs: object) -> object:
        import tensorflow as tf

        self.report(event="call", function=self.name)
        try:
            return self.function(*args, **kwargs)
        except tf.errors.ResourceExhaustedError:
            raise failed(self.name, "ran out of memory (ResourceExhaustedError)", "ResourceExhaustedError") from None
        except tf.errors.OpError as error:
            message = tensorflow_message(error.message) or type(error).__name__
            raise failed(self.name, f"failed: {message}", type(error).__name__) from None
        except (TypeError, ValueError) as error:
            what = f"cannot take this input: {tensorflow_message(str(error))}"
            raise failed(self.name, what, type(error).__name__) from None
        finally:
            for variable, value in self.fresh:
                variable.assign(value)
            self.report(event="return", function=self.name)


class Unavailable:
    """Stands for a function that cannot be called: every call raises HandInError with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, *args: object, **kwargs: object) -> object:
        raise HandInError(self.reason)


def keeps_state(function: object) -> str:
    """The first stateful op of a handed-in function's graphs that could carry something from one call to the next
    (neither STATELESS_ENOUGH nor a write of a variable, which is undone), or ''."""
    from tensorflow.python.framework import op_def_registry

    for name in stateful_ops(function):
        op = op_def_registry.get(name)
        if op is None or not (
            name in STATELESS_ENOUGH or name.startswith((*STATELESS_ENOUGH_PREFIXES, *VARIABLE_WRITES))
        ):
            return name
    return ""


def stateful_ops(function: object) -> set[str]:
    """The stateful (or unknown) ops of a handed-in function's graphs: its own, and every function they call."""
    from tensorflow.python.framework import op_def_registry

    ops = set()
    for concrete in getattr(function, "concrete_functions", None) or [function]:
        graph = concrete.graph.as_graph_def()
        for node in [*graph.node, *(node for library in graph.library.function for node in library.node_def)]:
            op = op_def_registry.get(node.op)
            if op is None or op.is_stateful:
                ops.add(node.op)
    return ops


def cannot_load(error: Exception) -> str:
    """Why TensorFlow could not load a SavedModel, in the judge's words."""
    import re

    unknown = re.search(r"Op type not registered '([A-Za-z0-9_>.]{1,64})'", str(error))
    if unknown:
        return f"they use the op {unknown[1]}, which this TensorFlow does not have"
    return f"{type(error).__name__} (the SavedModel is not one TensorFlow can read)"


def tensorflow_message(text: str) -> str:
    """What a TensorFlow error says went wrong, without its headers, graph node names and Python stack."""
    import re

    noise = ("Graph execution error", "Detected at node", 'File "', "[[")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(noise)]
    message = lines[-1] if lines else text.strip()
    return re.split(r"\s\[\[|\s\[Op:| for '\{\{node", message)[0][:MESSAGE_LIMIT]


def unpack(archive: Path, target: Path) -> str:
    """Unpack the hand-in archive into target: '' when it is sound, else why it cannot be used."""
    if not archive.is_file() or archive.stat().st_size == 0:
        return NOTHING_HANDED_IN
    try:
        with tarfile.open(archive, "r:") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    return f"the hand-in has more than {MAX_MEMBERS} files"
                if not (member.isfile() or member.isdir()):
                    return f"the hand-in holds a link or special file, which is not accepted: {member.name[:100]}"
                if len(PurePosixPath(member.name).parts) > MAX_DEPTH:
                    return f"the hand-in has folders more than {MAX_DEPTH} deep"
                tar.extract(member, target, filter="data")
    except (tarfile.TarError, OSError, MemoryError, ValueError) as error:
        return f"the hand-in could not be read: {type(error).__name__}: {str(error)[:200]}"
    return ""


def handed_in_namespace(
    spec: dict, folder: Path, poisoned: dict[str, str], report, call: Callable[[str, str], dict]
) -> tuple[dict, dict[str, str]]:
    """The names the assignment says are handed in, bound to what the submission handed in (from folder, unpacked),
    or, for its Python functions, to what calls them in the kernel; and, by name, why each one that is not bound
    is missing."""
    import numpy as np

    try:
        values_file = folder / "values.json"
        values = json.loads(values_file.read_bytes()) if values_file.stat().st_size <= VALUES_LIMIT else None
    except (OSError, ValueError, RecursionError):
        values = None
    if not isinstance(values, dict):
        return {name: Unavailable(NOTHING_HANDED_IN) for name in spec.get("functions", {})}, {"*": NOTHING_HANDED_IN}
    reasons = values.get("errors") if isinstance(values.get("errors"), dict) else {}
    missing = {name: str(reason)[:MESSAGE_LIMIT] for name, reason in reasons.items() if name in _names(spec)}
    namespace: dict = {}
    try:
        functions = _load_graphs(folder / "functions")
    except Exception as error:  # a graph the judge cannot load (an op it does not have, say) is the hand-in's fault
        reason = f"the handed-in graphs cannot be loaded: {cannot_load(error)}"
        return {name: Unavailable(reason) for name in spec.get("functions", {})}, {"*": reason}
    namespace["_handed_in"] = functions  # keeps the variables the functions read alive
    for name in spec.get("functions", {}):
        if name in poisoned:
            namespace[name] = Unavailable(poisoned[name])
        elif functions is not None and callable(getattr(functions, name, None)):
            function = getattr(functions, name)
            kept = keeps_state(function)
            writes = any(op.startswith(VARIABLE_WRITES) for op in stateful_ops(function))
            namespace[name] = (
                Unavailable(f"{name} keeps state from one call to the next ({kept}), which the judge does not run")
                if kept
                else JudgedFunction(name, function, report, writes_variables=writes)
            )
        else:
            namespace[name] = Unavailable(missing.get(name, f"{name} was not handed in"))
    message_types = frozenset(spec.get("message_types", []))
    for name in spec.get("python", []):
        if name in poisoned or name in missing:
            namespace[name] = Unavailable(poisoned.get(name) or missing[name])
        else:
            namespace[name] = KernelFunction(name, call, message_types)
    for name in spec.get("tracked", []):
        weights = list(getattr(functions, f"{name}_weights", None) or [])
        if weights and all(type(weight).__name__.endswith("Variable") for weight in weights):
            namespace[name] = TrackedWeights(weights)
    for name in spec.get("specs", []):
        bind(namespace, missing, name, _tensor_spec(_entry(values, "specs", name)), "a tf.TensorSpec")
    for name in spec.get("numbers", []):
        bind(namespace, missing, name, _number(_entry(values, "numbers", name)), "a number")
    for name in spec.get("json", []):
        bind(namespace, missing, name, _entry(values, "json", name), "JSON data")
    for name, message_type in spec.get("messages", {}).items():
        bind(namespace, missing, name, _message(folder / "messages" / f"{name}.bin", message_type), "a message")
    for name in spec.get("paths", []):
        bind(namespace, missing, name, _folder(folder, _entry(values, "paths", name), name), "a folder")
    try:
        with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
            for name in spec.get("arrays", []):
                bind(namespace, missing, name, arrays[name] if name in arrays.files else None, "an array")
    except (OSError, ValueError):
        missing.update({name: f"{name}: the arrays could not be read" for name in spec.get("arrays", [])})
    return namespace, missing


def _load_graphs(folder: Path) -> object:
    """The handed-in graphs, or None when the assignment hands in none (TensorFlow is then never imported)."""
    if not folder.is_dir():
        return None
    import tensorflow as tf

    return tf.saved_model.load(str(folder))


def bind(namespace: dict, missing: dict[str, str], name: str, value: object, kind: str) -> None:
    """Bind name to value, or, if there is none, note why (the hand-in's own reason first)."""
    if value is None:
        missing.setdefault(name, f"{name} was not handed in as {kind}")
    else:
        namespace[name] = value
        missing.pop(name, None)


def _names(spec: dict) -> set[str]:
    """The names the hand-in binds, of every kind but tracked objects (bound only when they were handed in)."""
    return {name for kind in KINDS if kind != "tracked" for name in spec.get(kind, [])}


def _entry(values: dict, kind: str, name: str) -> object:
    section = values.get(kind)
    return section.get(name) if isinstance(section, dict) else None


def _tensor_spec(entry: object):
    import tensorflow as tf

    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
        return None
    shape = entry.get("shape")
    sound = shape is None or (
        isinstance(shape, list) and len(shape) <= 8 and all(d is None or (type(d) is int and d >= 0) for d in shape)
    )
    try:
        return tf.TensorSpec(shape, tf.as_dtype(entry["dtype"])) if sound else None
    except TypeError:
        return None


def _number(entry: object) -> float | None:
    if type(entry) not in (int, float) or not math.isfinite(entry):
        return None
    return float(entry)


def _folder(folder: Path, entry: object, name: str) -> Path | None:
    expected = f"paths/{name}"
    return folder / expected if entry == expected and (folder / expected).is_dir() else None


def _message(path: Path, message_type: str) -> object | None:
    """The message serialized in path, parsed as message_type ("package.module.Class"), or None."""
    import importlib

    from google.protobuf.message import DecodeError

    module, _, name = message_type.rpartition(".")
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MESSAGE_BYTES_LIMIT:
            return None
        return getattr(importlib.import_module(module), name).FromString(path.read_bytes())
    except (OSError, DecodeError, MemoryError):
        return None
