"""``ordered_map``: results in task order from forked workers; failures surface."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from monitor.ingest.forkmap import WorkerError, ordered_map


def _slow_square(n: int) -> tuple[int, int]:
    time.sleep(0.002 * (n % 3))  # uneven durations: results come back out of order
    return n * n, os.getpid()


def test_results_in_task_order_from_several_workers() -> None:
    results = list(ordered_map(_slow_square, range(60), 3))
    assert [r for r, _ in results] == [n * n for n in range(60)]
    assert len({pid for _, pid in results}) > 1
    assert os.getpid() not in {pid for _, pid in results}


def test_tasks_are_drawn_lazily() -> None:
    drawn: list[int] = []

    def tasks() -> Iterator[int]:
        for n in range(1000):
            drawn.append(n)
            yield n

    results = ordered_map(_slow_square, tasks(), 2)
    assert next(results)[0] == 0
    assert len(drawn) < 100  # a few tasks ahead per worker, not the whole input
    assert [r for r, _ in results][-1] == 999 * 999


def test_empty_input() -> None:
    assert list(ordered_map(_slow_square, [], 2)) == []


def _fail_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("seven")
    return n


def test_an_exception_in_a_worker_is_raised_in_the_parent() -> None:
    with pytest.raises(ValueError, match="seven"):
        list(ordered_map(_fail_on_seven, range(20), 2))


def _die_on_five(n: int) -> int:
    if n == 5:
        os._exit(3)
    return n


def test_a_dead_worker_is_an_error() -> None:
    with pytest.raises(WorkerError):
        list(ordered_map(_die_on_five, range(10), 1))
