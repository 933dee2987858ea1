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
