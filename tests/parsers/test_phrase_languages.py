"""Phrase tables by meaning and language (issue 18, point 1).

Each language module says what the English tables say, in the words localised MTAs, ISPs
and administrators' templates use. These tests check the machinery (folding, expansion,
keyed look-up) and, per language, that the usual wordings of each meaning are read as it,
whatever the accents, case and surrounding text.
"""

from __future__ import annotations

import re

import pytest

from parsers.classify import classify
from parsers.dsn import Failure
from parsers.phrases import _ENGLISH, Diagnostic, fold, lang, local, matches
from parsers.phrases.lang import (
    LANGUAGES,
    PATTERNS,
    WordTable,
    _key_words,
    expand,
    filed_as,
    tokens,
)
from parsers.records import Reason

_R = Reason

# Sentences as remote servers, localised MTAs and ISPs write them, by language and meaning
SENTENCES: dict[str, list[tuple[str, Reason]]] = {
    "fr": [
        ("550 5.1.1 <x@y.fr>: Adresse d'au moins un destinataire invalide", _R.USER_UNKNOWN),
        ("L'utilisateur n'existe pas", _R.USER_UNKNOWN),
        ("La boîte aux lettres du destinataire est pleine", _R.MAILBOX_FULL),
        ("Le domaine de destination est introuvable", _R.HOST_UNKNOWN),
        ("Message refusé : contenu indésirable (spam)", _R.SPAM_DETECTED),
    ],
    "de": [
        ("Der Empfänger ist unbekannt", _R.USER_UNKNOWN),
        ("Empfaenger existiert nicht", _R.USER_UNKNOWN),
        ("Das Postfach des Empfängers ist voll", _R.MAILBOX_FULL),
        ("Die Nachricht ist zu groß", _R.MESG_TOO_BIG),
    ],
    "es": [
        ("El usuario no existe", _R.USER_UNKNOWN),
        ("El buzón del destinatario está lleno", _R.MAILBOX_FULL),
        ("Dominio desconocido", _R.HOST_UNKNOWN),
    ],
    "pt": [
        ("O usuário não existe", _R.USER_UNKNOWN),
        ("A caixa de correio do destinatário está cheia", _R.MAILBOX_FULL),
    ],
    "it": [
        ("Utente sconosciuto", _R.USER_UNKNOWN),
        ("La casella del destinatario è piena", _R.MAILBOX_FULL),
    ],
    "ja": [
        ("宛先のユーザーは存在しません", _R.USER_UNKNOWN),
        ("メールボックスの容量が一杯です", _R.MAILBOX_FULL),
    ],
    "ru": [
        ("Пользователь не найден", _R.USER_UNKNOWN),
        ("Почтовый ящик переполнен", _R.MAILBOX_FULL),
    ],
    "zh": [
        ("收件人不存在", _R.USER_UNKNOWN),
        ("收件人邮箱已满", _R.MAILBOX_FULL),
    ],
}


def test_every_language_is_listed_and_has_user_unknown_and_mailbox_full() -> None:
    assert set(LANGUAGES) == {"fr", "de", "es", "pt", "it", "ja", "ru", "zh"}
    for name, module in LANGUAGES.items():
        assert _R.USER_UNKNOWN in module.PATTERNS, name
        assert _R.MAILBOX_FULL in module.PATTERNS, name
    assert set(SENTENCES) == set(LANGUAGES)


def test_phrases_are_written_folded_and_lower_case() -> None:
    for reason, phrases in PATTERNS.items():
        for phrase in phrases:
            letters = re.sub(r"\\[A-Za-z]", "", phrase)  # regex escapes (\S, \W) aside
            assert letters == fold(letters.lower()), (reason, phrase)


@pytest.mark.parametrize(
    ("language", "sentence", "reason"),
    [(lang_, s, r) for lang_, pairs in SENTENCES.items() for s, r in pairs],
)
def test_meaning_is_read_in_each_language(language: str, sentence: str, reason: Reason) -> None:
    for text in (sentence, sentence.upper(), f"smtp; 550 {sentence}. (in reply to DATA)"):
        assert Diagnostic(text.lower()).says(reason), (language, text)
        assert matches(reason, text.lower()), (language, text)


def test_fold() -> None:
    assert fold("boîte pleine") == "boite pleine"
    assert fold("Empfänger") == "Empfanger"
    assert fold("zu groß") == "zu gross"
    assert fold("l\u2019adresse") == "l'adresse"
    assert fold("ещё") == "еще"
    assert fold("宛先") == "宛先"
    assert fold("plain ascii") == "plain ascii"


def test_expand_multiplies_plain_alternatives() -> None:
    got = expand(r"(?:benutzer|empfanger) (?:ist )?unbekannt")
    assert sorted(got) == sorted(
        [
            "benutzer unbekannt",
            "benutzer ist unbekannt",
            "empfanger unbekannt",
            "empfanger ist unbekannt",
        ]
    )
    assert expand("bo[iî]te") == ["boite", "boîte"]
    assert expand("plain") == ["plain"]
    # a pattern that would make too many alternatives stays as it is
    huge = " ".join(["(?:a|b|c|d)"] * 6)
    assert expand(huge) == [huge]


