# One message made of many large frames: each is under the wire's limit on a message part, all together are not,
# and the grading process would hold them all. 10 frames of 200 MiB: 2 GiB.
kernel = get_ipython().kernel
frame = bytes(200 * 2**20)
content = {"name": "stdout", "text": "flood\n"}
kernel.session.send(kernel.iopub_socket, "stream", content, parent=kernel.get_parent("shell"), buffers=[frame] * 10)
print("sent")
