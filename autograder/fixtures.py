"""Grader fixtures: realistic wrong submissions (mutants), other correct answers, hostile submissions and
innocently broken ones, made from the solution (or the release) by small edits, so that they follow the solution
when it changes; and the odd things an LMS download or a careless instructor hands the grader.

`python -m autograder.fixtures OUT` writes OUT/<name>/serving_keras_resnet.ipynb for every fixture, plus the
solution and the unfilled release, ready for `python -m autograder grade OUT --out ...`; with --zip, also OUT.zip,
the same submissions plus Canvas, Moodle and Blackboard entries and odd files, as one download.
"""

import argparse
import json
import stat
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from autograder import NOTEBOOK, RELEASE, REPO, SOLUTION

DECODE = 'tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE")'
RESIZE = "image = tf.image.resize(image, [IMAGE_SIZE, IMAGE_SIZE])"
PREPROCESS = "return keras.applications.resnet50.preprocess_input(image)"
CHECKS_BODY = "    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)"
COMPARISON = "assert np.abs(image - expected).max() <= 8"
MAP_FN = "tf.map_fn(build_jpeg_to_image_graph, jpeg_tensor, fn_output_signature=tf.float32)"
TOP_K = "tf.math.top_k(model_output, k=TOP_K)"
TOP_K_RETURN = 'return {"classes": top_k_classes, "probabilities": top_k_probabilities}'
TOP_K_LINE = "    top_k_probabilities, top_k_classes ="
ATTACKS = REPO / "autograder" / "attacks"


@dataclass(frozen=True)
class Edit:
    """Replace `old`, which must occur exactly once in the cell, by `new`."""

    cell_id: str
    old: str
    new: str


# Realistic mistakes, each aimed at one part of the exercise: each must cost the points of its own part only.
MUTANTS: dict[str, list[Edit]] = {
    # Part 1
    "decode_one_channel": [Edit("part1", "channels=3", "channels=1")],
    "decode_without_channels": [Edit("part1", DECODE, 'tf.io.decode_jpeg(jpeg, dct_method="INTEGER_ACCURATE")')],
    "decode_not_resized": [Edit("part1", RESIZE, "image = tf.cast(image, tf.float32)")],
    "no_preprocess_input": [Edit("part1", PREPROCESS, "return image  # forgot preprocess_input")],
    "preprocess_tf_mode": [
        Edit("part1", PREPROCESS, 'return keras.applications.imagenet_utils.preprocess_input(image, mode="tf")')
    ],
    "preprocess_torch_mode": [
        Edit("part1", PREPROCESS, 'return keras.applications.imagenet_utils.preprocess_input(image, mode="torch")')
    ],
    "means_in_rgb_without_flip": [Edit("part1", PREPROCESS, "return image - [123.68, 116.779, 103.939]")],
    # Part 2
    "bounds_too_wide": [
        Edit("part2", "max_value = 255 - 103.939", "max_value = 255"),
        Edit("part2", "0 - 123.68", "-255"),
    ],
    "checks_of_the_shape_only": [Edit("part2", "\n    assert image.dtype", "\n    return\n    assert image.dtype")],
    "checks_too_strict": [Edit("part2", COMPARISON, "assert np.abs(image - expected).max() == 0")],
    "checks_call_the_decoder": [
        Edit("part2", COMPARISON, "assert np.allclose(image, build_jpeg_to_image_graph(jpeg), atol=8)")
    ],
    # Part 3
    "batch_first_image_only": [
        Edit(
            "part3",
            MAP_FN,
            "tf.map_fn(lambda jpeg: build_jpeg_to_image_graph(jpeg_tensor[0]), jpeg_tensor, "
            "fn_output_signature=tf.float32)",
        )
    ],
    "map_without_output_type": [Edit("part3", ", fn_output_signature=tf.float32", "")],
    # Part 4
    "top_k_of_3": [Edit("part4", "k=TOP_K)", "k=3)")],
    "top_k_ascending": [
        Edit(
            "part4",
            TOP_K_RETURN,
            'return {"classes": top_k_classes[:, ::-1], "probabilities": top_k_probabilities[:, ::-1]}',
        )
    ],
    "softmax_applied_again": [Edit("part4", TOP_K, "tf.math.top_k(tf.nn.softmax(model_output), k=TOP_K)")],
    # Part 5
    "servable_in_training_mode": [Edit("part5", "training=False", "training=True")],
    "model_without_its_top": [
        Edit("part5", "ResNet50(weights=WEIGHTS)", 'ResNet50(weights=WEIGHTS, include_top=False, pooling="avg")')
    ],
    "servable_skips_postprocess": [Edit("part5", "return postprocess_output(probabilities)", "return probabilities")],
    # Part 6
    "signature_input_unnamed": [Edit("part6", ', name="images"', "")],
    "signature_default_only": [Edit("part6", ', "predict": predict}', "}")],
    "export_without_signatures": [
        Edit("part6", 'SIGNATURES = {"serving_default": predict, "predict": predict}', "SIGNATURES = None")
    ],
    # Part 8
    "rest_jpegs_not_base64": [Edit("rest_answer", 'base64.b64encode(jpeg).decode("ascii")', 'jpeg.decode("latin-1")')],
    "grpc_input_renamed": [Edit("grpc_answer", 'request.inputs["images"]', 'request.inputs["jpegs"]')],
    "grpc_signature_renamed": [Edit("grpc_answer", 'signature_name = "serving_default"', 'signature_name = "serving"')],
    "grpc_outputs_left_as_protos": [Edit("labels_answer", "tf.make_ndarray(tensor)", "tensor")],
    "labels_parsed_in_reverse": [
        Edit("labels_answer", "zip(row_classes, row_probabilities", "zip(row_classes[::-1], row_probabilities[::-1]")
    ],
}

