"""Where the read-only shared material (corpora, DNS data) lives.

``$DELIVERWATCH_SHARED`` wins; otherwise ``shared/`` beside the repository (the workspace
layout), then ``/work/shared``. Tests that need it skip when none exists — except in CI, where
``.ci/run`` sets ``DELIVERWATCH_REQUIRE_SHARED=1`` (``REQUIRE_SHARED``) and a missing
corpus fails.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find() -> Path:
    env = os.environ.get("DELIVERWATCH_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared", Path("/work/shared")]
    for c in candidates:
        if (c / "corpus").is_dir():
            return c.resolve()
    return candidates[0]


SHARED = _find()


#: CI sets this so that a missing corpus fails the run instead of skipping half of it.
REQUIRE_SHARED = os.environ.get("DELIVERWATCH_REQUIRE_SHARED") == "1"


def eml_samples() -> list[Path]:
    """Our own ``tests/data`` messages, then every ``.eml`` of the shared corpora.

    Without the corpora that is ours alone, except in CI (``REQUIRE_SHARED``), where a
    missing corpus is an error rather than a quietly smaller run.
    """
    corpus = SHARED / "corpus"
    if REQUIRE_SHARED and not corpus.is_dir():
        raise RuntimeError(f"shared corpus not found at {corpus}")
    samples = sorted((REPO / "tests" / "data").rglob("*.eml"))
    if corpus.is_dir():
        samples += sorted(p for p in corpus.rglob("*.eml") if p.is_file())
    return samples
