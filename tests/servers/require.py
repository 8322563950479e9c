"""A real server or tool the tests need: skip without it on a developer's machine, fail in CI.

``.ci/run`` installs every server and tool the suite uses and sets
``DELIVERWATCH_REQUIRE_SERVERS=1`` (and ``DELIVERWATCH_REQUIRE_PG=1``), so a missing one
fails the run instead of silently skipping half of the suite; ``DELIVERWATCH_REQUIRE_<NAME>=1``
(e.g. ``DELIVERWATCH_REQUIRE_DOVECOT``) asks for one only.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["required", "skip_or_fail"]


def required(name: str) -> bool:
    """Whether a missing ``name`` (DOVECOT, CHROMIUM, SWAKS...) must fail the test."""
    env = os.environ
    return env.get("DELIVERWATCH_REQUIRE_SERVERS") == "1" or (
        env.get(f"DELIVERWATCH_REQUIRE_{name.upper()}") == "1"
    )


def skip_or_fail(name: str, why: str) -> None:
    """Skip (developer machine) or fail (CI) because ``name`` is not available: ``why``."""
    if required(name):
        pytest.fail(f"{why} and DELIVERWATCH_REQUIRE_{name.upper()} (or _SERVERS) is set",
                    pytrace=False)  # fmt: skip
    pytest.skip(why)
