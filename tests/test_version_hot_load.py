"""Like TF Serving, the local server picks up a newly exported higher version while it runs, keeps serving the old
one until the new one has loaded, and keeps serving when a newer version folder is broken."""

import shutil
import threading
import time
from pathlib import Path

import grpc
import pytest
from tensorflow_serving.apis.get_model_status_pb2 import ModelVersionStatus

from serving.launcher import LocalServer
from tests.helpers import SAMPLES
from tests.serving_requests import grpc_status, predict_request, prediction_stub

SWITCH_TIMEOUT_SECONDS = 120


class SteadyClient(threading.Thread):
    """Sends requests back to back and records which version answered each, or the error."""

    def __init__(self, server: LocalServer):
        super().__init__(daemon=True)
        self.server, self.versions, self.errors = server, [], []
        self.halt = threading.Event()

    def run(self) -> None:
        stub = prediction_stub(self.server)
        request = predict_request([(SAMPLES / "cat_sample.jpg").read_bytes()])
        while not self.halt.is_set():
            try:
                self.versions.append(stub.Predict(request, timeout=60).model_spec.version.value)
            except grpc.RpcError as error:
                self.errors.append(f"{error.code().name}: {error.details()}")

    def wait_for_version(self, version: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and version not in self.versions[-1:]:
            time.sleep(0.1)
        return version in self.versions[-1:]


def export_copy(source: Path, base_path: Path, version: int) -> None:
    """Publish a version the way the notebook's export does: complete in a staging folder, then one rename."""
    staging = base_path / f".staging-{version}"
    shutil.copytree(source, staging)
    staging.rename(base_path / str(version))


@pytest.fixture
def served_base(workdir: Path, solution_run) -> Path:
    base_path = workdir / "hot_load"
    base_path.mkdir()
    export_copy(solution_run.export_path, base_path, 1)
    yield base_path
    shutil.rmtree(base_path)


def states(server: LocalServer) -> dict[int, int]:
    return {status.version: status.state for status in grpc_status(server).model_version_status}


def test_new_version_is_served_without_a_failed_request(served_base: Path, solution_run):
    with LocalServer(served_base, file_system_poll_wait_seconds=0.5) as server:
        client = SteadyClient(server)
        client.start()
        assert client.wait_for_version(1, 60), client.errors
        export_copy(solution_run.export_path, served_base, 2)
        switched = client.wait_for_version(2, SWITCH_TIMEOUT_SECONDS)

        (served_base / "3").mkdir()
        (served_base / "3" / "saved_model.pb").write_bytes(b"not a SavedModel")
        deadline = time.monotonic() + 60
        while 3 not in states(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        served_after_broken = len(client.versions)
        time.sleep(1)
        client.halt.set()
        client.join(timeout=60)
        final_states = grpc_status(server).model_version_status
        log = server.log()

    assert switched, f"version 2 not served within {SWITCH_TIMEOUT_SECONDS} s\n{log}"
    assert client.errors == []
    before_broken = client.versions[:served_after_broken]
    assert before_broken == sorted(before_broken), "never back to version 1 once version 2 answered"
    assert set(before_broken) == {1, 2}, "version 1 answered until version 2 had loaded"
    assert set(client.versions[served_after_broken:]) == {2}, "broken version 3 must not stop version 2"
    by_version = {status.version: status for status in final_states}
    assert by_version[1].state == ModelVersionStatus.END
    assert by_version[2].state == ModelVersionStatus.AVAILABLE
    assert by_version[3].state == ModelVersionStatus.END
    assert "loading failed" in by_version[3].status.error_message
