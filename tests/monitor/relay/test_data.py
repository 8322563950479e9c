"""The DATA reader: what a client sends after 354, dot-stuffed and terminated, comes back
exactly, and whatever the client pipelined after the terminator stays in the stream."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.relay.data import CHUNK, DataTooBig, read_data, unstuff


def stuff(body: bytes) -> bytes:
    """What an SMTP client sends for ``body`` (RFC 5321 4.5.2), terminator included."""
    lines = body.split(b"\r\n")[:-1] if body else []
    sent = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)
    return sent + b".\r\n"


async def roundtrip(body: bytes, after: bytes, limit: int) -> tuple[bytes, bytes]:
    reader = asyncio.StreamReader(limit=CHUNK)
    reader.feed_data(stuff(body) + after)
    reader.feed_eof()
    got = unstuff(await read_data(reader, limit))
    return got, await reader.read()


lines = st.lists(
    st.one_of(
        st.sampled_from([b"", b".", b"..", b"a", b".x", b"ab", b"\xff\xfe", b"a\r", b"\r\r"]),
        st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(lines=lines, after=st.sampled_from([b"", b"QUIT\r\n", b"MAIL FROM:<a@b.c>\r\n"]))
def test_every_body_comes_back_and_pipelined_commands_stay(
    lines: list[bytes], after: bytes
) -> None:
    body = b"".join(line + b"\r\n" for line in lines)
    assert asyncio.run(roundtrip(body, after, 10**9)) == (body, after)


@pytest.mark.parametrize("size", [CHUNK - 10, CHUNK * 3 + 7])
def test_bodies_longer_than_the_stream_buffer(size: int) -> None:
    line = b"y" * 998 + b"\r\n"
    body = line * (size // len(line)) + b".dot\r\n" + b"z" * (CHUNK * 2) + b"\r\n"
    assert asyncio.run(roundtrip(body, b"QUIT\r\n", 10**9)) == (body, b"QUIT\r\n")


def test_too_big_is_read_to_its_end_then_refused() -> None:
    body = (b"x" * 76 + b"\r\n") * 2000

    async def go() -> bytes:
        reader = asyncio.StreamReader(limit=CHUNK)
        reader.feed_data(stuff(body) + b"QUIT\r\n")
        reader.feed_eof()
        with pytest.raises(DataTooBig):
            await read_data(reader, 10_000)
        return await reader.read()

    assert asyncio.run(go()) == b"QUIT\r\n"
