"""Run untrusted code (a student's notebook kernel, the judge of its graphs) inside a bubblewrap sandbox.

nbgrader itself, the gradebook and every other submission stay outside. Sandboxed code sees a read-only system
(the Python installation, the sample JPEGs), has no network, and can write only where it is given: a kernel, to
its own throwaway copy of the submission (nbgrader's autograded/<student>/<assignment> folder); all, to a private
/tmp. Each process's address space is capped, so a memory hog fails with MemoryError instead of taking the
machine down. A kernel talks to nbgrader over Unix sockets in a private folder, since it has no network.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Dict, Instance, Integer, List, Unicode
from traitlets.config import Configurable

GIB = 1024**3


class Sandbox(Configurable):
    """What sandboxed code may read, which environment it gets and how much memory it may map."""

    readable_paths = List(Unicode(), help="Extra paths sandboxed code may read (e.g. the sample JPEGs)").tag(
        config=True
    )
    environment = Dict(Unicode(), help="Environment variables inside the sandbox (nothing else is passed)").tag(
        config=True
    )
    memory_limit = Integer(6 * GIB, help="Address-space limit of each process in the sandbox, in bytes").tag(
        config=True
    )

    def wrap(self, command: list[str], workdir: str, writable: list[str], readable: list[str]) -> list[str]:
        """command, to be run sandboxed in workdir, writing only to writable (and /tmp), reading readable too."""
        sandbox = ["prlimit", f"--as={self.memory_limit}", "--"]
        sandbox += ["bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                sandbox += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        sandbox += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in dict.fromkeys([*system_paths(), *self.readable_paths, *readable]):
            sandbox += ["--ro-bind", path, path]
        for path in writable:
            sandbox += ["--bind", path, path]
        sandbox += ["--remount-ro", "/", "--chdir", workdir, "--clearenv"]
        for name, value in self._environment().items():
            sandbox += ["--setenv", name, value]
        return [*sandbox, "--", *command]

    def _environment(self) -> dict[str, str]:
        return {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": "/tmp",
            "KERAS_HOME": "/tmp/keras",
            **self.environment,
        }


def system_paths() -> list[str]:
    """Read-only paths Python needs: the OS, the base interpreter and the virtualenv."""
    return [path for path in ("/usr", "/etc", sys.base_prefix, sys.prefix) if os.path.exists(path)]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside the sandbox, in the notebook's folder."""

    sandbox = Instance(Sandbox)
    _socket_dir: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = Sandbox(parent=self)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        # bwrap does not pass signals on: interrupt a timed-out cell with a message, which the kernel handles.
        self.kernel_spec.interrupt_mode = "message"
        # Unix sockets in a short private folder: socket paths are limited to about 100 characters.
        self._socket_dir = tempfile.mkdtemp(prefix="nbk-")
        self.transport = "ipc"
        self.ip = os.path.join(self._socket_dir, "k")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        workdir = str(Path(kw.get("cwd") or os.getcwd()).resolve())
        command = self.sandbox.wrap(kernel_cmd, workdir, [workdir, self._socket_dir], [self.connection_file])
        # The kernel's own stdout and stderr hold only start-up chatter: what the notebook prints reaches nbgrader
        # through the kernel protocol, where nbgrader's LimitOutput trims it.
        await super()._async_launch_kernel(
            command, **{**kw, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        )

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._socket_dir and not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class SandboxedExecute(Execute):
    """nbgrader's Execute step with every kernel sandboxed (nbgrader fixes the kernel manager class itself)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
