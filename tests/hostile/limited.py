"""Run Python code or ``deliverwatch`` in a child process under a memory limit.

``RLIMIT_AS`` of 1 GiB is the bound every hostile input must stay under (issue 11): a
child that needs more gets ``MemoryError`` (a failed assertion on its output, or a
traceback), never the test machine's memory. A timeout turns a hang into a failure.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1 << 30
TIMEOUT = 120.0


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def clean(self) -> bool:
        """No traceback reached the user."""
        return "Traceback" not in self.err and "Traceback" not in self.out


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(
    args: list[str],
    *,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> Outcome:
    """``python args...`` (``-c CODE`` or ``-m monitor ...``) under the limit, from the repo."""
    proc = subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        preexec_fn=_limit,
        timeout=timeout,
        check=False,
    )
    return Outcome(
        proc.returncode,
        proc.stdout.decode("utf-8", "surrogateescape"),
        proc.stderr.decode("utf-8", "surrogateescape"),
    )


def deliverwatch(*args: str | Path, **kw: object) -> Outcome:
    """``deliverwatch ARGS`` in a limited child (``python -m monitor``)."""
    return run_limited(["-m", "monitor", *(str(a) for a in args)], **kw)  # type: ignore[arg-type]
