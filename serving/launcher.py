"""Start a model server as a subprocess on free loopback ports and wait until it serves: TensorFlow Serving's
tensorflow_model_server when it is on PATH (for the notebook), else the repository's local model server; what the
notebook, the tests, the benchmarks and anyone scripting a session need."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

READY_TIMEOUT_SECONDS = 180
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the server is local: never through a proxy
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalServer:
    """`with LocalServer(base_path) as server:` gives server.grpc_address and server.rest_url.

    With prefer_tf_serving, TensorFlow Serving's own server is used when `tensorflow_model_server` is on PATH; both
    take the same flags.
    """

    def __init__(
        self,
        model_base_path: Path,
        model_name: str = "resnet",
        log_path: Path | None = None,
        prefer_tf_serving: bool = False,
        **flags,
    ):
        self.model_base_path, self.model_name, self.flags = model_base_path, model_name, flags
        self.tf_serving = shutil.which("tensorflow_model_server") if prefer_tf_serving else None
        self.kind = "TensorFlow Serving" if self.tf_serving else "the local model server"
        self.grpc_port, self.rest_port = free_port(), free_port()
        self.grpc_address = f"127.0.0.1:{self.grpc_port}"
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"
        self.log_path = log_path or Path(model_base_path).parent / f"model_server_{self.grpc_port}.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        options = {
            "port": self.grpc_port,
            "rest_api_port": self.rest_port,
            "model_name": self.model_name,
            "model_base_path": self.model_base_path,
            **self.flags,
        }
        program = [self.tf_serving] if self.tf_serving else [sys.executable, "-m", "serving.model_server"]
        return [*program, *(f"--{key}={value}" for key, value in options.items())]

    def start(self) -> "LocalServer":
        """Start the server and return once it serves a version; an error with its log if it cannot."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        self.wait_until_available()
        return self

    def __enter__(self) -> "LocalServer":
        return self.start()

    def wait_until_available(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"model server exited with {self.process.returncode}:\n{self.log()}")
            if self.available_versions():
                return
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.log()}\nthe model server did not serve within {READY_TIMEOUT_SECONDS} s (log above)")

    def available_versions(self) -> list[int]:
        try:
            with DIRECT.open(f"{self.rest_url}/v1/models/{self.model_name}", timeout=5) as response:
                statuses = json.load(response)["model_version_status"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return []
        return [int(status["version"]) for status in statuses if status["state"] == "AVAILABLE"]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
