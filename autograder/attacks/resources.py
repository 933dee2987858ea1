import os
import subprocess


def fill(path: str, mode: str = "wb") -> None:
    """Write zeros until something stops us, then give the space back."""
    written = 0
    try:
        with open(path, mode) as file:
            while written < 64 << 30:
                file.write(bytes(1 << 20))
                written += 1 << 20
        print(f"ESCAPED: wrote {written >> 20} MiB into {path}")
    except OSError as error:
        print(f"{path}: stopped after {written >> 20} MiB: {error.strerror}")
    finally:
        if path.startswith("/grader"):
            open(path, "wb").close()
        elif os.path.exists(path):
            os.remove(path)


fill("filler.bin")
fill("/tmp/filler.bin")
fill("/grader/handin.tar")
children = []
try:
    while len(children) < 5000:
        children.append(subprocess.Popen(["sleep", "600"]))
    print(f"ESCAPED: started {len(children)} processes")
except OSError as error:
    print(f"started {len(children)} processes, then: {error.strerror}")
finally:
    for child in children:
        child.kill()
        child.wait()
