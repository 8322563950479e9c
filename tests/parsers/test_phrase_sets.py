"""``PhraseSet`` answers exactly as the plain alternation of its phrases does."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.phrases import PHRASES, Diagnostic, matches
from parsers.phrases.compile import PhraseSet, PhraseTable, literal_run
from parsers.records import Reason
from tests.shared_paths import REQUIRE_SHARED, SHARED

ALL = [(reason, part) for reason, phrases in PHRASES.items() for part in phrases.parts]
CORPUS = SHARED / "corpus" / "bounces"


@pytest.mark.parametrize(
    ("pattern", "run"),
    [
        (r"\(.{0,60}@.{0,60}:blocked\)", ":blocked)"),
        (r"mail ?box (?:full|over quota)", "mail"),
        (r"e-?mail", "mail"),
        (r"greylisted.?. please try again in", " please try again in"),
        (r"554 5\.7\.0 reject, id=\d+", "554 5.7.0 reject, id="),
        (r"xa+bc", "abc"),
        (r"foo{2}bar", "bar"),
        (r"abc{1,2}d", "ab"),
        (r"spam$", "spam"),
        (r"a|b", ""),  # a top-level alternation has no common run
        (r"x\x41yz", ""),  # escapes this reader does not measure
        # plain characters are read several at a time; a quantifier takes the last one
        (r"user unknown", "user unknown"),
        (r"ab+cd", "bcd"),
        (r"abc*de", "ab"),
        (r"a\.b+c", "a."),
        (r"ab?+c", "a"),
        (r"abc{1,3}?d", "ab"),
    ],
)
def test_literal_run(pattern: str, run: str) -> None:
    assert literal_run(pattern) == run


@pytest.mark.parametrize(("reason", "part"), ALL, ids=lambda x: str(x)[:40])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_match_of_a_phrase_contains_its_run(
    reason: Reason, part: str, data: st.DataObject
) -> None:
    text = data.draw(st.from_regex(re.compile(part), fullmatch=True))
    assert literal_run(part) in text
    assert PHRASES[reason].search(text)


_WORDS = st.sampled_from(
    [
        *("user", "unknown", "mailbox", "full", "quota", "blocked", "spam", "relay", "denied"),
        *("(", ")", "@", ":", ".", "5.1.1", "550", "-", "  ", "\t", "\n", "no", "such", "x"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS | st.sampled_from([p for _, p in ALL if "\\" not in p]), max_size=12))
def test_search_agrees_with_the_alternation(pieces: list[str]) -> None:
    text = " ".join(pieces)
    for reason, phrases in PHRASES.items():
        assert phrases.search(text) == (phrases.pattern.search(text) is not None), reason
        words = frozenset(text.split())
        assert matches(reason, text, words) == matches(reason, text)
    diagnostic = Diagnostic(text)
    assert all(diagnostic.says(r) == matches(r, text) for r in Reason)


@pytest.mark.skipif(
    not CORPUS.is_dir() and not REQUIRE_SHARED, reason="shared bounce corpus not present"
)
def test_search_agrees_on_the_corpus_text() -> None:
    files = sorted(CORPUS.glob("*.eml"))[:200]
    assert files, f"no corpus messages in {CORPUS}"
    for path in files:
        text = " ".join(path.read_bytes().decode("utf-8", "replace").lower().split())[:4000]
        for phrases in PHRASES.values():
            assert phrases.search(text) == (phrases.pattern.search(text) is not None)
        diagnostic = Diagnostic(text)
        assert all(diagnostic.says(r) == matches(r, text) for r in Reason), path.name


def test_a_plain_phrase_is_never_compiled() -> None:
    # no regex syntax: the phrase is its own run, and the substring test is the answer
    phrases = PhraseSet([r"user unknown", r"no such user\.", r"mailbox (?:is )?full"])
    assert phrases.search("550 user unknown here") and phrases.search("no such user.")
    assert not phrases.search("no such users")
    assert phrases.search("the mailbox is full")
    keyed = [p for listed in phrases.keyed().values() for p in listed]
    loose, _runs, _rest = phrases.unkeyed()
    compiled = {p.source: p._regex is not None for p in (*keyed, *loose)}
    assert compiled == {
        "user unknown": False,
        r"no such user\.": True,
        "mailbox (?:is )?full": True,
    }


def test_unguarded_phrases_still_count() -> None:
    phrases = PhraseSet([r"a|b", r"(?:x|y)z", r"long enough phrase"])
    assert phrases.search("b") and phrases.search("yz") and phrases.search("a long enough phrase")
    assert not phrases.search("long enough")
    other = PhraseSet([r"q+", r"with (?:a|the) key word"])
    table = PhraseTable({"one": phrases, "two": other})
    for text in ("b", "yz", "qq", "with the key word", "long enough phrase qq", "none"):
        keyed = table.keyed(text, set(text.split()))
        for label, p in (("one", phrases), ("two", other)):
            assert (label in keyed or table.unkeyed(label, text)) == p.search(text)
    assert not table.unkeyed("three", "b")


def test_a_table_looked_up_by_tokens_keys_only_whole_tokens() -> None:
    # "isn't" splits into "isn" and "t" as a token: the phrase is found by its run instead
    phrases = PhraseSet([r"mailbox isn't available", r"the user doesn't exist here"])
    table = PhraseTable({"one": phrases}, separators="'")
    for text in ("550 mailbox isn't available", "the user doesn't exist here.", "none"):
        tokens = text.replace("'", " ").split()
        assert ("one" in table.labels(text, tokens)) == phrases.search(text), text