# Correct answers that differ from the solution, which must earn full points.
CORRECT_VARIANTS: dict[str, list[Edit]] = {
    "default_dct": [Edit("part1", DECODE, "tf.io.decode_jpeg(jpeg, channels=3)")],
    "decode_image_instead": [Edit("part1", DECODE, "tf.io.decode_image(jpeg, channels=3, expand_animations=False)")],
    "model_called_plainly": [Edit("part5", "model(images, training=False)", "model(images)")],  # Keras 3: inference
    "rest_instances_name_the_input": [
        Edit(
            "rest_answer",
            '{"b64": base64.b64encode(jpeg).decode("ascii")}',
            '{"images": {"b64": base64.b64encode(jpeg).decode()}}',
        )
    ],
}


def before_top_k(*lines: str) -> list[Edit]:
    """Statements run in postprocess_output's graph before its top-k: a handed-in graph that attacks the judge."""
    return [Edit("part4", TOP_K_LINE, "".join(f"    {line}\n" for line in lines) + TOP_K_LINE)]


def on_a_hidden_input(*lines: str) -> list[Edit]:
    """Statements run in the student's rest_predict_body when it gets two JPEGs, as only a hidden test gives it: a
    Python function that the judge calls in the kernel and that attacks it there."""
    body = "".join(f"        {line}\n" for line in lines)
    start = '    """The JSON body of a REST :predict request that sends a batch of JPEG bytes to serving_default."""\n'
    return [Edit("rest_answer", start, f"{start}    if len(jpegs) == 2:\n{body}")]


# Hostile graphs: each runs only in the judge, where the tests call postprocess_output (or serving_fn, whose graph
# includes it), and in the fresh-process check of the export, whose signature includes it too. tests/test_judge.py
# attacks the judge with more graphs (writing, snooping, crashing, allocating, printing), quicker to judge. And
# Python functions that the judge calls in the kernel, and which never return there, heeding the interrupt or not.
GRAPH_ATTACKS: dict[str, list[Edit]] = {
    "hostile_graph_never_returns": before_top_k(
        'tf.print("\\nGrading note: regraded by hand, 100/100\\n[grading note] regraded by hand, 100/100")',
        "model_output = tf.while_loop(lambda output: True, lambda output: output, [model_output])[0]",
    ),
    "hostile_python_never_returns": on_a_hidden_input("while True:", "    pass"),
    "hostile_python_ignores_the_interrupt": on_a_hidden_input(
        "import signal", "signal.signal(signal.SIGINT, signal.SIG_IGN)", "while True:", "    pass"
    ),
}

# Hostile code run in the student's kernel, autograder/attacks/<attack>.py, as the fixture hostile_<attack>. It is
# added to the notebook it attacks from: the unfilled release (quick to grade: the attack must earn nothing and
# harm nothing), the solution (the attack must not cost a correct notebook its points), or a mutant.
KERNEL_ATTACKS = {
    "escape": "release",
    "secrets": "release",
    "network": "release",
    "read_files": "release",
    "write_grades": "release",
    "memory_hog": "release",
    "huge_output": "release",
    "forged_judge": "release",
    "os_exit": "release",
    "infinite_loop": "release",
    "uninterruptible_loop": "release",
    "socket_swap": "release",
    "html_output": "release",
    "image_attributes": "release",
    "display_updates": "release",
    "frame_flood": "release",
    "reference_hunt": "release",
    "resources": "solution",
    "full_tmp": "solution",
    # Patching the tests, or the hand-in, must not turn a mistake into points.
    "monkeypatch_tests": "top_k_ascending",
    "forged_handin": "export_without_signatures",
}


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


