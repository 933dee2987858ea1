"""The code that runs inside the sandboxes, mounted read-only at /grader: the kernel's hand-in and its calls
(handin.py), the judge and its reader of hand-ins, their one contract (handin_contract.py), the wire format,
Landlock and the probe. Loaded by path, in isolated mode, it imports only the standard library, NumPy,
TensorFlow, protobuf, IPython and its companions here (tests/test_boundary.py), never the rest of the grader."""

from pathlib import Path

INSIDE = Path(__file__).parent  # mounted at /grader in each sandbox
