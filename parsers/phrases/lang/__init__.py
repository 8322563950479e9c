"""Bounce phrases in languages other than English, one module per language, by meaning.

Localised MTAs (Exchange writes its NDRs in the sender's or the server's language),
administrators' own bounce templates (Postfix ``bounce_template_file``, Exim
``bounce_message_file``), national mailbox providers (Orange and La Poste in French, GMX,
Web.de and T-Online in German, Mail.ru and Yandex in Russian, QQ and NetEase in Chinese,
Japanese carriers and webmail) and remote servers' own answers say what English ones say
in their own words. Each module maps a ``Reason`` to lower-case phrase regexes, written
for text that ``parsers.phrases.fold`` has folded: Latin letters without accents ("boite",
"empfanger", "usuario"), Cyrillic ``ё`` as ``е``; CJK is left as it is. Phrases are
meanings as people write them ("utilisateur inconnu", "Postfach voll"), not sentences of
one sample.

Matching (``WordTable``): phrases of space-separated languages match whole words only and
are filed under one of their literal words, so a diagnostic costs one word split and a set
intersection however many phrases there are (a substring test per phrase cost more than all
the English tables together). CJK phrases have no word boundaries; they are looked for by
their plain run, and only in text that is not ASCII.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from itertools import chain, compress, product

from parsers.phrases.compile import literal_run
from parsers.phrases.lang import de, es, fr, it, ja, pt, ru, zh
from parsers.records import Reason

__all__ = [
    "ENGLISH",
    "LANGUAGES",
    "PATTERNS",
    "SEPARATORS",
    "WordTable",
    "english_words",
    "expand",
    "filed_as",
    "tokens",
]

LANGUAGES = {"fr": fr, "de": de, "es": es, "pt": pt, "it": it, "ja": ja, "ru": ru, "zh": zh}


# What ``expand`` multiplies out: a group of plain alternatives, required ("(?:a|b)") or
# optional ("(?:ist )?"), a class of plain letters ("[oa]"), an optional letter ("e?"; the
# "?" is tested first, as it is rarer than a letter: a split takes a third less time)
_GROUP = re.compile(
    r"\(\?:([^()\\]*)\)(\?)?(?![*+{])|\[([^\W\d_]+)\](?![?*+{])|(?=.\?)([^\W\d_])\?"
)
#: Alternatives one phrase may expand into at most.
MAX_EXPANSION = 256


def _options(
    group: str | None, optional: str | None, letters: str | None, letter: str | None
) -> list[str]:
    """What one ``_GROUP`` match (its four groups, as ``_GROUP.split`` gives them) may be."""
    if letters is not None:
        return list(letters)
    if letter is not None:
        return [letter, ""]
    options = group.split("|") if group is not None else [""]
    return ["", *options] if optional else options


def expand(pattern: str) -> list[str]:
    """``pattern`` with its plain alternations multiplied out, as separate phrases.

    "(?:benutzer|empfanger) (?:ist )?unbekannt" becomes "benutzer unbekannt", "benutzer
    ist unbekannt", "empfanger unbekannt" and "empfanger ist unbekannt": plain words that
    ``WordTable`` files each phrase under. A phrase that would make more than
    ``MAX_EXPANSION`` stays as it is.
    """
    if "(" not in pattern and "[" not in pattern and "?" not in pattern:
        return [pattern]  # nothing to multiply out (most alternatives of a phrase set)
    # the innermost groups first ("(?:adresse (?:de l'|d')?expediteur|...)"), then the
    # groups they were inside; each level is one product over the pattern's pieces, which
    # one split gives: the text before each match, its four groups, ..., the text after
    current = [pattern]
    pieces = _GROUP.split(pattern)
    while len(pieces) > 1:
        expanded: list[str] = []
        for n, text in enumerate(current):
            if n:
                pieces = _split(text)
            choices: list[list[str]] = [[pieces[0]]]
            total = 1
            for at in range(1, len(pieces), 5):
                options = _options(*pieces[at : at + 4])
                total *= len(options)
                choices += (options, [pieces[at + 4]])
            if len(expanded) + total > MAX_EXPANSION:
                return [pattern]
            expanded.extend(map("".join, product(*choices)))
        current = expanded
        pieces = _split(current[0])
    return current


def _split(text: str) -> list[str]:
    """``_GROUP.split(text)``, without the regex when ``text`` has no "(", "[" or "?" (an
    alternative with no group left, as many are once a level is multiplied out)."""
    if "(" in text or "[" in text or "?" in text:
        return _GROUP.split(text)
    return [text]


def _merge() -> dict[Reason, list[str]]:
    merged: dict[Reason, dict[str, None]] = {}  # an ordered set per reason
    for module in LANGUAGES.values():
        for reason, phrases in module.PATTERNS.items():
            merged.setdefault(reason, {}).update(dict.fromkeys(phrases))
    return {reason: list(phrases) for reason, phrases in merged.items()}


#: Every language's phrases by reason, in ``LANGUAGES`` order.
PATTERNS: dict[Reason, list[str]] = _merge()


# Characters that separate a text's tokens besides white space ("(state", "l'adresse",
# "e-mail-adresse", "php#rl000001", "ofr_416"); "." and ":" join ("5.7.606", "hl:ifc")
SEPARATORS = "()[]<>{},;!?\"'`*#/_-=&|"
_SEPARATORS = str.maketrans(dict.fromkeys(SEPARATORS, " "))
_ASCII_SEPARATORS = bytes.maketrans(SEPARATORS.encode(), b" " * len(SEPARATORS))


#: What sentences put after a word ("failure:", "said.", "5.7.606..."): a key is filed with
#: each ending too, so that looking tokens up needs no stripping (see ``filed_as``).
KEY_ENDINGS = ("", ".", ":", "..", "...", ".:")


def tokens(text: str) -> list[str]:
    """The tokens the word-keyed tables look up in ``text``: white space and the
    ``_SEPARATORS`` split ("." and ":" stay: a key is filed with its ``KEY_ENDINGS``).

    A list, not a set: ``frozenset.intersection`` takes it as it is, and building a set of
    every diagnostic's words cost more than the lookups.
    """
    if text.isascii():  # most diagnostics: bytes.translate is several times faster
        return text.encode().translate(_ASCII_SEPARATORS).decode().split()
    return text.translate(_SEPARATORS).split()


def filed_as(key: str) -> tuple[str, ...]:
    """``key`` with each of ``KEY_ENDINGS``: the tokens it can be found as."""
    return tuple(key + ending for ending in KEY_ENDINGS)


_TEXT_WORD = re.compile(r"[^\W\d_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


# Escapes and character classes: an escaped bracket separates tokens ("\\(state 14\\)");
# any other escape (\\s, \\w, \\.) or a class makes the word it touches no plain word
_SYNTAX = re.compile(r"\\[()\[\]]|\\.|\[(?:\\.|[^\]\\])*\]")
_INNERMOST_GROUP = re.compile(r"\([^()]*\)")


def _no_syntax(match: re.Match[str]) -> str:
    text = match.group(0)
    return " " if text[0] == "\\" and text[1] in "()[]" else "\x00"


def _key_words(phrase: str) -> list[str]:
    """The plain words every match of a phrase source holds as tokens: words of two
    letters or more outside any group, character class or escape, bounded by spaces, an
    escaped bracket or the phrase's ends ("(?:der )?empfanger ist unbekannt" has "ist"
    and "unbekannt"; "benutzers?" and "\\w+" have none)."""
    if "\\" in phrase or "[" in phrase:
        phrase = _SYNTAX.sub(_no_syntax, phrase)
    while "(" in phrase:
        phrase, found = _INNERMOST_GROUP.subn("\x00", phrase)
        if not found:  # an unbalanced bracket: no word is sure
            return []
    return [w for w in phrase.split(" ") if len(w) >= 2 and w.isalpha()]


class _Word:
    """One phrase: matches as a whole word sequence, compiled on first use.

    Its plain run is looked for first (a regex that starts with a look-behind is tried
    at every place of the text; a substring test is not): most candidates a key word
    brings are not there.
    """

    __slots__ = ("_regex", "_run", "bounded", "phrase")

    def __init__(self, phrase: str, *, bounded: bool = True) -> None:
        self.phrase = phrase
        self.bounded = bounded  # matched as whole words (not CJK, which has no spaces)
        self._run: str | None = None  # read on first use, as the regex (most never are)
        self._regex: re.Pattern[str] | None = None

    @property
    def source(self) -> str:
        """The regex: the phrase between word boundaries, or as it is."""
        return rf"(?<!\w)(?:{self.phrase})(?!\w)" if self.bounded else self.phrase

    def search(self, text: str) -> bool:
        run = self._run
        if run is None:
            phrase = self.phrase  # a phrase without regex syntax is its own run
            run = self._run = literal_run(phrase)  # a phrase without syntax is its own
        if run not in text:
            return False
        if self._regex is None:
            self._regex = re.compile(self.source)
        return self._regex.search(text) is not None


class WordTable:
    """Which reasons' phrases occur in a folded, lower-cased text (see the module docstring)."""

    __slots__ = ("_by_word", "_cjk", "_cjk_runs", "_keys", "_loose")

    def __init__(self, patterns: dict[Reason, list[str]], vocabulary: frozenset[str]) -> None:
        """File each alternative of each phrase (see the class docstring).

        Every process that imports ``parsers.phrases`` builds the foreign table (some 4,300
        alternatives): its loops hand the work per alternative to C where that reads as
        plainly (``chain``/``map``, ``min`` over ranks, one comprehension for the endings),
        and ``expand`` splits only what can hold a group: 141 -> 120 million instructions.
        """
        cjk: dict[str, list[tuple[Reason, _Word]]] = {}
        self._loose: list[tuple[Reason, _Word]] = []
        # the alternatives with key words: their reasons, sources and words
        keyed_reasons: list[Reason] = []
        keyed_sources: list[str] = []
        keyed_words: list[list[str]] = []
        for reason, phrases in patterns.items():
            # each phrase multiplied out: an alternative is filed under a word of its own
            # (filing the phrase whole under a word all its alternatives share reads it
            # more often and costs more than the alternatives' regexes)
            for one in dict.fromkeys(chain.from_iterable(map(expand, phrases))):
                if not one.isascii() and _CJK.search(one):  # looked for by its plain run
                    run = literal_run(one)
                    cjk.setdefault(run, []).append((reason, _Word(one, bounded=False)))
                elif words := _key_words(one):
                    keyed_reasons.append(reason)
                    keyed_sources.append(one)
                    keyed_words.append(words)
                else:
                    self._loose.append((reason, _Word(one)))
        counts = Counter(chain.from_iterable(map(set, keyed_words)))
        # the key is a word diagnostics rarely hold: not a common English one ("unbekannt",
        # not "user"), not one the English tables use ("envelope", not "expired"), the
        # longest, then the one fewest phrases share (each word ranked once)
        ranked = sorted(
            counts,
            key=lambda w: (w in ENGLISH, w in vocabulary, -len(w), counts[w], w),
        )
        rank = {word: n for n, word in enumerate(ranked)}.__getitem__
        by_word: dict[str, list[tuple[Reason, _Word]]] = {}
        for reason, one, words in zip(keyed_reasons, keyed_sources, keyed_words, strict=True):
            key = ranked[min(map(rank, words))]  # its word of the lowest rank
            by_word.setdefault(key, []).append((reason, _Word(one)))
        # each key with its endings (``filed_as``: "unbekannt.", "unbekannt:"), sharing its list
        by_word.update(
            {key + ending: listed for key, listed in by_word.items() for ending in KEY_ENDINGS[1:]}
        )
        self._by_word = by_word
        self._keys = frozenset(by_word)
        # phrases that share a run are looked for once
        self._cjk = tuple(tuple(listed) for listed in cjk.values())
        self._cjk_runs = tuple(cjk)

    def reasons(self, text: str, keys: Collection[str] | None = None) -> set[Reason]:
        """Every reason with a phrase in ``text`` (lower-cased and ``fold``-ed); ``keys`` is
        ``tokens(text)`` when the caller has it."""
        found: set[Reason] = set()
        if not text.isascii() and _CJK.search(text) is not None:
            for group in compress(self._cjk, map(text.__contains__, self._cjk_runs)):
                for reason, phrase in group:
                    if reason not in found and phrase.search(text):
                        found.add(reason)
        if keys is None:
            keys = tokens(text)
        for word in self._keys.intersection(keys):
            for reason, phrase in self._by_word[word]:
                if reason not in found and phrase.search(text):
                    found.add(reason)
        for reason, phrase in self._loose:
            if reason not in found and phrase.search(text):
                found.add(reason)
        return found


#: Words of English diagnostics, never chosen as a key when a phrase has another word.
ENGLISH = frozenset(
    {"the", "to", "of", "is", "not", "and", "for", "from", "with", "by", "on", "in", "at"}
    | {"this", "that", "your", "you", "was", "has", "been", "are", "be", "host", "mail", "ip"}
    | {"message", "server", "address", "domain", "user", "recipient", "mailbox", "email", "e"}
    | {"spam", "relay", "account", "error", "quota", "delivery", "connection", "timeout"}
    | {"rejected", "blocked", "virus", "dns", "smtp", "list", "policy", "blacklist", "spf"}
    | {"dkim", "dmarc", "limit", "too", "many", "data", "name"}
)


def english_words(sources: list[str]) -> frozenset[str]:
    """Words of the English phrase sources, with ``ENGLISH``."""
    return ENGLISH | frozenset(w for s in sources for w in _TEXT_WORD.findall(s.lower()))
