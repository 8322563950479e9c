"""Authoritative data for the loopback test nameserver (:mod:`tests.servers.dns`).

Data comes from three shapes, all turned into one :class:`Zone`:

* ``Zone.from_testsuite(zonedata)`` — the RFC 7208 suite / ``dns_auth_vectors.json`` form
  ``{name: [{TYPE: value} | "TIMEOUT"]}``. As the suite's own drivers do, ``SPF`` (type 99)
  entries are also served as ``TXT`` unless the name has an explicit ``TXT`` (``TXT: NONE``
  suppresses it), and ``TIMEOUT`` makes every query type not listed before it time out.
* ``Zone.from_file(path, origin)`` — a master file (RFC 1035 section 5) such as
  ``tests/data/dns/*.zone``, read with ``dns.zone``.
* ``Zone.from_json(path)`` — ``{name: [{TYPE: value}]}`` JSON files in ``tests/data/dns/``.

Besides records an entry may be the marker ``TIMEOUT`` (no answer), ``SERVFAIL`` or
``REFUSED`` (that rcode for every type at the name). Names are answered with RFC 1034
semantics: CNAME chains are followed inside the zone, a name that exists without the type
gets NOERROR/NODATA (empty non-terminals included), wildcards ``*.x`` apply only when no closer
name exists (RFC 4592 section 2.2), and anything else is NXDOMAIN.

:attr:`Zone.version` changes with every edit and :meth:`Zone.exists` answers from the
lower-cased wire form, so the server's pre-encoded answers know when they are stale and can
tell NXDOMAIN without parsing a query.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.zone

__all__ = ["MARKERS", "Zone"]

MARKERS = frozenset({"TIMEOUT", "SERVFAIL", "REFUSED"})
MAX_CNAME_CHAIN = 16


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text.rstrip(".") + ".") if text not in ("", ".") else dns.name.root


def _txt_rdata(value: str | Sequence[str] | bytes) -> dns.rdtypes.ANY.TXT.TXT:
    """Build TXT rdata from text; strings longer than 255 octets are split (RFC 7208 3.3)."""
    parts = [value] if isinstance(value, str | bytes) else list(value or ())
    chunks: list[bytes] = []
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        chunks.extend(raw[i : i + 255] for i in range(0, len(raw), 255))
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks or [b""])


def _rdata(rdtype: str, value: Any, origin: dns.name.Name) -> dns.rdata.Rdata:
    """Turn one JSON/YAML value into rdata; MX values are ``[preference, exchange]``."""
    if rdtype in ("TXT", "SPF"):
        txt = _txt_rdata(value)
        if rdtype == "SPF":
            return dns.rdtypes.ANY.SPF.SPF(dns.rdataclass.IN, dns.rdatatype.SPF, txt.strings)
        return txt
    if rdtype == "MX":
        pref, exchange = value
        text = f"{int(pref)} {str(exchange).rstrip('.')}."
        return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.MX, text)
    text = str(value)
    if rdtype in ("CNAME", "PTR", "NS") and not text.endswith("."):
        text += "."
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text, origin, relativize=False
    )


@dataclass(slots=True)
class _Node:
    entries: list[tuple[int, dns.rdata.Rdata] | str] = field(default_factory=list)


class Zone:
    """Authoritative data: owner name -> ordered entries (records or fault markers)."""

    def __init__(self) -> None:
        self._nodes: dict[dns.name.Name, _Node] = {}
        self._ancestors: set[dns.name.Name] = set()
        self._wire_names: set[bytes] = set()  # lower-cased wire form of every existing name
        self.wildcards = False  # any ``*`` owner: NXDOMAIN then needs the full walk
        self.version = 0  # bumped after every edit

    def exists(self, wire_name: bytes) -> bool:
        """Does the lower-cased wire name own data or lie above a name that does?"""
        return wire_name in self._wire_names

    # -- building ------------------------------------------------------------------------

    def add(self, owner: str | dns.name.Name, rdtype: str, value: Any) -> None:
        """Add one record; ``value`` is presentation text or the JSON shapes above."""
        name = owner if isinstance(owner, dns.name.Name) else _name(owner)
        rd = _rdata(rdtype.upper(), value, name)
        self._append(name, (rd.rdtype, rd))

    def add_marker(self, owner: str | dns.name.Name, marker: str) -> None:
        """Add ``TIMEOUT``, ``SERVFAIL`` or ``REFUSED`` at ``owner``."""
        if marker not in MARKERS:
            raise ValueError(f"unknown marker {marker!r}")
        name = owner if isinstance(owner, dns.name.Name) else _name(owner)
        self._append(name, marker)

    def _append(self, name: dns.name.Name, entry: tuple[int, dns.rdata.Rdata] | str) -> None:
        self._node(name).entries.append(entry)
        self.version += 1

    def _node(self, name: dns.name.Name) -> _Node:
        node = self._nodes.get(name)
        if node is None:
            node = self._nodes[name] = _Node()
            self._wire_names.add(name.canonicalize().to_wire() or b"")
            self.wildcards = self.wildcards or name.is_wild()
            parent = name
            while parent != dns.name.root:
                parent = parent.parent()
                self._ancestors.add(parent)
                self._wire_names.add(parent.canonicalize().to_wire() or b"")
            self.version += 1
        return node

    def update(self, data: Mapping[str, Sequence[Any]]) -> Zone:
        """Merge ``{name: [{TYPE: value} | MARKER]}`` verbatim (no SPF->TXT copying)."""
        for owner, entries in data.items():
            for entry in entries:
                if isinstance(entry, str):
                    self.add_marker(owner, entry)
                else:
                    for rdtype, value in entry.items():
                        self.add(owner, rdtype, value)
        return self

    @classmethod
    def from_testsuite(cls, zonedata: Mapping[str, Sequence[Any]]) -> Zone:
        """Load RFC 7208 suite zonedata the way its reference driver does (see module doc)."""
        zone = cls()
        for owner, entries in zonedata.items():
            explicit_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
            spf_copies: list[Any] = []
            for entry in entries:
                if isinstance(entry, str):
                    zone.add_marker(owner, entry)
                    continue
                for rdtype, value in entry.items():
                    if value == "NONE":
                        continue
                    zone.add(owner, rdtype, value)
                    if rdtype == "SPF" and not explicit_txt:
                        spf_copies.append(value)
            for value in spf_copies:
                zone.add(owner, "TXT", value)
            zone._node(_name(owner))
        return zone

    @staticmethod
    def load_json(path: str | Path) -> dict[str, list[Any]]:
        """Read a ``{name: [{TYPE: value} | MARKER]}`` JSON file (for :meth:`update`)."""
        data: dict[str, list[Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
        return data

    @classmethod
    def from_json(cls, path: str | Path) -> Zone:
        """Load a ``{name: [{TYPE: value} | MARKER]}`` JSON file."""
        return cls().update(cls.load_json(path))

    @classmethod
    def from_file(cls, path: str | Path, origin: str) -> Zone:
        """Load an RFC 1035 master file with dnspython."""
        parsed = dns.zone.from_file(str(path), origin=origin, relativize=False)
        zone = cls()
        for owner, node in parsed.nodes.items():
            for rdataset in node.rdatasets:
                for rd in rdataset:
                    zone._append(owner, (rd.rdtype, rd))
        return zone

    # -- answering -----------------------------------------------------------------------

    def lookup(self, qname: dns.name.Name, rdtype: int) -> tuple[str | int, list[dns.rrset.RRset]]:
        """Answer (rcode or marker, answer RRsets) for one question.

        CNAMEs are chased inside the zone; a loop ends the chain with NOERROR and the CNAMEs
        seen so far, which is what BIND and NSD send (RFC 1034 3.6.2 leaves loops to the
        resolver to detect).
        """
        answers: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        name = qname
        while name not in seen and len(seen) < MAX_CNAME_CHAIN:
            seen.add(name)
            node = self._find(name)
            if node is None:
                return (dns.rcode.NXDOMAIN if not answers else dns.rcode.NOERROR), answers
            outcome = self._records(node, rdtype)
            if isinstance(outcome, str):
                return outcome, answers
            if outcome:
                answers.append(self._rrset(name, outcome))
                return dns.rcode.NOERROR, answers
            cnames = [rd for t, rd in self._typed(node) if t == dns.rdatatype.CNAME]
            if not cnames or rdtype == dns.rdatatype.CNAME:
                return dns.rcode.NOERROR, answers
            answers.append(self._rrset(name, cnames[:1]))
            name = cnames[0].target  # type: ignore[attr-defined]
        return dns.rcode.NOERROR, answers

    def _find(self, name: dns.name.Name) -> _Node | None:
        node = self._nodes.get(name)
        if node is not None:
            return node
        if name in self._ancestors:
            return _Node()  # empty non-terminal: exists, no data (RFC 8020)
        closest = name
        while len(closest.labels) > 1:
            closest = closest.parent()
            if closest in self._nodes or closest in self._ancestors:
                return self._nodes.get(dns.name.Name((b"*", *closest.labels)))
        return None

    def owners(self) -> list[tuple[dns.name.Name, set[int]]]:
        """Every owner name with the record types it holds (for pre-encoding answers)."""
        return [(name, {e[0] for e in self._typed(node)}) for name, node in self._nodes.items()]

    @staticmethod
    def _typed(node: _Node) -> Iterator[tuple[int, dns.rdata.Rdata]]:
        return (e for e in node.entries if not isinstance(e, str))

    @staticmethod
    def _records(node: _Node, rdtype: int) -> str | list[dns.rdata.Rdata]:
        found: list[dns.rdata.Rdata] = []
        for entry in node.entries:
            if isinstance(entry, str):
                if entry != "TIMEOUT" or not found:
                    return entry
                continue
            if entry[0] == rdtype:
                found.append(entry[1])
        return found

    @staticmethod
    def _rrset(name: dns.name.Name, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdatas[0].rdtype)
        rrset.update_ttl(300)
        for rd in rdatas:
            rrset.add(rd)
        return rrset
