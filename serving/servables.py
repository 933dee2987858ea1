"""Loaded versions of a SavedModel and the manager that keeps the highest one serving, as TF Serving's
"latest" version policy does: a new version is loaded and warmed up beside the old one, then swapped in."""

import functools
import io
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.core.protobuf.meta_graph_pb2 import SignatureDef
from tensorflow_serving.apis.get_model_status_pb2 import ModelVersionStatus

from serving.batching import Batcher, BatchingParameters
from serving.errors import ServingError, invalid_argument, not_found, tensorflow_message
from serving.inputs import check_input_arrays

DEFAULT_SIGNATURE = "serving_default"
INTERNAL_SIGNATURES = ("__saved_model_init_op",)
log = logging.getLogger("serving")


def read_signature_defs(path: Path) -> dict[str, SignatureDef]:
    """The SignatureDefs stored in a SavedModel's saved_model.pb, as GetModelMetadata reports them."""
    saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    signatures = saved_model.meta_graphs[0].signature_def
    return {name: signatures[name] for name in signatures if name not in INTERNAL_SIGNATURES}


def batchable(signature: SignatureDef) -> bool:
    """Requests can be merged when every input and output has the batch as its first, variable, dimension."""
    tensors = [*signature.inputs.values(), *signature.outputs.values()]
    return all(info.tensor_shape.dim and info.tensor_shape.dim[0].size == -1 for info in tensors)


class Servable:
    """One loaded version of the model; with batching parameters, concurrent requests share calls of the model."""

    def __init__(self, path: Path, version: int, max_image_pixels: int, batching: BatchingParameters | None = None):
        self.path, self.version, self.max_image_pixels = path, version, max_image_pixels
        self.signature_defs = read_signature_defs(path)
        self._functions = tf.saved_model.load(str(path)).signatures
        self._batchers = {
            name: Batcher(functools.partial(self._call, name), batching, f"{version}-{name}")
            for name, signature in self.signature_defs.items()
            if batching and batchable(signature)
        }

    def signature(self, name: str) -> SignatureDef:
        name = name or DEFAULT_SIGNATURE
        if name not in self.signature_defs:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{name}" not found.')
        return self.signature_defs[name]

    def predict(
        self, signature_name: str, inputs: Mapping[str, np.ndarray], output_filter: Sequence[str] = ()
    ) -> dict[str, np.ndarray]:
        """Run a signature on inputs whose names and dtypes the caller has checked against it."""
        signature = self.signature(signature_name)
        if unknown := sorted(set(output_filter) - set(signature.outputs)):
            raise invalid_argument(f"output tensor alias not found in signature: {', '.join(unknown)}.")
        check_input_arrays(signature, inputs, self.max_image_pixels)
        name = signature_name or DEFAULT_SIGNATURE
        batcher = self._batchers.get(name)
        outputs = batcher.submit(dict(inputs)) if batcher else self._call(name, inputs)
        return {alias: outputs[alias] for alias in output_filter or outputs}

    def _call(self, name: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One call of the signature's graph, with TensorFlow's errors turned into the server's."""
        try:
            outputs = self._functions[name](**{alias: tf.constant(array) for alias, array in inputs.items()})
        except tf.errors.InvalidArgumentError as error:
            raise invalid_argument(tensorflow_message(error)) from None
        except tf.errors.OpError as error:
            raise ServingError(grpc.StatusCode.INTERNAL, tensorflow_message(error)) from None
        return {alias: tensor.numpy() for alias, tensor in outputs.items()}

    def close(self) -> None:
        """Stop batching once the queued requests are answered; requests still arriving run unbatched."""
        for batcher in self._batchers.values():
            batcher.close()

    def warm_up(self) -> None:
        """One request through every signature that takes images, so the first client request is not the slow one."""
        blank = io.BytesIO()
        Image.new("RGB", (224, 224)).save(blank, "JPEG")
        for name, signature in self.signature_defs.items():
            if all(info.dtype == types_pb2.DT_STRING for info in signature.inputs.values()):
                self.predict(name, {alias: np.array([blank.getvalue()], dtype=object) for alias in signature.inputs})


@dataclass
class VersionState:
    state: int
    error: str = ""


def numbered_versions(base_path: Path) -> list[int]:
    """Version folders as TF Serving sees them: numeric names holding a saved_model.pb."""
    if not base_path.is_dir():
        return []
    return sorted(
        int(child.name)
        for child in base_path.iterdir()
        if child.name.isdigit() and (child / "saved_model.pb").is_file()
    )


class ModelManager:
    """Serves the highest version under base_path and polls for newer ones."""

    def __init__(
        self,
        name: str,
        base_path: Path,
        poll_seconds: float,
        max_image_pixels: int,
        batching: BatchingParameters | None = None,
    ):
        self.name, self.base_path, self.poll_seconds = name, base_path, poll_seconds
        self.max_image_pixels, self.batching = max_image_pixels, batching
        self.states: dict[int, VersionState] = {}
        self._current: Servable | None = None
        self._failed: dict[int, float] = {}  # version -> mtime of the saved_model.pb that failed to load
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="version-poller", daemon=True)

    def start(self) -> None:
        """Load what is there now, then keep watching in the background."""
        self.refresh()
        if self.poll_seconds > 0:
            self._poller.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the poller must outlive a bad version folder or a transient file system error
                log.exception("checking %s for new versions failed", self.base_path)

    def refresh(self) -> None:
        """Load the highest loadable version if it is not the one serving; the old one serves until then."""
        current = self._current.version if self._current else None
        for version in reversed(numbered_versions(self.base_path)):
            if version == current:
                return
            pb_mtime = (self.base_path / str(version) / "saved_model.pb").stat().st_mtime
            if self._failed.get(version) == pb_mtime:
                continue
            if self._load(version, pb_mtime):
                return

    def _load(self, version: int, pb_mtime: float) -> bool:
        self.states[version] = VersionState(ModelVersionStatus.LOADING)
        log.info("loading %s version %d from %s", self.name, version, self.base_path / str(version))
        servable = None
        try:
            servable = Servable(self.base_path / str(version), version, self.max_image_pixels, self.batching)
            servable.warm_up()
        except Exception as error:
            if servable is not None:
                servable.close()
            self._failed[version] = pb_mtime
            self.states[version] = VersionState(ModelVersionStatus.END, f"loading failed: {error}")
            log.error("%s version %d failed to load, keeping the version serving: %s", self.name, version, error)
            return False
        previous, self._current = self._current, servable
        self.states[version] = VersionState(ModelVersionStatus.AVAILABLE)
        if previous is not None:
            previous.close()
            self.states[previous.version] = VersionState(ModelVersionStatus.END)
        log.info("serving %s version %d", self.name, version)
        return True

    def servable(self, name: str, version: int | None = None, label: str = "") -> Servable:
        """The servable a request names, or NOT_FOUND in TF Serving's words."""
        if label:
            raise not_found(f"Unrecognized servable version label: {label}")
        current = self._current
        if name == self.name and current is not None and version in (None, current.version):
            return current
        request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        raise not_found(f"Servable not found for request: {request}")

    def version_states(self, name: str, version: int | None = None) -> dict[int, VersionState]:
        if name != self.name:
            raise not_found(f"Could not find any versions of model {name}")
        states = dict(self.states) if version is None else {version: self.states.get(version)}
        if not states or None in states.values():
            what = f"version {version} of model {name}" if version is not None else f"any versions of model {name}"
            raise not_found(f"Could not find {what}")
        return states