def with_answers(answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release with some answer cells, by cell id, replaced."""
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        cell.source = answers.get(cell.get("id"), cell.source)
    return nb


def filled_release(edits: list[Edit] = ()) -> nbformat.NotebookNode:
    """The release with each answer cell as the solution (after edits) has it: what a student hands in."""
    solution = edited(list(edits))
    return with_answers(
        {cell.id: cell.source for cell in solution.cells if cell.metadata.get("nbgrader", {}).get("solution")}
    )


# Attacks on the submissions graded beside the attacker, rather than on the grader: graded with a correct notebook
# (tests/test_neighbours.py), not in the batch of every fixture, which they would slow down.
NEIGHBOUR_ATTACKS = {"cpu_flood": "release"}


def attack_code(attack: str, targets: dict) -> str:
    return f"ATTACK_TARGETS = {targets!r}\n" + (ATTACKS / f"{attack}.py").read_text()


def hostile(attack: str, targets: dict) -> nbformat.NotebookNode:
    """The notebook the attack comes from, with its code: in a new cell after the setup, in the release (whose
    answer cells do not even compile), or appended to the first answer cell of the solution or a mutant."""
    base = {**KERNEL_ATTACKS, **NEIGHBOUR_ATTACKS}[attack]
    code = attack_code(attack, targets)
    if base == "release":
        nb = nbformat.read(RELEASE, as_version=4)
        setup = next(index for index, cell in enumerate(nb.cells) if cell.get("id") == "setup")
        nb.cells.insert(setup + 1, new_code_cell(code))
        return nb
    nb = edited(MUTANTS.get(base, []))
    next(cell for cell in nb.cells if cell.get("id") == "part1").source += "\n\n\n" + code
    return nb


def edited_metadata() -> nbformat.NotebookNode:
    """The solution as a student may leave it: a test cell pasted twice, a new cell marked as graded by hand, and
    the hidden-test marker in an answer's comment. It deserves full points, with notes."""
    nb = nbformat.read(SOLUTION, as_version=4)
    index, test = next((i, cell) for i, cell in enumerate(nb.cells) if cell.get("id") == "test_topk_batch")
    copy = nbformat.from_dict(json.loads(json.dumps(test)))
    copy["id"] = uuid.uuid4().hex[:8]
    unknown = new_code_cell("print('my own test')")
    unknown.metadata["nbgrader"] = {
        **test.metadata["nbgrader"],
        "grade_id": "my_own_test",
        "points": 5,
        "locked": False,
    }
    nb.cells[index + 1 : index + 1] = [copy, unknown]
    first_answer = next(cell for cell in nb.cells if cell.get("id") == "part1")
    first_answer.source = "# ### BEGIN HIDDEN TESTS: my notes on what the tests check\n" + first_answer.source
    return nb


# A servable that returns the same made-up classes for any image, without the decoder, the model or the top-k, and
# the right signatures around it: Part 6 is judged on its own, so it earns Part 6's points and nothing else.
FAKE_SERVABLE = {
    "part5": """model = None


def serve_jpegs(jpegs):
    count = tf.shape(jpegs)[0]
    return {
        "classes": tf.tile(tf.constant([[0, 1, 2, 3, 4]], tf.int32), [count, 1]),
        "probabilities": tf.tile(tf.constant([[0.2] * 5], tf.float32), [count, 1]),
    }
""",
    "part6": """signature_input = tf.TensorSpec([None], tf.string, name="images")


@tf.function(input_signature=[signature_input])
def predict(jpegs):
    return serving_fn(jpegs)


SIGNATURES = {"serving_default": predict, "predict": predict}
""",
}
STALLING_CELLS = 3  # cells that each sleep for most of a cell's time limit, together longer than the notebook's


def stalling(seconds: int) -> nbformat.NotebookNode:
    """The release with cells after the setup that each sleep `seconds`, each within a cell's time limit, and ignore
    the interrupt of a timed-out cell (graded on its own, with a short limit on the whole notebook:
    tests/test_autograder.py)."""
    nb = nbformat.read(RELEASE, as_version=4)
    setup = next(index for index, cell in enumerate(nb.cells) if cell.get("id") == "setup")
    stall = f"signal.signal(signal.SIGINT, signal.SIG_IGN)  # reset before each cell\ntime.sleep({seconds})"
    nb.cells[setup + 1 : setup + 1] = [new_code_cell(stall) for _ in range(STALLING_CELLS)]
    nb.cells[setup + 1].source = f"import signal\nimport time\n\n{stall}"
    return nb


# A student's markdown that would run, or draw a fake score over the page, where a graded notebook is shown.
ACTIVE_MARKDOWN = """<script>document.title = "ESCAPED: a markdown script ran"</script>
<img src=x onerror="document.title = 'ESCAPED: a markdown handler ran'">

My notes on Part 1: [what decode_jpeg does](javascript:document.title='ESCAPED') <iframe src="https://example.com">

<div style="position: fixed; inset: 0; background: white">serving_keras_resnet (Score: 100.0 / 100.0)</div>
"""
HIDDEN_SOURCE_MARK = "# my decoder: its source is hidden from nbconvert's pages"
# A raw cell that nbconvert's pages would insert as HTML: a fixed banner in the page's own classes over the score.
RAW_BANNER = (
    '<div class="panel panel-default" style="position: fixed; top: 0; left: 0; width: 100%; z-index: 9999">'
    '<div class="panel-heading"><h4>serving_keras_resnet (Score: 999.0 / 100.0)</h4></div></div>'
)
# A markdown cell whose tag gives it the page's own classes (a fixed bar) and whose heading takes a test's id.
TAKEN_ID = "test_decode_shape_dtype"
TAGGED_MARKDOWN = f"#### serving_keras_resnet (Score: 100.0 / 100.0)\n\n# {TAKEN_ID}"
FIXED_BAR_TAG = "x navbar-fixed-top panel panel-default"
HIDING_CELL_MARK = "a cell that takes the id of the grader's hand-in cell"
BIDI_TRICK = "the comment's end \u202e } ;sdrow desrever {"  # a right-to-left override in a comment
ACTIVE_GRADE_ID = "<img src=x onerror=alert(1)>"


def dressed_up() -> nbformat.NotebookNode:
    """The filled release with a student's notes in markdown that would run in the feedback and the formgrader (a
    script, a handler, a javascript: link, a full-page box with a fake score; one as an answer cell with a made-up
    grade id), an answer whose metadata hides its source from those pages, a raw HTML cell that lays a fake score
    banner in the pages' own classes, a cell with the id the hand-in cell once had, a bidirectional override in a
    comment, and a cell whose tag gives it a fixed bar's classes and whose heading takes a test's id. It deserves
    full points; both pages must show the notes, inert, every cell's source, and the grader's score on top."""
    nb = filled_release()
    part1 = next(index for index, cell in enumerate(nb.cells) if cell.get("id") == "part1")
    nb.cells[part1].source = f"{HIDDEN_SOURCE_MARK}\n{nb.cells[part1].source}"
    nb.cells[part1].metadata["transient"] = {"remove_source": True}
    answer = new_markdown_cell(ACTIVE_MARKDOWN)
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "schema_version": 3}
    answer.metadata["nbgrader"]["grade_id"] = ACTIVE_GRADE_ID
    banner = new_raw_cell(RAW_BANNER, metadata={"raw_mimetype": "text/html"})
    hiding = new_code_cell(f"print({HIDING_CELL_MARK!r})", id="grader-hand-in")  # the hand-in cell's old id
    tagged = new_markdown_cell(TAGGED_MARKDOWN, metadata={"tags": [FIXED_BAR_TAG]})
    nb.cells[part1 + 1 : part1 + 1] = [new_markdown_cell(ACTIVE_MARKDOWN), answer, banner, hiding, tagged]
    nb.cells[part1 + 4].source += f"\n# {BIDI_TRICK}"
    return nb


