"""The student's Python kernel (installed beside its kernel.json by `make student-jupyter`, which names it with
--config): IPython runs this file in each kernel as it starts, before any notebook code.

A cell that still has a `???` blank is refused with a message naming its line (unfilled_blanks.py, installed beside
this file and run as the kernel starts).

A kernel that has imported TensorFlow and built ResNet50 holds millions of Python objects, and Python's last garbage
collection walks them all as the kernel stops: 1-1.5 s of every Validate click and every graded notebook. Freezing
them at exit leaves that collection nothing to walk. The exit handlers the notebook registers (its model server's
stop, its scratch folders' removal) still run, and so does the cleanup of every object whose last reference goes
away. What is lost is the cleanup of objects that only a reference cycle keeps alive, which Python does not promise
at exit either: a file left open in one loses what it had not written yet.
"""

import atexit
import gc
from pathlib import Path

atexit.register(gc.freeze)
c = get_config()  # noqa: F821 (given by the configuration's loader)
c.InteractiveShellApp.exec_files = [str(Path(__file__).with_name("unfilled_blanks.py"))]
