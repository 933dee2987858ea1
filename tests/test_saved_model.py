"""The exported SavedModel, inspected in a separate process: the signatures TF Serving will see."""

import json
import re
import subprocess
import sys

from autograder import REPO
from tests.conftest import SolutionRun
from tests.helpers import SAMPLES, VENV_BIN

SIGNATURE_KEYS = ("serving_default", "predict")
EXPECTED_SIGNATURE = {
    "inputs": {"images": ["DT_STRING", [-1]]},
    "outputs": {"classes": ["DT_INT32", [-1, 5]], "probabilities": ["DT_FLOAT", [-1, 5]]},
    "method": "tensorflow/serving/predict",
}


def inspect_in_subprocess(export_path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.inspect_export", str(export_path), str(SAMPLES / "cat_sample.jpg")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_saved_model_cli(text: str) -> dict:
    """Signatures as `saved_model_cli show --all` prints them: {key: {'inputs': ..., 'outputs': ..., 'method'}}."""
    signatures = {}
    blocks = re.split(r"^signature_def\['([^']+)'\]:$", text, flags=re.MULTILINE)
    for key, block in zip(blocks[1::2], blocks[2::2], strict=True):
        if key.startswith("__"):
            continue
        tensors = {"inputs": {}, "outputs": {}}
        pattern = r"(inputs|outputs)\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([^)]*)\)"
        for kind, name, dtype, shape in re.findall(pattern, block):
            tensors[kind][name] = [dtype, [int(size) for size in shape.split(",") if size.strip()]]
        method = re.search(r"Method name is: (\S+)", block)
        signatures[key] = {**tensors, "method": method.group(1) if method else None}
    return signatures


def test_signatures_seen_from_a_separate_process(solution_run: SolutionRun) -> None:
    inspected = inspect_in_subprocess(solution_run.export_path)
    assert inspected["tags"] == ["serve"]
    assert set(inspected["signatures"]) == set(SIGNATURE_KEYS)
    for key in SIGNATURE_KEYS:
        assert inspected["signatures"][key] == EXPECTED_SIGNATURE, key
    assert inspected["served_shapes"] == {"classes": [1, 5], "probabilities": [1, 5]}


def test_saved_model_cli_agrees(solution_run: SolutionRun) -> None:
    shown = subprocess.run(
        [str(VENV_BIN / "saved_model_cli"), "show", "--all", "--dir", str(solution_run.export_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    from_cli = parse_saved_model_cli(shown)
    assert from_cli == inspect_in_subprocess(solution_run.export_path)["signatures"]
    assert from_cli["serving_default"] == EXPECTED_SIGNATURE


def test_cli_parser_sees_a_wrong_dtype() -> None:
    """The parser is what makes the agreement test meaningful: it must notice a changed dtype or shape."""
    shown = """signature_def['predict']:
  The given SavedModel SignatureDef contains the following input(s):
    inputs['images'] tensor_info:
        dtype: DT_FLOAT
        shape: (-1, 224)
        name: predict_images:0
  Method name is: tensorflow/serving/predict
"""
    parsed = parse_saved_model_cli(shown)
    assert parsed == {
        "predict": {
            "inputs": {"images": ["DT_FLOAT", [-1, 224]]},
            "outputs": {},
            "method": "tensorflow/serving/predict",
        }
    }
