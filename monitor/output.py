"""Binary output for files the application writes (reports, exports): atomic or stdout."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["open_output"]


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None) -> Iterator[IO[bytes]]:
    """Binary output: a file written atomically (temp + rename), or stdout for None/'-'."""
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with tmp.open("wb") as fh:
            buffered = io.BufferedWriter(fh, buffer_size=1 << 20)
            yield buffered
            buffered.flush()
            buffered.detach()
            os.fsync(fh.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
