"""Inputs that are not plain 224x224 baseline RGB JPEGs get a defined result or a clear error, never a crash."""

import numpy as np
import pytest

from tests.helpers import SAMPLES

EDGE = SAMPLES / "edge"


def serve(serving_signature, *jpegs: bytes) -> dict[str, np.ndarray]:
    import tensorflow as tf

    return {name: value.numpy() for name, value in serving_signature(images=tf.constant(list(jpegs))).items()}


def test_a_non_224_jpeg_is_resized_to_224(serving_signature, reference_model) -> None:
    """Defined result: the image is decoded, resized to 224x224 (bilinear, aspect ratio not kept) and classified."""
    import keras
    import tensorflow as tf

    jpeg = (EDGE / "wide_320x213.jpg").read_bytes()
    pixels = tf.io.decode_jpeg(jpeg, channels=3, dct_method="INTEGER_ACCURATE")
    assert pixels.shape == (213, 320, 3)
    resized = tf.image.resize(pixels, [224, 224])[tf.newaxis]
    probabilities = np.asarray(reference_model(keras.applications.resnet50.preprocess_input(resized), training=False))
    expected_classes = np.argsort(-probabilities[0])[:5]

    served = serve(serving_signature, jpeg)
    np.testing.assert_array_equal(served["classes"][0], expected_classes)
    np.testing.assert_allclose(served["probabilities"][0], probabilities[0][expected_classes], atol=1e-5)


def test_grayscale_progressive_and_non_224_jpegs_mix_in_one_batch(serving_signature) -> None:
    paths = [SAMPLES / "cat_sample.jpg", EDGE / "grayscale.jpg", EDGE / "progressive.jpg", EDGE / "wide_320x213.jpg"]
    batch = serve(serving_signature, *(path.read_bytes() for path in paths))
    assert batch["classes"].shape == batch["probabilities"].shape == (4, 5)
    for row, path in enumerate(paths):
        alone = serve(serving_signature, path.read_bytes())
        np.testing.assert_array_equal(batch["classes"][row], alone["classes"][0], err_msg=path.name)
        np.testing.assert_allclose(batch["probabilities"][row], alone["probabilities"][0], atol=1e-5, err_msg=path.name)


@pytest.mark.parametrize(
    ("jpeg", "reason"),
    [
        (b"this is not a JPEG", "Unknown image file format"),
        (b"", "Input is empty"),
        ((SAMPLES / "cat_sample.jpg").read_bytes()[:2000], "Invalid JPEG data"),
    ],
    ids=["not-an-image", "empty-string", "truncated-jpeg"],
)
def test_bad_bytes_are_a_clear_error_and_the_servable_keeps_working(serving_signature, jpeg, reason) -> None:
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError, match=reason):
        serve(serving_signature, (SAMPLES / "coffee.jpg").read_bytes(), jpeg)
    assert serve(serving_signature, (SAMPLES / "coffee.jpg").read_bytes())["classes"].shape == (1, 5)