def test_tokens_split_on_separators_and_keys_are_filed_with_sentence_endings() -> None:
    found = set(tokens("l'adresse (state 14). php#rl000001 ofr_416 5.7.606: said."))
    assert {"adresse", "state", "rl000001", "ofr", "416", "5.7.606:", "said."} <= found
    assert filed_as("unbekannt") == tuple(
        "unbekannt" + e for e in ("", ".", ":", "..", "...", ".:")
    )


def test_word_table_finds_a_phrase_however_the_sentence_ends() -> None:
    table = WordTable({_R.USER_UNKNOWN: ["benutzer unbekannt"]}, frozenset())
    texts = (
        "benutzer unbekannt",
        "benutzer unbekannt.",
        "(benutzer unbekannt)",
        "x: benutzer unbekannt...",
    )
    for text in texts:
        assert table.reasons(text) == {_R.USER_UNKNOWN}, text
    assert table.reasons("benutzerunbekannt") == set()
    assert table.reasons("unbekannt benutzer") == set()


def test_cjk_phrases_are_found_without_word_boundaries() -> None:
    table = WordTable({_R.MAILBOX_FULL: ["邮箱已满"]}, frozenset())
    assert table.reasons("550 收件人邮箱已满,请稍后再试") == {_R.MAILBOX_FULL}


def test_english_words_never_key_a_foreign_phrase() -> None:
    # "user" is everywhere in English diagnostics: the German phrase is filed under its
    # German word, so an English text never reaches its regex
    table = WordTable({_R.USER_UNKNOWN: ["user unbekannt"]}, lang.ENGLISH)
    assert table.reasons("user unknown") == set()
    assert table.reasons("user unbekannt") == {_R.USER_UNKNOWN}


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        ("Der Empfänger ist unbekannt", _R.USER_UNKNOWN),
        ("Почтовый ящик переполнен", _R.MAILBOX_FULL),
        ("收件人不存在", _R.USER_UNKNOWN),
    ],
)
def test_a_foreign_diagnostic_without_codes_is_classified(diagnostic: str, reason: Reason) -> None:
    got = classify(Failure(address="x@example.org", diagnostic=diagnostic, command="RCPT"))
    assert got.reason is reason


def test_every_plain_alternative_of_every_phrase_is_found() -> None:
    # each phrase multiplied out: an alternative with no regex syntax left is text as a
    # writer would put it; the table (which files most phrases unexpanded, under a word
    # every match holds) must find each one, alone and inside a sentence
    plain = re.compile(r"[^.^$*+?{}\[\]\\|()]*")
    table = WordTable(PATTERNS, lang.ENGLISH)
    checked = 0
    for reason, phrases in PATTERNS.items():
        for phrase in phrases:
            for one in expand(phrase):
                if not plain.fullmatch(one):
                    continue
                for text in (one, f"550 5.0.0 {one}.", f"x: {one} (y)"):
                    assert reason in table.reasons(text), (reason, phrase, text)
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("patterns", [PATTERNS, local.PATTERNS], ids=["foreign", "local"])
def test_every_alternative_is_filed_once_under_a_key_word_of_its_own(
    patterns: dict[Reason, list[str]],
) -> None:
    # how WordTable files (what a faster build must keep): each alternative once, in the
    # order of the phrases; under one of its own key words (a text that holds it reaches
    # it), not an English one when it has another; CJK by its run, the rest loose; a key
    # with each of its endings shares one list
    table = WordTable(patterns, _ENGLISH)
    expected = [
        (reason, one)
        for reason, phrases in patterns.items()
        for one in dict.fromkeys(one for phrase in phrases for one in expand(phrase))
    ]
    order = {item: n for n, item in enumerate(expected)}
    filed: list[tuple[Reason, str]] = []
    for key, listed in table._by_word.items():
        assert all(table._by_word[token] is listed for token in filed_as(key.rstrip(".:")))
        if not key.isalpha():
            continue  # an ending's entry: the list is checked under its key
        phrases = [(reason, word.phrase) for reason, word in listed]
        assert [order[item] for item in phrases] == sorted(order[item] for item in phrases)
        for _reason, phrase in phrases:
            words = _key_words(phrase)
            assert key in words, (key, phrase)
            assert key not in _ENGLISH or set(words) <= _ENGLISH, (key, phrase)
        filed += phrases
    filed += [(reason, word.phrase) for reason, word in table._loose]
    filed += [(reason, word.phrase) for group in table._cjk for reason, word in group]
    assert sorted(filed, key=order.__getitem__) == expected
    assert table._keys == frozenset(table._by_word)
