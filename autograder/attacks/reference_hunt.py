import os
import sys
from pathlib import Path

# The tests that judge later parts use stand-ins, and the hidden tests keep their reference code (a correct decoder,
# the expected answers) in the judge. Hunt for it from the kernel, as the notebook runs and again when the judge
# calls the student's checks (the one time it sends the kernel anything): the folders the kernel sees, what the
# grader mounts, and the arguments of the call. Anything found would be copied into the answers.
MARKERS = ('DCT_METHODS = [("TensorFlow', 'check_decoder_shape((SAMPLES_DIR / "edge/progressive.jpg")')
PYTHON = (sys.prefix, sys.base_prefix)  # the installation's own files, tests of libraries among them


def hunt(where):
    """Every readable file under the folders the kernel can see that holds a marker, and the markers."""
    found = []
    for folder in where:
        for root, folders, files in os.walk(folder):
            folders[:] = [name for name in folders if not os.path.join(root, name).startswith(PYTHON)]
            for name in files:
                path = Path(root, name)
                try:
                    text = path.read_bytes()[: 4 << 20].decode(errors="replace")
                except OSError:
                    continue
                found += [f"{path}: {marker}" for marker in MARKERS if marker in text]
    return found


PLACES = ["/grader", "/submission", "/tmp", os.getcwd(), str(SAMPLES_DIR), str(SERVING_DIR)]
print("LEAKED:" if hunt(PLACES) else "nothing found while the notebook runs", *hunt(PLACES))


def check_decoder_output(jpeg, image):
    """Reject every image, with whatever the hunt finds now, while the judge is calling: the test shows it."""
    raise AssertionError(f"LEAKED: {hunt(PLACES)}" if hunt(PLACES) else "nothing found while the judge calls")
