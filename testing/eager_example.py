"""Try the notebook's helper functions eagerly, on a real JPEG, and look at what they return:

    python -m testing.eager_example [NOTEBOOK] [JPEG]

TF2 runs operations eagerly: call a function and its result is there, as a tensor you can print or turn into a
NumPy array; no graph, no session. That is the quickest way to see what a function does before testing it.
"""

import argparse
from pathlib import Path

import numpy as np
import tensorflow as tf

from testing.notebook import REPO, STUDENT_NOTEBOOK, NotebookError, load_helpers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.eager_example", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=STUDENT_NOTEBOOK, help="your notebook")
    parser.add_argument("jpeg", nargs="?", type=Path, default=REPO / "samples" / "cat_sample.jpg", help="a JPEG")
    args = parser.parse_args(argv)
    try:
        helpers = load_helpers(args.notebook)
    except NotebookError as error:
        print(f"error: {error}")
        return 1
    try:
        show(helpers, args.jpeg)
    except NotebookError as error:
        print(f"error: {error}")
        return 1
    return 0


def show(helpers, jpeg: Path) -> None:
    """Call each helper on jpeg (or a batch of it, or made-up probabilities) and print what it returns."""
    image = helpers["build_jpeg_to_image_graph"](tf.constant(jpeg.read_bytes()))
    print(f"{jpeg.name} decoded: shape {image.shape}, dtype {image.dtype.name}")
    print(f"  values from {float(tf.reduce_min(image)):.1f} to {float(tf.reduce_max(image)):.1f}")
    print("  mean of each channel (B, G, R, after the ImageNet means are subtracted):", end=" ")
    print(np.round(tf.reduce_mean(image, axis=[0, 1]).numpy(), 1))
    batch = helpers["preprocess_input"](tf.constant([jpeg.read_bytes()] * 2))
    same = bool(tf.reduce_all(batch[0] == batch[1]))
    print(f"a batch of the same JPEG twice: shape {batch.shape}, rows equal: {same}")
    probabilities = tf.nn.softmax(tf.random.stateless_normal([1, 1000], seed=[1, 2]) * 3)
    top = helpers["postprocess_output"](probabilities)
    print("top 5 of made-up probabilities:", top["classes"][0].numpy(), np.round(top["probabilities"][0].numpy(), 4))


if __name__ == "__main__":
    raise SystemExit(main())
