"""One error type for both APIs: a gRPC status code with a message, mapped to HTTP the way TF Serving maps it."""

import re
from http import HTTPStatus

import grpc

# TF Serving's own mapping of status codes to HTTP (model_servers/http_server.cc).
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: HTTPStatus.BAD_REQUEST,
    grpc.StatusCode.FAILED_PRECONDITION: HTTPStatus.BAD_REQUEST,
    grpc.StatusCode.OUT_OF_RANGE: HTTPStatus.BAD_REQUEST,
    grpc.StatusCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED: HTTPStatus.TOO_MANY_REQUESTS,
    grpc.StatusCode.UNIMPLEMENTED: HTTPStatus.NOT_IMPLEMENTED,
    grpc.StatusCode.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: HTTPStatus.GATEWAY_TIMEOUT,
}
GRAPH_NODE_PREAMBLE = r"^Detected at node (\S+) defined at \(most recent call last\):\n(<stack traces unavailable>\n)?"


class ServingError(Exception):
    """A request the server refuses or cannot answer; the message tells the client what was wrong."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> HTTPStatus:
        return HTTP_STATUS.get(self.code, HTTPStatus.INTERNAL_SERVER_ERROR)


def invalid_argument(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ServingError:
    return ServingError(grpc.StatusCode.NOT_FOUND, message)


def tensorflow_message(error: Exception) -> str:
    """TensorFlow's error text without the op and graph-node decorations, which mean nothing to a client."""
    text = getattr(error, "message", str(error))
    text = re.sub(r"^Graph execution error:\s*", "", text)
    text = re.sub(
        r"^Detected at node (\S+) defined at \(most recent call last\):\n(<stack traces unavailable>\n)?",
        r"in \1: ",
        text,
    )
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[\[\{\{node [^]]*\]\]", "", text)
    return re.sub(r"\s*\[Op:[^]]*\]", "", text).strip()
