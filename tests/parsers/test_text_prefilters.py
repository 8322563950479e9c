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
