"""The goals each benchmark is held to, the printed table and the chart."""

from pathlib import Path

GOALS = [
    # (section, key path to the measured value, comparison, target, what it means)
    ("servable", ("ratio_to_raw", "32", "median"), ">=", 0.97, "servable / raw model, images/s at batch 32"),
    ("local_server", ("throughput_ratio_at_batch_32", "grpc"), ">=", 0.90, "gRPC / in-process at batch 32"),
    ("local_server", ("throughput_ratio_at_batch_32", "rest"), ">=", 0.90, "REST / in-process at batch 32"),
    ("local_server", ("added_latency_ms_at_batch_1", "grpc"), "<=", 5.0, "gRPC added latency at batch 1, ms"),
    ("local_server", ("added_latency_ms_at_batch_1", "rest"), "<=", 5.0, "REST added latency at batch 1, ms"),
    ("notebook", ("seconds_to_export", "median"), "<=", 20.0, "solution notebook, kernel to export written, s"),
    ("notebook", ("seconds", "median"), "<=", 25.0, "solution notebook with pictures and Part 8, kernel to end, s"),
    ("validate", ("seconds", "median"), "<=", 20.0, "Validate button on the filled release, s"),
    ("grader", ("ratio_to_plain_run",), "<=", 1.0, "autograding one submission / plain run"),
    ("grader", ("throughput_s_per_submission",), "<=", 7.0, "grading seconds per submission, all cores busy"),
    ("cluster", ("overhead",), "<=", 0.05, "grading on a local Dask cluster / the same jobs here, minus 1"),
]


def lookup(section: dict, path: tuple[str, ...]) -> float | None:
    value = section
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def judge_goals(sections: dict[str, dict]) -> list[dict]:
    """Each goal with its measured value and whether it was met; None where that figure was not measured."""
    goals = []
    for section, path, comparison, target, meaning in GOALS:
        value = lookup(sections.get(section, {}), path)
        met = None if value is None else (value >= target if comparison == ">=" else value <= target)
        goals.append({"goal": meaning, "value": value, "target": f"{comparison} {target}", "met": met})
    return goals


def table_rows(results: dict) -> list[tuple[str, str, str]]:
    """(section, figure, median [min-max]) for every measured figure, then the goals."""
    rows = []

    def walk(section: str, name: str, value) -> None:
        if isinstance(value, dict) and "median" in value:
            rows.append((section, name, f"{value['median']:g} [{value['min']:g}-{value['max']:g}] x{value['runs']}"))
        elif isinstance(value, dict):
            for key, inner in value.items():
                walk(section, f"{name} {key}".strip(), inner)
        elif isinstance(value, list):
            rows.append((section, name, ", ".join(map(shown, value))))
        elif isinstance(value, int | float | str) and name not in ("status",):
            rows.append((section, name, shown(value)))

    for section, figures in results["sections"].items():
        walk(section, "", figures)
    for goal in results["goals"]:
        verdict = {True: "MET", False: "MISSED", None: "not measured"}[goal["met"]]
        rows.append(("goal", f"{goal['goal']} {goal['target']}", f"{goal['value']} {verdict}"))
    return rows


def shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def print_table(results: dict) -> None:
    rows = table_rows(results)
    width = max(len(name) for _, name, _ in rows)
    for section, name, value in rows:
        print(f"{section:13} {name:{width}}  {value}")


def draw_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sections = results["sections"]
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    throughput, latency, notebook, grading = axes.flat

    for name, label in (("raw_model", "raw ResNet50"), ("servable", "servable (JPEG in, top-5 out)")):
        speeds = sections.get(name, {}).get("images_per_s", {})
        if speeds:
            sizes = [int(size) for size in speeds]
            throughput.plot(sizes, [fig["median"] for fig in speeds.values()], marker="o", label=label)
    ceiling = lookup(sections.get("ceiling", {}), ("images_per_s_ceiling", "median"))
    if ceiling:
        throughput.axhline(ceiling, linestyle="--", color="grey", label="fp32 matmul ceiling")
    throughput.set(title="Throughput", xlabel="batch size", ylabel="images/s", xscale="log")
    throughput.set_ylim(bottom=0)

    for target, by_size in sections.get("local_server", {}).get("latency_ms", {}).items():
        sizes = [int(size) for size in by_size]
        latency.plot(sizes, [fig["median"] for fig in by_size.values()], marker="o", label=target)
    latency.set(title="Latency per request", xlabel="batch size", ylabel="ms", xscale="log", yscale="log")
    for axis in (throughput, latency):
        sizes = sorted({int(x) for line in axis.get_lines() if line.get_marker() == "o" for x in line.get_xdata()})
        axis.set_xticks(sizes, labels=[str(size) for size in sizes], minor=False)
        axis.set_xticks([], minor=True)

    grading_steps = sections.get("grader", {}).get("breakdown_s", {})
    bars = {
        "plain run": sections.get("notebook", {}).get("breakdown_s", {}),
        "grading one": {step: fig for step, fig in grading_steps.items() if ": " not in step},
    }
    for bar, parts in bars.items():
        bottom = 0.0
        for part, fig in parts.items():
            notebook.bar([bar], [fig["median"]], bottom=bottom, label=part)
            bottom += fig["median"]
    notebook.set(title="The solution notebook: run, and graded", ylabel="s", xlim=(-0.5, 1.5))

    grader = sections.get("grader", {})
    runs = {"batch_seconds": f"{grader.get('jobs')} at a time", "one_at_a_time_batch_seconds": "1 at a time"}
    for key, label in runs.items():
        if batches := grader.get(key):
            grading.plot([int(n) for n in batches], list(batches.values()), marker="o", label=label)
    grading.set(title="Grading", xlabel="submissions", ylabel="s")

    for axis in axes.flat:
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
