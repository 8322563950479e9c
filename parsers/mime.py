"""Tolerant MIME helpers shared by every parser.

Real bounces and reports are often broken: bare CR or LF line endings, undeclared or wrong
charsets, RFC 2047 words split mid-character, base64 with garbage. The stdlib ``email``
package with the ``compat32`` policy is the most forgiving reader, so we build its
``Message`` trees (with ``parsers.mimeparse``, a faster reader of the same trees) and add
the decoding helpers it lacks. Nothing here raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import quopri
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32

from parsers.message import HeaderIndex, IndexedMessage
from parsers.mimeparse import Unsupported, parse_text

__all__ = [
    "ORIGINAL_MARK",
    "STATUS_MARK",
    "STATUS_TYPES",
    "HeaderIndex",
    "decode_header_value",
    "delivery_status_texts",
    "flatten",
    "header",
    "iter_parts",
    "message_from_bytes",
    "names_param",
    "normalize_newlines",
    "part_bytes",
    "part_text",
    "read_message",
]


#: Bound on how many MIME parts we walk: a 10,000-part tree must finish fast (issue 3).
MAX_PARTS = 2000
#: Nested message/rfc822 inside a report deeper than this is not worth reading.
MAX_DEPTH = 12


def normalize_newlines(raw: bytes) -> bytes:
    """Turn CRLF, lone CR and lone LF into LF so one set of patterns fits every MTA."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


# compat32 parses message/delivery-status into one Message per field group: a hostile report
# with 400,000 groups costs seconds. Renamed to a text type, the part stays one string
# (and its transfer encoding and charset are handled like any text part's).
# Matched in the lower-cased input with a newline in front (a literal prefix is what lets
# the regex engine skip ahead; IGNORECASE and ^ would make it try every position).
_STATUS_CONTENT_TYPE = re.compile(
    rb"\ncontent-type:[ \t]*(message/)(?:global-delivery-status|delivery-status|xdelivery-status)"
)


def _rename_status_parts(raw: bytes, lowered: bytes) -> bytes:
    """``Content-Type: message/delivery-status`` (and its variants) to ``text/x-dw-...``.

    ``lowered`` is ``raw`` lower-cased with a newline in front.
    """
    if b"delivery-status" not in lowered:
        return raw
    pieces: list[bytes] = []
    last = 0
    for match in _STATUS_CONTENT_TYPE.finditer(lowered):
        start = match.start(1) - 1  # offset in ``raw``
        pieces += [raw[last:start], b"text/x-dw-"]
        last = start + len(b"message/")
    return b"".join(pieces) + raw[last:] if pieces else raw


def read_message(raw: bytes) -> tuple[Message, bytes]:
    """``message_from_bytes(raw)``, and the newline-normalised bytes lower-cased with a
    newline in front: the caller can look for markers in them without lower-casing the
    message a second time."""
    raw = normalize_newlines(raw)
    lowered = b"\n" + raw.lower()
    raw = _rename_status_parts(raw, lowered)
    try:
        # the same tree as the stdlib's, three to four times faster (parsers.mimeparse)
        return parse_text(raw.decode("ascii", "surrogateescape")), lowered
    except Unsupported:
        return email.message_from_bytes(raw, policy=compat32), lowered


def message_from_bytes(raw: bytes) -> Message:
    """Parse ``raw`` with the compat32 policy after newline normalisation.

    Delivery-status parts come back as ``text/x-dw-<subtype>`` (see ``STATUS_TYPES``).
    """
    return read_message(raw)[0]


