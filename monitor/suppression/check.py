"""Check a whole list of addresses against the suppression list: the way to clean a list
before sending (``deliverwatch suppression check --file list.txt``).

One address a time cost a process start and three queries (0.77 s each, issue 14); here the
addresses are read in batches, each batch looked up with a few ``IN`` queries on the list's
unique (scope, value) index (``entries_for``), and the verdicts written in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import ListScope
from monitor.store.db import session_scope
from monitor.store.suppressions import ListEntry, entries_for
from monitor.suppression.policy import decide_verdict
from parsers.address import AddressError, normalize_address
from reports.visible import terminal_text

__all__ = ["CheckCounts", "check_lines"]

ADDRESS, DOMAIN = ListScope.ADDRESS, ListScope.DOMAIN
_T = TypeVar("_T")
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
    ``SUPPRESSED``, ``INVALID``), or with ``only`` the bare addresses of that verdict.

    On PostgreSQL the lookup of one batch runs in a second thread while this one writes
    the verdicts of the batch before: a 500,000-address check waited 2.2 s of its 10.6 s
    for the server's index probes, time the verdicts of the previous batch can use (the
    wait releases the GIL). ``bench/bench_check.py``, four runs each on a quiet but noisy
    machine (2026-12-03): 41.8-47.0k addresses/s (mean 44.7k) without the thread,
    45.2-56.9k (mean 51.5k) with it. Each batch is looked up in its own transaction.

    Cost per address (``bench/bench_check.py --instructions 50000``, callgrind, the
    PostgreSQL server's work not counted): SQLite 50,900 CPU instructions, PostgreSQL
    41,000, plus 2.3-2.8 billion for start-up; 68,700 and 54,500 before the rows'
    values were converted once per distinct value and the address regex stopped matching
    a domain's last label twice. ``bench/bench_check.py --backend both``, three runs, load
    average 1.7-2.5 (2026-12-03): SQLite 100.2-108.7k addresses/s (4.6-5.0 s CPU),
    PostgreSQL 89.3-106.1k (client 4.3-5.1 s CPU); main before this, interleaved runs at
    load 2.6-6.2: SQLite 52.0-83.3k, PostgreSQL 64.1-73.9k.
    """
    counts = CheckCounts()
    items = _inputs(lines)
    pending: _Pending | None = None
    # SQLite answers inside this process: a second thread would only contend for the GIL
    # (8.7 -> 11.1 s on the same check)
    threads = 1 if _waits_on_server(factory) else 0
    with _Lookups(threads) as lookups:
        while batch := list(islice(items, BATCH)):
            normalised = _normalised(batch, lowercase_local)
            valid = [n for n in normalised if isinstance(n, str)]
            found = lookups.submit(_lookup, factory, valid)
            if pending is not None:
                _write_verdicts(write, pending, now, only, counts)
            pending = (batch, normalised, _plain(valid), found)
        if pending is not None:
            _write_verdicts(write, pending, now, only, counts)
    return counts


def _waits_on_server(factory: sessionmaker[Session]) -> bool:
    bind = factory.kw.get("bind")
    return bind is not None and bind.dialect.name != "sqlite"


class _Lookups(ThreadPoolExecutor):
    """A one-thread pool, or with no threads the caller's own thread (the lookup runs at
    ``submit``), so both backends share one loop."""

    def __init__(self, threads: int) -> None:
        super().__init__(max(threads, 1), thread_name_prefix="suppression-lookup")
        self._inline = threads == 0

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        if not self._inline:
            return super().submit(fn, *args, **kwargs)
        done: Future[_T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # re-raised by result(), as from a thread
            done.set_exception(exc)
        return done


_Found = tuple[dict[tuple[ListScope, str], ListEntry], dict[tuple[ListScope, str], ListEntry]]
#: A batch waiting for its verdicts: its items, their addresses (or why not), whether every
#: address is plain printable ASCII (``_plain``), and the entries looked up for it.
_Pending = tuple[list[str], list[str | AddressError], bool, Future[_Found]]


def _normalised(batch: list[str], lowercase_local: bool) -> list[str | AddressError]:
    """Each item's address, or why it is none (one loop, no helper called per item)."""
    out: list[str | AddressError] = []
    for item in batch:
        try:
            out.append(normalize_address(item, lowercase_local=lowercase_local))
        except AddressError as exc:
            # without its traceback: that holds this frame, so ``out`` would hold itself
            # and the batch until the next full collection (+14 MB peak RSS on 500,000)
            out.append(exc.with_traceback(None))
    return out


def _plain(addresses: list[str]) -> bool:
    """Whether every address of a batch is printable ASCII, which ``terminal_text`` returns
    as it is: then the verdicts skip that call for each address (as printable ASCII is what
    a whole string is made of exactly when each of its parts is, one test of the joined
    batch answers for all of them)."""
    joined = "".join(addresses)
    return joined.isascii() and joined.isprintable()


def _lookup(factory: sessionmaker[Session], addresses: list[str]) -> _Found:
    with session_scope(factory, "checking addresses") as session:
        return entries_for(session, addresses)


def _write_verdicts(
    write: Callable[[str], object],
    pending: _Pending,
    now: datetime,
    only: str | None,
    counts: CheckCounts,
) -> None:
    batch, normalised, plain, found = pending
    out = _verdicts(batch, normalised, plain, *found.result(), now, only, counts)
    if out:
        write("\n".join(out) + "\n")


def _verdicts(
    batch: list[str],
    normalised: list[str | AddressError],
    plain: bool,
    entries: dict[tuple[ListScope, str], ListEntry],
    allows: dict[tuple[ListScope, str], ListEntry],
    now: datetime,
    only: str | None,
    counts: CheckCounts,
) -> list[str]:
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
        shown = address if plain else terminal_text(address)
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
            allows=[allows[k] for k in keys if k in allows] if allows else [],
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
