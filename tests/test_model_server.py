"""The local model server speaks TF Serving's gRPC and REST APIs: same answers as the SavedModel in-process,
metadata and status, TF Serving's error codes, a defined result for every bad input, and parallel clients."""

import io
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from serving import launcher
from serving.launcher import LocalServer
from serving.model_server import ModelServer
from tests.conftest import SERVER_MAX_REQUEST_BYTES
from tests.helpers import SAMPLES
from tests.serving_requests import (
    assert_same_answer,
    b64,
    grpc_metadata,
    grpc_predict,
    grpc_status,
    in_process,
    predict_request,
    prediction_stub,
    rest_post,
    rest_predict,
)

SAMPLE_JPEGS = sorted(SAMPLES.rglob("*.jpg"))


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def cat() -> Image.Image:
    return Image.open(SAMPLES / "cat_sample.jpg").convert("RGB")


# Images the servable decodes: the server must answer exactly what the SavedModel answers in-process.
SERVED_IMAGES = {
    "grayscale JPEG": lambda: (SAMPLES / "edge" / "grayscale.jpg").read_bytes(),
    "CMYK JPEG": lambda: encoded(cat().convert("CMYK"), "JPEG"),
    "non-224 JPEG": lambda: (SAMPLES / "edge" / "wide_320x213.jpg").read_bytes(),
    "progressive JPEG": lambda: (SAMPLES / "edge" / "progressive.jpg").read_bytes(),
    "PNG": lambda: encoded(cat(), "PNG"),
}

# Images the server refuses with INVALID_ARGUMENT, and a phrase the message must contain.
REFUSED_IMAGES = {
    "corrupt bytes": (lambda: b"these bytes are not a picture", "is not a JPEG image"),
    "truncated JPEG": (lambda: (SAMPLES / "cat_sample.jpg").read_bytes()[:3000], "Invalid JPEG data"),
    "empty string": (lambda: b"", "is empty"),
    "GIF": (lambda: encoded(cat(), "GIF"), "GIF image"),
    "huge 10000x10000 JPEG": (lambda: encoded(Image.new("RGB", (10000, 10000), (90, 120, 200)), "JPEG"), "megapixels"),
}


@pytest.fixture
def good_jpeg() -> bytes:
    return (SAMPLES / "cat_sample.jpg").read_bytes()


@pytest.fixture
def still_serving(model_server, serving_signature, good_jpeg):
    """After the test: the server is up and answers a good request correctly."""
    yield
    assert model_server.alive(), model_server.log()
    assert_same_answer(grpc_predict(model_server, [good_jpeg]), in_process(serving_signature, [good_jpeg]))
    assert_same_answer(rest_predict(model_server, [good_jpeg]), in_process(serving_signature, [good_jpeg]))


