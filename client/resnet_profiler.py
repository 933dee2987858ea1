"""`python -m client.resnet_profiler`: latency and throughput of the served ResNet50 over a sweep of batch sizes,
with warm-up, a fixed number of timed requests and parallel clients. Give several targets (gRPC, REST, the
SavedModel in this process) to compare them in one run on the same machine."""

import argparse
import csv
import itertools
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from client.images import ImageSourceError, model_jpeg
from client.predictors import (
    DEFAULT_TIMEOUT_SECONDS,
    GrpcPredictor,
    Predictor,
    RestPredictor,
    SavedModelPredictor,
    ServerError,
)
from client.quiet import run_command

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@dataclass
class Measurement:
    target: str
    batch_size: int
    concurrency: int
    requests: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    images_per_s: float


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m client.resnet_profiler", description=__doc__)
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="images to send (default: the repo's samples)")
    parser.add_argument("--server", metavar="HOST:PORT", help="profile gRPC at this address")
    parser.add_argument("--rest", metavar="URL", help="profile REST at this base URL, e.g. http://localhost:8501")
    parser.add_argument("--saved-model", type=Path, metavar="DIR", help="profile this SavedModel called in-process")
    parser.add_argument("--model", default="resnet", help="model name on the server (default resnet)")
    parser.add_argument("--signature", default="serving_default", help="signature (default serving_default)")
    parser.add_argument("--batch-sizes", default="1,4,16,32", help="comma-separated sweep (default 1,4,16,32)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per batch size (default 3)")
    parser.add_argument("--trials", type=int, default=20, help="timed requests per batch size (default 20)")
    parser.add_argument("--concurrency", type=int, default=1, help="parallel clients (default 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")
    parser.add_argument("--csv", type=Path, metavar="OUT.csv", help="write the table as CSV")
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="draw latency and throughput against batch size")
    args = parser.parse_intermixed_args(argv)
    try:
        args.batch_sizes = [int(size) for size in args.batch_sizes.split(",")]
    except ValueError:
        parser.error(f"--batch-sizes must be comma-separated integers, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1 or args.trials < 1 or args.warmup < 0 or args.concurrency < 1:
        parser.error("batch sizes, --trials and --concurrency must be at least 1, --warmup at least 0")
    if not (args.server or args.rest or args.saved_model):
        args.server = "localhost:8500"
    return args


def predictors(args: argparse.Namespace) -> list[Predictor]:
    chosen: list[Predictor] = []
    if args.saved_model:
        chosen.append(SavedModelPredictor(args.saved_model, args.signature))
    if args.server:
        chosen.append(GrpcPredictor(args.server, args.model, args.signature, args.timeout))
    if args.rest:
        chosen.append(RestPredictor(args.rest, args.model, args.signature, args.timeout))
    return chosen


def measure_in_turns(
    targets: list[Predictor], batch: list[bytes], trials: int, concurrency: int, progress: tqdm
) -> list[Measurement]:
    """`trials` timed requests per target. The targets take turns, a round of `concurrency` parallel requests each,
    so that a drift in the machine's speed slows them alike; throughput is over the time spent on each target."""

    def timed_request(predictor: Predictor) -> float:
        start = time.perf_counter()
        predictor.predict(batch)
        progress.update()
        return (time.perf_counter() - start) * 1000

    latencies: dict[str, list[float]] = {predictor.target: [] for predictor in targets}
    busy = dict.fromkeys(latencies, 0.0)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for done in range(0, trials, concurrency):
            for predictor in targets:
                start = time.perf_counter()
                latencies[predictor.target] += pool.map(timed_request, [predictor] * min(concurrency, trials - done))
                busy[predictor.target] += time.perf_counter() - start
    results = []
    for target, times in latencies.items():
        p50, p90, p99 = (float(value) for value in np.percentile(times, [50, 90, 99]))
        mean = statistics.fmean(times)
        throughput = trials * len(batch) / busy[target]
        results.append(Measurement(target, len(batch), concurrency, trials, mean, p50, p90, p99, throughput))
    return results


def profile(
    targets: list[Predictor], jpegs: list[bytes], batch_sizes: list[int], warmup: int, trials: int, concurrency: int
) -> list[Measurement]:
    """For each batch size, warm-up requests and then timed ones, for every target; the table is by target."""
    results = []
    total = len(targets) * len(batch_sizes) * (warmup + trials)
    with tqdm(total=total, unit="request", file=sys.stderr, leave=False) as progress:
        for batch_size in batch_sizes:
            batch = list(itertools.islice(itertools.cycle(jpegs), batch_size))
            progress.set_description(f"batch {batch_size}")
            for predictor in targets:
                for _ in range(warmup):
                    predictor.predict(batch)
                    progress.update()
            results += measure_in_turns(targets, batch, trials, concurrency, progress)
    order = [predictor.target for predictor in targets]
    return sorted(results, key=lambda result: (order.index(result.target), result.batch_size))


def print_table(results: list[Measurement]) -> None:
    header = ("target", "batch", "conc", "mean ms", "p50 ms", "p90 ms", "p99 ms", "img/s")
    print("{:<11} {:>5} {:>4} {:>9} {:>9} {:>9} {:>9} {:>8}".format(*header))
    for r in results:
        print(
            f"{r.target:<11} {r.batch_size:>5} {r.concurrency:>4} {r.mean_ms:>9.1f} {r.p50_ms:>9.1f} "
            f"{r.p90_ms:>9.1f} {r.p99_ms:>9.1f} {r.images_per_s:>8.1f}"
        )


def write_csv(results: list[Measurement], path: Path) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(asdict(results[0])))
        writer.writeheader()
        writer.writerows(asdict(result) for result in results)


def plot(results: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4))
    for target in dict.fromkeys(r.target for r in results):
        rows = [r for r in results if r.target == target]
        sizes = [r.batch_size for r in rows]
        line = latency.plot(sizes, [r.p50_ms for r in rows], marker="o", label=f"{target} p50")[0]
        latency.plot(sizes, [r.p99_ms for r in rows], linestyle="--", color=line.get_color(), label=f"{target} p99")
        throughput.plot(sizes, [r.images_per_s for r in rows], marker="o", label=target)
    latency.set(xlabel="batch size", ylabel="latency per request (ms)", xscale="log", yscale="log")
    throughput.set(xlabel="batch size", ylabel="images/s", xscale="log", ylim=(0, None))
    batch_sizes = sorted({r.batch_size for r in results})
    for axis in (latency, throughput):
        axis.set_xticks(batch_sizes, labels=[str(size) for size in batch_sizes], minor=False)
        axis.set_xticks([], minor=True)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(f"ResNet50 servable, concurrency {results[0].concurrency}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sources = args.images or [str(path) for path in sorted(SAMPLES.glob("*.jpg"))]
    try:
        jpegs = [model_jpeg(source)[1] for source in sources]
        results = profile(predictors(args), jpegs, args.batch_sizes, args.warmup, args.trials, args.concurrency)
    except (ImageSourceError, ServerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_table(results)
    if args.csv:
        write_csv(results, args.csv)
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    run_command(main)
