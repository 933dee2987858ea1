"""Grading a batch: the course folder of a run, one submission through nbgrader's steps (its kernel sandboxed, its
graded cells judged apart), the local worker processes or a Dask cluster, and the results."""
