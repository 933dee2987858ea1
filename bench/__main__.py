"""`python -m bench` (or `make bench`): measure the servable, the local server, the notebook and the grader on
this machine, in one run; write bench/results.json and a chart and print a table. Exits 1 if a section failed."""

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from autograder import REPO, SOLUTION
from bench.report import draw_chart, judge_goals, print_table
from bench.settings import FULL, QUICK, Settings

HERE = Path(__file__).resolve().parent
SECTIONS = ("notebook", "validate", "ceiling", "raw_model", "servable", "local_server", "grader", "cluster", "scaling")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the benchmarks run, not speed")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="results JSON")
    parser.add_argument("--chart", type=Path, default=HERE / "results.png", help="chart PNG")
    parser.add_argument("--notebook", type=Path, default=SOLUTION, help="notebook to time and export the servable")
    parser.add_argument("--samples", type=Path, default=REPO / "samples", help="folder of sample JPEGs")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)"
    )
    args = parser.parse_args(argv)
    args.sections = args.sections.split(",")
    if unknown := set(args.sections) - set(SECTIONS):
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def machine() -> dict:
    import tensorflow as tf

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__}


class Run:
    """Runs sections in order, recording each one's figures, or its error, and its wall time."""

    def __init__(self, selected: list[str]) -> None:
        self.selected, self.sections = selected, {}

    def section(self, name: str, measure: Callable[[], dict], needs: tuple[str, ...] = ()) -> dict | None:
        if name not in self.selected:
            return None
        missing = [need for need in needs if self.sections.get(need, {}).get("status") != "ok"]
        if missing:
            self.sections[name] = {"status": "skipped", "error": f"needs section(s) {', '.join(missing)}"}
            return None
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            figures = measure()
        except Exception as error:
            traceback.print_exc()
            self.sections[name] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
            return None
        self.sections[name] = {"status": "ok", "wall_s": round(time.perf_counter() - start, 1), **figures}
        return self.sections[name]

    @property
    def failed(self) -> list[str]:
        return [name for name, section in self.sections.items() if section["status"] != "ok"]


def measure_all(settings: Settings, args: argparse.Namespace, workdir: Path) -> Run:
    from bench import grading_speed, model_speed, notebook_speed, serving_speed

    run, export = Run(args.sections), None

    def notebook() -> dict:
        nonlocal export
        figures, export = notebook_speed.notebook(settings.notebook_runs, args.notebook, args.samples, workdir)
        return figures

    run.section("notebook", notebook)
    run.section("validate", lambda: notebook_speed.validate(settings.notebook_runs, args.samples, workdir))
    ceiling = run.section("ceiling", lambda: model_speed.matmul_ceiling(settings))
    yardstick = None

    def raw_model() -> dict:
        nonlocal yardstick
        yardstick = model_speed.RawModel()
        return model_speed.raw_model(settings, yardstick, ceiling)

    run.section("raw_model", raw_model)
    servable = run.section(
        "servable",
        lambda: model_speed.servable(settings, export, args.samples, yardstick),
        needs=("notebook", "raw_model"),
    )
    run.section(
        "local_server",
        lambda: serving_speed.local_server(settings, export, args.samples, workdir),
        needs=("notebook",),
    )
    plain = run.sections.get("notebook", {}).get("seconds", {}).get("median")
    grader = run.section(
        "grader", lambda: grading_speed.grading(settings.grading_serial, settings.grading_batches, plain, workdir)
    )
    run.section(
        "cluster",
        lambda: grading_speed.on_cluster(settings.cluster_submissions, settings.cluster_rounds, workdir),
    )
    run.section(
        "scaling",
        lambda: {
            "servable_images_per_s_by_batch_size": {k: v["median"] for k, v in servable["images_per_s"].items()},
            "grading_seconds_by_submissions": grader["batch_seconds"],
            "grading_seconds_per_submission_by_submissions": {
                count: round(seconds / int(count), 1) for count, seconds in grader["batch_seconds"].items()
            },
        },
        needs=("servable", "grader"),
    )
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        run = measure_all(settings, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = {
        "machine": machine(),
        "settings": {"quick": args.quick, **dataclasses.asdict(settings)},
        "sections": run.sections,
        "goals": judge_goals(run.sections),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    draw_chart(results, args.chart)
    print_table(results)
    print(f"results: {args.out}; chart: {args.chart}")
    if run.failed:
        print(f"failed sections: {', '.join(run.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
