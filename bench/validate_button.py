"""`python -m bench.validate_button NOTEBOOK`: the seconds of one click of JupyterLab's Validate button on a notebook,
printed as JSON with nbgrader's findings. The button runs nbgrader's validator inside the Jupyter server, which
imported nbgrader when it started; the `nbgrader validate` command also spends about 3 s importing it. So this
process imports nbgrader first and times what the button's handler does on each click."""

import json
import os
import sys
import time
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from nbgrader.apps import NbGrader
from nbgrader.validator import Validator


def validate_as_the_button_does(notebook: Path) -> dict:
    """What nbgrader's validate_assignment handler does: load the configuration of the current folder and Jupyter's,
    then validate; an empty result is the button's "Success!"."""
    app = NbGrader()
    app.config_file_paths.append([os.getcwd(), *jupyter_config_path()])
    app.load_config_file()
    return Validator(config=app.config).validate(str(notebook))


def main(notebook: Path) -> None:
    start = time.perf_counter()
    findings = validate_as_the_button_does(notebook)
    print(json.dumps({"seconds": time.perf_counter() - start, "findings": findings}))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
