"""Server-side batching, as TF Serving's --enable_batching does it: requests from many clients that arrive within a
short window are merged along their first dimension into one call of the model, and each client gets its own rows
back. On a CPU, one call on 8 images is much faster than 8 calls on one."""

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import grpc
import numpy as np

from serving.errors import ServingError

Arrays = dict[str, np.ndarray]
FIELD = re.compile(r"(\w+)\s*\{\s*value:\s*(\d+)\s*\}")


@dataclass(frozen=True)
class BatchingParameters:
    """The fields of TF Serving's BatchingParameters that this server uses, with TF Serving's meaning."""

    max_batch_size: int = 32  # examples (images) in one call of the model
    batch_timeout_micros: int = 2000  # how long the first request of a batch waits for others
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # batches run at once
    max_enqueued_batches: int = 16  # queued examples beyond this many full batches are refused

    @classmethod
    def read(cls, path: Path) -> "BatchingParameters":
        """TF Serving's batching parameters file (`name { value: N }` lines), so that one file serves both servers."""
        text = re.sub(r"#.*", "", path.read_text())
        known = [parameter.name for parameter in fields(cls)]
        if leftover := FIELD.sub("", text).strip():
            raise ValueError(
                f"{path}: cannot read {leftover[:60]!r}; expected lines like `max_batch_size {{ value: 32 }}`"
            )
        values = {name: int(value) for name, value in FIELD.findall(text)}
        if unknown := sorted(set(values) - set(known)):
            raise ValueError(f"{path}: unknown batching parameter(s) {', '.join(unknown)}; known: {', '.join(known)}")
        minimum = {name: 0 if name == "batch_timeout_micros" else 1 for name in known}
        if too_small := [f"{name} at least {minimum[name]}" for name, value in values.items() if value < minimum[name]]:
            raise ValueError(f"{path}: {', '.join(too_small)} is needed")
        return cls(**values)


@dataclass
class Task:
    """One request waiting for its share of a batch."""

    inputs: Arrays
    rows: int
    outputs: Arrays | None = None
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Batcher:
    """Runs `run` on batches merged from concurrent `submit` calls; a request that cannot be merged runs alone."""

    def __init__(self, run: Callable[[Arrays], Arrays], parameters: BatchingParameters, name: str):
        self._run, self.parameters = run, parameters
        self._queue: deque[Task] = deque()
        self._queued_rows = 0
        self._changed = threading.Condition()
        self._closed = False
        for number in range(parameters.num_batch_threads):
            threading.Thread(target=self._work, name=f"batch-{name}-{number}", daemon=True).start()

    def submit(self, inputs: Arrays) -> Arrays:
        """The outputs for these inputs, computed in a batch with whatever other requests arrive meanwhile."""
        rows = {len(array) for array in inputs.values()}
        if len(rows) != 1:
            return self._run(inputs)
        task = Task(inputs, rows.pop())
        with self._changed:
            if self._closed:  # checked under the lock: the workers stop only when closed with nothing queued
                return self._run(inputs)
            limit = self.parameters.max_enqueued_batches * self.parameters.max_batch_size
            if self._queued_rows + task.rows > limit:
                raise ServingError(
                    grpc.StatusCode.UNAVAILABLE,
                    f"The batch scheduling queue is full ({self._queued_rows} examples waiting); retry later.",
                )
            self._queue.append(task)
            self._queued_rows += task.rows
            self._changed.notify()
        task.done.wait()
        if task.error is not None:
            raise task.error
        return task.outputs

    def close(self) -> None:
        """Finish the queued requests, then stop; later requests run unbatched."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _work(self) -> None:
        while batch := self._next_batch():
            self._run_batch(batch)

    def _next_batch(self) -> list[Task]:
        """The oldest request and those that join it before the batch is full or the window has passed."""
        with self._changed:
            while not self._queue:
                if self._closed:
                    return []
                self._changed.wait()
            batch = [self._take()]
            rows = batch[0].rows
            deadline = time.monotonic() + self.parameters.batch_timeout_micros / 1e6
            while rows < self.parameters.max_batch_size:
                if self._queue:
                    if rows + self._queue[0].rows > self.parameters.max_batch_size:
                        break
                    batch.append(self._take())
                    rows += batch[-1].rows
                elif (remaining := deadline - time.monotonic()) > 0 and not self._closed:
                    self._changed.wait(remaining)
                else:
                    break
            return batch

    def _take(self) -> Task:
        task = self._queue.popleft()
        self._queued_rows -= task.rows
        return task

    def _run_batch(self, batch: list[Task]) -> None:
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        try:
            merged = {alias: np.concatenate([task.inputs[alias] for task in batch]) for alias in batch[0].inputs}
            outputs = self._run(merged)
        except Exception:  # one request's input can fail the whole batch: run each alone, so only it fails
            for task in batch:
                self._run_alone(task)
            return
        rows = [task.rows for task in batch]
        ends = np.cumsum(rows)
        for task, start, end in zip(batch, ends - rows, ends, strict=True):
            task.outputs = {alias: array[start:end] for alias, array in outputs.items()}
            task.done.set()

    def _run_alone(self, task: Task) -> None:
        try:
            task.outputs = self._run(task.inputs)
        except Exception as error:  # the caller's thread re-raises it
            task.error = error
        finally:
            task.done.set()
