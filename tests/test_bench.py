"""The benchmark code on tiny settings: it runs every section, writes valid JSON with all of them and a chart,
and exits non-zero when a section fails. Speed itself is measured by `make bench`, never asserted here."""

import json

import nbformat
import pytest
from PIL import Image

import bench.__main__ as bench
from autograder import SOLUTION

# The quick run below runs a notebook, Validate and gradings, here and on a Dask cluster: 3-5 min.
pytestmark = [pytest.mark.class_scale, pytest.mark.timeout(1800)]

SECTIONS = list(bench.SECTIONS)
# The whole steps of grading a submission, which add up to its time (autograder/report/step_times.py).
GRADING_STEPS = {
    "kernel start and stop",
    "notebook in the kernel",
    "hand-in",
    "judge, after the kernel",
    "feedback",
    "nbgrader's own steps",
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    code = bench.main(["--quick", "--out", str(out / "results.json"), "--chart", str(out / "results.png")])
    return code, json.loads((out / "results.json").read_text()), out


def test_quick_run_measures_every_section(quick_run):
    code, results, out = quick_run
    assert code == 0, {name: section.get("error") for name, section in results["sections"].items()}
    assert list(results["sections"]) == SECTIONS
    assert all(section["status"] == "ok" for section in results["sections"].values())
    with Image.open(out / "results.png") as chart:
        assert chart.format == "PNG"


def test_figures_are_medians_with_their_spread(quick_run):
    _, results, _ = quick_run
    sections = results["sections"]
    for figure in (
        sections["ceiling"]["matmul_gflops"],
        sections["raw_model"]["images_per_s"]["2"],
        sections["servable"]["images_per_s"]["1"],
        sections["local_server"]["latency_ms"]["grpc"]["2"],
        sections["notebook"]["seconds"],
        sections["validate"]["seconds"],
        sections["grader"]["seconds_per_submission"],
    ):
        assert set(figure) == {"median", "min", "max", "runs"}
        assert 0 < figure["min"] <= figure["median"] <= figure["max"]
    assert set(sections["local_server"]["latency_ms"]) == {"in-process", "grpc", "rest"}
    assert set(sections["notebook"]["breakdown_s"]) >= {"imports and setup", "model build", "export", "tests"}
    to_export, to_end = sections["notebook"]["seconds_to_export"], sections["notebook"]["seconds"]
    assert sections["notebook"]["breakdown_s"]["export"]["median"] < to_export["median"] < to_end["median"]
    assert sections["grader"]["batch_seconds"].keys() == {"1"}
    steps = sections["grader"]["breakdown_s"]
    whole_steps = {step: fig["median"] for step, fig in steps.items() if ": " not in step}
    assert set(whole_steps) == GRADING_STEPS
    assert sum(whole_steps.values()) == pytest.approx(sections["grader"]["seconds_per_submission"]["median"], abs=0.05)
    assert {
        "kernel: export",
        "judge: load hand-in",
        "judge: test_my_checks",
        "judge: kernel call of checks_alone",
        "judge: fresh_process_check",
    } <= set(steps)
    cluster = sections["cluster"]
    assert cluster["submissions"] == 1 and cluster["workers"] == sections["grader"]["jobs"]
    assert cluster["seconds"]["runs"] == cluster["local_seconds"]["runs"] == len(cluster["overhead_by_round"]) == 1
    assert cluster["overhead"] == round(cluster["seconds"]["median"] / cluster["local_seconds"]["median"] - 1, 3)
    assert {goal["goal"] for goal in results["goals"]} >= {"autograding one submission / plain run"}
    assert results["machine"]["cores"] >= 1


def test_a_failing_section_exits_nonzero_and_is_recorded(tmp_path):
    broken = nbformat.read(SOLUTION, as_version=4)
    broken.cells.insert(0, nbformat.v4.new_code_cell("raise RuntimeError('this notebook is broken on purpose')"))
    broken_path = tmp_path / SOLUTION.name
    nbformat.write(broken, broken_path)
    results_path = tmp_path / "results.json"
    args = ["--quick", "--notebook", str(broken_path), "--out", str(results_path), "--chart", str(tmp_path / "c.png")]
    assert bench.main([*args, "--sections", "notebook,ceiling,local_server"]) == 1
    sections = json.loads(results_path.read_text())["sections"]
    assert sections["notebook"]["status"] == "failed"
    assert "broken on purpose" in sections["notebook"]["error"]
    assert sections["local_server"] == {"status": "skipped", "error": "needs section(s) notebook"}
    assert sections["ceiling"]["status"] == "ok", "the other sections still run"
    assert "grader" not in sections, "only the sections asked for"
