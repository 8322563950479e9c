"""Auto-replies recognised by their header fields, their subject or, without either, their body.

Issue 18: a notice with no RFC 3834 field must still be read as one, in many languages, and
a person's reply must not be.
"""

from __future__ import annotations

import re
from email.message import Message

import pytest

from parsers.autoreply import detect_autoreply
from parsers.autoreply_phrases import LANGUAGES

# One notice per language: (body, subject prefix) as responders and people write them
NOTICES = {
    "en": ("I'm on holiday until 14 June with limited access to email.", "Automatic reply: "),
    "fr": (
        "Je suis en congés jusqu'au 14 juin. En cas d'urgence : paul@x.fr",
        "Réponse automatique : ",
    ),
    "de": (
        "Ich bin bis zum 14. Juni nicht im Büro. In dringenden Fällen: Vertretung.",
        "Abwesenheitsnotiz: ",
    ),
    "es": ("Estoy de vacaciones hasta el 14 de junio.", "Respuesta automática: "),
    "pt": (
        "Estou de férias até dia 14 de junho. Em caso de urgência contacte a equipa.",
        "Resposta automática: ",
    ),
    "it": ("Sono in ferie fino al 14 giugno, al mio rientro risponderò.", "Risposta automatica: "),
    "nl": ("Ik ben op vakantie tot en met 14 juni.", "Automatisch antwoord: "),
    "ru": ("Я в отпуске до 14 июня. По срочным вопросам обращайтесь к Марии.", "Автоответ: "),
    "pl": ("Jestem na urlopie do dnia 14 czerwca.", "Odpowiedź automatyczna: "),
    "sv": ("Jag är på semester till och med 14 juni.", "Frånvaro: "),
    "da_no": ("Jeg er på ferie til og med 14. juni.", "Autosvar: "),
    "fi": ("Olen lomalla 14.6. asti.", "Automaattinen vastaus: "),
    "cs": ("Jsem na dovolené do 14. června, po návratu odpovím.", "Automatická odpověď: "),
    "tr": ("14 Haziran'a kadar izindeyim.", "Otomatik yanıt: "),
    "ja": ("6月14日まで休暇中です。戻り次第ご連絡いたします。", "自動応答: "),
    "zh": ("我目前不在办公室，6月14日回来。", "自动回复: "),
    "ko": ("6월 14일까지 휴가 중입니다. 복귀 후 회신드리겠습니다.", "자동 회신: "),
}


def _mail(body: str, subject: str = "Re: Your June newsletter", **fields: str) -> Message:
    msg = Message()
    msg["From"] = "Reader <reader@example.org>"
    msg["To"] = "news@example.com"
    msg["Subject"] = subject
    for name, value in fields.items():
        msg[name.replace("_", "-")] = value
    msg.set_payload(body)
    return msg


def _detect(msg: Message) -> bool:
    return detect_autoreply(msg, str(msg.get_payload())) is not None


def test_every_language_has_a_notice_and_every_list_compiles() -> None:
    assert set(NOTICES) == set(LANGUAGES)
    for tables in LANGUAGES.values():
        assert set(tables) == {"SUBJECT", "AWAY", "CUES"}
        for patterns in tables.values():
            assert patterns
            for pattern in patterns:
                re.compile(pattern)
                assert pattern == pattern.lower(), pattern  # text is lower-cased and folded


@pytest.mark.parametrize("language", sorted(NOTICES))
def test_body_only_notice(language: str) -> None:
    body, _prefix = NOTICES[language]
    assert _detect(_mail(f"Hello,\n\n{body}\n\nRegards\n"))


@pytest.mark.parametrize("language", sorted(NOTICES))
def test_subject_prefix(language: str) -> None:
    _body, prefix = NOTICES[language]
    assert _detect(_mail("Thanks.", subject=f"{prefix}Your June newsletter"))


def test_rfc3834_field_alone() -> None:
    assert _detect(_mail("Thanks.", Auto_Submitted="auto-replied"))
    assert not _detect(_mail("Thanks.", Auto_Submitted="no"))


def test_a_person_saying_they_are_away_is_no_notice() -> None:
    # an away phrase without what a notice says beside it (until when, whom to contact)
    assert not _detect(_mail("I'm travelling this week but the newsletter looks great."))
    # notice wording only in the quoted original
    quoted = (
        "I am on leave, but here is my answer: yes.\n\n"
        "On Mon, 3 Jun 2024, News <news@example.com> wrote:\n"
        "> The office is closed until Monday; for urgent matters please contact us.\n"
    )
    assert not _detect(_mail(quoted))


def test_system_senders_are_never_auto_replies() -> None:
    msg = _mail("I am out of the office until Monday.")
    msg.replace_header("From", "MAILER-DAEMON@example.org")
    assert not _detect(msg)