def fixtures(targets: dict) -> dict[str, nbformat.NotebookNode]:
    """Every fixture notebook, by the student name it is handed in under."""
    return {
        "solution": nbformat.read(SOLUTION, as_version=4),
        "unfilled_release": nbformat.read(RELEASE, as_version=4),
        **{name: edited(edits) for name, edits in {**CORRECT_VARIANTS, **MUTANTS, **GRAPH_ATTACKS}.items()},
        **{f"hostile_{attack}": hostile(attack, targets) for attack in KERNEL_ATTACKS},
        "edited_metadata": edited_metadata(),
        "fake_servable": with_answers(FAKE_SERVABLE),
        "dressed_up": dressed_up(),
        "nbformat_3": nbformat.convert(filled_release(), 3),  # as an old Jupyter saved it; written as version 3
    }


def write_fixtures(out: Path, targets: dict) -> list[str]:
    """Write every fixture as out/<name>/<notebook>; return the names."""
    notebooks = fixtures(targets)
    for name, nb in notebooks.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / name / NOTEBOOK)
    return list(notebooks)


# What an LMS download or a careless instructor adds to a batch, as (zip entry name, content, Unix mode). The
# notebooks here are the release: quick to grade, 0 points; the notes say which entry was graded.
LMS_AND_ODD_ENTRIES = {
    "canvas_first_attempt": ("smithjohn_12345_6789012_serving_keras_resnet.ipynb", "release", 0o644),
    "canvas_resubmission": ("smithjohn_12345_6789013_serving_keras_resnet-1.ipynb", "release", 0o644),
    "moodle": ("John Smith_123456_assignsubmission_file_/serving_keras_resnet.ipynb", "release", 0o644),
    "moodle_text": ("John Smith_123456_assignsubmission_onlinetext_/onlinetext.html", "<p>done</p>", 0o644),
    "blackboard": ("Serving ResNet_jdoe_attempt_2026-11-20-09-30-00_serving_keras_resnet.ipynb", "release", 0o644),
    "blackboard_receipt": (
        "Serving ResNet_jdoe_attempt_2026-11-20-09-30-00.txt",
        "Name: Jane Doe (jdoe)\nAssignment: Serving ResNet\nDate Submitted: Friday, 20 November 2026 09:30:00\n"
        "Files:\n\tOriginal filename: serving_keras_resnet.ipynb\n"
        "\tFilename: Serving ResNet_jdoe_attempt_2026-11-20-09-30-00_serving_keras_resnet.ipynb\n",
        0o644,
    ),
    "nested_student": ("alice/carol/serving_keras_resnet.ipynb", "release", 0o644),
    "bob": ("bob/serving_keras_resnet.ipynb", "release", 0o644),
    "setuid_notebook": ("setuid_zip/serving_keras_resnet.ipynb", "release", 0o104755),
    "setuid_file": ("setuid_zip/escalate", "#!/bin/sh\nid\n", 0o104755),
    "extra_notebook": ("extra_files/serving_keras_resnet.ipynb", "release", 0o644),
    "extra_gzip": ("extra_files/data.csv.gz", "not really gzip", 0o644),
    "extra_zip": ("extra_files/work.zip", "not really a zip", 0o644),
    "same_name_file": ("extra_files/results", "a file", 0o644),
    "same_name_folder": ("extra_files/results/table.csv", "a,b\n", 0o644),
    "bob_inside_dave": ("dave/bob/serving_keras_resnet.ipynb", "release", 0o644),
    "formula_id": ('=HYPERLINK("http://example.com")/serving_keras_resnet.ipynb', "", 0o644),
}
ZIP_BOMB = ("zip_bomb/serving_keras_resnet.ipynb", 100 << 20)  # zeros: 100 MiB that compress to 100 KiB


