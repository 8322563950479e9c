"""Check a whole list of addresses against the suppression list: the way to clean a list
before sending (``deliverwatch suppression check --file list.txt``).

One address a time cost a process start and three queries (0.77 s each, issue 14); here the
addresses are read in batches, each batch looked up with a few ``IN`` queries on the list's
unique (scope, value) index (``entries_for``), and the verdicts written in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import ListScope
from monitor.store.db import session_scope
from monitor.store.suppressions import entries_for
from monitor.suppression.policy import decide_verdict
from parsers.address import AddressError, normalize_address
from reports.visible import terminal_text

__all__ = ["CheckCounts", "check_lines"]

ADDRESS, DOMAIN = ListScope.ADDRESS, ListScope.DOMAIN
#: Addresses per lookup: big enough that the queries are few, small enough for memory.
BATCH = 20_000


@dataclass(slots=True)
class CheckCounts:
    ok: int = 0
    suppressed: int = 0
    invalid: int = 0


def _inputs(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        item = line.strip()
        if item and item[0] != "#":
            yield item


def check_lines(
    factory: sessionmaker[Session],
    lines: Iterable[str],
    *,
    now: datetime,
    lowercase_local: bool,
    write: Callable[[str], object],
    only: str | None = None,
) -> CheckCounts:
    """Write one verdict line per address of ``lines`` (``ADDRESS: ok to send - why``,
    ``SUPPRESSED``, ``INVALID``), or with ``only`` the bare addresses of that verdict."""
    counts = CheckCounts()
    items = _inputs(lines)
    with session_scope(factory, "checking addresses") as session:
        while batch := list(islice(items, BATCH)):
            out = _check_batch(session, batch, now, lowercase_local, only, counts)
            if out:
                write("\n".join(out) + "\n")
    return counts


def _check_batch(
    session: Session,
    batch: list[str],
    now: datetime,
    lowercase_local: bool,
    only: str | None,
    counts: CheckCounts,
) -> list[str]:
    normalised: list[str | AddressError] = []
    for item in batch:
        try:
            normalised.append(normalize_address(item, lowercase_local=lowercase_local))
        except AddressError as exc:
            normalised.append(exc)
    entries, allows = entries_for(session, [n for n in normalised if isinstance(n, str)])
    # the values on either list, by scope: one set lookup each for the common miss
    listed = {scope: {v for s, v in (*entries, *allows) if s is scope} for scope in ListScope}
    addresses, domains = listed[ADDRESS], listed[DOMAIN]
    out: list[str] = []
    for item, address in zip(batch, normalised, strict=True):
        if isinstance(address, AddressError):
            counts.invalid += 1
            if only is None:
                out.append(f"{terminal_text(item)}: INVALID - {terminal_text(address)}")
            continue
        shown = address if address.isascii() and address.isprintable() else terminal_text(address)
        domain = address[address.rfind("@") + 1 :]
        if address not in addresses and domain not in domains:  # most of a list
            counts.ok += 1
            if only is None:
                out.append(shown + _NOT_SUPPRESSED)
            elif only == "ok":
                out.append(shown)
            continue
        keys = ((ADDRESS, address), (DOMAIN, domain))
        verdict = decide_verdict(
            address,
            suppressions=[entries[k] for k in keys if k in entries],
            allows=[allows[k] for k in keys if k in allows],
            now=now,
        )
        state = "suppressed" if verdict.suppressed else "ok"
        if verdict.suppressed:
            counts.suppressed += 1
        else:
            counts.ok += 1
        if only is None:
            label = "SUPPRESSED" if verdict.suppressed else "ok to send"
            out.append(f"{shown}: {label} - {terminal_text(verdict.why)}")
        elif only == state:
            out.append(shown)
    return out


_NOT_SUPPRESSED = ": ok to send - not suppressed"
