"""Make the sample JPEGs from photographs that scikit-image ships, so the samples need no download.

The 224x224 samples are what ResNet50 expects; samples/edge/ holds inputs that a servable must also
handle: a grayscale JPEG, a progressive JPEG and one that is not 224x224.
Run it again after a change: `make samples` rewrites every file, byte for byte the same when nothing changed.
"""

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

SIZE = 224
QUALITY = 90
HERE = Path(__file__).resolve().parent

# file name -> the scikit-image photograph it is made from
SQUARE_SAMPLES: dict[str, Callable[[], np.ndarray]] = {
    "cat_sample.jpg": skimage.data.chelsea,
    "astronaut.jpg": skimage.data.astronaut,
    "coffee.jpg": skimage.data.coffee,
    "rocket.jpg": skimage.data.rocket,
}


def center_square(photo: np.ndarray, size: int = SIZE) -> Image.Image:
    """Crop the largest centred square and scale it to size x size, keeping the aspect ratio."""
    image = Image.fromarray(photo)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def make_samples(out_dir: Path) -> list[Path]:
    """Write every sample into out_dir (and out_dir/edge) and return their paths."""
    edge_dir = out_dir / "edge"
    edge_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, photo in SQUARE_SAMPLES.items():
        written.append(_save(center_square(photo()), out_dir / name))
    written.append(_save(center_square(skimage.data.camera()), edge_dir / "grayscale.jpg"))
    written.append(
        _save(center_square(skimage.data.immunohistochemistry()), edge_dir / "progressive.jpg", progressive=True)
    )
    rocket = Image.fromarray(skimage.data.rocket())
    written.append(_save(rocket.resize((320, 213), Image.Resampling.LANCZOS), edge_dir / "wide_320x213.jpg"))
    return written


def _save(image: Image.Image, path: Path, progressive: bool = False) -> Path:
    image.save(path, format="JPEG", quality=QUALITY, progressive=progressive)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: samples/)")
    for path in make_samples(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