#: Header values are cut to this many characters before RFC 2047 decoding:
#: ``email.header.decode_header`` is quadratic in the number of encoded words.
MAX_HEADER_VALUE = 16 * 1024


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 words and unfold; never raises (undecodable bytes are replaced).

    Values longer than ``MAX_HEADER_VALUE`` are cut first: no real subject or address
    list is that long, and 200,000 encoded words would take minutes to decode.
    """
    if value is None:
        return ""
    text = str(value)[:MAX_HEADER_VALUE]
    if "=?" in text:
        with contextlib.suppress(ValueError, LookupError, UnicodeError, AssertionError):
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())


def header(msg: Message, name: str) -> str | None:
    """The decoded, unfolded value of the first ``name`` header, or None if absent/empty.

    Kept on an ``IndexedMessage`` (the detectors and the report ask for the same Subject,
    From and Message-ID, and RFC 2047 decoding is slow).
    """
    if not isinstance(msg, IndexedMessage):
        return _decoded(msg.get(name))
    key = name.lower()
    decoded = msg.dw_decoded
    if key not in decoded:
        decoded[key] = _decoded(msg.get(name))
    return decoded[key]


def _decoded(raw: object) -> str | None:
    if raw is None:
        return None
    return decode_header_value(raw) or None


def names_param(msg: Message, name: str, header: str = "content-type") -> bool:
    """False when ``msg.get_param(name, header=header)`` can only be absent: the header is
    missing or its text never spells ``name`` (lower case, as given) in any case.

    ``get_param`` parses every parameter of the header (RFC 2231 continuations included)
    on each call, and most parts are asked for parameters they do not have (a charset, a
    report type): this test spares that parsing. A parameter name, even split into
    RFC 2231 sections (``name*0``), is always spelled in the header's text.

    Measured 2026-12-03 with callgrind (``bench/instructions.py``), together with the report
    type read once per message (``parsers.feedback``) and the MIME walks asking
    ``is_multipart()`` before ``get_payload()``: 29.65 -> 28.66 billion instructions for
    bench_parse's 10,000 messages, 3.3 % (one ``get_param`` costs some 74,000). Output
    unchanged.
    """
    value = msg.get(header)
    return value is not None and name in str(value).lower()


def part_bytes(part: Message) -> bytes:
    """The transfer-decoded body of a non-multipart part (base64/QP undone), never raising."""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if isinstance(payload, bytes):
        return payload
    body = part.get_payload()
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    if isinstance(body, list):  # message/* parts: re-serialise the enclosed message
        return b"\n".join(m.as_bytes() if isinstance(m, Message) else b"" for m in body)
    return b""


def _charset(part: Message) -> str:
    charset = (names_param(part, "charset") and part.get_content_charset()) or "utf-8"
    charset = charset.strip().strip('"').lower()
    aliases = {
        "utf8": "utf-8",
        "iso-2022-jp-ms": "iso-2022-jp",
        "x-sjis": "shift_jis",
        "sjis": "shift_jis",
        "ks_c_5601-1987": "euc-kr",
        "unknown-8bit": "utf-8",
    }
    return aliases.get(charset, charset)


# Charsets in which ASCII bytes do not mean ASCII text (UTF-16/32, UTF-7, EBCDIC code pages).
_WIDE_CHARSETS = frozenset(
    {
        "utf-16",
        "utf-16le",
        "utf-16be",
        "utf-32",
        "utf-32le",
        "utf-32be",
        "utf-7",
        "cp037",
        "cp500",
        "cp1140",
    }
)


def decode_bytes(data: bytes, charset: str = "utf-8") -> str:
    """Decode with the declared charset, then UTF-8, then the Japanese legacy encodings
    (undeclared ISO-2022-JP/EUC-JP bodies are common in carrier bounces), then Latin-1.

    Never fails: Latin-1 maps every byte.
    """
    if data.isascii() and b"\x1b" not in data and charset not in _WIDE_CHARSETS:
        return data.decode("ascii")  # the common case, and any ASCII-based charset agrees
    candidates = [charset, "utf-8"]
    if b"\x1b$" in data or b"\x1b(" in data:
        candidates.append("iso-2022-jp")
    elif not data[:4096].isascii():
        candidates += ["euc-jp", "shift_jis"]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _may_be_wide(part: Message) -> bool:
    """False when ``_charset(part)`` cannot be one of ``_WIDE_CHARSETS``: such a charset is
    spelled in the Content-Type text, unless RFC 2231 sections or encoding (``charset*0=``,
    ``charset*=``, which need a ``*``) spell it in pieces."""
    value = part.get("content-type")
    if value is None:
        return False
    text = str(value).lower()
    return "*" in text or any(name in text for name in _WIDE_CHARSETS)


def _decoded_text(part: Message) -> str:
    """``decode_bytes(part_bytes(part), _charset(part))``, reading the charset only where
    it can change the text: ASCII bytes without ESC read the same in every charset but
    the wide ones (``decode_bytes``), so most text parts need no parameter parsing.

    Measured 2026-12-03 with callgrind (``bench/instructions.py``): 28.43 -> 28.10 billion
    instructions for bench_parse's 10,000 messages, 1.1 % (one ``get_param`` costs some
    74,000 instructions; most text parts declare a charset). Output unchanged.
    """
    data = part_bytes(part)
    if data.isascii() and b"\x1b" not in data and not _may_be_wide(part):
        return data.decode("ascii")
    return decode_bytes(data, _charset(part))


def part_text(part: Message) -> str:
    """The decoded text of a leaf part, using its declared charset with safe fallbacks.

    Kept on the part (``IndexedMessage.dw_text``) for as long as its payload and header
    are unchanged: the feedback detectors and ``flatten`` read the same text parts. The
    stored ``_payload`` (a stdlib internal) tells whether it is unchanged: part of what
    ``parsers.message`` measured IndexedMessage's kept values to be worth.
    """
    if not isinstance(part, IndexedMessage):
        return _decoded_text(part)
    payload = getattr(part, "_payload", None)  # the stored payload, not a decoded copy
    cached = part.dw_text
    if cached is not None and cached[0] is payload:
        return cached[1]
    text = _decoded_text(part)
    if isinstance(payload, str):  # a list payload can change in place (attach)
        part.dw_text = (payload, text)
    return text


#: Lines ``flatten`` puts before machine-readable and enclosed parts, so that a family parser
#: can split a multipart bounce with the same code it uses for a single-part one.
STATUS_MARK = "Content-Type: message/delivery-status"
ORIGINAL_MARK = "Content-Type: message/rfc822"

#: Content types of delivery-status parts (as ``message_from_bytes`` renames them, and as
#: written, for messages built by other code).
STATUS_TYPES = frozenset(
    {
        "text/x-dw-delivery-status",
        "text/x-dw-global-delivery-status",
        "text/x-dw-xdelivery-status",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/xdelivery-status",
    }
)
_STATUS_TYPES = STATUS_TYPES
_ORIGINAL_TYPES = frozenset(
    {
        "message/rfc822",
        "text/rfc822-headers",
        "message/global",
        "message/global-headers",
        "message/partial",
        "text/rfc822",
        "message/rfc822-headers",
    }
)
_TAG = re.compile(r"<(?:br|p|div|tr|li)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}
#: A notification text longer than this is not a bounce notice; keep the tail out of regexes.
MAX_TEXT = 512 * 1024


def html_to_text(html: str) -> str:
    """Crude tag stripping: enough to read Exchange/Office 365 HTML-only notices."""
    text = _TAG.sub("\n", html)
    text = _TAGS.sub("", text)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


def _raw_value(value: object) -> str:
    """A header value as text: 8-bit bytes (RFC 6532 UTF-8 headers) decoded, never raising."""
    text = str(value)
    if text.isascii():  # no 8-bit bytes: the round trip below would give it back
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text


def _body_text(block: Message) -> str:
    """The body of a parsed block as text; 8-bit bytes decoded as UTF-8 (RFC 6532/6533)."""
    body = block.get_payload(decode=True)
    if isinstance(body, bytes):
        return decode_bytes(body[:MAX_TEXT])
    return ""


def _blocks_text(blocks: list[Message]) -> str:
    """Header blocks (how compat32 stores message/delivery-status) back to field lines."""
    out: list[str] = []
    for block in blocks:
        lines = [f"{name}: {_raw_value(value)}" for name, value in block.raw_items()]
        body = _body_text(block) if not block.is_multipart() else ""
        if body.strip():
            lines.append("")
            lines.append(body)
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _transfer_decoded(part: Message, text: str) -> str:
    """Undo a transfer encoding the parser could not see through (base64 status parts)."""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            return decode_bytes(base64.b64decode("".join(text.split()), validate=False))
        if encoding == "quoted-printable":
            return decode_bytes(quopri.decodestring(text.encode("utf-8", "surrogateescape")))
    except (ValueError, binascii.Error):
        return text
    return text


def _status_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        text = _blocks_text([p for p in payload if isinstance(p, Message)])
        return _transfer_decoded(part, text)[:MAX_TEXT]
    data = part_bytes(part)[:MAX_TEXT]
    # RFC 6533: global status is UTF-8
    charset = (names_param(part, "charset") and part.get_content_charset()) or "utf-8"
    return decode_bytes(data, charset)


def _enclosed_text(part: Message) -> str:
    """Headers (and the start of the body) of an enclosed message, without re-serialising it.

    Re-generating a 20 MB enclosure just to read its headers would dominate parse time.
    """
    payload = part.get_payload()
    if not (isinstance(payload, list) and payload and isinstance(payload[0], Message)):
        return part_text(part)[:MAX_TEXT]
    inner = payload[0]
    lines = [f"{name}: {_raw_value(value)}" for name, value in inner.raw_items()]
    while inner.is_multipart():
        first = inner.get_payload(0) if inner.get_payload() else None
        if not isinstance(first, Message):
            break
        inner = first
    tail = _body_text(inner) if not inner.is_multipart() else ""
    return "\n".join(lines) + "\n\n" + tail


def delivery_status_texts(msg: Message) -> list[str]:
    """Texts of every delivery-status part, including ones nested in enclosed messages."""
    return [_status_text(p) for p in iter_parts(msg) if p.get_content_type() in _STATUS_TYPES]


def flatten(msg: Message) -> str:
    """One text for the whole report: notices, then status parts, then the enclosure.

    Non-RFC bounces put everything in one text/plain body; RFC 3464 ones split it over MIME
    parts. Flattening both the same way (with ``STATUS_MARK``/``ORIGINAL_MARK`` lines in
    front of those parts) lets one set of line-oriented parsers handle either. HTML parts
    are used only when a message has no plain-text notice at all.
    """
    chunks: list[str] = []
    html: list[str] = []
    skip: set[int] = set()
    for part in iter_parts(msg):
        if id(part) in skip:
            continue
        ctype = part.get_content_type()
        if ctype in _ORIGINAL_TYPES:
            chunks.append(f"{ORIGINAL_MARK}\n\n{_enclosed_text(part)}")
            break
        if ctype in _STATUS_TYPES:
            inner = part.get_payload()
            if isinstance(inner, list):
                skip.update(id(p) for p in inner)
            chunks.append(f"{STATUS_MARK}\n\n{_status_text(part)}")
        elif part.is_multipart():
            continue
        elif ctype == "text/html":
            html.append(html_to_text(part_text(part)[:MAX_TEXT]))
        elif part.get_content_maintype() == "text" or part is msg:
            chunks.append(part_text(part)[:MAX_TEXT])
    if html and not any(c.strip() and not c.startswith("Content-Type: message/") for c in chunks):
        chunks.insert(0, "\n".join(html))
    text = "\n".join(chunks)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def iter_parts(msg: Message, *, max_parts: int = MAX_PARTS) -> Iterator[Message]:
    """Depth-first walk over ``msg`` and its sub-parts, bounded by ``max_parts``.

    ``Message.walk`` is unbounded; a hostile 10,000-part tree must not cost us seconds.
    """
    stack = [msg]
    seen = 0
    while stack and seen < max_parts:
        part = stack.pop()
        seen += 1
        yield part
        if part.is_multipart():  # a leaf's get_payload() would scan its text for nothing
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, Message)]))
