"""The client and the profiler against the local model server: same top-5 as the SavedModel in-process over gRPC
and REST, letterboxed inputs, JSON and plot output, one-line errors with a non-zero exit."""

import csv
import functools
import http.server
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from autograder import REPO
from client import resnet_client, resnet_profiler
from client.images import letterbox, model_jpeg
from client.labels import imagenet_label
from tests.helpers import SAMPLES, unused_loopback_port
from tests.serving_requests import in_process

IMAGES = [SAMPLES / "cat_sample.jpg", SAMPLES / "edge" / "wide_320x213.jpg", SAMPLES / "edge" / "grayscale.jpg"]


def run_client(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "client.resnet_client", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def where(model_server, transport: str) -> list[str]:
    return ["--server", model_server.grpc_address] if transport == "grpc" else ["--rest", model_server.rest_url]


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_client_prints_the_savedmodel_top5(model_server, serving_signature, transport):
    result = run_client(*map(str, IMAGES), *where(model_server, transport), "--json")
    assert result.returncode == 0, result.stderr
    expected = in_process(serving_signature, [model_jpeg(str(path))[1] for path in IMAGES])
    answers = json.loads(result.stdout)["results"]
    assert [answer["image"] for answer in answers] == [str(path) for path in IMAGES]
    for row, answer in enumerate(answers):
        classes = [guess["class"] for guess in answer["top5"]]
        assert classes == expected["classes"][row].tolist()
        probabilities = [guess["probability"] for guess in answer["top5"]]
        np.testing.assert_allclose(probabilities, expected["probabilities"][row], rtol=1e-5)
        assert [guess["label"] for guess in answer["top5"]] == [imagenet_label(c) for c in classes]


def test_client_output_into_a_closed_pipe_ends_quietly(model_server):
    """`resnet_client ... | head -1`: the reader is gone before the table is printed, and no traceback follows."""
    command = [sys.executable, "-m", "client.resnet_client", str(IMAGES[0]), "--server", model_server.grpc_address]
    client = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    client.stdout.close()
    _, stderr = client.communicate(timeout=120)
    assert client.returncode == 1
    assert stderr == b""


def test_client_table_and_plot(model_server, tmp_path, capsys):
    plot = tmp_path / "top5.png"
    assert resnet_client.main([*map(str, IMAGES), "--server", model_server.grpc_address, "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(IMAGES[0]) and lines[6] == str(IMAGES[1])
    assert all("%" in line and line.endswith(")") for line in lines[1:6])
    with Image.open(plot) as drawn:
        assert drawn.format == "PNG" and drawn.width >= 3 * 224


def test_images_are_letterboxed_with_aspect_ratio_kept():
    with Image.open(SAMPLES / "edge" / "wide_320x213.jpg") as wide:
        boxed = np.asarray(letterbox(wide.convert("RGB")))
    assert boxed.shape == (224, 224, 3)
    content_rows = np.flatnonzero(boxed.max(axis=(1, 2)) > 30)
    assert abs(len(content_rows) - round(224 * 213 / 320)) <= 2, "height scaled by the same factor as the width"
    assert boxed[:30].max() < 10 and boxed[-30:].max() < 10, "black bars above and below"


def test_client_reads_image_urls(model_server, capsys):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SAMPLES))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as files:
        threading.Thread(target=files.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{files.server_port}/cat_sample.jpg"
        code = resnet_client.main([url, str(IMAGES[0]), "--server", model_server.grpc_address, "--json"])
        files.shutdown()
    assert code == 0
    first, second = json.loads(capsys.readouterr().out)["results"]
    assert first["image"] == url and first["top5"] == second["top5"]


CLIENT_ERRORS = {
    "unreachable gRPC server": (lambda s: ["--server", f"127.0.0.1:{unused_loopback_port()}"], "cannot reach the"),
    "unreachable REST server": (lambda s: ["--rest", f"http://127.0.0.1:{unused_loopback_port()}"], "cannot reach"),
    "unknown model": (lambda s: ["--server", s.grpc_address, "--model", "inception"], "NOT_FOUND"),
    "unknown signature": (lambda s: ["--rest", s.rest_url, "--signature", "classify"], 'key "classify" not found'),
    "missing file": (lambda s: ["--server", s.grpc_address, "no_such_picture.jpg"], "no such file: no_such_"),
    "not an image": (lambda s: ["--server", s.grpc_address, "README.md"], "README.md is not an image"),
}


@pytest.mark.parametrize("name", CLIENT_ERRORS)
def test_client_errors_are_one_line_with_nonzero_exit(model_server, name):
    arguments, phrase = CLIENT_ERRORS[name]
    result = run_client(str(IMAGES[0]), *arguments(model_server))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert phrase in result.stderr
    if name.startswith("unreachable"):
        assert "127.0.0.1:" in result.stderr, "the message says which address"


def test_profiler_sweeps_targets_and_writes_csv_and_plot(model_server, solution_run, tmp_path, capsys):
    table, chart = tmp_path / "profile.csv", tmp_path / "profile.png"
    arguments = ["--server", model_server.grpc_address, "--rest", model_server.rest_url]
    arguments += ["--saved-model", str(solution_run.export_path), "--batch-sizes", "1,3", "--warmup", "1"]
    arguments += ["--trials", "4", "--concurrency", "2", "--csv", str(table), "--plot", str(chart)]
    assert resnet_profiler.main(arguments) == 0
    with table.open() as file:
        rows = list(csv.DictReader(file))
    assert [(row["target"], row["batch_size"]) for row in rows] == [
        (target, size) for target in ("in-process", "grpc", "rest") for size in ("1", "3")
    ]
    for row in rows:
        assert row["concurrency"] == "2" and row["requests"] == "4"
        assert 0 < float(row["p50_ms"]) <= float(row["p90_ms"]) <= float(row["p99_ms"])
        assert float(row["images_per_s"]) > 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + len(rows)
    with Image.open(chart) as drawn:
        assert drawn.format == "PNG"


def test_profiler_reports_an_unreachable_server(capsys):
    code = resnet_profiler.main(["--server", f"127.0.0.1:{unused_loopback_port()}", "--trials", "1", "--warmup", "0"])
    assert code == 1
    assert "cannot reach the server" in capsys.readouterr().err
