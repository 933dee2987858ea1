"""One set of pins: requirements.txt, environment.yml (conda) and constraints.txt agree, and so does the install."""

import re
import sys
from importlib.metadata import version

import yaml

from autograder import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"not an exact pin: {line!r}"
            found[canonical(match[1])] = match[2]
    return found


def requirements() -> dict[str, str]:
    return pins((REPO / "requirements.txt").read_text().splitlines())


def test_environment_yml_installs_exactly_the_requirements_pins() -> None:
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    dependencies = environment["dependencies"]
    assert "python=3.11" in dependencies
    (pip_section,) = [entry["pip"] for entry in dependencies if isinstance(entry, dict)]
    assert pins(pip_section) == requirements()


def test_constraints_pin_the_same_versions() -> None:
    constraints = pins((REPO / "constraints.txt").read_text().splitlines())
    for name, pinned in requirements().items():
        assert constraints.get(name) == pinned, name


def test_full_tensorflow_only() -> None:
    """tensorflow-serving-api needs `tensorflow`; `tensorflow-cpu` beside it would overwrite the same package."""
    pinned = requirements()
    assert "tensorflow" in pinned and "tensorflow-serving-api" in pinned
    assert not any(name.startswith("tensorflow-cpu") or name == "tf-nightly" for name in pinned)
    assert pinned["tensorflow"].startswith("2.21.") and pinned["keras"].startswith("3.")


def test_this_environment_is_the_pinned_one() -> None:
    assert sys.version_info[:2] == (3, 11)
    for name, pinned in requirements().items():
        assert version(name) == pinned, name
