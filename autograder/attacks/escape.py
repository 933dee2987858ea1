import ctypes
import os
import subprocess
import sys

MS_REMOUNT, MS_BIND = 32, 4096
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
libc = ctypes.CDLL(None, use_errno=True)
# mount is setuid root on the host: without no_new_privs and nosuid mounts, it would run as root.
for target in ["/", "/etc", "/usr", sys.prefix, str(SAMPLES_DIR.resolve()), *ATTACK_TARGETS["host_folders"]]:
    command = subprocess.run(["mount", "-o", "remount,bind,rw", target], capture_output=True)
    syscall = libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND, None)
    remounted = command.returncode == 0 or syscall == 0
    print("ESCAPED: remounted" if remounted else "blocked: remount", target)
    try:
        with open(os.path.join(target, "escaped.txt"), "w") as file:
            file.write("escaped")
        print("ESCAPED: wrote into", target)
    except OSError as error:
        print("blocked: write into", target, error.strerror)
for name, flag in {"user": CLONE_NEWUSER, "mount": CLONE_NEWNS}.items():
    print(f"ESCAPED: new {name} namespace" if libc.unshare(flag) == 0 else f"blocked: new {name} namespace")
print("ESCAPED: became root" if libc.setuid(0) == 0 else "blocked: setuid(0)")
