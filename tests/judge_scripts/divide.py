"""Dies of an exception, as a child process would (tests/test_judge.py)."""

print(1 / 0)