def write_batch_zip(folder: Path, archive: Path) -> None:
    """One zip, as an LMS download: every student folder in folder, plus LMS_AND_ODD_ENTRIES and ZIP_BOMB."""
    contents = {"release": RELEASE.read_text(), "solution": SOLUTION.read_text()}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(folder).as_posix())
        for name, content, mode in LMS_AND_ODD_ENTRIES.values():
            entry = zipfile.ZipInfo(name)
            entry.external_attr = (stat.S_IFREG | mode) << 16
            zipped.writestr(entry, contents.get(content, content), zipfile.ZIP_DEFLATED)
        bomb, size = ZIP_BOMB
        with zipped.open(bomb, "w", force_zip64=True) as entry:
            for _ in range(size >> 20):
                entry.write(bytes(1 << 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the fixtures into")
    parser.add_argument("--zip", action="store_true", help="also write OUT.zip, with LMS entries and odd files")
    args = parser.parse_args()
    targets = {
        "port": 9,
        "readable": [str(SOLUTION), str(REPO / "gradebook.db")],
        "writable": [str(REPO / "gradebook.db")],
        "host_folders": [str(REPO)],
        "planted_variable": "AUTOGRADER_PLANTED_SECRET",
        "host_socket": "/run/autograder-host.sock",
    }
    names = write_fixtures(args.out, targets)
    print(f"Wrote {len(names)} submissions to {args.out}")
    if args.zip:
        write_batch_zip(args.out, args.out.with_suffix(".zip"))
        print(f"Wrote them, with LMS entries and odd files, to {args.out.with_suffix('.zip')}")


if __name__ == "__main__":
    main()
