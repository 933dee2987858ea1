"""The system calls sandboxed code may not make, as a seccomp program for bubblewrap's --seccomp.

The sandbox already runs without capabilities as an unprivileged user; this filter also shuts the doors that an
unprivileged process still has into the kernel and that no notebook needs: new namespaces (an unprivileged user
namespace grants fresh capabilities), mounts, tracing other processes, and interfaces with a long record of kernel
exploits (BPF, io_uring, userfaultfd, keyrings, perf events, unusual socket families). Denied calls fail with
EPERM (or EAFNOSUPPORT for sockets), so a notebook that tries one gets an ordinary Python error.
"""

import errno
import os
from functools import cache

import pyseccomp as seccomp

DENIED_SYSCALLS = (
    # mounts and namespaces
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    # other processes and the kernel
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "quotactl",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "uselib",
    "personality",
    "vhangup",
)
# clone(2) with any of these flags makes a new namespace.
NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
# Socket families a notebook may use: local sockets, IPv4/IPv6 (on the sandbox's own loopback) and netlink,
# which the C library reads interface names through.
ALLOWED_SOCKET_FAMILIES = {1, 2, 10, 16}  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK
SOCKET_FAMILY_COUNT = 46  # AF_MAX on current kernels


@cache
def seccomp_program() -> bytes:
    """The compiled filter (classic BPF for the machine's architecture), as bubblewrap reads it from a file."""
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for syscall in DENIED_SYSCALLS:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), syscall)
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where a filter cannot read them: without it the C library uses clone.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for family in sorted(set(range(SOCKET_FAMILY_COUNT)) - ALLOWED_SOCKET_FAMILIES):
        rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
    with os.fdopen(os.memfd_create("seccomp"), "w+b") as program:
        rules.export_bpf(program)
        program.seek(0)
        return program.read()
