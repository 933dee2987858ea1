"""Run each student's notebook kernel inside a bubblewrap sandbox while nbgrader grades it from outside.

nbgrader itself, the gradebook and every other submission stay outside. The kernel sees a read-only system
(the Python installation, the sample JPEGs), has no network, and can write only to its own throwaway copy of the
submission (nbgrader's autograded/<student>/<assignment> folder) and a private /tmp. Its address space is capped,
so a memory hog fails with MemoryError instead of taking the machine down. It talks to nbgrader over Unix
sockets in a private folder, since it has no network to share.
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
from traitlets import Dict, Integer, List, Unicode

GIB = 1024**3


def system_paths() -> list[str]:
    """Read-only paths a Python kernel needs: the OS, the base interpreter and the virtualenv."""
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix]
    return [path for path in dict.fromkeys(paths) if os.path.exists(path)]


def bwrap_command(
    command: list[str],
    writable: list[str],
    readable: list[str],
    environment: dict[str, str],
    memory_bytes: int,
    workdir: str,
) -> list[str]:
    """Wrap command so that it runs sandboxed, in workdir, with only environment set."""
    sandbox = ["prlimit", f"--as={memory_bytes}", "--", "bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            sandbox += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    sandbox += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in [*system_paths(), *readable]:
        sandbox += ["--ro-bind", path, path]
    for path in writable:
        sandbox += ["--bind", path, path]
    sandbox += ["--chdir", workdir, "--clearenv"]
    for name, value in environment.items():
        sandbox += ["--setenv", name, value]
    return [*sandbox, "--", *command]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside bwrap, in the notebook's folder."""

    readable_paths = List(Unicode(), help="Extra paths the kernel may read (e.g. the sample JPEGs)").tag(config=True)
    environment = Dict(Unicode(), help="Environment variables of the kernel (nothing else is passed)").tag(config=True)
    memory_limit = Integer(6 * GIB, help="Address-space limit of each process in the sandbox, in bytes").tag(
        config=True
    )

    _socket_dir: str | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        # Unix sockets in a short private folder: socket paths are limited to about 100 characters.
        self._socket_dir = tempfile.mkdtemp(prefix="nbk-")
        self.transport = "ipc"
        self.ip = os.path.join(self._socket_dir, "k")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        workdir = str(Path(kw.get("cwd") or os.getcwd()).resolve())
        environment = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": "/tmp",
            "KERAS_HOME": "/tmp/keras",
            **self.environment,
        }
        readable = [self.connection_file, *self.readable_paths]
        command = bwrap_command(
            kernel_cmd, [workdir, self._socket_dir], readable, environment, self.memory_limit, workdir
        )
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
