"""Forbid this process and its children every write: the judge's last step before it loads a submission's graphs.

Landlock (Linux 5.13 and later) lets an unprivileged process restrict itself for good: a ruleset that handles the
rights to change the filesystem, and to bind or connect TCP sockets, with no rule that allows any of them, denies
them all from then on. Only the standard library: the judge imports this file from its read-only folder.
"""

import ctypes
import os
import struct

# linux/landlock.h: the system calls, and the access rights that change the filesystem or reach the network.
LANDLOCK_CREATE_RULESET, LANDLOCK_RESTRICT_SELF = 444, 446
LANDLOCK_WRITES = sum(1 << bit for bit in (1, *range(4, 13)))  # write, remove, make file/dir/socket/fifo/dev/link
LANDLOCK_WRITES_BY_ABI = {2: 1 << 13, 3: 1 << 14}  # refer (move between folders), truncate
LANDLOCK_NETWORK = 0b11  # bind and connect TCP, from ABI 4


def forbid_writes() -> bool:
    """From here on, this process and its children may not write, create or delete any file, nor bind or connect
    a TCP socket (Landlock, handling those rights with no rule that allows them). False if the kernel lacks it."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, 0, 1)
    if abi < 1:
        return False
    writes = LANDLOCK_WRITES + sum(right for version, right in LANDLOCK_WRITES_BY_ABI.items() if abi >= version)
    attributes = struct.pack("QQ", writes, LANDLOCK_NETWORK) if abi >= 4 else struct.pack("Q", writes)
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.create_string_buffer(attributes), len(attributes), 0)
    if ruleset < 0:
        return False
    try:
        return libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) == 0
    finally:
        os.close(ruleset)
