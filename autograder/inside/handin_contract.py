"""The hand-in contract: what crosses the sandboxes' boundary, and where, as both sides see it.

The grader (host side) mounts these paths into the sandboxes; the student's kernel (autograder/inside/handin.py) and the
judge (autograder/inside/judge.py, autograder/inside/handin_reader.py) read and write them. The grader's read-only
folder holds this file too, so every side imports the same names: the grader as `autograder.inside.handin_contract`, the
sandboxes from that folder. Only the standard library.
"""

from dataclasses import dataclass, field

GRADER = "/grader"  # the grader's read-only folder, in every sandbox
WORKDIR = "/submission"  # the kernel's working folder, and the judge's, with the files released beside the notebook
SOCKETS = "/run/jupyter"  # the kernel's sockets, in its sandbox's own memory
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
GRAPH_KINDS = ("functions", "tracked", "specs")  # those that are TensorFlow's: without them, neither side imports it


def needs_tensorflow(handin: dict) -> bool:
    """Whether what the assignment hands in needs TensorFlow (a few seconds of each side's time, when it does not)."""
    return any(handin.get(kind) for kind in GRAPH_KINDS)


@dataclass
class JudgeRequest:
    """What the grader asks of a judge, as one line of JSON on its stdin after the set-up cells: the cells to run,
    and what an earlier judge of the same submission left (the grader starts another when one is stopped)."""

    cells: list[dict]  # {"id", "kind": "graded" or "judged", "source"}, in the notebook's order
    handin: dict  # the assignment's [handin]
    scripts: list[str]  # the only folders a judged cell may run a script from: the assignment's read-only ones
    output_limit: int  # characters of each cell's printed output kept
    skip: list[str] = field(default_factory=list)  # cells an earlier judge gave a verdict
    poisoned: dict[str, str] = field(default_factory=dict)  # functions not to call again, with why
    failed_steps: dict[str, str] = field(default_factory=dict)  # ungraded cells that failed, with why
    after_hidden_calls: bool = False  # hidden tests have called the student's kernel: errors by kind only
