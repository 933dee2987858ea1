"""Run by tests/test_kernel.py as `python tests/exit_witness.py FOLDER`, or with `%run` in a kernel: leaves a
reference cycle whose finalization writes FOLDER/finalized, and an exit handler that writes FOLDER/exit handlers ran,
so that what a process did as it exited can be read afterwards."""

import atexit
import sys
from pathlib import Path

FOLDER = Path(sys.argv[1])


class Witness:
    def __del__(self, path: Path = FOLDER / "finalized") -> None:
        path.touch()


witness = Witness()
witness.cycle = witness
atexit.register((FOLDER / "exit handlers ran").touch)
