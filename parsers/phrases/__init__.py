"""What remote servers write when they refuse mail, grouped by bounce reason.

Each reason has one compiled alternation over lower-cased, whitespace-collapsed diagnostic
text. The phrases are the recurring wordings of real MTAs and mailbox providers (Postfix,
Sendmail, Exim, qmail, Exchange, Courier, Dovecot, the large webmail providers); the grouping
follows the reason taxonomy of Sisimai 5 (BSD-2-Clause), which our labelled corpus uses.
Patterns are deliberately phrase-level, never a whole sample's sentence, so that they carry
over to messages we have not seen. A comment names the MTA or provider a phrase comes from
where that is not obvious.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

from parsers.phrases import content, lang, local, recipient, sender, system
from parsers.phrases.compile import PhraseSet, PhraseTable, alt
from parsers.records import Reason

__all__ = ["LOCAL", "PHRASES", "Diagnostic", "fold", "matches"]


_R = Reason


def _fold_table() -> dict[int, str]:
    """Latin letters with diacritics -> without; typographic apostrophe and NBSP -> ASCII."""
    table: dict[int, str] = {}
    for code in range(0xA0, 0x250):
        decomposed = unicodedata.normalize("NFKD", chr(code))
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base != chr(code) and base.isascii() and base:
            table[code] = base
    table.update({ord("\u2019"): "'", ord("\u2018"): "'", ord("ё"): "е", ord("Ё"): "Е"})
    table[ord("ß")] = "ss"  # no decomposition: "groß" is written "gross" as often
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """``text`` as the phrase tables are written: Latin letters without accents ("boîte
    pleine" -> "boite pleine", "Empfänger" -> "Empfanger"), "ß" as "ss", ``ё`` as ``е``.
    Writers drop accents as often as they keep them; folding both sides lets one phrase
    match either. CJK, Cyrillic and Greek letters are left as they are."""
    return text if text.isascii() else text.translate(_FOLD)


#: English phrases by meaning; ``lang`` has the same meanings in other languages.
PHRASES: dict[Reason, PhraseSet] = {
    **recipient.PATTERNS,
    **sender.PATTERNS,
    **content.PATTERNS,
    **system.PATTERNS,
}

# Words the English tables use are everywhere in diagnostics: a phrase is filed under
# another one of its words when it has one ("envelope expired" under "envelope").
_ENGLISH = lang.english_words([p for phrases in PHRASES.values() for p in phrases.parts])
_FOREIGN = lang.WordTable(lang.PATTERNS, _ENGLISH)
_LOCAL = lang.WordTable(local.PATTERNS, _ENGLISH)

#: Texts that look like a rejected sender but are about the recipient or the client IP.
_NOT_REJECTED = alt(
    [r"5\.1\.0 address rejected", r"recipient address rejected", r"sender ip address rejected"]
)


def matches(reason: Reason, text: str, words: Collection[str] | None = None) -> bool:
    """True if lower-cased ``text`` contains a phrase that signals ``reason``.

    ``words``, ``text.split()`` (a list or a set), saves splitting the text again when the caller
    asks about several reasons.
    """
    text = fold(text)
    if words is None:
        words = text.split()
    if reason is _R.REJECTED and _NOT_REJECTED.search(text, words):
        return False
    phrases = PHRASES.get(reason)
    if phrases is not None and phrases.search(text, words):
        return True
    return reason in _FOREIGN.reasons(text)


_TABLE = PhraseTable(PHRASES, lang.SEPARATORS)
#: The reporting MTAs' own verdicts (``local``), in the order they are tried.
LOCAL: dict[Reason, list[str]] = local.PATTERNS


class Diagnostic:
    """One lower-cased diagnostic asked about several reasons (``says`` is ``matches``).

    Every table is read once, on the first question (``_read``): its words are split
    once for all of them, and ``tokens`` is shared with the reporting MTA's verdicts and
    the provider codes.
    """

    __slots__ = ("_found", "_tokens", "text")

    def __init__(self, text: str) -> None:
        text = fold(text)
        self.text = text
        self._found: set[Reason] | None = None
        self._tokens: list[str] | None = None

    @property
    def tokens(self) -> list[str]:
        """The words as the word-keyed tables look them up (``lang.tokens``)."""
        if self._tokens is None:
            self._tokens = lang.tokens(self.text)
        return self._tokens

    def verdict(self) -> Reason | None:
        """The reporting MTA's own verdict (``local``), if the text carries one."""
        found = _LOCAL.reasons(self.text, self.tokens)
        return next((r for r in LOCAL if r in found), None) if found else None

    def says(self, reason: Reason) -> bool:
        """``matches(reason, self.text)``: every table is read once, on the first question."""
        found = self._found
        if found is None:
            found = self._found = self._read()
        return reason in found

    def _read(self) -> set[Reason]:
        tokens = self.tokens  # _TABLE's keys are whole tokens (it is filed to be)
        found = _TABLE.labels(self.text, tokens)
        found |= _FOREIGN.reasons(self.text, tokens)
        if _R.REJECTED in found and _NOT_REJECTED.search(self.text):
            found.discard(_R.REJECTED)
        return found
