"""Issue 14.7: ``poll --dry-run`` changes nothing anywhere (no folders created on the
server) and reports what the real run then does, batch boundaries included: a duplicate or
a second bounce in a later batch is seen as such because the whole dry run is one
transaction, rolled back at the end."""

from __future__ import annotations

import pytest

from monitor.store.models import Event, ProcessedItem, Suppression
from tests.builders.reports import Arf
from tests.integration.rig import Rig
from tests.integration.samples import dsn, garbage
from tests.servers.dovecot import Dovecot


@pytest.fixture
def rig(imap: Dovecot, store) -> Rig:
    return Rig(imap, store, imap.add_user())


def _folders(rig: Rig) -> set[str]:
    with rig.server.client(rig.user) as client:
        return {name for _flags, _sep, name in client.list_folders()}


def _counts(summary) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    e = summary.effects
    return (
        summary.fetched, summary.processed, summary.failed, summary.duplicates,
        e.bounces, e.complaints, e.suppressed, e.duplicate_reports, e.unverified,
    )  # fmt: skip


def test_dry_run_counts_what_the_real_run_does_and_changes_nothing(rig: Rig) -> None:
    rig.cfg_overrides["batch_size"] = 3
    for address in ("gone@example.org", "reader@isp.example"):
        rig.sent(address, message_id="newsletter-1@sender.example")
    same = dsn("gone@example.org")
    complaint = Arf(rcpt_to=("reader@isp.example",)).build()
    rig.append(
        same, dsn("gone@example.org"), complaint,   # batch 1
        garbage(), same, complaint,                 # batch 2: the same bytes again
        dsn("gone@example.org"), dsn("stranger@example.net"),  # batch 3
    )  # fmt: skip
    before = _folders(rig)
    dry = rig.poll(dry_run=True)
    assert _folders(rig) == before  # no processed/failed folder created
    assert rig.count() == 8 and rig.n(Event) == rig.n(Suppression) == rig.n(ProcessedItem) == 0
    real = rig.poll()
    assert real.duplicates == 2 and real.effects.suppressed == 1  # batches 2, 3 see batch 1
    assert _counts(dry) == _counts(real)
