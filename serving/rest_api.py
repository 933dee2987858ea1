"""TF Serving's REST API: model status, metadata and :predict in the row ("instances") and columnar ("inputs")
formats, with base64 {"b64": ...} for binary strings and TF Serving's JSON shapes for answers and errors."""

import base64
import binascii
import json
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf.meta_graph_pb2 import SignatureDef
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis.get_model_status_pb2 import ModelVersionStatus

from serving.errors import ServingError, invalid_argument
from serving.inputs import check_input_dtype, check_input_names
from serving.servables import ModelManager, VersionState

log = logging.getLogger("serving.rest")
MODEL_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>/metadata|:predict|:classify|:regress)?$"
)
JSON_DTYPES = {bool: types_pb2.DT_BOOL, int: types_pb2.DT_INT64, float: types_pb2.DT_FLOAT, dict: types_pb2.DT_STRING}


def json_values_to_array(alias: str, values: Any, signature: SignatureDef) -> np.ndarray:
    """One input's JSON values as numpy with the signature's dtype; strings may come as {"b64": ...}."""
    expected = signature.inputs[alias].dtype
    if expected != types_pb2.DT_STRING:
        dtype = tf.dtypes.as_dtype(expected)
        try:
            return np.asarray(values, dtype=dtype.as_numpy_dtype)
        except (ValueError, TypeError) as error:
            raise invalid_argument(f"input '{alias}' cannot be read as {dtype.name}: {error}") from None
    array = np.array(json_strings(alias, values, signature), dtype=object)
    if any(not isinstance(item, bytes) for item in array.ravel()):
        raise invalid_argument(f"input '{alias}' must be a list of equally long lists of strings.")
    return array


def json_strings(alias: str, value: Any, signature: SignatureDef) -> Any:
    if isinstance(value, list):
        return [json_strings(alias, item, signature) for item in value]
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as error:  # ValueError: text that is not even ASCII
            raise invalid_argument(f"input '{alias}' has a \"b64\" value that is not valid base64: {error}") from None
    check_input_dtype(alias, JSON_DTYPES.get(type(value), types_pb2.DT_INVALID), signature)
    shown = json.dumps(value)[:80]
    raise invalid_argument(f"input '{alias}' has a value {shown}; expected a string or {{\"b64\": ...}}.")


def is_named(value: Any) -> bool:
    """An object naming inputs, as opposed to a {"b64": ...} value."""
    return isinstance(value, dict) and set(value) != {"b64"}


def request_arrays(body: dict, signature: SignatureDef) -> tuple[dict[str, np.ndarray], bool]:
    """The inputs of a predict request and whether it used the row format."""
    if ("instances" in body) == ("inputs" in body):
        raise invalid_argument('Request must have exactly one of "instances" (row format) or "inputs" (columnar).')
    aliases = list(signature.inputs)
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise invalid_argument('"instances" must be a list with one entry per example.')
        if instances and all(is_named(instance) for instance in instances):
            check_input_names(signature, set().union(*instances))
            if any(set(instance) != set(aliases) for instance in instances):
                raise invalid_argument(f"every instance must name the same inputs: {', '.join(aliases)}.")
            columns = {alias: [instance[alias] for instance in instances] for alias in aliases}
        elif len(aliases) == 1 and not any(is_named(instance) for instance in instances):
            columns = {aliases[0]: instances}
        else:
            raise invalid_argument(f"instances must be objects naming each input: {', '.join(aliases)}.")
    else:
        inputs = body["inputs"]
        if is_named(inputs):
            check_input_names(signature, inputs)
            columns = inputs
        elif len(aliases) == 1:
            columns = {aliases[0]: inputs}
        else:
            raise invalid_argument(f'"inputs" must be an object naming each input: {", ".join(aliases)}.')
    arrays = {alias: json_values_to_array(alias, values, signature) for alias, values in columns.items()}
    return arrays, "instances" in body


def predict_response(outputs: dict[str, np.ndarray], row_format: bool) -> dict:
    if not row_format:
        columns = {alias: array.tolist() for alias, array in outputs.items()}
        return {"outputs": columns if len(columns) > 1 else next(iter(columns.values()))}
    batch = len(next(iter(outputs.values())))
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values())).tolist()}
    return {"predictions": [{alias: array[row].tolist() for alias, array in outputs.items()} for row in range(batch)]}


class RestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a client's requests reuse one connection
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs: +40 ms per request
    manager: ModelManager
    max_request_bytes: int

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_POST(self) -> None:
        self._answer(self._post)

    def _answer(self, handler) -> None:
        match = MODEL_PATH.match(self.path)
        try:
            if match is None:
                raise ServingError(grpc.StatusCode.NOT_FOUND, f"Malformed request: {self.command} {self.path}")
            status, body = HTTPStatus.OK, handler(match)
        except ServingError as error:
            status, body = error.http_status, {"error": error.message}
        except Exception as error:  # a bug must cost one request, never the server
            log.exception("%s %s failed", self.command, self.path)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {error}"}
        self._send(status, body)

    def _get(self, match: re.Match) -> dict:
        name, version = match["name"], int(match["version"]) if match["version"] else None
        if match["suffix"] is None:
            states = self.manager.version_states(name, version)
            return {"model_version_status": [status_json(number, state) for number, state in sorted(states.items())]}
        if match["suffix"] != "/metadata":
            raise ServingError(grpc.StatusCode.NOT_FOUND, f"Malformed request: GET {self.path}")
        servable = self.manager.servable(name, version, match["label"] or "")
        signature_map = get_model_metadata_pb2.SignatureDefMap(signature_def=servable.signature_defs)
        return {
            "model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": json_format.MessageToDict(signature_map, preserving_proto_field_name=True)},
        }

    def _post(self, match: re.Match) -> dict:
        if match["suffix"] != ":predict":
            raise ServingError(grpc.StatusCode.UNIMPLEMENTED, f"{self.path}: this server answers :predict only.")
        body = self._read_json()
        version = int(match["version"]) if match["version"] else None
        servable = self.manager.servable(match["name"], version, match["label"] or "")
        signature_name = body.get("signature_name", "")
        arrays, row_format = request_arrays(body, servable.signature(signature_name))
        return predict_response(servable.predict(signature_name, arrays), row_format)

    def _read_json(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT, "Content-Length header is required.")
        if int(length) > self.max_request_bytes:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise RequestTooLarge(int(length), self.max_request_bytes)
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise invalid_argument(f"JSON Parse error: {error}") from None
        if not isinstance(body, dict):
            raise invalid_argument("JSON Value: the request body must be a JSON object.")
        return body

    def _send(self, status: HTTPStatus, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        log.debug(format, *args)


class RequestTooLarge(ServingError):
    def __init__(self, size: int, limit: int):
        super().__init__(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"Request body is {size} bytes; this server accepts at most {limit} (--max_request_bytes).",
        )

    @property
    def http_status(self) -> HTTPStatus:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def status_json(version: int, state: VersionState) -> dict:
    return {
        "version": str(version),
        "state": ModelVersionStatus.State.Name(state.state),
        "status": {"error_code": "UNKNOWN" if state.error else "OK", "error_message": state.error},
    }


def rest_server(host: str, port: int, manager: ModelManager, max_request_bytes: int) -> ThreadingHTTPServer:
    handler = type("BoundRestHandler", (RestHandler,), {"manager": manager, "max_request_bytes": max_request_bytes})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
