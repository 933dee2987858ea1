"""Round trips through the local model server over gRPC and REST, against the same SavedModel in-process."""

from pathlib import Path

from bench.model_speed import jpeg_batch
from bench.settings import Settings
from bench.stats import figure, interleaved_seconds, repeated
from client.predictors import GrpcPredictor, RestPredictor, SavedModelPredictor
from serving.launcher import LocalServer


def local_server(settings: Settings, export: Path, samples: Path, workdir: Path) -> dict:
    base_path = workdir / "served"
    base_path.mkdir(exist_ok=True)
    (base_path / "1").symlink_to(export.resolve(), target_is_directory=True)
    latency_ms: dict[str, dict[str, dict]] = {}
    with LocalServer(base_path, log_path=workdir / "model_server.log") as server:
        targets = [
            SavedModelPredictor(export, "serving_default"),
            GrpcPredictor(server.grpc_address, "resnet", "serving_default"),
            RestPredictor(server.rest_url, "resnet", "serving_default"),
        ]
        for batch_size in settings.server_batch_sizes:
            batch = jpeg_batch(samples, batch_size)
            works = [repeated(target.predict, batch, 1) for target in targets]
            for target, timings in zip(targets, interleaved_seconds(works, settings.server_requests, 2), strict=True):
                latency_ms.setdefault(target.target, {})[str(batch_size)] = figure([1000 * t for t in timings], 2)
    baseline = latency_ms.pop("in-process")
    smallest, largest = (str(size) for size in (min(settings.server_batch_sizes), max(settings.server_batch_sizes)))
    return {
        "latency_ms": {"in-process": baseline, **latency_ms},
        f"throughput_ratio_at_batch_{largest}": {
            target: round(baseline[largest]["median"] / by_size[largest]["median"], 3)
            for target, by_size in latency_ms.items()
        },
        f"added_latency_ms_at_batch_{smallest}": {
            target: round(by_size[smallest]["median"] - baseline[smallest]["median"], 2)
            for target, by_size in latency_ms.items()
        },
    }
