"""`python -m serving.model_server`: serve the exported servable over TF Serving's gRPC and REST APIs, with
tensorflow_model_server's flags where they apply, for machines without Docker (laptops, JupyterHub, the tests)."""

import argparse
import logging
import os
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc

from serving.batching import BatchingParameters
from serving.grpc_api import add_services
from serving.rest_api import rest_server
from serving.servables import ModelManager, numbered_versions

log = logging.getLogger("serving")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.model_server", description=__doc__)
    parser.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500)")
    parser.add_argument("--rest_api_port", type=int, default=8501, help="REST port, 0 for none (default 8501)")
    parser.add_argument("--model_name", default="resnet", help="name clients ask for (default resnet)")
    parser.add_argument("--model_base_path", required=True, type=Path, help="folder holding version folders 1, 2, ...")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every interface")
    parser.add_argument(
        "--file_system_poll_wait_seconds", type=float, default=1.0, help="how often to look for new versions; 0: never"
    )
    parser.add_argument("--grpc_max_threads", type=int, default=16, help="requests served at once over gRPC")
    parser.add_argument("--max_request_bytes", type=int, default=32 << 20, help="largest request accepted (32 MiB)")
    parser.add_argument(
        "--max_image_pixels", type=int, default=50_000_000, help="largest image decoded, in pixels (50 megapixels)"
    )
    parser.add_argument(
        "--enable_batching", action="store_true", help="merge concurrent requests into batches (server-side batching)"
    )
    parser.add_argument(
        "--batching_parameters_file",
        type=Path,
        help="TF Serving's batching parameters (e.g. serving/tf_serving/batching.config); implies --enable_batching",
    )
    return parser.parse_args(argv)


def batching_parameters(args: argparse.Namespace) -> BatchingParameters | None:
    if args.batching_parameters_file:
        return BatchingParameters.read(args.batching_parameters_file)
    return BatchingParameters() if args.enable_batching else None


class ModelServer:
    """TF Serving's gRPC and REST APIs over one model manager, served by threads of this process: what `main` runs,
    and what a notebook runs in its own kernel (serving/launcher.py), where a new process would spend seconds
    importing TensorFlow again."""

    def __init__(self, args: argparse.Namespace, batching: BatchingParameters | None = None) -> None:
        self.args = args
        self.manager = ModelManager(
            args.model_name,
            args.model_base_path.resolve(),
            args.file_system_poll_wait_seconds,
            args.max_image_pixels,
            batching,
        )
        self.grpc_server: grpc.Server | None = None
        self.http = None
        self._stopped = False
        self._ports = threading.Lock()  # a stop while the model loads means the ports are never opened

    def start(self) -> None:
        """Load the highest version, then answer on both ports (unless stopped meanwhile)."""
        args = self.args
        self.manager.start()
        with self._ports:
            if self._stopped:
                return
            limits = [("grpc.max_receive_message_length", args.max_request_bytes)]
            executor = futures.ThreadPoolExecutor(max_workers=args.grpc_max_threads)
            self.grpc_server = grpc.server(executor, options=limits)
            add_services(self.grpc_server, self.manager)
            self.grpc_server.add_insecure_port(f"{args.host}:{args.port}")
            self.grpc_server.start()
            log.info("gRPC: %s:%d (model %s)", args.host, args.port, args.model_name)
            if args.rest_api_port:
                self.http = rest_server(args.host, args.rest_api_port, self.manager, args.max_request_bytes)
                threading.Thread(target=self.http.serve_forever, name="rest", daemon=True).start()
                log.info("REST: http://%s:%d/v1/models/%s", args.host, args.rest_api_port, args.model_name)

    def stop(self, grace: float = 2.0) -> None:
        """Stop watching for versions and answering; requests in flight get grace seconds to finish."""
        log.info("shutting down")
        self.manager.stop()
        with self._ports:
            self._stopped = True
            if self.http is not None:
                self.http.shutdown()
                self.http.server_close()
            if self.grpc_server is not None:
                self.grpc_server.stop(grace=grace).wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    base_path = args.model_base_path.resolve()
    if not numbered_versions(base_path):
        log.error("no version folder (1, 2, ... with a saved_model.pb) under %s: export the servable first", base_path)
        return 2
    try:
        batching = batching_parameters(args)
    except (OSError, ValueError) as error:
        log.error("batching parameters: %s", error)
        return 2
    if batching:
        log.info("batching: %s", batching)
    server = ModelServer(args, batching)
    server.start()
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
