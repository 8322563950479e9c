"""``ordered_map``: a function over tasks in forked worker processes, results in task order.

``multiprocessing.Pool.imap`` does this with three helper threads in the parent (feeding
tasks, collecting results, watching workers). On a machine with as many cores as workers
those threads compete with the workers for the CPU and wake on every result, which cost
``deliverwatch parse --jobs 2`` about a twentieth of its wall time. Here the parent is a
single loop: it keeps a few tasks in flight per worker on one shared task pipe, waits on
the workers' result pipes, and yields results in order. Workers are forked, so they start
with everything the parent has imported.

Tasks and results go through ``multiprocessing`` connections (pickled). A task that raises
in a worker re-raises in the parent; a worker that dies makes ``ordered_map`` raise
``WorkerError``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from monitor.errors import MonitorError
from monitor.ingest.lifeline import exit_with

__all__ = ["WorkerError", "ordered_map"]

_T = TypeVar("_T")
_R = TypeVar("_R")
#: Tasks sent ahead per worker: enough that a worker never waits for the next one, few
#: enough that the task pipe never fills (so the parent never blocks writing to it).
IN_FLIGHT = 3
_END = object()


class WorkerError(MonitorError):
    """A worker process exited before returning all its results."""


def _serve(
    func: Callable[[Any], Any], tasks: Connection, lock: Any, results: Connection, parent: int
) -> None:
    """Worker loop: take (index, task) until None; send (index, ok, result or exception).
    A worker holds the task pipe's write end too, so it would never see the parent die:
    ``exit_with`` ends it when the parent ends."""
    exit_with(parent)
    while True:
        with lock:  # one reader at a time on the shared pipe
            item = tasks.recv()
        if item is None:
            return
        index, task = item
        try:
            results.send((index, True, func(task)))
        except Exception as exc:  # re-raised in the parent (as Pool does)
            results.send((index, False, exc))


def ordered_map(func: Callable[[_T], _R], tasks: Iterable[_T], jobs: int) -> Iterator[_R]:
    """``map(func, tasks)`` computed by ``jobs`` forked processes, yielded in task order.

    Tasks are drawn from ``tasks`` as results come back (it may be a long generator).
    """
    context = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):  # children must not inherit buffered output
        stream.flush()
    task_reader, task_writer = context.Pipe(duplex=False)
    lock = context.Lock()
    gc.freeze()  # shared objects stay out of the collector: fewer copied pages
    workers: list[tuple[Any, Connection]] = []
    try:
        for _ in range(jobs):
            result_reader, result_writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_serve,
                args=(func, task_reader, lock, result_writer, os.getpid()),
                daemon=True,
            )
            process.start()
            result_writer.close()
            workers.append((process, result_reader))
        yield from _collect(iter(tasks), task_writer, [r for _, r in workers], jobs)
    finally:
        for process, reader in workers:
            if process.is_alive():
                process.terminate()
            process.join()
            reader.close()
        task_reader.close()
        task_writer.close()


def _collect(
    tasks: Iterator[Any], writer: Connection, readers: list[Connection], jobs: int
) -> Iterator[Any]:
    sent = 0
    done: dict[int, Any] = {}
    following = 0  # the index of the next result to yield
    exhausted = False
    open_readers = list(readers)
    while True:
        while not exhausted and sent - following - len(done) < IN_FLIGHT * jobs:
            task = next(tasks, _END)
            if task is _END:
                exhausted = True
                for _ in range(jobs):
                    writer.send(None)
                break
            writer.send((sent, task))
            sent += 1
        while following in done:
            yield done.pop(following)
            following += 1
        if exhausted and following == sent:
            return
        if not open_readers:
            raise WorkerError(f"parse workers exited with {sent - following} task(s) unanswered")
        for ready in wait(open_readers):
            reader = next(r for r in open_readers if r is ready)
            try:
                index, ok, value = reader.recv()
            except EOFError:
                open_readers.remove(reader)
                continue
            if not ok:
                raise value if isinstance(value, BaseException) else WorkerError(str(value))
            done[index] = value
