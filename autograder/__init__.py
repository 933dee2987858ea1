"""Grading side of the course module: nbgrader configuration and its custom preprocessors."""
