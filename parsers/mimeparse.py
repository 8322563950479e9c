"""A faster reader that builds the same ``Message`` tree as the stdlib compat32 parser.

``email.feedparser`` pushes every line of every body through a stack of boundary
matchers, one Python call per line: on bounce traffic that was a third of our time, more
than all the bounce rules together. This reader finds part boundaries with ``str.find`` on
the whole text and slices payloads out of it, so it does per-line Python work only in
header sections and on lines that start with ``--``. Without it (``email.message_from_bytes``
for every message, the ``Unsupported`` path), bench_parse is 48 % slower: 53.1 instead of
35.9 billion CPU instructions for its 10,000 messages, counted with callgrind
(``bench/instructions.py``, 0.03 % apart between runs), measured 2026-12-03. Above the 10 %
a replacement of a stdlib part must buy to be kept (issue 12).

It reproduces ``email.message_from_bytes(raw, policy=compat32)`` on LF-only input (which
is what ``parsers.mime.message_from_bytes`` gives it): header parsing and its defects,
``From `` envelope lines, preamble and epilogue handling, the newline that RFC 2046 gives
to the boundary, unterminated multiparts, outer boundaries that end inner parts, and the
``message/rfc822`` default inside ``multipart/digest``. ``tests/parsers/test_bounce_mime.py``
checks that equivalence against the stdlib on the corpus and on generated trees. Two
deliberate differences: a ``message/delivery-status`` part stays one text payload (compat32
makes a Message per field group, which a hostile report can make cost seconds), and nesting
deeper than ``MAX_NESTING`` is kept as text instead of ending in ``RecursionError``. The rare
layouts it does not model (an envelope line closing a header section) raise ``Unsupported``
and the caller uses the stdlib parser.

Header sections are capped (issue 11: 12.5 MB of folded continuation lines cost the poller
670 MB, because every line became a Python string): a section longer than
``MAX_HEADER_BYTES`` or holding more than ``MAX_HEADER_FIELDS`` fields raises
``LimitExceeded`` before it is split, so the message is refused with that reason and kept
(failed folder) rather than parsed with its headers cut. Why refuse and not truncate: no
MTA hands on such a section (Exim refuses a header over 1 MiB, ``header_maxsize``; Sendmail
over 32 KiB, ``MaxHeadersLength``; Postfix keeps 100 KiB, ``header_size_limit``), so it is
made by hand, and a cut header of a forged bounce is not something to act on. An
unmodelled layout is noted and parsing goes on, so every section is checked before
``Unsupported`` sends the text to the stdlib parser, which has no such bound.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from email import errors
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from parsers.errors import LimitExceeded, ParseError
from parsers.message import IndexedMessage

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_HEADER_FIELDS",
    "MAX_NESTING",
    "Unsupported",
    "check_header_section",
    "header_message",
    "parse_headers",
    "parse_text",
]

#: Parts nested deeper than this (multipart in multipart, or message/rfc822) stay text.
MAX_NESTING = 64
#: Longest header section read (Exim's ``header_maxsize`` default).
MAX_HEADER_BYTES = 1024 * 1024
#: Most fields in one header section (a 100-hop Received chain and every ARC set are a few
#: hundred).
MAX_HEADER_FIELDS = 10_000

# The first line that fails the stdlib's header-line test (email.feedparser.headerRE), as
# a line at the start of the search and as the line after a newline: the literal "\n" lets
# the regex engine skip from newline to newline instead of testing "^" at every character.
# A continuation line is told by its first character before a name is counted, and the name
# is possessive (*+: no backtracking state, which could not help, a name holding no colon):
# 5 % fewer instructions than "From |[...]*:|[\t ]" in that order (callgrind, the corpus).
_NOT_HEADER = re.compile(r"^(?![\t ]|[\041-\071\073-\176]*+:|From )", re.MULTILINE)
_NOT_HEADER_AFTER = re.compile(r"\n(?![\t ]|[\041-\071\073-\176]*+:|From )")
# One header field of a section whose lines all are fields or continuations: the name, and
# the value with its continuation lines (compat32.header_source_parse). Written for the
# regex engine: the name is [^:], not [^:\n] (in such a section the text before a line's
# colon is a name), a single excluded character that the engine counts in a tight loop where
# it tests a set one character at a time; and *+ (possessive) keeps no backtracking state,
# which nothing after the colon could use (the rest always matches). The same fields for
# 27 % fewer instructions (callgrind over the corpus's sections: 140,600 -> 103,000 a
# message, of some 2.77 million).
_FIELD = re.compile(r"^([^:]*+):[ \t]*+(.*+(?:\n[ \t].*+)*+)", re.MULTILINE)
_TEXT_MESSAGE_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})


class Unsupported(ParseError):
    """The input uses a layout this reader does not reproduce; use the stdlib parser.

    A ``ParseError`` so that every parsers error has one root; its callers catch it at once
    (never past an ``except ParseError`` or ``except ValueError``)."""


class _Layout:
    """Whether a parse met a layout it reads differently from the stdlib (``Unsupported``
    is raised once the whole text has been read, and so checked against the caps)."""

    __slots__ = ("odd",)

    def __init__(self) -> None:
        self.odd = False


def _check_section(s: str, pos: int, end: int) -> None:
    """``LimitExceeded`` for a header section ``s[pos:end]`` over the caps (C-speed counts)."""
    size = end - pos
    if size > MAX_HEADER_BYTES:
        raise LimitExceeded(
            f"header section of {size:,} bytes, over {MAX_HEADER_BYTES:,}: no MTA sends one",
            where="header",
        )
    lines = s.count("\n", pos, end)
    if lines > MAX_HEADER_FIELDS:
        fields = lines - s.count("\n ", pos, end) - s.count("\n\t", pos, end)
        if fields > MAX_HEADER_FIELDS:
            raise LimitExceeded(
                f"header section of {fields:,} fields, over {MAX_HEADER_FIELDS:,}",
                where="header",
            )


def check_header_section(text: str) -> None:
    """Apply the header caps to the section at the start of ``text``, whatever its line
    endings, before a stdlib parser (which has no bound) reads it."""
    head = text[: 2 * MAX_HEADER_BYTES + 8]  # CRLF line ends: up to twice as long
    if "\r" in head:
        head = head.replace("\r\n", "\n").replace("\r", "\n")
    head = head[: MAX_HEADER_BYTES + 4]
    end = 0 if head.startswith("\n") else head.find("\n\n") + 1
    _check_section(head, 0, end if end > 0 else len(head))


class _Boundary:
    """One multipart's boundary lines, matched as ``email.feedparser``'s ``boundaryre`` does
    (``--boundary``, optional ``--``, blanks, optional newline) without compiling a regex
    per message."""

    __slots__ = ("boundary", "sep")

    def __init__(self, boundary: str) -> None:
        self.boundary = boundary
        self.sep = "--" + boundary

    def match(self, line: str) -> tuple[bool, bool] | None:
        """None if ``line`` is not one of ours, else (is the close boundary, ends in newline)."""
        if not line.startswith(self.sep):
            return None
        rest = line[len(self.sep) :]
        close = rest.startswith("--")
        if close:
            rest = rest[2:]
        newline = rest.endswith("\n")
        if (rest[:-1] if newline else rest).strip(" \t"):
            return None
        return close, newline


def _line_end(s: str, pos: int, stop: int) -> int:
    end = s.find("\n", pos, stop)
    return stop if end < 0 else end + 1


def _boundary_index(s: str) -> dict[str, list[int]]:
    """Offsets of the lines that could be boundary lines, by the boundary they would close.

    Built once per text: ``--b``, ``--b--`` and either followed by blanks are filed under
    ``b`` (``--b--`` also under ``b--``, a boundary in its own right). Finding where a part
    ends is then a lookup per enclosing boundary instead of a scan of the part, which keeps
    deeply nested input linear.
    """
    index: dict[str, list[int]] = {}
    at = 0 if s.startswith("--") else s.find("\n--") + 1
    while at > 0 or (at == 0 and s.startswith("--")):
        end = s.find("\n", at)
        line = s[at + 2 : end if end >= 0 else len(s)].rstrip(" \t")
        index.setdefault(line, []).append(at)
        if line.endswith("--"):
            index.setdefault(line[:-2], []).append(at)
        if end < 0:
            break
        at = s.find("\n--", end) + 1
    return index


def _header_end(s: str, pos: int, stop: int) -> int:
    """The offset of the first line in [pos, stop) that is not a header line, else stop."""
    if (pos == 0 or s[pos - 1] == "\n") and _NOT_HEADER.match(s, pos, stop):
        return pos
    found = _NOT_HEADER_AFTER.search(s, pos, stop)
    return found.start() + 1 if found is not None else stop


def _read_headers(s: str, pos: int, stop: int, msg: IndexedMessage, layout: _Layout) -> int:
    """Header lines from ``pos`` into ``msg``; the offset of the body."""
    end = _header_end(s, pos, stop)
    if end - pos > 2 * MAX_HEADER_FIELDS:  # shorter sections are under both caps
        _check_section(s, pos, end)
    if end < stop:
        if s.startswith("\n", end):
            stop_line = end + 1  # the separator line is consumed
        else:
            msg.defects.append(errors.MissingHeaderBodySeparatorDefect())
            stop_line = end
    else:
        stop_line = stop
    block = s[pos:end]
    if block.startswith("From "):  # an envelope line (mbox) before the fields
        newline = block.find("\n")
        msg.set_unixfrom(block if newline < 0 else block[:newline])
        block = "" if newline < 0 else block[newline + 1 :]
    if (
        block[:1] not in (" ", "\t", ":")
        and not block.startswith("From ")
        and "\nFrom " not in block
        and "\n:" not in block
    ):
        # no envelope line, no nameless field, no continuation first: nothing to flag
        msg.set_fields(_FIELD.findall(block))
        return stop_line
    lines = s[pos:end].split("\n")
    if lines[-1] == "":
        lines.pop()
    _set_headers(lines, msg, layout)
    return stop_line


def _set_headers(lines: list[str], msg: IndexedMessage, layout: _Layout) -> None:
    # email.feedparser.FeedParser._parse_headers with compat32.header_source_parse, on lines
    # without their newline
    fields: list[tuple[str, str]] = []
    name = ""
    value: list[str] = []
    last = len(lines) - 1
    for lineno, line in enumerate(lines):
        if line[0] in " \t":
            if name:
                value.append(line)
            else:
                msg.defects.append(errors.FirstHeaderLineIsContinuationDefect(line + "\n"))
            continue
        if name:
            fields.append((name, "\n".join(value).rstrip("\n")))
            name = ""
        if line.startswith("From "):
            if lineno == 0:
                msg.set_unixfrom(line)
            elif lineno == last:
                layout.odd = True  # the stdlib makes it the body's first line
            else:
                msg.defects.append(errors.MisplacedEnvelopeHeaderDefect(line + "\n"))
            continue
        colon = line.find(":")
        if colon == 0:
            msg.defects.append(errors.InvalidHeaderDefect("Missing header name."))
            continue
        name, value = line[:colon], [line[colon + 1 :].lstrip(" \t")]
    if name:
        fields.append((name, "\n".join(value).rstrip("\n")))
    msg.set_fields(fields)


class _Reader:
    """One parse of one text."""

    # The most recently created message: the one whose trailing newline belongs to the
    # next boundary (email.feedparser's ``_last``). Declared, not set in __init__: ``part``
    # sets it before ``_trim`` reads it, and a placeholder Message cost 2,650 instructions a
    # parse (callgrind)
    last: Message

    def __init__(self, text: str) -> None:
        self.s = text
        self.layout = _Layout()
        self._index: dict[str, list[int]] | None = None
        #: Whether some part was nested deeper than MAX_NESTING (and so kept as text).
        self.deep = False

    def first_match(
        self, pos: int, stop: int, matchers: tuple[_Boundary, ...]
    ) -> tuple[int, tuple[bool, bool] | None]:
        """The first line in [pos, stop) that a boundary matches, and the match."""
        if not matchers:
            return stop, None
        if self._index is None:
            self._index = _boundary_index(self.s)
        best, found = stop, None
        for matcher in matchers:
            offsets = self._index.get(matcher.boundary, [])
            i = bisect_left(offsets, pos)
            while i < len(offsets) and offsets[i] < best:
                at = offsets[i]
                match = matcher.match(self.s[at : _line_end(self.s, at, stop)])
                if match is not None:
                    best, found = at, match
                    break
                i += 1
        return best, found

    def part(
        self, pos: int, stop: int, stack: tuple[_Boundary, ...], digest: bool, depth: int
    ) -> tuple[Message, int]:
        """The message or part at ``pos``, and where it ends (``stop`` or an outer boundary)."""
        stop = self.first_match(pos, stop, stack)[0]
        msg = IndexedMessage()
        self.last = msg
        if digest:
            msg.set_default_type("message/rfc822")
        body = _read_headers(self.s, pos, stop, msg, self.layout)
        maintype = msg.get_content_maintype()
        if depth >= MAX_NESTING or msg.get_content_type() in _TEXT_MESSAGE_TYPES:
            self.deep = self.deep or depth >= MAX_NESTING
            msg.set_payload(self.s[body:stop])
        elif maintype == "message":
            msg.attach(self.part(body, stop, stack, False, depth + 1)[0])
        elif maintype == "multipart":
            self.multipart(msg, body, stop, stack, depth)
        else:
            msg.set_payload(self.s[body:stop])
        return msg, stop

    def multipart(
        self, msg: Message, pos: int, stop: int, stack: tuple[_Boundary, ...], depth: int
    ) -> None:
        """Parts of ``msg`` between ``pos`` and ``stop`` (no outer boundary lies in between)."""
        boundary = msg.get_boundary()
        if boundary is None:
            msg.defects.append(errors.NoBoundaryInMultipartDefect())
            msg.set_payload(self.s[pos:stop])
            return
        encoding = str(msg.get("content-transfer-encoding", "8bit")).lower()
        if encoding not in ("7bit", "8bit", "binary"):
            msg.defects.append(errors.InvalidMultipartContentTransferEncodingDefect())
        own = _Boundary(boundary)
        s = self.s
        at, found = self.first_match(pos, stop, (own,))
        if found is None or found[0]:  # no part at all: everything is the payload
            msg.defects.append(errors.StartBoundaryNotFoundDefect())
            msg.set_payload(s[pos:at])
            msg.epilogue = ""
            return
        if at > pos:
            msg.preamble = s[pos : at - 1]  # RFC 2046: the newline belongs to the boundary
        inner = (*stack, own)
        digest = msg.get_content_type() == "multipart/digest"
        while True:
            at = _line_end(s, at, stop)
            while at < stop and own.match(s[at : _line_end(s, at, stop)]):
                at = _line_end(s, at, stop)  # repeated boundary lines enclose no part
            child, at = self.part(at, stop, inner, digest, depth + 1)
            msg.attach(child)
            self._trim(msg)
            if at >= stop:
                msg.defects.append(errors.CloseBoundaryNotFoundDefect())
                return
            end = _line_end(s, at, stop)
            found = own.match(s[at:end])
            if found is not None and found[0]:
                msg.epilogue = s[end:stop] if found[1] else ""
                return

    def _trim(self, parent: Message) -> None:
        # RFC 2046: the newline before a boundary belongs to the boundary
        last = self.last
        if last.get_content_maintype() == "multipart":
            if last.epilogue == "":
                last.epilogue = None
            elif last.epilogue is not None and last.epilogue.endswith("\n"):
                last.epilogue = last.epilogue[:-1]
        else:
            # the raw payload, as email.feedparser edits it (get_payload would re-decode)
            payload = getattr(last, "_payload", None)
            if isinstance(payload, str) and payload.endswith("\n"):
                setattr(last, "_payload", payload[:-1])  # noqa: B010
        self.last = parent


def parse_text(text: str) -> Message:
    """The compat32 ``Message`` tree of LF-only ``text`` (bytes decoded as ASCII with
    surrogateescape, as ``email.message_from_bytes`` does). Raises ``Unsupported``."""
    reader = _Reader(text)
    root = reader.part(0, len(text), (), False, 0)[0]
    if reader.layout.odd:
        raise Unsupported("envelope line at the end of a header section")
    if root.get_content_maintype() == "multipart" and not root.is_multipart():
        root.defects.append(errors.MultipartInvariantViolationDefect())  # as FeedParser.close
    if isinstance(root, IndexedMessage):
        root.dw_deep = reader.deep
    return root


def parse_headers(text: str) -> Message:
    """The header section of LF-only ``text`` as a ``Message`` whose payload is the rest,
    like ``email.parser.HeaderParser`` with compat32. Raises ``Unsupported``."""
    msg = IndexedMessage()
    layout = _Layout()
    body = _read_headers(text, 0, len(text), msg, layout)
    if layout.odd:
        raise Unsupported("envelope line at the end of a header section")
    msg.set_payload(text[body:])
    return msg


def header_message(text: str) -> Message:
    """``HeaderParser(policy=compat32).parsestr(text)`` for any text: through the fast
    reader when ``text`` is LF-only and of a layout it reproduces, else the stdlib."""
    if "\r" not in text:
        try:
            return parse_headers(text)
        except Unsupported:
            pass  # the caps were checked on the way
    else:
        check_header_section(text)
    return HeaderParser(policy=compat32).parsestr(text)
