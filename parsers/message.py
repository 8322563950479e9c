"""``IndexedMessage``: the stdlib's compat32 ``Message``, with its header reads indexed.

Every feedback detector and bounce family asks each part for its content type, and the
rules ask the top-level message for dozens of fields. ``Message.get`` lower-cases and
compares every field of the header list on each call, and ``get_content_type`` re-parses
the Content-Type value each time. ``parsers.mimeparse`` builds its trees from this class.

The index, the content type, the decoded text and the decoded header values (see
``parsers.mime``) are computed on first use and dropped whenever inherited code touches the
header list, because it may be about to change it (``__setitem__``, ``replace_header``,
``set_param`` ...): the one override of a stdlib internal here is the ``_headers``
attribute, made a property that does that dropping. So the class stays a drop-in
``Message``: the same answers, the same mutability, only faster to read. ``HeaderIndex``
gives the same lookups for any ``Message`` (borrowing an ``IndexedMessage``'s index).

Measured 2026-12-03 with callgrind (CPU instructions, ``bench/instructions.py``, 0.03 %
apart between runs): without this class (a plain ``Message`` filled with ``set_raw``, no
index and no kept values), bench_parse is 12 % slower, 40.7 instead of 36.3 billion
instructions for its 10,000 messages, so it stays (issue 12 keeps a replacement of a stdlib
part only above 10 %). Its former overrides of ``get_payload`` (reading ``_payload``) and of
``get_param`` / ``_get_params_preserve`` (with the private ``_unquotevalue``) bought 0.2 %
and 2.3 % and were removed.
"""

from __future__ import annotations

from email.message import Message
from email.policy import Policy, compat32
from typing import Any, TypeVar, overload

__all__ = ["HeaderIndex", "IndexedMessage", "fetch"]

_T = TypeVar("_T")
_Field = tuple[str, Any]


def fetch(name: str, value: Any) -> Any:
    """``compat32.header_fetch_parse``: a plain str comes back unchanged unless it carries
    surrogates (undecodable bytes), which an ASCII string cannot."""
    if type(value) is str and value.isascii():
        return value
    return compat32.header_fetch_parse(name, value)


class IndexedMessage(Message):
    """A compat32 ``Message`` that indexes its header fields on first read."""

    def __init__(self, policy: Policy = compat32) -> None:
        # No header list of our own first: Message.__init__ assigns ``_headers``, and the
        # setter below starts ``_dw_fields`` and the derived values (doing it here as well
        # cost some 1,070 instructions a part, 4,800 a message: callgrind)
        super().__init__(policy)
        self._dw_compat32 = policy is compat32
        #: set by ``parsers.mimeparse`` on a root whose tree nests parts deeper than
        #: MAX_NESTING (kept as text there)
        self.dw_deep = False

    def _dw_drop(self) -> None:
        self._dw_index: dict[str, list[_Field]] | None = None
        self._dw_ctype: str | None = None
        self._dw_main: str | None = None
        #: (payload, text): the decoded text of that payload, kept by ``parsers.mime``
        self.dw_text: tuple[object, str] | None = None
        #: decoded header values by lower-cased name, kept by ``parsers.mime.header``
        self.dw_decoded: dict[str, str | None] = {}

    # Inherited code reads and writes ``self._headers``; hand it the list, dropping what
    # was derived from it. Our own reads below go to ``_dw_fields`` directly.
    @property
    def _headers(self) -> list[_Field]:
        self._dw_drop()
        return self._dw_fields

    @_headers.setter
    def _headers(self, value: list[_Field]) -> None:
        self._dw_fields = value
        self._dw_drop()

    def set_fields(self, fields: list[_Field]) -> None:
        """Replace the header list with ``fields`` as read from the source (raw values)."""
        self._headers = fields

    def _dw_lookup(self) -> dict[str, list[_Field]]:
        index = self._dw_index
        if index is None:
            index = {}
            for field in self._dw_fields:
                key = field[0].lower()
                if key in index:
                    index[key].append(field)
                else:
                    index[key] = [field]
            self._dw_index = index
        return index

    def _dw_fetch(self, name: str, value: Any) -> Any:
        if self._dw_compat32:
            return fetch(name, value)
        return self.policy.header_fetch_parse(name, value)

    def field_index(self) -> dict[str, list[tuple[str, Any]]]:
        """The raw fields by lower-cased name (the message's own index: do not change it)."""
        return self._dw_lookup()

    @overload
    def get(self, name: str, failobj: None = None) -> Any | None: ...
    @overload
    def get(self, name: str, failobj: _T) -> Any | _T: ...
    def get(self, name: str, failobj: object = None) -> Any:
        """``Message.get`` from the index."""
        found = (self._dw_index or self._dw_lookup()).get(name.lower())
        if not found:
            return failobj
        key, value = found[0]
        if self._dw_compat32 and type(value) is str and value.isascii():
            return value  # fetch(), inlined for the commonest case
        return self._dw_fetch(key, value)

    @overload
    def get_all(self, name: str, failobj: None = None) -> list[Any] | None: ...
    @overload
    def get_all(self, name: str, failobj: _T) -> list[Any] | _T: ...
    def get_all(self, name: str, failobj: object = None) -> Any:
        """``Message.get_all`` from the index."""
        found = (self._dw_index or self._dw_lookup()).get(name.lower())
        if not found:
            return failobj
        return [self._dw_fetch(k, v) for k, v in found]

    def __contains__(self, name: str) -> bool:
        return name.lower() in (self._dw_index or self._dw_lookup())

    def __len__(self) -> int:
        return len(self._dw_fields)

    def keys(self) -> list[str]:
        return [k for k, _ in self._dw_fields]

    def values(self) -> list[Any]:
        return [self._dw_fetch(k, v) for k, v in self._dw_fields]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self._dw_fetch(k, v)) for k, v in self._dw_fields]

    def raw_items(self) -> Any:
        return iter(self._dw_fields.copy())

    def get_content_type(self) -> str:
        ctype = self._dw_ctype
        if ctype is None:
            ctype = self._dw_ctype = super().get_content_type()
        return ctype

    def get_content_maintype(self) -> str:
        main = self._dw_main
        if main is None:
            main = self._dw_main = self.get_content_type().split("/")[0]
        return main

    def set_default_type(self, ctype: str) -> None:
        super().set_default_type(ctype)
        self._dw_ctype = self._dw_main = None


class HeaderIndex:
    """A message's header fields by lower-cased name, indexed in one pass.

    ``Message.get`` lower-cases and compares every field of the message on each call; the
    bounce rules ask for dozens of fields per message. Values come back as ``get`` returns
    them (compat32's fetch turns undecodable bytes into ``Header`` objects). An
    ``IndexedMessage`` lends its own index.
    """

    __slots__ = ("_index",)

    def __init__(self, msg: Message) -> None:
        if isinstance(msg, IndexedMessage):
            self._index = msg.field_index()
            return
        index: dict[str, list[tuple[str, object]]] = {}
        for name, value in msg.raw_items():
            index.setdefault(name.lower(), []).append((name, value))
        self._index = index

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._index

    def get_all(self, name: str) -> list[object]:
        """Every value of ``name``, in order, as ``Message.get_all`` gives them."""
        return [fetch(name, v) for _, v in self._index.get(name.lower(), ())]

    def get(self, name: str) -> object | None:
        """The first value of ``name``, as ``Message.get`` gives it, or None."""
        values = self._index.get(name.lower())
        return fetch(name, values[0][1]) if values else None
