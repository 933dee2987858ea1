"""The sample JPEGs are what samples/make_samples.py makes, and each edge case is the case it claims to be."""

import subprocess
import sys

from PIL import Image

from tests.helpers import SAMPLES


def test_samples_are_reproduced_byte_for_byte(tmp_path) -> None:
    subprocess.run([sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(tmp_path)], check=True, timeout=300)
    made = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.jpg"))
    committed = sorted(path.relative_to(SAMPLES) for path in SAMPLES.rglob("*.jpg"))
    assert made == committed
    for relative in made:
        assert (tmp_path / relative).read_bytes() == (SAMPLES / relative).read_bytes(), relative


def test_square_samples_are_224_rgb_baseline_jpegs() -> None:
    squares = sorted(SAMPLES.glob("*.jpg"))
    assert "cat_sample.jpg" in [path.name for path in squares] and len(squares) >= 4
    for path in squares:
        with Image.open(path) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (224, 224), "RGB"), path.name
            assert not image.info.get("progressive"), path.name


def test_edge_cases_are_what_they_claim() -> None:
    edge = SAMPLES / "edge"
    with Image.open(edge / "grayscale.jpg") as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (224, 224), "L")
    with Image.open(edge / "progressive.jpg") as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (224, 224), "RGB") and image.info["progressive"]
    with Image.open(edge / "wide_320x213.jpg") as image:
        assert (image.format, image.size) == ("JPEG", (320, 213))
