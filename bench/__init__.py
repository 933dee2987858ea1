"""Benchmarks: the servable, the local server, the notebook and the grader, measured against this machine's limit."""
