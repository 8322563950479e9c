"""Progress of long commands on a terminal, and nothing at all when piped (issue 14).

``deliverwatch demo``, ``events export``, ``suppression export``, ``report daily`` and the
importers can run for minutes on real data; on a terminal they show a rich spinner with
what is being done, a running count and the elapsed time, on stderr, and erase it when
done. When stderr is not a terminal (a pipe, cron, journald) nothing is drawn; nor when
the command's data goes to stdout on the same terminal (the two would interleave).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["Activity", "activity", "shown"]

T = TypeVar("T")


def shown(out: str | None = None) -> bool:
    """Whether to draw: stderr is a terminal and stdout's data (``out`` '-') is not on it."""
    if not sys.stderr.isatty():
        return False
    return not (out == "-" and sys.stdout.isatty())


class Activity:
    """One line of progress: ``step`` names what is being done, ``advance`` counts."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def step(self, description: str) -> None:
        self._progress.update(self._task, description=description, completed=0)

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def counted(self, rows: Iterable[T]) -> Iterator[T]:
        """``rows`` passed through, each counted."""
        advance = self._progress.advance
        for i, row in enumerate(rows, 1):
            if i % 1000 == 0:
                advance(self._task, 1000)
            yield row


@contextlib.contextmanager
def activity(description: str, *, out: str | None = None) -> Iterator[Activity]:
    """A transient spinner line on stderr while the block runs (see ``shown``)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,}", style="progress.download"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not shown(out),
        transient=True,
    )
    with progress:
        yield Activity(progress, progress.add_task(description, total=None))
