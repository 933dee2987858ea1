"""Start a model server on free loopback ports and wait until it serves: TensorFlow Serving's
tensorflow_model_server when it is on PATH (for the notebook), else the repository's local model server, as a
subprocess or in this process's threads; what the notebook, the tests, the benchmarks and anyone scripting a
session need."""

import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
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
    take the same flags. With in_process, the local model server runs in this process's threads, which spares a
    process that already imported TensorFlow the seconds a new one spends importing it (TensorFlow Serving always
    runs as a process of its own).
    """

    def __init__(
        self,
        model_base_path: Path,
        model_name: str = "resnet",
        log_path: Path | None = None,
        prefer_tf_serving: bool = False,
        in_process: bool = False,
        **flags,
    ):
        self.model_base_path, self.model_name, self.flags = model_base_path, model_name, flags
        self.tf_serving = shutil.which("tensorflow_model_server") if prefer_tf_serving else None
        self.in_process = in_process and not self.tf_serving
        self.kind = "TensorFlow Serving" if self.tf_serving else "the local model server"
        self.grpc_port, self.rest_port = free_port(), free_port()
        self.grpc_address = f"127.0.0.1:{self.grpc_port}"
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"
        self.log_path = log_path or Path(model_base_path).parent / f"model_server_{self.grpc_port}.log"
        self.process: subprocess.Popen | None = None
        self.threads = None  # the in-process server (serving.model_server.ModelServer)
        self._log_handler: logging.Handler | None = None
        self._log_state = (logging.NOTSET, True)  # the server log's level and propagation, put back by stop
        self._thread_error = ""  # why the in-process server failed to start, if it did

    def options(self) -> list[str]:
        """The server's flags, which TensorFlow Serving and the local model server share."""
        options = {
            "port": self.grpc_port,
            "rest_api_port": self.rest_port,
            "model_name": self.model_name,
            "model_base_path": self.model_base_path,
            **self.flags,
        }
        return [f"--{key}={value}" for key, value in options.items()]

    def command(self) -> list[str]:
        program = [self.tf_serving] if self.tf_serving else [sys.executable, "-m", "serving.model_server"]
        return [*program, *self.options()]

    def start(self) -> "LocalServer":
        """Start the server and return once it serves a version; an error with its log if it cannot."""
        if self.in_process:
            self._start_threads()
        else:
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        self.wait_until_available()
        return self

    def _start_threads(self) -> None:
        """The local model server in this process, logging to the log file only (never to a notebook's output).
        It loads and warms up the model in a thread of its own, so that the caller waits as for a subprocess: in
        sleeps that an interrupt ends, even if the model never finishes its warm-up request."""
        from serving.model_server import ModelServer, batching_parameters, log, parse_args  # imports TensorFlow
        from serving.servables import numbered_versions

        if not numbered_versions(Path(self.model_base_path)):
            raise RuntimeError(f"no version folder (1, 2, ... with a saved_model.pb) in {self.model_base_path}")
        self._log_handler = logging.FileHandler(self.log_path)
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self._log_state = log.level, log.propagate
        log.addHandler(self._log_handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        try:
            args = parse_args(self.options())
            self.threads = ModelServer(args, batching_parameters(args))
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._run_threads, name="model-server-start", daemon=True).start()

    def _run_threads(self) -> None:
        try:
            self.threads.start()
        except Exception as error:  # reported by wait_until_available, with the log
            self._thread_error = f"{type(error).__name__}: {error}"

    def __enter__(self) -> "LocalServer":
        return self.start()

    def wait_until_available(self) -> None:
        """Return once a version is AVAILABLE; an error with the log once every version has failed to load, or the
        server has exited, or after READY_TIMEOUT_SECONDS."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"model server exited with {self.process.returncode}:\n{self.log()}")
            if self._thread_error:
                self.stop()
                raise RuntimeError(f"the model server could not start: {self._thread_error}\n{self.log()}")
            states = self.version_states()
            if "AVAILABLE" in states.values():
                return
            if states and set(states.values()) == {"END"}:
                self.stop()
                raise RuntimeError(f"the model server could not load {self.model_base_path}:\n{self.log()}")
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.log()}\nthe model server did not serve within {READY_TIMEOUT_SECONDS} s (log above)")

    def version_states(self) -> dict[int, str]:
        """Each version's state as the server reports it (LOADING, AVAILABLE, END...); none while it cannot answer."""
        try:
            with DIRECT.open(f"{self.rest_url}/v1/models/{self.model_name}", timeout=5) as response:
                statuses = json.load(response)["model_version_status"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return {}
        return {int(status["version"]): status["state"] for status in statuses}

    def available_versions(self) -> list[int]:
        return [version for version, state in self.version_states().items() if state == "AVAILABLE"]

    def alive(self) -> bool:
        return self.threads is not None or (self.process is not None and self.process.poll() is None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.threads is not None:
            threads, self.threads = self.threads, None
            threads.stop(grace=0.5)
        if self._log_handler is not None:
            from serving.model_server import log

            log.removeHandler(self._log_handler)
            level, log.propagate = self._log_state
            log.setLevel(level)
            self._log_handler.close()
            self._log_handler = None
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
