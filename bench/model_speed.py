"""The machine's fp32 limit, raw ResNet50 on preprocessed tensors, and the servable on JPEG strings."""

from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from bench.settings import Settings
from bench.stats import figure, interleaved_seconds, rate, repeated, seconds_per_run

RESNET50_GFLOP_PER_IMAGE = 8.2  # about 4.1 G multiply-adds per 224x224 image, two FLOPs each


def matmul_ceiling(settings: Settings) -> dict:
    """fp32 matmul GFLOP/s with TensorFlow on this CPU: the fastest ResNet50 could go, as images/s."""
    size = settings.matmul_size
    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.linalg.matmul(x, y)))
    repeats = max(1, int(2e10 // (2 * size**3)))  # about 20 GFLOP per run, a few tenths of a second
    timings = seconds_per_run(lambda: [matmul(a, b).numpy() for _ in range(repeats)], settings.runs)
    gflops = [2 * size**3 * repeats / seconds / 1e9 for seconds in timings]
    return {
        "matmul_size": size,
        "matmul_gflops": figure(gflops, 1),
        "resnet50_gflop_per_image": RESNET50_GFLOP_PER_IMAGE,
        "images_per_s_ceiling": figure([value / RESNET50_GFLOP_PER_IMAGE for value in gflops], 2),
    }


def calls_per_run(batch_size: int, settings: Settings) -> int:
    return max(1, settings.images_per_run // batch_size)


class RawModel:
    """Keras ResNet50 called on decoded, preprocessed tensors, compiled as a graph like the servable's: the yardstick
    for the servable, which must add little to it."""

    def __init__(self) -> None:
        import keras

        model = keras.applications.ResNet50(weights=None)
        self._call = tf.function(lambda x: model(x, training=False))

    def work(self, batch_size: int, calls: int) -> Callable[[], None]:
        images = tf.random.uniform([batch_size, 224, 224, 3], -120.0, 150.0)
        return repeated(lambda x: self._call(x).numpy(), images, calls)


def raw_model(settings: Settings, model: RawModel, ceiling: dict | None) -> dict:
    throughput = {}
    for batch_size in settings.batch_sizes:
        calls = calls_per_run(batch_size, settings)
        timings = seconds_per_run(model.work(batch_size, calls), settings.runs)
        throughput[str(batch_size)] = figure(rate(batch_size * calls, timings), 2)
    result = {"images_per_s": throughput}
    if ceiling:
        limit = ceiling["images_per_s_ceiling"]["median"]
        result["fraction_of_ceiling"] = {size: round(fig["median"] / limit, 3) for size, fig in throughput.items()}
    return result


def jpeg_batch(samples: Path, batch_size: int) -> list[bytes]:
    """The 224x224 sample JPEGs, cycled to the batch size."""
    jpegs = [path.read_bytes() for path in sorted(samples.glob("*.jpg"))]
    return [jpegs[index % len(jpegs)] for index in range(batch_size)]


def servable(settings: Settings, export: Path, samples: Path, raw: RawModel) -> dict:
    """The exported signature on JPEG strings (decode, preprocess, model and top-k, as a client would call it),
    taking turns with the raw model so that each ratio compares runs made at the same moment."""
    signature = tf.saved_model.load(str(export)).signatures["serving_default"]

    def call(jpegs: tf.Tensor) -> dict:
        return signature(images=jpegs)

    throughput, raw_throughput, ratio, added_ms = {}, {}, {}, {}
    for batch_size in settings.batch_sizes:
        calls = calls_per_run(batch_size, settings)
        served_work = repeated(call, tf.constant(jpeg_batch(samples, batch_size)), calls)
        served, model_only = interleaved_seconds([served_work, raw.work(batch_size, calls)], settings.runs)
        size = str(batch_size)
        throughput[size] = figure(rate(batch_size * calls, served), 2)
        raw_throughput[size] = figure(rate(batch_size * calls, model_only), 2)
        pairs = list(zip(model_only, served, strict=True))
        ratio[size] = figure([alone / both for alone, both in pairs], 3)
        # what decoding, preprocessing and top-k add to each batch, beyond the model itself
        added_ms[size] = figure([1000 * (both - alone) / calls for alone, both in pairs], 2)
    return {
        "images_per_s": throughput,
        "raw_model_images_per_s_in_turn": raw_throughput,
        "ratio_to_raw": ratio,
        "added_ms_per_batch": added_ms,
    }
