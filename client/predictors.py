"""One Predict call, three ways: TF Serving's gRPC API, its REST API, or the SavedModel in this process (the
baseline the profiler compares the servers with). Each answers with the top-5 classes and probabilities."""

import argparse
import base64
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
import numpy as np
import requests

from client.quiet import import_tensorflow

tf = import_tensorflow()
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402  (after the quiet import)

INPUT, CLASSES, PROBABILITIES = "images", "classes", "probabilities"
DEFAULT_TIMEOUT_SECONDS = 60.0


class ServerError(Exception):
    """The server could not be reached or refused the request; the message says which and why."""


@dataclass
class Prediction:
    classes: np.ndarray  # [N, 5] int32 class ids, best first
    probabilities: np.ndarray  # [N, 5] float32


class Predictor(Protocol):
    target: str

    def predict(self, jpegs: list[bytes]) -> Prediction: ...


class GrpcPredictor:
    """PredictionService.Predict with `images` as a DT_STRING [N] tensor."""

    def __init__(self, address: str, model: str, signature: str, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self.target, self.address, self.model, self.signature, self.timeout = "grpc", address, model, signature, timeout
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(address))

    def predict(self, jpegs: list[bytes]) -> Prediction:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model
        request.model_spec.signature_name = self.signature
        request.inputs[INPUT].CopyFrom(tf.make_tensor_proto(jpegs, dtype=tf.string, shape=[len(jpegs)]))
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                raise ServerError(f"cannot reach the server at {self.address} (gRPC): {error.details()}") from None
            raise ServerError(f"server at {self.address} answered {error.code().name}: {error.details()}") from None
        return Prediction(tf.make_ndarray(response.outputs[CLASSES]), tf.make_ndarray(response.outputs[PROBABILITIES]))


class RestPredictor:
    """POST /v1/models/{model}:predict in the row format, with base64 {"b64": ...} images."""

    def __init__(self, url: str, model: str, signature: str, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self.target, self.url, self.timeout = "rest", url.rstrip("/"), timeout
        self.endpoint, self.signature = f"{self.url}/v1/models/{model}:predict", signature
        self._local = threading.local()  # a requests.Session per thread: kept-alive connections, no sharing

    def predict(self, jpegs: list[bytes]) -> Prediction:
        body = {
            "signature_name": self.signature,
            "instances": [{"b64": base64.b64encode(jpeg).decode("ascii")} for jpeg in jpegs],
        }
        session = getattr(self._local, "session", None) or self._new_session()
        try:
            response = session.post(self.endpoint, json=body, timeout=self.timeout)
        except requests.ConnectionError:
            raise ServerError(f"cannot reach the server at {self.url} (REST): connection failed") from None
        except requests.Timeout:
            raise ServerError(f"the server at {self.url} did not answer within {self.timeout:g} s") from None
        if response.status_code != 200:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise ServerError(f"server at {self.url} answered {response.status_code} {response.reason}: {message}")
        rows = response.json()["predictions"]
        return Prediction(
            np.array([row[CLASSES] for row in rows], dtype=np.int32),
            np.array([row[PROBABILITIES] for row in rows], dtype=np.float32),
        )

    def _new_session(self) -> requests.Session:
        self._local.session = requests.Session()
        return self._local.session


class SavedModelPredictor:
    """The exported signature called in this process: no network, no serialisation."""

    def __init__(self, path: Path, signature: str):
        self.target = "in-process"
        self._function = tf.saved_model.load(str(path)).signatures[signature]

    def predict(self, jpegs: list[bytes]) -> Prediction:
        outputs = self._function(**{INPUT: tf.constant(jpegs, dtype=tf.string)})
        return Prediction(outputs[CLASSES].numpy(), outputs[PROBABILITIES].numpy())


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick a server, shared by the client and the profiler."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="HOST:PORT", help="gRPC address (default localhost:8500)")
    where.add_argument("--rest", metavar="URL", help="REST base URL instead of gRPC, e.g. http://localhost:8501")
    parser.add_argument("--model", default="resnet", help="model name on the server (default resnet)")
    parser.add_argument("--signature", default="serving_default", help="signature (default serving_default)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")


def server_predictor(args: argparse.Namespace) -> GrpcPredictor | RestPredictor:
    if args.rest:
        return RestPredictor(args.rest, args.model, args.signature, args.timeout)
    return GrpcPredictor(args.server or "localhost:8500", args.model, args.signature, args.timeout)
