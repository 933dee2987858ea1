"""Requests to the model server made with TF Serving's own protos and plain HTTP, independent of client/, and
the in-process answers they must equal."""

import base64

import grpc
import numpy as np
import requests
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.launcher import LocalServer


def prediction_stub(server: LocalServer) -> prediction_service_pb2_grpc.PredictionServiceStub:
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc_address))


def predict_request(
    images: list[bytes] | tf.Tensor, model: str = "resnet", version: int | None = None, input_name: str = "images"
) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    tensor = images if isinstance(images, tf.Tensor) else tf.constant(images, dtype=tf.string, shape=[len(images)])
    request.inputs[input_name].CopyFrom(tf.make_tensor_proto(tensor))
    return request


def grpc_predict(server: LocalServer, images: list[bytes], **spec) -> dict[str, np.ndarray]:
    response = prediction_stub(server).Predict(predict_request(images, **spec), timeout=60)
    return {alias: tf.make_ndarray(tensor) for alias, tensor in response.outputs.items()}


def grpc_status(server: LocalServer, model: str = "resnet") -> get_model_status_pb2.GetModelStatusResponse:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(server.grpc_address))
    return stub.GetModelStatus(request, timeout=30)


def grpc_metadata(server: LocalServer, model: str = "resnet") -> get_model_metadata_pb2.GetModelMetadataResponse:
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = model
    return prediction_stub(server).GetModelMetadata(request, timeout=30)


def b64(image: bytes) -> dict[str, str]:
    return {"b64": base64.b64encode(image).decode("ascii")}


def rest_post(server: LocalServer, body, path: str = "/v1/models/resnet:predict") -> requests.Response:
    data = body if isinstance(body, bytes) else None
    return requests.post(server.rest_url + path, data=data, json=None if data else body, timeout=60)


def rest_predict(server: LocalServer, images: list[bytes]) -> dict[str, np.ndarray]:
    response = rest_post(server, {"instances": [b64(image) for image in images]})
    assert response.status_code == 200, response.text
    rows = response.json()["predictions"]
    return {alias: np.array([row[alias] for row in rows]) for alias in ("classes", "probabilities")}


def in_process(signature, images: list[bytes]) -> dict[str, np.ndarray]:
    outputs = signature(images=tf.constant(images, dtype=tf.string))
    return {alias: tensor.numpy() for alias, tensor in outputs.items()}


def assert_same_answer(served: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    np.testing.assert_array_equal(served["classes"], expected["classes"])
    np.testing.assert_allclose(served["probabilities"], expected["probabilities"], rtol=1e-5, atol=1e-7)