def grpc_error(server, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(server).Predict(request, timeout=60)
    return raised.value


def test_grpc_and_rest_answer_like_the_savedmodel_in_process(model_server, serving_signature):
    jpegs = [path.read_bytes() for path in SAMPLE_JPEGS]
    expected = in_process(serving_signature, jpegs)
    assert_same_answer(grpc_predict(model_server, jpegs), expected)
    assert_same_answer(rest_predict(model_server, jpegs), expected)


def test_rest_columnar_named_rows_and_versioned_path(model_server, serving_signature, good_jpeg):
    expected = in_process(serving_signature, [good_jpeg])
    columnar = rest_post(model_server, {"inputs": {"images": [b64(good_jpeg)]}}).json()["outputs"]
    assert_same_answer({alias: np.array(value) for alias, value in columnar.items()}, expected)
    named = rest_post(model_server, {"signature_name": "predict", "instances": [{"images": b64(good_jpeg)}]})
    assert_same_answer({alias: np.array([named.json()["predictions"][0][alias]]) for alias in expected}, expected)
    versioned = rest_post(model_server, {"instances": [b64(good_jpeg)]}, "/v1/models/resnet/versions/1:predict")
    assert versioned.status_code == 200, versioned.text


def test_grpc_metadata_shows_the_signature(model_server):
    response = grpc_metadata(model_server)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    assert set(signatures.signature_def) == {"serving_default", "predict"}
    signature = signatures.signature_def["serving_default"]
    assert signature.inputs["images"].dtype == types_pb2.DT_STRING
    assert [dim.size for dim in signature.inputs["images"].tensor_shape.dim] == [-1]
    assert signature.outputs["classes"].dtype == types_pb2.DT_INT32
    assert signature.outputs["probabilities"].dtype == types_pb2.DT_FLOAT
    assert [dim.size for dim in signature.outputs["probabilities"].tensor_shape.dim] == [-1, 5]
    assert response.model_spec.version.value == 1


def test_rest_metadata_and_status(model_server):
    metadata = requests.get(f"{model_server.rest_url}/v1/models/resnet/metadata", timeout=30).json()
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["images"]["dtype"] == "DT_STRING"
    assert set(signature["outputs"]) == {"classes", "probabilities"}
    status = requests.get(f"{model_server.rest_url}/v1/models/resnet", timeout=30).json()
    available = {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    assert status == {"model_version_status": [available]}


def test_grpc_status_available(model_server):
    (status,) = grpc_status(model_server).model_version_status
    assert status.version == 1
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("spec", [{"model": "inception"}, {"version": 99}], ids=["unknown model", "unknown version"])
def test_unknown_model_or_version_is_not_found(model_server, good_jpeg, spec):
    error = grpc_error(model_server, predict_request([good_jpeg], **spec))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "Servable not found" in error.details()
    path = "/v1/models/inception:predict" if "model" in spec else "/v1/models/resnet/versions/99:predict"
    response = rest_post(model_server, {"instances": [b64(good_jpeg)]}, path)
    assert response.status_code == 404
    assert "Servable not found" in response.json()["error"]
    assert requests.get(f"{model_server.rest_url}/v1/models/inception", timeout=30).status_code == 404


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("name", SERVED_IMAGES)
def test_images_the_servable_decodes_are_served(model_server, serving_signature, name):
    image = SERVED_IMAGES[name]()
    expected = in_process(serving_signature, [image])
    assert_same_answer(grpc_predict(model_server, [image]), expected)
    assert_same_answer(rest_predict(model_server, [image]), expected)


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("name", REFUSED_IMAGES)
def test_bad_images_are_invalid_arguments_naming_the_image(model_server, good_jpeg, name):
    make, phrase = REFUSED_IMAGES[name]
    batch = [good_jpeg, make()]
    error = grpc_error(model_server, predict_request(batch))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert phrase in error.details()
    response = rest_post(model_server, {"instances": [b64(image) for image in batch]})
    assert response.status_code == 400
    assert phrase in response.json()["error"]
    assert "Graph execution error" not in response.json()["error"], "TensorFlow's decorations are left out"
    if name != "truncated JPEG":  # the header reads fine; the decoder in the graph finds the damage
        assert "image 1 of input 'images'" in response.json()["error"]


BAD_GRPC_REQUESTS = {
    "empty batch": (lambda jpeg: predict_request([]), grpc.StatusCode.INVALID_ARGUMENT, "empty batch"),
    "wrong input name": (
        lambda jpeg: predict_request([jpeg], input_name="image_bytes"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "input tensor alias not found in signature: image_bytes. Inputs expected to be in the set {images}.",
    ),
    "wrong dtype": (
        lambda jpeg: predict_request(tf.zeros([1, 224, 224, 3])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'images' has dtype DT_FLOAT; the signature expects DT_STRING.",
    ),
    "wrong rank": (
        lambda jpeg: predict_request(tf.constant([[jpeg]])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "has shape [1, 1]; the signature expects [-1]",
    ),
    "request over the size limit": (
        lambda jpeg: predict_request([bytes(SERVER_MAX_REQUEST_BYTES + 1)]),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "larger than max",
    ),
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("name", BAD_GRPC_REQUESTS)
def test_bad_grpc_requests(model_server, good_jpeg, name):
    make, code, phrase = BAD_GRPC_REQUESTS[name]
    error = grpc_error(model_server, make(good_jpeg))
    assert error.code() == code
    assert phrase in error.details()


BAD_REST_BODIES = {
    "not JSON": (lambda jpeg: b"images=cat.jpg", 400, "JSON Parse error"),
    "JSON but not an object": (lambda jpeg: [b64(jpeg)], 400, "must be a JSON object"),
    "neither instances nor inputs": (lambda jpeg: {"images": [b64(jpeg)]}, 400, 'exactly one of "instances"'),
    "empty batch": (lambda jpeg: {"instances": []}, 400, "empty batch"),
    "wrong input name": (
        lambda jpeg: {"instances": [{"image_bytes": b64(jpeg)}]},
        400,
        "input tensor alias not found in signature: image_bytes",
    ),
    "wrong dtype": (lambda jpeg: {"inputs": [[0.5, 0.5]]}, 400, "has dtype DT_FLOAT; the signature expects DT_STRING"),
    "bad base64": (lambda jpeg: {"instances": [{"b64": "not base64!"}]}, 400, "not valid base64"),
    "raw bytes as text instead of base64": (
        lambda jpeg: {"instances": [{"b64": jpeg.decode("latin-1")}]},
        400,
        "not valid base64",
    ),
    "request over the size limit": (
        lambda jpeg: {"instances": [b64(bytes(SERVER_MAX_REQUEST_BYTES))]},
        413,
        f"at most {SERVER_MAX_REQUEST_BYTES}",
    ),
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("name", BAD_REST_BODIES)
def test_bad_rest_requests(model_server, good_jpeg, name):
    make, status, phrase = BAD_REST_BODIES[name]
    response = rest_post(model_server, make(good_jpeg))
    assert response.status_code == status
    assert phrase in response.json()["error"]


REQUESTS_PER_CLIENT = 20  # 160 concurrent requests in all, each image served in its turn by every kind of client


@pytest.mark.parametrize("server", ["model_server", "batching_model_server"])
def test_eight_parallel_clients_get_their_own_answers(request, server, serving_signature):
    """8 clients (4 gRPC, 4 REST) x 20 requests, each for one of the samples: no error, every answer its own, with
    and without server-side batching."""
    model_server = request.getfixturevalue(server)
    jpegs = [path.read_bytes() for path in SAMPLE_JPEGS]
    expected = [in_process(serving_signature, [jpeg]) for jpeg in jpegs]

    def client(number: int) -> int:
        predict = grpc_predict if number % 2 else rest_predict
        for request in range(REQUESTS_PER_CLIENT):
            index = (number + request) % len(jpegs)
            assert_same_answer(predict(model_server, [jpegs[index]]), expected[index])
        return REQUESTS_PER_CLIENT

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(client, range(8))) == 8 * REQUESTS_PER_CLIENT


@pytest.mark.parametrize("in_process_server", [False, True], ids=["subprocess", "in-process"])
def test_server_refuses_to_start_without_a_version(tmp_path, in_process_server):
    with pytest.raises(RuntimeError, match="no version folder"), LocalServer(tmp_path, in_process=in_process_server):
        pass


def test_tensorflow_serving_is_preferred_when_installed(tmp_path, monkeypatch):
    binary = tmp_path / "bin" / "tensorflow_model_server"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert LocalServer(tmp_path, prefer_tf_serving=True).command()[:3] == [sys.executable, "-m", "serving.model_server"]
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{tmp_path / 'nothing-here'}")
    server = LocalServer(tmp_path, "resnet", prefer_tf_serving=True)
    assert server.kind == "TensorFlow Serving"
    assert server.command() == [
        str(binary),
        f"--port={server.grpc_port}",
        f"--rest_api_port={server.rest_port}",
        "--model_name=resnet",
        f"--model_base_path={tmp_path}",
    ]
    assert LocalServer(tmp_path).command()[0] == sys.executable  # tests and benchmarks measure the local server


def test_in_process_server_answers_logs_to_its_file_only_and_stops(
    solution_run, serving_signature, good_jpeg, tmp_path, capfd
):
    """What the notebook runs in its kernel: same answers, nothing printed (a notebook would show it), ports freed."""
    log_path = tmp_path / "server.log"
    with LocalServer(solution_run.servable_dir, log_path=log_path, in_process=True) as server:
        assert server.process is None and server.alive()
        expected = in_process(serving_signature, [good_jpeg])
        assert_same_answer(grpc_predict(server, [good_jpeg]), expected)
        assert_same_answer(rest_predict(server, [good_jpeg]), expected)
    assert not server.alive()
    assert "serving resnet version 1" in log_path.read_text()
    assert capfd.readouterr().err == ""
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.rest_url}/v1/models/resnet", timeout=5, proxies={"http": ""})
    with pytest.raises(grpc.RpcError):
        grpc_status(server)


@pytest.mark.parametrize("in_process_server", [False, True], ids=["subprocess", "in-process"])
def test_a_version_that_cannot_load_is_an_error_with_the_log(tmp_path, in_process_server):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"not a SavedModel")
    with (
        pytest.raises(RuntimeError, match="version 1 failed to load"),
        LocalServer(tmp_path, in_process=in_process_server),
    ):
        pass


def test_an_in_process_server_that_never_loads_times_out_instead_of_hanging(tmp_path, monkeypatch):
    """A warm-up that never returns (a graph that loops forever, say) keeps only its own thread: the caller waits
    in sleeps, which an interrupt or the deadline ends, as for a subprocess."""
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"never loaded")
    never = threading.Event()
    monkeypatch.setattr(launcher, "READY_TIMEOUT_SECONDS", 2)
    monkeypatch.setattr(ModelServer, "start", lambda self: never.wait())
    server = LocalServer(tmp_path, log_path=tmp_path / "server.log", in_process=True)
    with pytest.raises(TimeoutError, match="did not serve within 2 s"):
        server.start()
    never.set()
    assert not server.alive()
