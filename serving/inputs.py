"""Checks on a Predict request's inputs before they reach the servable, so that a bad request gets a message
that names the input and the image at fault instead of an error from deep inside the graph."""

import io
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
from PIL import Image, UnidentifiedImageError
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf.meta_graph_pb2 import SignatureDef

from serving.errors import invalid_argument

# tf.io.decode_jpeg, which the servable uses, also decodes PNG; GIF and WebP would come out with a frame axis.
IMAGE_FORMATS = ("JPEG", "PNG")


def dtype_name(dtype: int) -> str:
    return types_pb2.DataType.Name(dtype)


def check_input_names(signature: SignatureDef, names: Iterable[str]) -> None:
    """Every input of the signature, and nothing else."""
    given, expected = set(names), set(signature.inputs)
    expected_text = "{" + ", ".join(sorted(expected)) + "}"
    if unknown := sorted(given - expected):
        raise invalid_argument(
            f"input tensor alias not found in signature: {', '.join(unknown)}. "
            f"Inputs expected to be in the set {expected_text}."
        )
    if missing := sorted(expected - given):
        raise invalid_argument(f"request is missing input(s) {', '.join(missing)}; the signature takes {expected_text}")


def check_input_dtype(alias: str, given: int, signature: SignatureDef) -> None:
    expected = dtype_name(signature.inputs[alias].dtype)
    if dtype_name(given) != expected:
        raise invalid_argument(f"input '{alias}' has dtype {dtype_name(given)}; the signature expects {expected}.")


def check_input_arrays(signature: SignatureDef, arrays: Mapping[str, np.ndarray], max_image_pixels: int) -> None:
    """Shapes against the signature, no empty batch, and every string input a decodable JPEG or PNG of sane size."""
    for alias, array in arrays.items():
        info = signature.inputs[alias]
        if not info.tensor_shape.unknown_rank:
            dims = [dim.size for dim in info.tensor_shape.dim]
            if not shape_fits(dims, array.shape):
                shape = "[" + ", ".join("-1" if size == -1 else str(size) for size in dims) + "]"
                raise invalid_argument(f"input '{alias}' has shape {list(array.shape)}; the signature expects {shape}.")
        if array.ndim and array.shape[0] == 0:
            raise invalid_argument(f"input '{alias}' is an empty batch; send at least one example.")
        if info.dtype == types_pb2.DT_STRING:
            for index, data in enumerate(array.ravel()):
                check_image(f"image {index} of input '{alias}'", data, max_image_pixels)


def shape_fits(dims: list[int], shape: tuple[int, ...]) -> bool:
    """-1 in the signature takes any size."""
    return len(dims) == len(shape) and all(want in (-1, got) for want, got in zip(dims, shape, strict=True))


def check_image(what: str, data: bytes, max_image_pixels: int) -> None:
    """Read only the image header: its format and size decide whether the servable may decode it."""
    if not data:
        raise invalid_argument(f"{what} is empty; expected the bytes of a JPEG image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format, (width, height) = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise invalid_argument(
            f"{what} is not a JPEG image (its {len(data)} bytes start with {data[:8]!r}); "
            'over REST, send binary data base64-encoded as {"b64": "..."}.'
        ) from None
    if image_format not in IMAGE_FORMATS:
        raise invalid_argument(f"{what} is a {image_format} image; the servable decodes JPEG (or PNG) only.")
    if width * height > max_image_pixels:
        raise invalid_argument(
            f"{what} is {width}x{height} = {width * height / 1e6:.1f} megapixels; this server decodes at most "
            f"{max_image_pixels / 1e6:.1f} megapixels per image (--max_image_pixels). Downscale it first."
        )
