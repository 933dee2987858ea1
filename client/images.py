"""Images for the servable: read from a path or URL, then letterboxed to 224x224 (aspect ratio kept, black bars)
and JPEG-encoded, so that the server decodes exactly what the client shows."""

import io
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MODEL_SIZE = (224, 224)
JPEG_QUALITY = 95
DOWNLOAD_TIMEOUT_SECONDS = 30


class ImageSourceError(Exception):
    """An image that cannot be read; the message names it and says why."""


def read_image(source: str) -> Image.Image:
    """An RGB image from a file path or an http(s) URL, turned upright by its EXIF orientation."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                data = response.read()
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise ImageSourceError(f"cannot download {source}: {getattr(error, 'reason', error)}") from None
    else:
        path = Path(source)
        if not path.is_file():
            raise ImageSourceError(f"no such file: {source}")
        data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ImageSourceError(f"{source} is not an image that Pillow can read (e.g. JPEG or PNG)") from None


def letterbox(image: Image.Image) -> Image.Image:
    """Resized to fit 224x224 with its aspect ratio kept, centred on black."""
    return ImageOps.pad(image, MODEL_SIZE, method=Image.Resampling.BILINEAR, color=(0, 0, 0))


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def model_jpeg(source: str) -> tuple[Image.Image, bytes]:
    """The letterboxed image (for plots) and the JPEG bytes sent to the server."""
    image = letterbox(read_image(source))
    return image, jpeg_bytes(image)
