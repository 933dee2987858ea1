# Fill the kernel's /tmp with empty files, as many as it takes until something refuses, and leave them there: the
# host's kernel memory must not pay for them (each in-memory folder holds a bounded number of files), and the notes
# must say why the hand-in, which writes into /tmp, then fails.
made = 0
try:
    while made < 5_000_000:
        open(f"/tmp/empty-{made}", "w").close()
        made += 1
    print(f"ESCAPED: made {made} files")
except OSError as error:
    print(f"/tmp: stopped after {made} files: {error.strerror}")
