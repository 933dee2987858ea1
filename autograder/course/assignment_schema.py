"""What assignment.toml may say: every table and key, with its type, default and a one-line description.

The schema is the dataclasses below; `parse` checks a file's tables against it and names the table, the key and
what is expected when something does not fit. The table of settings in docs/instructors.md is `settings_table()` (a test
keeps them the same). The [limits] an assignment sets win over the course's nbgrader configuration, whose own defaults
are these; a run's own options (`grade --cell-timeout`) win over both.
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field

from traitlets.config import Config

MIB = 2**20
KIB = 2**10


def setting(default: object, doc: str) -> typing.Any:
    """A key of assignment.toml: its default and what it is for."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class Cells:
    """Which cells of the notebook are which, by their nbgrader grade_id."""

    setup: list[str] = setting([], "cells the judge runs first: the imports, constants and checks the tests call")
    judged: list[str] = setting([], "ungraded cells only the judge runs, after the notebook has handed in")
    skipped: list[str] = setting([], "teaching cells that never run when grading (pictures, traces)")


@dataclass(frozen=True)
class Handin:
    """What the notebook hands in for judging: every name a test or a judged cell reads
    (autograder/inside/handin.py)."""

    explain: str = setting("", "the set-up's function that puts an error in one line, in the notebook's words")
    tracked: list[str] = setting([], "Keras models whose weights are saved with the functions that read them")
    specs: list[str] = setting([], "tf.TensorSpec values")
    numbers: list[str] = setting([], "int and float values")
    json: list[str] = setting([], "JSON data: dicts, lists, text, numbers")
    arrays: list[str] = setting([], "NumPy arrays")
    messages: dict[str, str] = setting({}, "protocol buffer messages: name = its type, package.module.Type")
    message_types: list[str] = setting([], "protocol buffer types that may cross, as package.module.Type")
    paths: list[str] = setting([], "folders the notebook wrote, copied whole (an export, say)")
    functions: dict[str, str | dict] = setting(
        {}, 'TensorFlow functions handed in as graphs, each with its input: name = "float32[None, 1000]"'
    )
    python: list[str] = setting([], "plain Python functions, called in the student's kernel with data in and out")


@dataclass(frozen=True)
class Sandbox:
    """What the student's kernel and the judge may read besides the notebook's folder, and their environment."""

    folders: dict[str, str] = setting({}, "VARIABLE = folder, relative to this one: read-only, its path in VARIABLE")
    environment: dict[str, str] = setting({}, "other environment variables (nothing of the grader's is passed)")


@dataclass(frozen=True)
class Release:
    """What the student release leaves out."""

    disposable: list[str] = setting([], "what running the notebook leaves beside it: never released or collected")


@dataclass(frozen=True)
class Limits:
    """How much each submission may use when it is graded."""

    cell: int = setting(120, "seconds each cell may run, in the student's kernel and in the judge")
    notebook: int = setting(900, "seconds the whole notebook may run in the student's kernel, all cells together")
    judge: int = setting(300, "seconds the judge may take for one submission in all")
    memory: int = setting(8192, "MiB of memory the sandboxes grading one submission may hold together")
    output: int = setting(2048, "KiB of output kept from each cell")

    def config(self, keys: typing.Iterable[str] | None = None) -> Config:
        """These limits (those named by keys, or all) as nbgrader configuration, for the grader's steps and
        sandboxes."""
        keys = set(keys) if keys is not None else {key.name for key in dataclasses.fields(self)}
        config = Config()
        if "cell" in keys:
            config.Execute.timeout = config.Judge.cell_timeout = self.cell
        if "notebook" in keys:
            config.SandboxedExecute.notebook_timeout = self.notebook
        if keys & {"judge", "cell"}:
            config.Judge.timeout = self.judge
        if "memory" in keys:
            config.Sandbox.group_memory_limit = self.memory * MIB
        if "output" in keys:
            config.SandboxedExecute.cell_output_limit = self.output * KIB
        return config


@dataclass(frozen=True)
class Settings:
    """An assignment.toml, every table of it."""

    cells: Cells = setting(Cells(), "")
    handin: Handin = setting(Handin(), "")
    sandbox: Sandbox = setting(Sandbox(), "")
    release: Release = setting(Release(), "")
    limits: Limits = setting(Limits(), "")


class SettingsError(ValueError):
    """A setting that does not fit the schema; the message names the table, the key and what is expected."""


def parse(tables: dict) -> Settings:
    """Settings from a parsed assignment.toml; SettingsError says what does not fit the schema."""
    known = {table.name: table.type for table in dataclasses.fields(Settings)}
    for name, values in tables.items():
        if name not in known or not isinstance(values, dict):
            raise SettingsError(f"unknown table [{name}]: expected the tables {', '.join(f'[{t}]' for t in known)}")
    settings = Settings(**{name: _table(name, known[name], values) for name, values in tables.items()})
    if settings.limits.judge < settings.limits.cell:
        raise SettingsError(
            f"[limits] judge = {settings.limits.judge} is shorter than cell = {settings.limits.cell}: expected at "
            "least one cell's time (the judge's time is for all of a submission's cells)"
        )
    return settings


def _table(name: str, schema: type, values: dict) -> object:
    keys = {key.name: key for key in dataclasses.fields(schema)}
    for key, value in values.items():
        if key not in keys:
            raise SettingsError(f"[{name}] has no key {key!r}: expected one of {', '.join(keys)}")
        expected = typing.get_type_hints(schema)[key]
        if not _fits(value, expected):
            raise SettingsError(
                f"[{name}] {key} = {value!r:.80}: expected {_describe(expected)} ({keys[key].metadata['doc']})"
            )
    return schema(**values)


def _fits(value: object, expected: object) -> bool:
    origin, arguments = typing.get_origin(expected), typing.get_args(expected)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if origin is list:
        return isinstance(value, list) and all(_fits(item, arguments[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(item, arguments[1]) for item in value.values())
    return isinstance(value, expected)


def _describe(expected: object) -> str:
    origin, arguments = typing.get_origin(expected), typing.get_args(expected)
    if origin is list:
        return f"list of {_describe(arguments[0])}s"
    if origin is dict:
        return f"table of {_describe(arguments[1])}s"
    if origin is types.UnionType:
        return " or ".join(map(_describe, arguments))
    return {int: "integer > 0", str: "string", dict: "table"}.get(expected, str(expected))


def settings_table() -> str:
    """Every setting as a Markdown table: table, key, type, default, what it is for."""
    rows = ["| setting | type | default | what it is for |", "|---|---|---|---|"]
    for table in dataclasses.fields(Settings):
        for key in dataclasses.fields(table.type):
            default = key.default if key.default is not dataclasses.MISSING else key.default_factory()
            shown = _toml(default)
            rows.append(f"| `[{table.name}] {key.name}` | {_describe(key.type)} | `{shown}` | {key.metadata['doc']} |")
    return "\n".join(rows)


def _toml(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}"
    return str(value)
