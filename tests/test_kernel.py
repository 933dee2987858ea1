"""The student's Python kernel as `make setup` installs it (autograder/jupyter/): what it does when it stops."""

import subprocess
import sys

from jupyter_client.manager import start_new_kernel

from autograder import REPO

WITNESS = REPO / "tests" / "exit_witness.py"
KERNEL_START_SECONDS = 60


def test_plain_python_collects_reference_cycles_as_it_exits(tmp_path) -> None:
    """The witness works: without the kernel's setting, Python's last garbage collection finalizes the cycle."""
    subprocess.run([sys.executable, str(WITNESS), str(tmp_path)], check=True, timeout=60)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exit handlers ran", "finalized"]


def test_the_kernel_stops_without_the_last_garbage_collection_but_runs_its_exit_handlers(tmp_path) -> None:
    """A kernel holding TensorFlow's objects would spend a second or more walking them as it stops; the notebook's
    exit handlers (its model server's stop, its scratch folders' removal) must still run."""
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_START_SECONDS)
    try:
        reply = client.execute_interactive(f"%run {WITNESS} {tmp_path}", timeout=KERNEL_START_SECONDS)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exit handlers ran"], (
        "the python3 kernel finalized a reference cycle as it stopped: is its kernel.json and "
        "ipython_kernel_config.py (make student-jupyter) installed?"
    )


def test_a_cell_with_a_blank_is_refused_with_the_line_to_fill_in() -> None:
    """IPython reads a line that is only `???` as a request for help: the cell would run and define a function that
    does nothing. The kernel refuses any cell with a `???` blank, naming its line; `???` in text is left alone."""
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_START_SECONDS)
    try:
        errors = []
        for cell in (
            "def decode(jpeg):\n    ???\n",
            "x = 1\nimage = ???  # decode it",
            "message = 'fill in the ??? first'  # ??? in a comment\n",
            "print(message, 'decode' in dir(), [name for name in dir() if 'blank' in name])",
        ):
            outputs = []
            reply = client.execute_interactive(cell, timeout=KERNEL_START_SECONDS, output_hook=outputs.append)
            errors.append(reply["content"].get("evalue", ""))
            printed = [output["content"]["text"] for output in outputs if output["msg_type"] == "stream"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    blank = "a blank ??? is left: replace it with your code, then run the cell (this cell, line 2)"
    assert errors == [blank, blank, "", ""]
    assert printed == ["fill in the ??? first False []\n"]
