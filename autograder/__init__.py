"""Grading side of the course module: nbgrader configuration, its custom steps, the sandbox and the judge."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "serving_keras_resnet"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOLUTION = REPO / "solutions" / ASSIGNMENT / NOTEBOOK  # the instructor notebook: nbgrader's source
RELEASE = REPO / "notebooks" / ASSIGNMENT / NOTEBOOK  # the student notebook nbgrader generates from it
