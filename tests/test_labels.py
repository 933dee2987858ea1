"""Labels come from a package, offline, in Keras' class order."""

import pytest

from client.labels import NUM_CLASSES, imagenet_label


@pytest.mark.parametrize(
    ("class_id", "label"),
    [(0, "tench"), (1, "goldfish"), (281, "tabby"), (285, "Egyptian cat"), (999, "toilet tissue")],
)
def test_labels_follow_keras_class_order(class_id: int, label: str) -> None:
    assert imagenet_label(class_id) == label


def test_every_class_has_a_label() -> None:
    labels = [imagenet_label(class_id) for class_id in range(NUM_CLASSES)]
    assert all(labels) and len(set(labels)) > 990  # a handful of ImageNet names repeat, e.g. 'crane'


@pytest.mark.parametrize("class_id", [-1, 1000])
def test_an_unknown_class_id_is_a_clear_error(class_id: int) -> None:
    with pytest.raises(ValueError, match=f"class id {class_id} is not an ImageNet-1k class: expected 0 to 999"):
        imagenet_label(class_id)
