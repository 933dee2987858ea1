"""The student's Python kernel as `make setup` installs it (autograder/jupyter/): what it does when it stops."""

import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

KERNEL_START_SECONDS = 60


def witness_code(folder: Path) -> str:
    """Code that leaves a reference cycle, whose cleanup writes `finalized`, and an exit handler that writes
    `exit handlers ran`, both in folder."""
    return (
        "import atexit\n"
        "class Witness:\n"
        f"    def __del__(self, path={str(folder / 'finalized')!r}, open=open):\n"
        "        open(path, 'w').close()\n"
        "witness = Witness()\n"
        "witness.cycle = witness\n"
        f"atexit.register(open, {str(folder / 'exit handlers ran')!r}, 'w')\n"
    )


def test_plain_python_collects_reference_cycles_as_it_exits(tmp_path) -> None:
    """The witness works: without the kernel's setting, Python's last garbage collection finalizes the cycle."""
    subprocess.run([sys.executable, "-c", witness_code(tmp_path)], check=True, timeout=60)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exit handlers ran", "finalized"]


def test_the_kernel_stops_without_the_last_garbage_collection_but_runs_its_exit_handlers(tmp_path) -> None:
    """A kernel holding TensorFlow's objects would spend a second or more walking them as it stops; the notebook's
    exit handlers (its model server's stop, its scratch folders' removal) must still run."""
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_START_SECONDS)
    try:
        reply = client.execute_interactive(witness_code(tmp_path), timeout=KERNEL_START_SECONDS)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exit handlers ran"]
