"""Records to JSON-ready dicts, generically over the record dataclasses.

One walker serves every record type so that a field added to ``parsers.records`` appears in
the JSON output without touching this module. Conventions: enums become their value,
datetimes ISO 8601 in UTC with a ``Z`` suffix, tuples lists, and a trailing underscore
(``from_``, there because ``from`` is a keyword) is dropped.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from parsers.records import DmarcAggregate, Report, TlsReport

__all__ = ["report_to_dict", "to_jsonable"]


def _datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_PLAIN = frozenset({str, int, float, bool, type(None)})
# (attribute, JSON key) per record class, computed once: ``dataclasses.fields`` is slow
_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}


def to_jsonable(value: Any) -> Any:
    """Convert a record (or anything inside one) into JSON-serialisable values."""
    if type(value) in _PLAIN:  # exact types: a StrEnum is a str but must become its value
        return value
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


def _keys(cls: type) -> tuple[tuple[str, str], ...]:
    keys = _KEYS.get(cls)
    if keys is None:
        names = [f.name for f in dataclasses.fields(cls)]
        keys = tuple((n, n[:-1] if n.endswith("_") else n) for n in names)
        _KEYS[cls] = keys
    return keys


def _record(record: Any) -> dict[str, Any]:
    out = {key: to_jsonable(getattr(record, name)) for name, key in _keys(type(record))}
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
