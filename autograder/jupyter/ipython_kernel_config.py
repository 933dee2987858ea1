"""The student's IPython kernels (installed by `make student-jupyter`): IPython runs this file in each kernel as it
starts, before any notebook code.

A kernel that has imported TensorFlow and built ResNet50 holds millions of Python objects, and Python's last garbage
collection walks them all as the kernel stops: 1-1.5 s of every Validate click and every graded notebook. Freezing
them at exit leaves that collection nothing to walk. The exit handlers the notebook registers (its model server's
stop, its scratch folders' removal) still run, and so does every object's cleanup that its last reference going away
triggers; only reference cycles are left to the operating system, which frees the whole process anyway.
"""

import atexit
import gc

atexit.register(gc.freeze)
