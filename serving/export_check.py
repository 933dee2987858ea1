"""Load a SavedModel in a fresh Python, as a model server would, and report what it sees (the notebook's Part 7).

A fresh process sees only what was saved, never what is in the notebook's memory. The notebook starts this script
early, so that it imports TensorFlow while the student builds the servable; the script then waits on its stdin for
one line of JSON, `[export_dir, jpeg_file, ...]`, and prints its report as one line of JSON: each signature's inputs
and outputs, what it answers for the JPEGs (or why it failed), how many weights it reads, and what
`saved_model_cli show` prints for the export. Run by itself: `python serving/export_check.py`, then type the line.
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import tensorflow as tf
from tensorflow.python.tools import saved_model_cli

ERROR_LIMIT = 500  # characters kept of a signature's error


def saved_model_cli_show(export_dir: str) -> dict:
    """What `saved_model_cli show --dir export_dir --tag_set serve --signature_def serving_default` prints, and its
    exit status, from its own code, here where TensorFlow is imported already (a new process would take seconds)."""
    arguments = ["--dir", export_dir, "--tag_set", "serve", "--signature_def", "serving_default"]
    shown, status, saved_argv = io.StringIO(), 0, sys.argv
    sys.argv = ["saved_model_cli", "show", *arguments]
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        try:
            saved_model_cli.main()
        except SystemExit as exit:  # it ends as a command does, with its exit status
            status = exit.code or 0
        except Exception as error:
            print(f"{type(error).__name__}: {error}")
            status = 1
        finally:
            sys.argv = saved_argv
    return {"printed": shown.getvalue(), "status": status}


def describe(specs: dict) -> dict:
    """{name: [dtype, shape]} of a signature's inputs or outputs; -1 or None is a size known only at run time."""
    return {name: [spec.dtype.name, spec.shape.as_list()] for name, spec in specs.items()}


def report_on(export_dir: str, jpeg_files: list[str]) -> dict:
    """Each signature of the export: its inputs and outputs, its answers for the JPEGs or its error, its weights."""
    loaded = tf.saved_model.load(export_dir)
    jpegs = tf.constant([Path(path).read_bytes() for path in jpeg_files])
    report: dict = {"signatures": {}, "outputs": {}, "errors": {}, "weights": {}}
    for key, signature in loaded.signatures.items():
        report["signatures"][key] = {
            "inputs": describe(signature.structured_input_signature[1]),
            "outputs": describe(signature.structured_outputs),
        }
        report["weights"][key] = sum(variable.shape.num_elements() for variable in signature.variables)
        inputs = sorted(signature.structured_input_signature[1])
        if inputs != ["images"]:  # a client sends images: calling it so would fail with a dump of the JPEGs
            report["errors"][key] = f"it takes {inputs}, not the input a client sends, images"
            continue
        try:
            for name, value in signature(images=jpegs).items():
                report["outputs"][f"{key}/{name}"] = {"dtype": value.dtype.name, "values": value.numpy().tolist()}
        except Exception as error:  # the report says which signature failed and why; the others still answer
            report["errors"][key] = f"{type(error).__name__}: {str(error)[:ERROR_LIMIT]}"
    return report


def main() -> None:
    # Each signature answers once here: TensorFlow's graph optimizer (grappler), which makes a server's thousands of
    # calls faster, would spend longer optimizing ResNet50 than this one call takes. The answers are the same.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    request = sys.stdin.readline()  # waits here, TensorFlow imported
    if not request:
        os._exit(0)  # whoever started it went away without asking
    export_dir, *jpeg_files = json.loads(request)
    inspection = saved_model_cli_show(export_dir)
    report = report_on(export_dir, jpeg_files)
    print(json.dumps({**report, "saved_model_cli": inspection}), flush=True)
    os._exit(0)  # all is printed: skip TensorFlow's slow shutdown


if __name__ == "__main__":
    main()
