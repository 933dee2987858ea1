"""Parity with Keras' reference path: for every sample JPEG, the servable answers as the same weights do on the
image decoded by PIL (keras.utils.load_img) and passed through resnet50.preprocess_input."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SAMPLES

TOP_K = 5
# 224x224 samples, including a grayscale and a progressive JPEG: PIL and TF must see the same pixels in each.
PARITY_SAMPLES = [
    *sorted(SAMPLES.glob("*.jpg")),
    SAMPLES / "edge" / "grayscale.jpg",
    SAMPLES / "edge" / "progressive.jpg",
]


def reference_top_k(model, paths: list[Path], flip_to_bgr: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Top-k classes and probabilities the Keras way: PIL decode, resnet50.preprocess_input, model.

    flip_to_bgr=False feeds RGB with the means subtracted as if it were BGR: the mistake the parity check must catch.
    """
    import keras

    pixels = np.stack([keras.utils.img_to_array(keras.utils.load_img(path)) for path in paths])
    if not flip_to_bgr:
        pixels = pixels[..., ::-1]  # preprocess_input flips it back: the model gets RGB
    probabilities = np.asarray(model(keras.applications.resnet50.preprocess_input(pixels), training=False))
    classes = np.argsort(-probabilities, axis=1, kind="stable")[:, :TOP_K]
    return classes, np.take_along_axis(probabilities, classes, axis=1)


def served_top_k(serving_signature, paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    served = serving_signature(images=tf.constant([path.read_bytes() for path in paths]))
    return served["classes"].numpy(), served["probabilities"].numpy()


def assert_parity(served: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(served[0], reference[0], err_msg="top-5 classes differ")
    np.testing.assert_allclose(served[1], reference[1], rtol=0, atol=1e-5, err_msg="probabilities differ")


@pytest.fixture(scope="module")
def served(serving_signature):
    return served_top_k(serving_signature, PARITY_SAMPLES)


@pytest.mark.parametrize(
    "index", range(len(PARITY_SAMPLES)), ids=[p.relative_to(SAMPLES).as_posix() for p in PARITY_SAMPLES]
)
def test_servable_matches_keras_reference(served, reference_model, index: int) -> None:
    reference = reference_top_k(reference_model, [PARITY_SAMPLES[index]])
    assert_parity((served[0][index : index + 1], served[1][index : index + 1]), reference)


def test_parity_check_fails_when_the_reference_skips_the_bgr_flip(served, reference_model) -> None:
    from PIL import Image

    color_samples = [(index, path) for index, path in enumerate(PARITY_SAMPLES) if Image.open(path).mode == "RGB"]
    assert len(color_samples) == len(PARITY_SAMPLES) - 1  # a grayscale image reads the same in RGB and BGR
    for index, path in color_samples:
        wrong_reference = reference_top_k(reference_model, [path], flip_to_bgr=False)
        with pytest.raises(AssertionError):
            assert_parity((served[0][index : index + 1], served[1][index : index + 1]), wrong_reference)


def test_batch_rows_do_not_depend_on_each_other(served, serving_signature) -> None:
    """The same images in reverse order give the same answers, row for row."""
    classes, probabilities = served_top_k(serving_signature, PARITY_SAMPLES[::-1])
    np.testing.assert_array_equal(classes[::-1], served[0])
    np.testing.assert_allclose(probabilities[::-1], served[1], rtol=0, atol=1e-5)
