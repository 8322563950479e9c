"""The contract every bounce family module implements, and the helpers they share.

A family module (one per MTA or service, as flufl.bounce's detectors are) provides
``parse(ctx) -> Parsed | None``: the ``Family`` protocol, which mypy checks each module of
``parsers.bounce.FAMILIES`` against (a module satisfies a Protocol structurally). ``parse``
returns None when the message is not of its kind, so the dispatcher can try the next family.
It never raises on odd input: the dispatcher treats an exception as a bug, not as data. A
module that reads one format also names it in ``FAMILY`` (a label such as ``"lhost:exim"``,
the ``Parsed.family`` it returns); ``gateways`` reads several vendors' formats and labels each
``Parsed`` itself, so ``FAMILY`` is not part of the protocol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Protocol

from parsers.dsn import QUOTED_LOCAL, Failure, clean_address
from parsers.mime import ORIGINAL_MARK, HeaderIndex, decode_header_value

__all__ = [
    "Context",
    "Family",
    "Parsed",
    "addresses_in",
    "cut",
    "first_address",
    "paragraph_after",
    "received_mentions",
    "split_original",
    "table_reason",
]


@dataclass(slots=True)
class Context:
    """What family parsers look at: decoded headers and the flattened text of the report."""

    msg: Message
    text: str
    subject: str = ""
    from_: str = ""
    raw: bytes = b""  # the input, for readers that must re-parse a bounded prefix
    #: the Subject lower-cased: families compare it in any case, because gateways and
    #: localised MTAs change it ("UNDELIVERED MAIL RETURNED TO SENDER")
    title: str = field(init=False, default="")
    _lower: str | None = field(default=None, repr=False)
    _headers: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _index: HeaderIndex | None = field(default=None, repr=False)
    _received: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.title = self.subject.lower()

    @property
    def lower(self) -> str:
        """The flattened text lower-cased (computed once; several families need it)."""
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def received(self) -> str:
        """Every Received header, one per line (for substring tests)."""
        if self._received is None:
            self._received = "\n".join(self.headers("Received"))
        return self._received

    def header(self, name: str) -> str:
        """Decoded value of the first ``name`` header, or ""."""
        values = self._headers.get(name)  # asked again and again: the kept list first
        if values is None:
            values = self.headers(name)
        return values[0] if values else ""

    def has(self, name: str) -> bool:
        """True if the bounce has a non-empty ``name`` header (a family's cheapest signal)."""
        values = self._headers.get(name)
        if values is None:
            index = self._index if self._index is not None else self._fields()
            if name not in index:  # most names asked about are absent: no decoding
                self._headers[name] = values = []  # and several families ask again
            else:
                values = self.headers(name)
        return bool(values and values[0])

    def _fields(self) -> HeaderIndex:
        if self._index is None:
            self._index = HeaderIndex(self.msg)
        return self._index

    def headers(self, name: str) -> list[str]:
        """Decoded values of every ``name`` header, in order.

        Cached: some thirty families ask about the same few headers, and ``Message.get``
        scans the whole header list on every call.
        """
        values = self._headers.get(name)  # families spell each name one way: no lower()
        if values is None:
            values = [decode_header_value(v) for v in self._fields().get_all(name)]
            self._headers[name] = values
        return values


@dataclass(slots=True)
class Parsed:
    """A family's reading of a report: who failed and what came back."""

    family: str
    failures: list[Failure]
    original: str = ""
    reporting_mta: str = ""
    arrival_date: str = ""


class Family(Protocol):
    """A bounce family module, as ``parsers.bounce.dispatch`` uses it.

    A Protocol, not a base class, because families are modules (one small file per MTA, no
    state): mypy checks ``FAMILIES`` against it, where ``tuple[ModuleType, ...]`` let any
    module in and made every ``family.parse(ctx)`` an untyped call.
    """

    @property
    def __name__(self) -> str:  # the benches and tests name a family by its module
        ...

    def parse(self, ctx: Context) -> Parsed | None:
        """The failures the message reports, if it is of this family's format."""
        ...


_ADDR = re.compile(
    rf"(?:{QUOTED_LOCAL}|[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]+)"
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
)


def addresses_in(text: str) -> list[str]:
    """Every plausible mail address in ``text``, normalised, in order, without repeats."""
    seen: list[str] = []
    for match in _ADDR.finditer(text):
        address = clean_address(match.group(0))
        if address and address not in seen:
            seen.append(address)
    return seen


def first_address(text: str) -> str:
    """The first plausible address in ``text``, or ""."""
    for match in _ADDR.finditer(text):
        address = clean_address(match.group(0))
        if address:
            return address
    return ""


def split_original(text: str, boundaries: tuple[str, ...]) -> tuple[str, str]:
    """Split at the earliest boundary line: (notice, returned message).

    ``ORIGINAL_MARK`` (where MIME put the enclosure) always counts as a boundary.
    """
    best = -1
    best_len = 0
    for boundary in (*boundaries, ORIGINAL_MARK):
        index = text.find(boundary)
        if index >= 0 and (best < 0 or index < best):
            best, best_len = index, len(boundary)
    if best < 0:
        return text, ""
    rest = text[best + best_len :]
    newline = rest.find("\n")
    return text[:best], rest[newline + 1 :] if newline >= 0 else ""


def cut(text: str, start: str, *, lower: bool = False) -> str:
    """The text after the first ``start`` line prefix (or all of it when absent)."""
    haystack = text.lower() if lower else text
    index = haystack.find(start)
    return text[index:] if index >= 0 else text


def paragraph_after(text: str, needle: str, *, limit: int = 2000) -> str:
    """The lines from the one containing ``needle`` to the next blank line."""
    index = text.find(needle)
    if index < 0:
        return ""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n\n", index)
    chunk = text[start : end if end >= 0 else start + limit]
    return chunk[:limit]


def table_reason(text: str, table: Mapping[str, tuple[str, ...]]) -> str:
    """The first reason (a ``Reason`` value) whose phrases occur in ``text``, or ""."""
    lowered = text.lower()
    for reason, phrases in table.items():
        if any(p in lowered for p in phrases):
            return reason
    return ""


def received_mentions(ctx: Context, needle: str) -> bool:
    """True if any Received header of the bounce contains ``needle``."""
    return needle in ctx.received
