"""Compile a list of phrase regexes into one matcher that answers like their alternation.

A reason's phrases were one compiled alternation. Python's regex engine tries every
branch at every position of the text, so a 70-phrase table cost about 80 ns per character
of diagnostic, and a diagnostic is checked against a dozen tables. Almost every phrase
contains a run of plain characters that any match must contain ("blocked using " in
``blocked using ``, ":blocked)" in ``\\(.{0,60}@.{0,60}:blocked\\)``): ``PhraseSet`` first
asks whether any of those runs occurs in the text (a substring test in C per phrase) and
runs a phrase's regex only when its run is there. Phrases without a usable run stay in
one ordinary alternation. The answer is the alternation's, exactly: a phrase whose run is
absent cannot match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping
from itertools import compress
from typing import Any, Generic, TypeVar

__all__ = ["PhraseSet", "PhraseTable", "alt", "literal_run", "run_weight"]

#: Shorter runs filter too little to be worth a test of their own.
MIN_RUN = 3
# A quantifier (greedy, lazy or possessive) after an atom
_QUANTIFIER = re.compile(r"(?:[*+?]|\{\d*(?:,\d*)?\})[?+]?")
# Escapes whose length this reader does not work out (hex, named, octal, back-references)
_LONG_ESCAPES = frozenset("xuUN0123456789")
#: A pattern without regex syntax: it matches exactly its own text (most phrases)
_PLAIN = re.compile(r"[^.^$*+?{}\[\]\\|()]*")
# Characters that ``_atom`` reads as plain, several at a time (one C call, not one per char)
_PLAIN_CHARS = re.compile(r"[^.^$*+?{}\[\]\\|()]+")


def _skip_group(pattern: str, i: int) -> int:
    """The index after the group or character class that starts at ``pattern[i]``."""
    depth = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # "[]...]": a leading "]" is a member
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth == 0 and not in_class:
            return i + 1
        i += 1
    return i


def _atom(pattern: str, i: int) -> tuple[str | None, int]:
    """The atom at ``pattern[i]``: (its character if it is a plain one, the index after it).

    Raises ValueError for what this reader does not follow (a top-level alternation, long
    escapes, stray quantifiers), so that the phrase is used unguarded.
    """
    char = pattern[i]
    if char == "\\":
        escaped = pattern[i + 1 : i + 2]
        if not escaped or escaped in _LONG_ESCAPES:
            raise ValueError(pattern)
        return (None if escaped.isalnum() else escaped), i + 2  # \d, \b ... are not plain
    if char in "([":
        return None, _skip_group(pattern, i)
    if char in ".^$":
        return None, i + 1
    if char in "|*+?{})]":
        raise ValueError(pattern)
    return char, i + 1


def _runs(pattern: str) -> list[str]:
    """Runs of plain characters at the top level of ``pattern``; every match contains each
    of them. Raises ValueError (see ``_atom``)."""
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(pattern):
        chars = _PLAIN_CHARS.match(pattern, i)
        if chars is not None:
            end = chars.end()
            if _QUANTIFIER.match(pattern, end) is None:
                run.append(chars.group())
                i = end
                continue
            if end - i > 1:  # all but the last, which the quantifier applies to
                run.append(pattern[i : end - 1])
                i = end - 1
        literal, i = _atom(pattern, i)
        quantifier = _QUANTIFIER.match(pattern, i)
        if quantifier is not None:
            i = quantifier.end()
            # a quantified atom may be absent ("?", "*", "{0,n}") or repeated: it ends the
            # run before it; after "+" it is there at least once and starts the next run
            runs.append("".join(run))
            run = [literal] if literal is not None and quantifier.group() == "+" else []
        elif literal is None:
            runs.append("".join(run))
            run = []
        else:
            run.append(literal)
    runs.append("".join(run))
    return runs


def literal_run(pattern: str) -> str:
    """The longest run of plain characters that every match of ``pattern`` contains
    (escapes undone), or "" when there is none."""
    if _PLAIN.fullmatch(pattern):
        return pattern
    try:
        return max(_runs(pattern), key=len)
    except ValueError:
        return ""


def run_weight(run: str) -> int:
    """How well ``run`` filters: its length in UTF-8 bytes, so that a two-character CJK
    word ("超时", six bytes) counts as the distinctive run it is and "ab" does not."""
    return len(run.encode("utf-8"))


def _alternation(parts: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


def _inner_words(run: str) -> tuple[str, ...]:
    """The words of ``run`` with a space on each side inside ``run``.

    Such a word is a whole whitespace-separated token of any text the phrase matches, so
    a set lookup among the text's tokens can stand in for the substring test.
    """
    words = run.split(" ")
    return tuple(w for k, w in enumerate(words) if 0 < k < len(words) - 1 and w)


def _key_word(run: str) -> str:
    """The longest inner word of ``run`` (see ``_inner_words``), or ""."""
    return max(_inner_words(run), key=len, default="")


class _Phrase:
    """One phrase, compiled the first time its run is found (most never are: compiling
    all of them would add tens of milliseconds to every process's start). A phrase without
    regex syntax is its own run and is never compiled: the substring test is its answer."""

    __slots__ = ("_regex", "inner", "plain", "run", "source")

    def __init__(self, run: str, source: str) -> None:
        self.run = run
        self.source = source
        self.plain = run == source  # a syntax character would have cut or changed the run
        self.inner = _inner_words(run)
        self._regex: re.Pattern[str] | None = None

    def search(self, text: str) -> bool:
        return self.run in text and self.matches(text)

    def matches(self, text: str) -> bool:
        """The regex's answer (``search`` first checks that the run is there)."""
        regex = self._regex
        if regex is None:
            if self.plain:
                return self.run in text
            regex = self._regex = re.compile(self.source)
        return regex.search(text) is not None


class PhraseSet:
    """``alt(parts)``: answers ``search`` as the compiled alternation of ``parts`` does.

    Phrases are filed three ways: by a key word that must be one of the text's tokens,
    by a plain run that must occur in the text, or (neither) in one plain alternation.
    """

    __slots__ = ("_by_word", "_loose", "_loose_runs", "_pattern", "_unguarded", "_words", "parts")

    def __init__(self, parts: Iterable[str]) -> None:
        self.parts = tuple(parts)
        self._pattern: re.Pattern[str] | None = None
        # filed on the first search: reading the runs of ~500 phrases costs ~10 ms, which
        # a process that never classifies a bounce need not pay at start
        self._words: frozenset[str] | None = None
        self._by_word: dict[str, list[_Phrase]] = {}
        self._loose: tuple[_Phrase, ...] = ()
        self._loose_runs: tuple[str, ...] = ()
        self._unguarded: re.Pattern[str] | None = None

    def _file(self) -> frozenset[str]:
        by_word: dict[str, list[_Phrase]] = {}
        loose: list[_Phrase] = []
        rest: list[str] = []
        for part in self.parts:
            run = literal_run(part)
            if run_weight(run) < MIN_RUN:
                rest.append(part)
            elif word := _key_word(run):
                by_word.setdefault(word, []).append(_Phrase(run, part))
            else:
                loose.append(_Phrase(run, part))
        self._by_word = by_word
        self._loose = tuple(loose)
        self._loose_runs = tuple(phrase.run for phrase in loose)
        self._unguarded = _alternation(rest) if rest else None
        self._words = frozenset(by_word)
        return self._words

    def keyed(self) -> dict[str, list[_Phrase]]:
        """The phrases that have a key word, by key word."""
        if self._words is None:
            self._file()
        return self._by_word

    def unkeyed(self) -> tuple[tuple[_Phrase, ...], tuple[str, ...], re.Pattern[str] | None]:
        """The loose phrases, their runs, and the alternation of the phrases with neither."""
        if self._words is None:
            self._file()
        return self._loose, self._loose_runs, self._unguarded

    @property
    def pattern(self) -> re.Pattern[str]:
        """The plain alternation of the phrases (for reference and the equivalence tests)."""
        if self._pattern is None:
            self._pattern = _alternation(self.parts)
        return self._pattern

    def search(self, text: str, words: Collection[str] | None = None) -> bool:
        """True if some phrase occurs in ``text`` (as ``pattern.search`` would find).

        ``words`` is ``text.split()`` (a list or a set) when the caller has it (several tables are
        asked about the same text).
        """
        keys = self._words if self._words is not None else self._file()
        if words is None:
            words = text.split()
        if not keys.isdisjoint(words):
            for word in keys.intersection(words):
                if any(phrase.search(text) for phrase in self._by_word[word]):
                    return True
        return self.search_unkeyed(text)

    def search_unkeyed(self, text: str) -> bool:
        """True if one of the phrases without a key word occurs in ``text``."""
        if self._words is None:
            self._file()
        # the loose phrases whose run is in the text, picked in C
        for phrase in compress(self._loose, map(text.__contains__, self._loose_runs)):
            if phrase.matches(text):
                return True
        return self._unguarded is not None and self._unguarded.search(text) is not None


_L = TypeVar("_L", bound=Hashable)


class PhraseTable(Generic[_L]):
    """Several labelled ``PhraseSet``s asked about one text.

    ``keyed`` finds, for all labels at once, those with a keyed phrase in the text (one
    look-up of the text's words); ``unkeyed`` answers for one label's other phrases. A
    label's set says yes exactly when the label is keyed or its unkeyed phrases say yes.
    Here a keyed phrase is filed under its inner word that the fewest phrases of all the
    tables share ("mailbox" and "address" are in many; a rarer word brings fewer
    candidates to check).
    """

    __slots__ = (
        "_by_word",
        "_loose_groups",
        "_loose_runs",
        "_separators",
        "_sets",
        "_unguarded",
        "_unkeyed",
        "_words",
    )

    def __init__(self, sets: Mapping[_L, PhraseSet], separators: str = "") -> None:
        self._sets = dict(sets)
        # characters that split tokens: a word holding one is no key when the caller looks
        # keys up among tokens split at them (``parsers.phrases.lang.tokens``)
        self._separators = frozenset(separators)
        self._words: frozenset[str] | None = None  # filed on first use, as PhraseSet
        self._by_word: dict[str, list[tuple[_L, _Phrase]]] = {}
        self._unkeyed: dict[_L, tuple[tuple[tuple[_Phrase, ...], ...], tuple[str, ...], Any]] = {}
        # every label's phrases without a key word, by run, for ``labels``
        self._loose_groups: tuple[tuple[tuple[_L, _Phrase], ...], ...] = ()
        self._loose_runs: tuple[str, ...] = ()
        self._unguarded: tuple[tuple[_L, re.Pattern[str]], ...] = ()

    def _file(self) -> frozenset[str]:
        keyed = [
            (label, phrase)
            for label, phrases in self._sets.items()
            for listed in phrases.keyed().values()
            for phrase in listed
        ]
        counts = Counter(word for _, phrase in keyed for word in set(phrase.inner))
        spilled: dict[_L, list[_Phrase]] = {}  # no inner word is a token: found by run
        for label, phrase in keyed:
            inner = [w for w in phrase.inner if self._separators.isdisjoint(w)]
            if not inner:
                spilled.setdefault(label, []).append(phrase)
                continue
            word = min(inner, key=lambda w: (counts[w], -len(w), w))
            self._by_word.setdefault(word, []).append((label, phrase))
        everyone: dict[str, list[tuple[_L, _Phrase]]] = {}
        for label, phrases in self._sets.items():
            loose, _runs, unguarded = phrases.unkeyed()
            loose = (*loose, *spilled.get(label, ()))
            by_run: dict[str, list[_Phrase]] = {}
            for phrase in loose:  # phrases that share a run are looked for once
                by_run.setdefault(phrase.run, []).append(phrase)
                everyone.setdefault(phrase.run, []).append((label, phrase))
            if loose or unguarded is not None:
                groups = tuple(tuple(listed) for listed in by_run.values())
                self._unkeyed[label] = (groups, tuple(by_run), unguarded)
        self._loose_groups = tuple(tuple(listed) for listed in everyone.values())
        self._loose_runs = tuple(everyone)
        self._unguarded = tuple(
            (label, unguarded)
            for label, (_groups, _runs, unguarded) in self._unkeyed.items()
            if unguarded is not None
        )
        self._words = frozenset(self._by_word)
        return self._words

    def keyed(self, text: str, words: Collection[str]) -> set[_L]:
        """Labels with a keyed phrase in ``text`` (``words``: ``text.split()``)."""
        keys = self._words if self._words is not None else self._file()
        found: set[_L] = set()
        for word in keys.intersection(words):
            for label, phrase in self._by_word[word]:
                if label not in found and phrase.run in text and phrase.matches(text):
                    found.add(label)
        return found

    def labels(self, text: str, words: Collection[str]) -> set[_L]:
        """Every label with a phrase in ``text``: ``keyed`` and each label's ``unkeyed`` in
        one pass over the runs of all labels (cheaper than asking label by label when a
        text is asked about most of them)."""
        found = self.keyed(text, words)
        for group in compress(self._loose_groups, map(text.__contains__, self._loose_runs)):
            for label, phrase in group:
                if label not in found and phrase.matches(text):
                    found.add(label)
        for label, unguarded in self._unguarded:
            if label not in found and unguarded.search(text):
                found.add(label)
        return found

    def unkeyed(self, label: _L, text: str) -> bool:
        """True if one of ``label``'s phrases without a key word is in ``text``."""
        if self._words is None:
            self._file()
        entry = self._unkeyed.get(label)
        if entry is None:
            return False
        groups, runs, unguarded = entry
        for group in compress(groups, map(text.__contains__, runs)):
            if any(phrase.matches(text) for phrase in group):
                return True
        return unguarded is not None and unguarded.search(text) is not None


def alt(parts: Iterable[str]) -> PhraseSet:
    """One matcher for the alternation of ``parts`` (regexes over lower-cased text)."""
    return PhraseSet(parts)
