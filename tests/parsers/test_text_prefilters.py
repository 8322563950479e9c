"""Pre-filters in front of case-insensitive regexes answer as the regexes alone do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.bounce import text

_PIECES = st.sampled_from(
    [
        *("This is a WARNING", "this is just a warning", "has not yet been delivered"),
        *("not been delivered yet", "will continue to attempt to deliver", "WILL RETRY delivery"),
        *("delivery is being postponed", "Delivery has been DELAYED", "attempts will continue"),
        *("will try", "to deliver", "delivery", "will", "has been", "postponed", "warning"),
        *("will retry to deliver", "WILL ATTEMPT DELIVERY", "ATTEMPTS WILL CONTINUE", "yet"),
        *(
            "will try del\u0130very",
            "w\u0131ll retry to del\u0131ver",
            "attempts w\u0130ll cont\u0131nue",
        ),
        *("thİs is a warnİng", "thıs ıs a warnıng", "thiſ iſ a warning", "attempt\u017f"),
        *("\u212a", "\u0130", "\u0131", "\u017f", " ", "\n", "x", "ll", "del"),
    ]
)


@settings(max_examples=2000)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_still_trying_prefilter_is_exact(notice: str) -> None:
    assert text._still_trying(notice) == (text._STILL_TRYING.search(notice) is not None)


_KEYWORD_PIECES = st.sampled_from(
    [
        *("Recipient", "ADDRESS", "rcpt TO", "To:", "xto:", " to:", "delivered to", "Deliver To"),
        *("delivery to", "FAILED", "undeliverable", "Unknown User", "mailbox", "Error-For"),
        *("user", "destinat", "could not", "CANNOT", "uſer", "U\u0130ser", "ma\u0131lbox", "rec"),
        *("\u212a", "\u0130", "\u0131", "\u017f", "é", " ", "@", "x", "-", ":", "\t"),
    ]
)


@settings(max_examples=2000)
@given(st.lists(_KEYWORD_PIECES, max_size=6).map("".join))
def test_keyword_search_of_the_lowered_line_is_exact(line: str) -> None:
    assert text._has_keyword(line) == (text._KEYWORD.search(line) is not None)


_COPY_PIECES = st.sampled_from(
    [
        *("A copy of the original message", "COPY OF YOUR RETURNED E-MAIL", "copy of", "message"),
        *("The original message follows", "ORIGINAL MAIL IS ATTACHED", "original email headers"),
        *("your ORIGINAL e-mail", "complete copy of the mail", "Full ", "the ", "your "),
        *("is ", "are ", "x-copy of", "final ", "signal e-mail"),
        *("below", "follows", "follow", "attached", "included", "headers ", "ORIGINAL"),
        *("origİnal mail follows", "ORİGİNAL E-MAIL BELOW", "a copy of the orıginal mail, below"),
        *("\u212a", "\u0130", "\u0131", "\u017f", " ", "\n", "> ", "--", "*", "x", "nal", "copy"),
    ]
)


@settings(max_examples=2000)
@given(st.lists(_COPY_PIECES, max_size=8).map("".join))
def test_copy_follows_prefilter_is_exact(notice: str) -> None:
    lowered = notice.lower()
    if not any(run in lowered for run in text._COPY_FOLLOWS_RUNS):
        assert text._COPY_FOLLOWS.search(notice) is None


_LINE_PIECES = st.sampled_from(
    [
        *("-----", "=====", "*****", "|-----", "||", "--", " ", "\t", "\u00a0", "x", ":"),
        *("Return-Path:", "RECEIVED:", "Message-ID:", "x-mailer:", "List-Id:", "received"),
        *("DKIM-Signature:", "X-Mailman-Version:", "list-unsubscribe", "\u0130", "\u017f"),
    ]
)


@given(st.lists(_LINE_PIECES, max_size=5).map("".join))
def test_block_end_is_either_regex(line: str) -> None:
    either = text._SEPARATOR.match(line) or text._RETURNED_HEADER.match(line)
    assert (text._BLOCK_END.match(line) is not None) == (either is not None)
