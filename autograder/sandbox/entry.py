"""What a sandbox needs set up as root before bubblewrap runs, and bubblewrap cannot do itself:

    python -I -S entry.py [--procs FILE]... [--tmpfs FOLDER:BYTES:FILES]... -- COMMAND...

- join the grading worker's control groups (autograder/sandbox/cgroups.py), each by its cgroup.procs FILE: from its
  first instruction, everything the sandbox will ever start counts against them, whatever it forks;
- in a mount namespace of its own, mount an in-memory folder (tmpfs) on each host FOLDER, of at most BYTES bytes
  and FILES files and folders (bubblewrap's own tmpfs takes a size, not a number of files: a million empty files
  would fill the host's kernel memory instead); bubblewrap then binds them where the sandbox sees them. The mounts
  exist only in that namespace, and go with the sandbox's last process;
then become COMMAND (bubblewrap). Only the standard library.
"""

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    procs = [value for option, value in zip(options[::2], options[1::2], strict=True) if option == "--procs"]
    folders = [value for option, value in zip(options[::2], options[1::2], strict=True) if option == "--tmpfs"]
    for path in procs:
        with open(path, "w") as joined:
            joined.write(str(os.getpid()))
    if folders:
        libc = ctypes.CDLL(None, use_errno=True)
        check(libc.unshare(CLONE_NEWNS), "unshare the mount namespace")
        check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make the mounts private")
        for folder in folders:
            path, size, files = folder.rsplit(":", 2)
            options = f"size={int(size)},nr_inodes={int(files)},mode=1777".encode()
            check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"mount {path}")
    os.execvp(command[0], command)


def check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise SystemExit(f"sandbox entry: cannot {what}: {os.strerror(error)}")


if __name__ == "__main__":
    main(sys.argv[1:])
