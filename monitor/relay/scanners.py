"""Asynchronous clients of SpamAssassin's ``spamd`` (SPAMC/1.5) and ClamAV's ``clamd``
(INSTREAM), spoken directly over asyncio streams.

Why not a library: the maintained Python clients (``pyclamd``, ``clamd``, ``spamc``) are
blocking socket code, and the relay's event loop must never wait on a scanner; both
protocols are a few lines (``spamd/PROTOCOL`` in the SpamAssassin sources, ``clamd(8)``).

A scanner that cannot be reached, times out or answers something unexpected raises
``ScannerError``; what that means for the mail is the caller's decision (fail-open or
fail-closed, ``monitor.relay.content``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from dataclasses import dataclass

__all__ = ["ClamdClient", "ScannerError", "SpamResult", "SpamdClient", "VirusResult"]

#: INSTREAM chunk size (clamd reads chunks of any size up to its StreamMaxLength).
CHUNK = 64 * 1024
_SPAM_HEADER = re.compile(
    rb"^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[0-9.]+)\s*/\s*(-?[0-9.]+)\s*$", re.I | re.M
)
_STATUS = re.compile(rb"^SPAMD/(\d+\.\d+)\s+(\d+)\s+(\S+)")


class ScannerError(Exception):
    """A scanner could not give a verdict (down, slow, or speaking nonsense)."""


@dataclass(frozen=True, slots=True)
class SpamResult:
    score: float
    threshold: float  # spamd's own required_score (ours is the config's score_limit)
    rules: tuple[str, ...]  # the SpamAssassin rules that hit


@dataclass(frozen=True, slots=True)
class VirusResult:
    virus: str | None  # the signature name, None: clean


async def _connect(
    what: str, address: tuple[str, int] | str, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if isinstance(address, str):
            opening = asyncio.open_unix_connection(address)
        else:
            opening = asyncio.open_connection(address[0], address[1])
        return await asyncio.wait_for(opening, timeout)
    except (OSError, TimeoutError) as exc:
        raise ScannerError(
            f"{what}: cannot connect to {_name(address)}: {exc or 'timed out'}"
        ) from exc


def _name(address: tuple[str, int] | str) -> str:
    return address if isinstance(address, str) else f"{address[0]}:{address[1]}"


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


class SpamdClient:
    """SPAMC ``SYMBOLS``: the score, spamd's threshold and the names of the rules hit."""

    def __init__(self, address: tuple[str, int] | str, *, user: str = "",
                 timeout: float = 30.0) -> None:  # fmt: skip
        self.address = address
        self.user = user
        self.timeout = timeout

    async def check(self, message: bytes) -> SpamResult:
        try:
            return await asyncio.wait_for(self._check(message), self.timeout)
        except TimeoutError as exc:
            raise ScannerError(f"spamd at {_name(self.address)} timed out") from exc

    async def _check(self, message: bytes) -> SpamResult:
        reader, writer = await _connect("spamd", self.address, self.timeout)
        try:
            head = [b"SYMBOLS SPAMC/1.5", b"Content-length: %d" % len(message)]
            if self.user:
                head.append(b"User: " + self.user.encode("ascii", "replace"))
            writer.write(b"\r\n".join(head) + b"\r\n\r\n" + message)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # spamd reads to Content-length; EOF is a courtesy
            answer = await reader.read(1 << 20)
            while True:
                more = await reader.read(1 << 20)
                if not more:
                    break
                answer += more
        except OSError as exc:
            raise ScannerError(f"spamd at {_name(self.address)}: {exc}") from exc
        finally:
            await _close(writer)
        return _parse_spamd(answer, _name(self.address))


def _parse_spamd(answer: bytes, where: str) -> SpamResult:
    status = _STATUS.match(answer)
    if status is None:
        raise ScannerError(f"spamd at {where} gave no SPAMD status line: {answer[:80]!r}")
    if status.group(2) != b"0":
        raise ScannerError(
            f"spamd at {where} refused: {status.group(2).decode()} {status.group(3).decode()}"
        )
    spam = _SPAM_HEADER.search(answer)
    if spam is None:
        raise ScannerError(f"spamd at {where} gave no Spam: header")
    _, _, body = answer.partition(b"\r\n\r\n")
    rules = tuple(r.strip() for r in body.decode("ascii", "replace").split(",") if r.strip())
    return SpamResult(float(spam.group(2)), float(spam.group(3)), rules)


class ClamdClient:
    """clamd ``zINSTREAM``: the signature found, or None."""

    def __init__(self, address: tuple[str, int] | str, *, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    async def scan(self, message: bytes) -> VirusResult:
        try:
            return await asyncio.wait_for(self._scan(message), self.timeout)
        except TimeoutError as exc:
            raise ScannerError(f"clamd at {_name(self.address)} timed out") from exc

    async def _scan(self, message: bytes) -> VirusResult:
        reader, writer = await _connect("clamd", self.address, self.timeout)
        try:
            writer.write(b"zINSTREAM\0")
            view = memoryview(message)
            for start in range(0, len(view), CHUNK):
                chunk = view[start : start + CHUNK]
                writer.write(struct.pack("!I", len(chunk)))
                writer.write(chunk)
                await writer.drain()
            writer.write(struct.pack("!I", 0))
            await writer.drain()
            answer = await reader.readuntil(b"\0")
        except asyncio.IncompleteReadError as exc:
            raise ScannerError(
                f"clamd at {_name(self.address)} hung up: {exc.partial[:80]!r}"
            ) from exc
        except (OSError, asyncio.LimitOverrunError) as exc:
            raise ScannerError(f"clamd at {_name(self.address)}: {exc}") from exc
        finally:
            await _close(writer)
        return _parse_clamd(answer.rstrip(b"\0").decode("utf-8", "replace"), _name(self.address))


def _parse_clamd(line: str, where: str) -> VirusResult:
    _, _, verdict = line.partition(": ")
    if verdict == "OK":
        return VirusResult(None)
    if verdict.endswith(" FOUND"):
        return VirusResult(verdict.removesuffix(" FOUND").strip() or "unknown")
    raise ScannerError(f"clamd at {where}: {line[:200]}")  # "... ERROR" (size limit...)
