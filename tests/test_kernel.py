"""The student's Python kernel as `make setup` installs it (autograder/jupyter/): what it does when it stops."""

import os
import subprocess
import sys

import nbformat
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
    blank = "a blank ??? is left: fill in the ??? with your code, then run the cell (this cell, line 2)"
    assert errors == [blank, blank, "", ""]
    assert printed == ["fill in the ??? first False []\n"]


def test_in_jupyterlab_the_blank_s_message_names_its_part(tmp_path) -> None:
    """JupyterLab sends each cell's id with its code, and Jupyter Server names the notebook in JPY_SESSION_NAME: the
    kernel finds the heading of the cell's part in the notebook as saved. Without them (nbclient), no part."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Serving\n\n## Part 1: decode a JPEG\n\nText."),
        nbformat.v4.new_code_cell("def decode(jpeg):\n    ???\n"),
        nbformat.v4.new_markdown_cell("### Part 2: batch\n```\n# not a heading\n```"),
        nbformat.v4.new_code_cell("batch = ???"),
    ]
    path = tmp_path / "exercise.ipynb"
    nbformat.write(notebook, path)
    manager, client = start_new_kernel(
        kernel_name="python3", startup_timeout=KERNEL_START_SECONDS, env={**os.environ, "JPY_SESSION_NAME": str(path)}
    )
    try:
        errors = [executed(client, cell.source, cell.id) for cell in notebook.cells if cell.cell_type == "code"]
        errors.append(executed(client, "x = ???", "an id of no cell"))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert errors == [
        'a blank ??? is left: fill in the ??? of "Part 1: decode a JPEG" with your code, then run the cell',
        'a blank ??? is left: fill in the ??? of "Part 2: batch" with your code, then run the cell',
        "a blank ??? is left: fill in the ??? with your code, then run the cell",
    ]


def executed(client, code: str, cell_id: str) -> str:
    """Run code as JupyterLab does, with the cell's id in the request's metadata; the error's message, if any."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}
    request = client.session.msg("execute_request", content, metadata={"cellId": cell_id})
    client.shell_channel.send(request)
    while True:
        reply = client.get_shell_msg(timeout=KERNEL_START_SECONDS)
        if reply["parent_header"].get("msg_id") == request["header"]["msg_id"]:
            return reply["content"].get("evalue", "").split(" (this cell")[0]
