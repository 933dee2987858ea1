"""Grading side of the course module: nbgrader configuration, its custom steps, the sandbox and the judge."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The course's assignment that the fixtures, the tests and the benchmarks exercise. Grading reads any assignment
# from its folder (autograder/course/assignment.py).
ASSIGNMENT = "serving_keras_resnet"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOLUTION = REPO / "solutions" / ASSIGNMENT / NOTEBOOK  # the instructor notebook: nbgrader's source
RELEASE = REPO / "notebooks" / ASSIGNMENT / NOTEBOOK  # the student notebook nbgrader generates from it
