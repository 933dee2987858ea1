"""How much each benchmark measures: the full run of `make bench`, and a quick one for the tests."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    runs: int = 7  # repeated runs behind each median
    images_per_run: int = 32  # each timed run handles at least this many images
    matmul_size: int = 2048
    server_batch_sizes: tuple[int, ...] = (1, 32)
    server_requests: int = 20
    notebook_runs: int = 3
    grading_serial: int = 4  # submissions graded one at a time: the cost of one, and the parallel speed-up
    grading_batches: tuple[int, ...] = (1, 4, 40)  # submissions per parallel grading run: scaling and throughput
    cluster_submissions: int = 12  # graded on a local Dask cluster and here, taking turns
    cluster_rounds: int = 2


FULL = Settings()
QUICK = Settings(
    batch_sizes=(1, 2),
    runs=2,
    images_per_run=2,
    matmul_size=256,
    server_batch_sizes=(1, 2),
    server_requests=2,
    notebook_runs=1,
    grading_serial=1,
    grading_batches=(1,),
    cluster_submissions=1,
    cluster_rounds=1,
)
