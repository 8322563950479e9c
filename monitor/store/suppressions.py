"""Suppression list and allowlist repository.

Bulk paths (import, export) use SQLAlchemy Core in batches, not ORM objects: a million-row
list must import at tens of thousands of rows per second and export in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from monitor.enums import ListScope, SuppressionReason
from monitor.store.models import AllowEntry, Suppression

_T = TypeVar("_T")

__all__ = [
    "BatchCounts",
    "ExportRow",
    "ListEntry",
    "UpsertRow",
    "add_allow",
    "add_suppression",
    "count_matching",
    "count_suppressions",
    "delete_expired",
    "entries_for",
    "iter_export_rows",
    "list_allows",
    "list_suppressions",
    "remove_allow",
    "remove_suppression",
    "upsert_batch",
]

_S = Suppression.__table__
#: The same table without type processing, for the bulk paths only: a million rows through
#: the enum and UTC-datetime converters costs more than the database work itself. Values
#: are bound and read in the driver's own form (see ``_db_time`` and ``iter_export_rows``).
_RAW = Table(
    "suppressions",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("scope", String),
    Column("value", String),
    Column("reason", String),
    Column("source_event_id", Integer),
    Column("created_at", NullType),
    Column("updated_at", NullType),
    Column("expires_at", NullType),
    Column("note", String),
)
ExportRow = tuple[str, str, str, str, str, str]
#: Column order of ``iter_export_rows``: scope, value, reason, created_at, expires_at, note;
#: times as ISO 8601 UTC (``2026-01-02T03:04:05Z``), absent values as "".


def _db_time(dt: datetime | None, dialect: str) -> Any:
    """A bind value in the form ``UTCDateTime`` stores (SQLAlchemy's SQLite text format)."""
    if dt is None:
        return None
    if dialect == "sqlite":
        return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return dt.astimezone(UTC)


_PG_ISO = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'  # to_char pattern of the export's form


def _pg_iso(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """ISO 8601 UTC (``2026-01-02T03:04:05Z``) made by PostgreSQL, "" for NULL: the server
    formats on its own core while we write. (SQLite's printf/substr is slower than slicing
    its stored text in Python, so there the export slices; see ``iter_export_rows``.)"""
    return case((column.is_(None), ""), else_=func.to_char(func.timezone("UTC", column), _PG_ISO))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEntry:
    """A suppression or allowlist entry as the rules (``monitor.suppression.policy``) see it."""

    scope: ListScope
    value: str
    reason: SuppressionReason | None = None  # None for allowlist entries
    created_at: datetime | None = None
    expires_at: datetime | None = None
    note: str | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


def _entry(row: Suppression | AllowEntry) -> ListEntry:
    if isinstance(row, Suppression):
        return ListEntry(
            scope=row.scope,
            value=row.value,
            reason=row.reason,
            created_at=row.created_at,
            expires_at=row.expires_at,
            note=row.note,
        )
    return ListEntry(scope=row.scope, value=row.value, created_at=row.created_at, note=row.note)


def entries_for(
    session: Session, addresses: Iterable[str]
) -> tuple[dict[tuple[ListScope, str], ListEntry], dict[tuple[ListScope, str], ListEntry]]:
    """Every suppression and allowlist entry that could apply to ``addresses`` (the address
    itself or its domain), keyed by (scope, value).

    One query per table and scope on the (scope, value) unique index, in plain SQL whose
    rows are converted by the columns' own types (``_rows_of``); a table with no rows at
    all (the allowlist, mostly) is not asked. Most addresses of a list being cleaned are on
    neither list and cost one index probe each: that is what makes ``suppression check``
    of a 500,000-address file take seconds, not minutes.
    """
    addresses = set(addresses)
    wanted = {
        ListScope.ADDRESS: sorted(addresses),
        # the part after the last "@", in line: a helper's call per address was half the
        # cost of this set
        ListScope.DOMAIN: sorted({a[a.rfind("@") + 1 :] for a in addresses}),
    }
    entries: dict[tuple[ListScope, str], ListEntry] = {}
    allows: dict[tuple[ListScope, str], ListEntry] = {}
    for table, found in ((Suppression.__table__, entries), (AllowEntry.__table__, allows)):
        if not addresses or not _has_rows(session, table):
            continue
        for scope, values in wanted.items():
            for value, reason, created_at, expires_at, note in _rows_of(
                session, table, scope, values
            ):
                found[(scope, value)] = ListEntry(
                    scope=scope,
                    value=value,
                    reason=reason,
                    created_at=created_at,
                    expires_at=expires_at,
                    note=note,
                )
    return entries, allows


#: The columns of a ``ListEntry`` besides its scope (the scope is the one asked for), in the
#: order ``_rows_of`` gives them; NULL where a table has no such column (the allowlist has
#: no reason and no expiry).
_ENTRY_COLUMNS = ("value", "reason", "created_at", "expires_at", "note")


def _has_rows(session: Session, table: Any) -> bool:
    return session.execute(select(literal(1)).select_from(table).limit(1)).first() is not None


def _rows_of(
    session: Session, table: Any, scope: ListScope, values: list[str]
) -> Iterator[EntryRow]:
    """The ``_ENTRY_COLUMNS`` of the rows of ``table`` under ``scope`` whose value is one of
    ``values``, as plain tuples converted by the columns' own types (``_converted``).

    SQLAlchemy's expanding IN names a parameter per value and costs more than the query
    (half of a 500,000-address ``suppression check``); so SQLite gets plain-SQL IN lists,
    and PostgreSQL one text parameter that the server splits: psycopg dumps a list
    parameter element by element in Python, which was 3/4 of the client's CPU in that
    check. Only a value holding the separator (an odd address literal or quoted local
    part) sends the list as an array instead.
    """
    if not values:
        return
    conn = session.connection()
    dialect = conn.dialect
    columns = ", ".join(n if n in table.c else "NULL" for n in _ENTRY_COLUMNS)
    convert = [
        table.c[n].type.result_processor(dialect, None) if n in table.c else None
        for n in _ENTRY_COLUMNS
    ]
    query = f"SELECT {columns} FROM {table.name} WHERE scope = "  # noqa: S608 - fixed names
    if dialect.name == "postgresql":
        joined = "\n".join(values)
        params: tuple[str | list[str], ...]
        if joined.count("\n") == len(values) - 1:
            sql, params = f"{query}%s AND value = ANY(string_to_array(%s, %s))", (joined, "\n")
        else:
            sql, params = f"{query}%s AND value = ANY(%s)", (values,)
        rows = conn.exec_driver_sql(sql, (scope.value, *params)).fetchall()
        yield from _converted(rows, convert)
        return
    for i in range(0, len(values), 2000):
        part = values[i : i + 2000]
        sql = f"{query}? AND value IN ({','.join('?' * len(part))})"
        yield from _converted(conn.exec_driver_sql(sql, (scope.value, *part)).fetchall(), convert)


#: A row of ``_rows_of``: the values of ``_ENTRY_COLUMNS``.
EntryRow = tuple[Any, ...]


def _converted(rows: Sequence[Sequence[Any]], convert: list[Any]) -> Iterator[EntryRow]:
    """``rows`` with each column's raw values through that column's converter (None: kept
    as they are), each distinct value converted once.

    The rows of one import share one ``created_at`` and a reason or two, and enum and
    UTC-datetime converters are Python calls: converting each row's values was a tenth of
    a 500,000-address ``suppression check`` (136,000 listed rows, a few distinct values).
    The converters are pure, so a value converts as it would on its own.
    """
    if not rows:
        return iter(())
    columns: list[Iterable[Any]] = []
    for column, f in zip(zip(*rows, strict=True), convert, strict=True):
        if f is None:
            columns.append(column)
        else:
            done = {raw: f(raw) for raw in set(column)}
            columns.append(map(done.__getitem__, column))
    return zip(*columns, strict=True)


def add_suppression(
    session: Session,
    *,
    scope: ListScope,
    value: str,
    reason: SuppressionReason,
    now: datetime,
    expires_at: datetime | None = None,
    note: str | None = None,
    source_event_id: int | None = None,
) -> tuple[Suppression, bool]:
    """Insert or refresh one entry; return it and whether it was new."""
    row = session.scalars(
        select(Suppression).where(Suppression.scope == scope, Suppression.value == value)
    ).one_or_none()
    if row is None:
        row = Suppression(
            scope=scope,
            value=value,
            reason=reason,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
            note=note,
            source_event_id=source_event_id,
        )
        session.add(row)
        session.flush()
        return row, True
    row.reason = reason
    row.expires_at = expires_at
    row.updated_at = now
    if note is not None:
        row.note = note
    if source_event_id is not None:
        row.source_event_id = source_event_id
    return row, False


def remove_suppression(session: Session, *, scope: ListScope, value: str) -> bool:
    result = session.execute(
        delete(Suppression).where(Suppression.scope == scope, Suppression.value == value)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_allow(
    session: Session, *, scope: ListScope, value: str, now: datetime, note: str | None = None
) -> bool:
    """Add an allowlist entry; False when it was already there."""
    exists = session.scalars(
        select(AllowEntry.id).where(AllowEntry.scope == scope, AllowEntry.value == value)
    ).first()
    if exists is not None:
        return False
    session.add(AllowEntry(scope=scope, value=value, created_at=now, note=note))
    session.flush()
    return True


def remove_allow(session: Session, *, scope: ListScope, value: str) -> bool:
    result = session.execute(
        delete(AllowEntry).where(AllowEntry.scope == scope, AllowEntry.value == value)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_allows(session: Session) -> Sequence[AllowEntry]:
    return session.scalars(select(AllowEntry).order_by(AllowEntry.scope, AllowEntry.value)).all()


def list_suppressions(
    session: Session,
    *,
    reason: SuppressionReason | None = None,
    scope: ListScope | None = None,
    contains: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> Sequence[Suppression]:
    q = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    q = _matching(q, reason=reason, scope=scope, contains=contains)
    return session.scalars(q.offset(offset).limit(limit)).all()


def count_matching(
    session: Session,
    *,
    reason: SuppressionReason | None = None,
    scope: ListScope | None = None,
    contains: str | None = None,
) -> int:
    """How many entries ``list_suppressions`` would page through with the same filters."""
    q = _matching(select(func.count()).select_from(Suppression), reason, scope, contains)
    return int(session.scalar(q) or 0)


def _matching(
    q: Select[_T],
    reason: SuppressionReason | None,
    scope: ListScope | None,
    contains: str | None,
) -> Select[_T]:
    if reason is not None:
        q = q.where(Suppression.reason == reason)
    if scope is not None:
        q = q.where(Suppression.scope == scope)
    if contains:
        q = q.where(Suppression.value.contains(contains.lower(), autoescape=True))
    return q


def count_suppressions(session: Session) -> dict[str, int]:
    """Active entries per reason (for ``list`` summaries and reports)."""
    rows = session.execute(select(Suppression.reason, func.count()).group_by(Suppression.reason))
    return {str(reason): int(n) for reason, n in rows}


def delete_expired(session: Session, *, now: datetime) -> int:
    """Drop timed suppressions whose expiry has passed; return how many."""
    result = session.execute(
        delete(Suppression).where(
            Suppression.expires_at.is_not(None), Suppression.expires_at <= now
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def iter_export_rows(
    session: Session,
    *,
    now: datetime,
    reasons: Iterable[SuppressionReason] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 10_000,
) -> Iterator[ExportRow]:
    """Stream active entries in id order (see ``ExportRow``), in bounded memory."""
    dialect = session.get_bind().dialect.name
    c = _RAW.c
    pg = dialect == "postgresql"
    created: ColumnElement[Any] = _pg_iso(c.created_at) if pg else c.created_at
    expires: ColumnElement[Any] = _pg_iso(c.expires_at) if pg else c.expires_at
    note: ColumnElement[Any] = func.coalesce(c.note, "") if pg else c.note
    q = select(c.scope, c.value, c.reason, created, expires, note)
    q = q.where(or_(c.expires_at.is_(None), c.expires_at > _db_time(now, dialect)))
    if reasons:
        q = q.where(c.reason.in_([r.value for r in reasons]))
    if since is not None:
        q = q.where(c.created_at >= _db_time(since, dialect))
    if until is not None:
        q = q.where(c.created_at < _db_time(until, dialect))
    q = q.order_by(c.id)
    if pg:
        result = session.execute(q, execution_options={"yield_per": batch})
        for part in result.partitions():
            yield from map(tuple, part)
        return
    yield from _sqlite_export_rows(session, q, batch)


def _sqlite_export_rows(session: Session, q: Select[Any], batch: int) -> Iterator[ExportRow]:
    """The rows of ``q`` straight from the sqlite3 cursor, timestamps sliced in line.

    Skipping SQLAlchemy's Row objects and slicing SQLAlchemy's SQLite text form
    "2026-01-02 03:04:05.000000" here is a fifth of a million-row export (SQLite's own
    printf/substr was slower than the slicing). ``created_at`` is never NULL.
    """
    conn = session.connection()
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while part := cursor.fetchmany(batch):
            for scope, value, reason, made, ends, text in part:
                yield (
                    scope,
                    value,
                    reason,
                    f"{made[:10]}T{made[11:19]}Z",
                    f"{ends[:10]}T{ends[11:19]}Z" if ends else "",
                    text or "",
                )
    finally:
        cursor.close()


# --------------------------------------------------------------------------- bulk import


class UpsertRow(NamedTuple):
    """One imported entry (a tuple: built once per row of a million-row file, where a
    frozen dataclass's ``__init__`` alone cost a tenth of the import)."""

    scope: ListScope
    value: str
    reason: SuppressionReason | None  # None: keep the existing reason (or "import" if new)
    expires_at: datetime | None  # None: keep the existing expiry
    note: str | None  # None: keep the existing note
    created_at: datetime | None = None


@dataclass
class BatchCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


_INSERT_COLUMNS = ("scope", "value", "reason", "created_at", "updated_at", "expires_at", "note")
_INSERT_SQL = (
    "INSERT INTO suppressions (scope, value, reason, created_at, updated_at, expires_at, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


_INSERT_SQL_PG = (
    "INSERT INTO suppressions (scope, value, reason, created_at, updated_at, expires_at, note) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[], "
    "%s::timestamptz[], %s::timestamptz[], %s::text[])"
)


def _insert_many(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Insert a batch of rows (in ``_INSERT_COLUMNS`` order) without per-row statement
    compilation (the import hot path).

    SQLite: one ``executemany``. PostgreSQL: one statement over ``unnest`` of column arrays,
    because an ``executemany`` there costs a network round trip per row (40x slower).
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        columns = tuple(list(column) for column in zip(*rows, strict=True))
        conn.exec_driver_sql(_INSERT_SQL_PG, columns)
        return
    conn.exec_driver_sql(_INSERT_SQL, rows)


def _lookup_chunks(
    session: Session, scope: ListScope, values: list[str], chunk: int = 2000
) -> dict[str, Any]:
    """Existing rows for ``values``, keyed by value (chunked IN lists on SQLite)."""
    found: dict[str, Any] = {}
    cols = (_S.c.id, _S.c.value, _S.c.reason, _S.c.expires_at, _S.c.note)
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter instead of thousands of placeholders: the driver's query
        # splitting is linear in the placeholders and dominated the import profile.
        q = select(*cols).where(
            _S.c.scope == scope.value, _S.c.value == func.any(bindparam("vals", values))
        )
        return {row.value: row for row in session.execute(q)}
    # First only which values exist, in plain SQL: SQLAlchemy renders an IN list one
    # named parameter per value, which cost more than the query on a fresh import (where
    # nothing exists). Then the typed rows of those that do, as above.
    conn = session.connection()
    present: list[str] = []
    for i in range(0, len(values), chunk):
        part = values[i : i + chunk]
        marks = ",".join("?" * len(part))
        sql = f"SELECT value FROM suppressions WHERE scope = ? AND value IN ({marks})"  # noqa: S608 - placeholders only
        present += [v for (v,) in conn.exec_driver_sql(sql, (scope.value, *part))]
    if not present:
        return found
    q = select(*cols).where(
        _S.c.scope == scope.value, _S.c.value.in_(bindparam("vals", expanding=True))
    )
    for i in range(0, len(present), chunk):
        for row in session.execute(q, {"vals": present[i : i + chunk]}):
            found[row.value] = row
    return found


def upsert_batch(session: Session, rows: Iterable[UpsertRow], *, now: datetime) -> BatchCounts:
    """Apply one batch of imported rows; identical rows change nothing (idempotent import).

    Fields the file leaves empty never overwrite what is stored: re-importing a plain address
    list must not turn a ``complaint`` entry into an ``import`` one.
    """
    latest: dict[tuple[ListScope, str], UpsertRow] = {}
    for r in rows:
        latest[(r.scope, r.value)] = r  # last occurrence in the batch wins
    counts = BatchCounts()
    dialect = session.get_bind().dialect.name
    now_db = _db_time(now, dialect)
    inserts: list[tuple[Any, ...]] = []  # in _INSERT_COLUMNS order
    updates: list[dict[str, Any]] = []
    default_reason = SuppressionReason.IMPORT.value
    for scope in ListScope:
        values = [v for (s, v) in latest if s is scope]
        if not values:
            continue
        existing = _lookup_chunks(session, scope, values)
        scope_value = scope.value
        for value in values:
            r = latest[(scope, value)]
            old = existing.get(value)
            if old is None:
                inserts.append(
                    (
                        scope_value,
                        value,
                        r.reason.value if r.reason else default_reason,
                        _db_time(r.created_at, dialect) if r.created_at else now_db,
                        now_db,
                        _db_time(r.expires_at, dialect) if r.expires_at else None,
                        r.note,
                    )
                )
                continue
            new = {
                "reason": r.reason or old.reason,
                "expires_at": r.expires_at if r.expires_at is not None else old.expires_at,
                "note": r.note if r.note is not None else old.note,
            }
            if (new["reason"], new["expires_at"], new["note"]) == (
                old.reason,
                old.expires_at,
                old.note,
            ):
                counts.unchanged += 1
                continue
            updates.append({"b_id": old.id, **new, "updated_at": now})
    if inserts:
        _insert_many(session, inserts)
        counts.added += len(inserts)
    if updates:
        stmt = (
            update(Suppression)
            .where(Suppression.id == bindparam("b_id"))
            .values(
                reason=bindparam("reason"),
                expires_at=bindparam("expires_at"),
                note=bindparam("note"),
                updated_at=bindparam("updated_at"),
            )
        )
        session.connection().execute(stmt, updates)
        counts.updated += len(updates)
    return counts
