"""Records to JSON-ready dicts, generically over the record dataclasses.

One walker serves every record type so that a field added to ``parsers.records`` appears in
the JSON output without touching this module. Conventions: enums become their value,
datetimes ISO 8601 in UTC with a ``Z`` suffix, tuples lists, and a trailing underscore
(``from_``, there because ``from`` is a keyword) is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from operator import attrgetter
from typing import Any

from parsers.records import DmarcAggregate, Report, TlsReport

__all__ = ["report_to_dict", "to_jsonable"]


def _datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_PLAIN = frozenset({str, int, float, bool, type(None)})
# (a getter of every field's value, the JSON keys) per record class, computed once:
# ``dataclasses.fields`` is slow, and one attrgetter call reads all the values
_ACCESS: dict[type, tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...]]] = {}


def to_jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind, in order
    """Convert a record (or anything inside one) into JSON-serialisable values."""
    if type(value) in _PLAIN:  # exact types: a StrEnum is a str but must become its value
        return value
    if type(value) in _ACCESS:  # a record class seen before
        return _record(value)
    if type(value) in (tuple, list):  # exact types first; their subclasses further down
        return [to_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value if isinstance(value, int | float | str) else str(value)  # their subclasses


def _access(cls: type) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...]]:
    access = _ACCESS.get(cls)
    if access is None:
        names = [f.name for f in dataclasses.fields(cls)]
        keys = tuple(n[:-1] if n.endswith("_") else n for n in names)
        # attrgetter of a single name gives the value, not a 1-tuple
        getter = attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, names[0]),))
        access = _ACCESS[cls] = (getter, keys)
    return access


def _record(record: Any) -> dict[str, Any]:
    getter, keys = _access(type(record))
    # plain values (most of them) are taken as they are without a call to to_jsonable
    out = {
        key: value if type(value) in _PLAIN else to_jsonable(value)
        for key, value in zip(keys, getter(record), strict=True)
    }
    if isinstance(record, TlsReport):
        out["n_policies"] = len(record.policies)
        out["total_successful_sessions"] = record.total_successful_sessions
        out["total_failure_sessions"] = record.total_failure_sessions
    if isinstance(record, DmarcAggregate) and record.records is None:
        out.pop("records", None)
    return out


def report_to_dict(report: Report) -> dict[str, Any]:
    """The JSON shape of ``deliverwatch parse --format jsonl`` (issue 3, point 7)."""
    return _record(report)
