"""The hand-in contract: what crosses the sandboxes' boundary, and where, as both sides see it.

The grader (host side) mounts these paths into the sandboxes; the student's kernel (autograder/handin.py) and the
judge (autograder/judge.py, autograder/handin_reader.py) read and write them. The grader's read-only folder holds
this file too, so every side imports the same names: the grader as `autograder.handin_contract`, the sandboxes from
that folder. Only the standard library.
"""

GRADER = "/grader"  # the grader's read-only folder, in every sandbox
WORKDIR = "/submission"  # the kernel's working folder, and the judge's, with the files released beside the notebook
HANDED_IN = "/handin"  # the judge's in-memory folder where it unpacks the hand-in: no released file shares it
ARCHIVE = f"{GRADER}/handin.tar"  # the hand-in: the one host file the kernel writes, which the judge reads
SPEC = f"{GRADER}/handin.json"  # what the kernel hands in: the assignment's [handin], and why a name may be missing
CALLS = f"{GRADER}/calls"  # the arguments of the judge's calls of the student's Python functions, read-only
MODULES = ("handin_contract.py", "wire.py")  # the contract's files in the grader's folder, on both sides

REPLY_TYPE = "text/x-autograder-reply"  # the output of a call in the kernel that carries its reply
REPLIES = ("value", "raised", "unavailable")  # what a reply from the kernel may say, one of them
ARGUMENTS_LIMIT = 64 << 20  # characters of the arguments of one call of a Python function in the kernel
RESULT_LIMIT = 16 << 20  # characters of what one such call returns

# The kinds of values a notebook hands in ([handin] of assignment.toml): as graphs, in the kernel, or as data.
KINDS = ("functions", "python", "tracked", "specs", "numbers", "json", "arrays", "messages", "paths")
