"""Unit tests of the notebook's helper functions with tf.test, from the command line:

    python -m testing.test_helpers [NOTEBOOK]

NOTEBOOK is your notebook (default: notebooks/serving_keras_resnet/serving_keras_resnet.ipynb). The tests load its
decoder, batch preprocessing and top-k functions (testing/notebook.py) and check what each must do; they hold no
answer of their own. A test of a function still left `???` fails with one line that names its cell; the others
run. The command exits with a non-zero status when a test fails.
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from testing.notebook import REPO, STUDENT_NOTEBOOK, Helpers, NotebookError, load_helpers

SAMPLES = REPO / "samples"
MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)  # ImageNet's mean of each channel, B, G, R


def solid_jpeg(rgb: tuple[int, int, int], size: int = 224) -> tf.Tensor:
    """A JPEG of a single colour, at the best quality: decoded, every pixel is that colour."""
    return tf.io.encode_jpeg(tf.constant(np.full((size, size, 3), rgb, dtype=np.uint8)), quality=100)


class HelperTests(tf.test.TestCase):
    notebook = STUDENT_NOTEBOOK
    helpers: Helpers | None = None  # loaded once
    test_session = None  # tf.test's context manager of TF1 sessions: not a test (unittest would report it skipped)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.helpers = cls.helpers or load_helpers(Path(cls.notebook))

    def helper(self, name: str):
        """The notebook's function name; if it could not be loaded, this test fails with the reason."""
        try:
            return self.helpers[name]
        except NotebookError as error:
            self.fail(str(error))

    def decode(self, jpeg: tf.Tensor) -> tf.Tensor:
        return self.helper("build_jpeg_to_image_graph")(jpeg)

    def preprocess(self, jpegs: tf.Tensor) -> tf.Tensor:
        return self.helper("preprocess_input")(jpegs)

    def top_k(self, probabilities: tf.Tensor) -> dict:
        return self.helper("postprocess_output")(probabilities)

    def jpeg(self, name: str) -> tf.Tensor:
        return tf.constant((SAMPLES / name).read_bytes())

    def test_decoder_gives_a_224x224x3_float32_image(self) -> None:
        for name in ("cat_sample.jpg", "edge/wide_320x213.jpg", "edge/progressive.jpg"):
            image = self.decode(self.jpeg(name))
            self.assertEqual(image.shape, (224, 224, 3), name)
            self.assertDTypeEqual(image, np.float32)

    def test_grayscale_jpeg_becomes_three_channels(self) -> None:
        self.assertEqual(self.decode(self.jpeg("edge/grayscale.jpg")).shape, (224, 224, 3))

    def test_channel_order_is_bgr_with_means_subtracted(self) -> None:
        for rgb in ((255, 0, 0), (0, 0, 255), (10, 200, 30)):
            expected = np.array(rgb[::-1], dtype=np.float32) - MEANS_BGR
            # JPEG rounds colours a little, even at the best quality
            self.assertAllClose(self.decode(solid_jpeg(rgb))[112, 112], expected, atol=2.0, msg=f"RGB {rgb}")

    def test_batch_rows_follow_their_images(self) -> None:
        jpegs = [self.jpeg(name) for name in ("cat_sample.jpg", "coffee.jpg", "astronaut.jpg")]
        batch = self.preprocess(tf.stack(jpegs))
        self.assertEqual(batch.shape, (3, 224, 224, 3))
        for row, jpeg in enumerate(jpegs):
            self.assertAllClose(batch[row], self.decode(jpeg), msg=f"row {row}")

    def test_batch_of_one_image(self) -> None:
        self.assertEqual(self.preprocess(tf.stack([self.jpeg("rocket.jpg")])).shape, (1, 224, 224, 3))

    def test_top_k_keeps_five_classes_most_probable_first(self) -> None:
        probabilities = np.full([2, 1000], 1e-4, dtype=np.float32)
        probabilities[0, [10, 5, 49, 2, 99]] = [0.5, 0.2, 0.1, 0.05, 0.01]
        probabilities[1, [7, 8]] = [0.3, 0.6]
        top = self.top_k(tf.constant(probabilities))
        self.assertAllEqual(top["classes"][0], [10, 5, 49, 2, 99])
        self.assertAllEqual(top["classes"][1][:2], [8, 7])
        self.assertAllClose(top["probabilities"][0], [0.5, 0.2, 0.1, 0.05, 0.01])
        self.assertDTypeEqual(top["classes"], np.int32)
        self.assertEqual(top["probabilities"].shape, (2, 5))


def main(argv: list[str]) -> None:
    """Take the notebook from the command line, leave the rest to tf.test (e.g. test names, to run only those);
    a notebook that cannot be loaded is one line and exit status 1."""
    if len(argv) > 1 and argv[1].endswith(".ipynb"):
        HelperTests.notebook = Path(argv.pop(1))
    try:
        HelperTests.helpers = load_helpers(HelperTests.notebook)
    except NotebookError as error:
        raise SystemExit(f"error: {error}") from None
    tf.test.main(argv=argv)


if __name__ == "__main__":
    main(sys.argv)
