"""``ordered_map``: a function over tasks in forked worker processes, results in task order.

``concurrent.futures.ProcessPoolExecutor`` with a bounded window of submitted tasks, so that
tasks are drawn from a long generator as results come back (``Executor.map`` would draw
them all first). A hand-written loop over pipes (no helper threads in the parent) did this
until 2026-12-03; measured then, it saved ``deliverwatch parse --jobs 2`` 0.6 % of its CPU
instructions on bench_parse's 10,000 messages (43.8 against 44.1 billion, callgrind, every
process counted: ``bench/instructions.py --jobs 2``) and 0.1 % of its user+sys CPU time
(8.24 against 8.25 s, best of 4 alternate runs), short of the 10 % a replacement of a stdlib
part must buy to be kept (issue 12).

Workers are forked, so they start with everything the parent has imported, and each ends
when the parent ends (``monitor.ingest.lifeline``). A task that raises in a worker
re-raises in the parent; a worker that dies makes ``ordered_map`` raise ``WorkerError``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from monitor.errors import MonitorError
from monitor.ingest.lifeline import exit_with

__all__ = ["WorkerError", "ordered_map"]

_T = TypeVar("_T")
_R = TypeVar("_R")
#: Tasks submitted ahead per worker: enough that a worker never waits for the next one.
IN_FLIGHT = 3


class WorkerError(MonitorError):
    """A worker process exited before returning all its results."""


def _result(future: Future[_R]) -> _R:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise WorkerError(f"a parse worker exited early: {exc}") from exc


def ordered_map(func: Callable[[_T], _R], tasks: Iterable[_T], jobs: int) -> Iterator[_R]:
    """``map(func, tasks)`` computed by ``jobs`` forked processes, yielded in task order.

    Tasks are drawn from ``tasks`` as results come back (it may be a long generator).
    """
    for stream in (sys.stdout, sys.stderr):  # children must not inherit buffered output
        stream.flush()
    gc.freeze()  # shared objects stay out of the collector: fewer copied pages
    pool = ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=exit_with,
        initargs=(os.getpid(),),
    )
    window: deque[Future[_R]] = deque()
    try:
        for task in tasks:
            window.append(pool.submit(func, task))
            if len(window) >= IN_FLIGHT * jobs:
                yield _result(window.popleft())
        while window:
            yield _result(window.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
