"""Command-line tests of the notebook's helper functions, run outside Jupyter: `python -m testing.test_helpers`."""
