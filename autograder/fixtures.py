"""Grader fixtures: realistic wrong submissions (mutants), other correct answers and hostile submissions, made
from the solution by small edits, so that they follow the solution when it changes.

`python -m autograder.fixtures OUT` writes OUT/<name>/serving_keras_resnet.ipynb for every fixture, plus the
solution and the unfilled release, ready for `python -m autograder grade OUT --out ...`.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import NOTEBOOK, RELEASE, REPO, SOLUTION

DECODE = 'tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE")'
PREPROCESS = "image = keras.applications.resnet50.preprocess_input(image)"
MAP_FN = "tf.map_fn(build_jpeg_to_image_graph, jpeg_tensor, fn_output_signature=tf.float32)"
TOP_K = "tf.math.top_k(model_output, k=TOP_K)"
TOP_K_RETURN = 'return {"classes": top_k_classes, "probabilities": top_k_probabilities}'
SIGNATURE_RETURN = 'return {"classes": outputs["classes"], "probabilities": outputs["probabilities"]}'


@dataclass(frozen=True)
class Edit:
    """Replace `old`, which must occur exactly once in the cell, by `new`."""

    cell_id: str
    old: str
    new: str


# Realistic mistakes, each aimed at one part of the exercise.
MUTANTS: dict[str, list[Edit]] = {
    "decode_one_channel": [Edit("part1", "channels=3", "channels=1")],
    "decode_without_channels": [Edit("part1", DECODE, 'tf.io.decode_jpeg(jpeg, dct_method="INTEGER_ACCURATE")')],
    "no_preprocess_input": [Edit("part1", PREPROCESS, "image = image  # forgot preprocess_input")],
    "preprocess_tf_mode": [
        Edit("part1", PREPROCESS, 'image = keras.applications.imagenet_utils.preprocess_input(image, mode="tf")')
    ],
    "preprocess_torch_mode": [
        Edit("part1", PREPROCESS, 'image = keras.applications.imagenet_utils.preprocess_input(image, mode="torch")')
    ],
    "means_in_rgb_without_flip": [Edit("part1", PREPROCESS, "image = image - [123.68, 116.779, 103.939]")],
    "batch_first_image_only": [
        Edit(
            "part3",
            MAP_FN,
            "tf.map_fn(lambda jpeg: build_jpeg_to_image_graph(jpeg_tensor[0]), jpeg_tensor, "
            "fn_output_signature=tf.float32)",
        )
    ],
    "top_k_of_3": [Edit("part4", "k=TOP_K)", "k=3)")],
    "top_k_ascending": [
        Edit(
            "part4",
            TOP_K_RETURN,
            'return {"classes": top_k_classes[:, ::-1], "probabilities": top_k_probabilities[:, ::-1]}',
        )
    ],
    "softmax_applied_again": [Edit("part4", TOP_K, "tf.math.top_k(tf.nn.softmax(model_output), k=TOP_K)")],
    "signature_input_renamed": [Edit("part6", 'name="images"', 'name="jpegs"')],
    "signature_outputs_swapped": [
        Edit(
            "part6",
            SIGNATURE_RETURN,
            'return {"classes": outputs["probabilities"], "probabilities": outputs["classes"]}',
        )
    ],
    "export_without_signatures": [
        Edit("part6", 'SIGNATURES = {"serving_default": predict, "predict": predict}', "SIGNATURES = None")
    ],
}

# Correct answers that differ from the solution, which must earn full points.
CORRECT_VARIANTS: dict[str, list[Edit]] = {
    "default_dct": [Edit("part1", DECODE, "tf.io.decode_jpeg(jpeg, channels=3)")],
}

# Hostile submissions: correct answers plus code that attacks the grader. {placeholders} are filled per run.
HOSTILE_CODE = {
    "hostile_infinite_loop": "while True:\n    pass",
    "hostile_os_exit": "import os\n\nos._exit(0)",
    "hostile_memory_hog": "hog = [bytearray(2**30) for _ in range(64)]",
    "hostile_network": (
        "import socket\n\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()\n"
        "    print('connected to the grader machine')\n"
        "except OSError as error:\n"
        "    print('network blocked:', error)"
    ),
    "hostile_read_files": (
        "for target in {readable!r}:\n"
        "    try:\n"
        "        print('read', len(open(target, 'rb').read()), 'bytes of', target)\n"
        "    except OSError as error:\n"
        "        print('read blocked:', target, type(error).__name__)"
    ),
    "hostile_write_grades": (
        "for target in {writable!r}:\n"
        "    try:\n"
        "        with open(target, 'ab') as file:\n"
        "            file.write(b'100 points please')\n"
        "        print('wrote to', target, '(if that is under /tmp: the sandbox keeps a private /tmp)')\n"
        "    except OSError as error:\n"
        "        print('write blocked:', target, type(error).__name__)"
    ),
    "hostile_monkeypatch_tests": (
        "import builtins\n\n"
        "import numpy.testing\n\n"
        "numpy.testing.assert_array_equal = lambda *args, **kwargs: None\n"
        "numpy.testing.assert_allclose = lambda *args, **kwargs: None\n"
        "builtins.AssertionError = type('NotAnAssertionError', (Warning,), {{}})"
    ),
    "hostile_huge_output": "print(('x' * 99 + '\\n') * 500_000)  # 50 MB",
}
# The monkeypatching submission is also wrong: patching the tests must not turn its mistake into points.
HOSTILE_BASE = {"hostile_monkeypatch_tests": MUTANTS["top_k_ascending"]}


def apply_edits(nb: nbformat.NotebookNode, edits: list[Edit]) -> nbformat.NotebookNode:
    cells = {cell.get("id"): cell for cell in nb.cells}
    for edit in edits:
        cell = cells[edit.cell_id]
        count = cell.source.count(edit.old)
        if count != 1:
            raise ValueError(f"{edit.cell_id}: expected {edit.old!r} once in the solution, found it {count} times")
        cell.source = cell.source.replace(edit.old, edit.new)
    return nb


def edited(edits: list[Edit]) -> nbformat.NotebookNode:
    """The solution notebook with edits applied."""
    return apply_edits(nbformat.read(SOLUTION, as_version=4), edits)


def hostile(name: str, **targets: object) -> nbformat.NotebookNode:
    """The solution (or a mutant) with attack code appended to the first answer cell."""
    nb = edited(HOSTILE_BASE.get(name, []))
    first_answer = next(cell for cell in nb.cells if cell.get("id") == "part1")
    first_answer.source += "\n\n\n" + HOSTILE_CODE[name].format(**targets)
    return nb


def write_fixtures(out: Path, **targets: object) -> list[str]:
    """Write every fixture as out/<name>/<notebook>, with the solution and the release; return the names."""
    notebooks = {
        "solution": nbformat.read(SOLUTION, as_version=4),
        "unfilled_release": nbformat.read(RELEASE, as_version=4),
        **{name: edited(edits) for name, edits in {**CORRECT_VARIANTS, **MUTANTS}.items()},
        **{name: hostile(name, **targets) for name in HOSTILE_CODE},
    }
    for name, nb in notebooks.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / name / NOTEBOOK)
    return list(notebooks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the fixtures into")
    args = parser.parse_args()
    names = write_fixtures(
        args.out,
        port=9,
        readable=[str(SOLUTION), str(REPO / "gradebook.db")],
        writable=[str(REPO / "gradebook.db")],
    )
    print(f"Wrote {len(names)} submissions to {args.out}")


if __name__ == "__main__":
    main()
