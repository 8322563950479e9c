"""The robustness set: every shared-corpus message perturbed, with the answer it must still give.

Issue 18 point 4. The shared corpus (``../shared/corpus/bounces``) is what the parser was
tuned on; mail from MTAs nobody here has sampled differs from it in layout, wording, host
names and language, not in meaning. Each perturbation below changes one of those and keeps
the meaning, so the labelled answer stays right (or is withdrawn where the perturbation took
the information away):

``nodsn``
    the ``message/delivery-status`` part is removed and only the human-readable notice (and
    the returned message) is left, as MTAs that write no DSN do. A recipient stays labelled
    only if its address is still written in the notice; its reason and hard/soft verdict stay
    labelled only if the notice still quotes the status code or the diagnostic.
``rewrap``
    the notice is re-filled to 58 columns (paragraphs kept, words intact) and the DSN fields
    are folded at 40 (RFC 5322 2.2.3 folding, which RFC 3464 fields allow).
``hosts``
    every host name and IPv4 address outside mail addresses and URLs is replaced by another,
    and the MTA product names (the banner words Postfix, Exim, qmail ...) by one nobody knows:
    the bounce comes from an MTA nobody has sampled. The large mailbox providers' names
    (``PROVIDERS``) stay: an unseen MTA still quotes Gmail's or Orange's answer, and which
    provider answered is part of what the answer means.
``translate``
    the MTA's own sentences and the usual meaning phrases of the remote answers ("User
    unknown", "Mailbox full" ...) in the notice and the Subject are put into French, German,
    Spanish, Portuguese, Italian, Japanese, Russian or Chinese (one language per message, in
    turn), as localised MTAs and administrators' bounce templates write them.
``case``
    what is case-insensitive or written by another party changes case: header field names
    (RFC 5322 2.2), the DSN fields and their values (RFC 3464), the Subject, and the lines of
    the notice that quote a remote server's answer (those with a reply or status code);
    upper case for even messages, lower case for odd ones. The MTA's own template text stays
    as the MTA writes it.
``case-all``
    reported beside the others but not counted in ``all``: the whole notice in one case, as
    no MTA writes it; with it no family module recognises its MTA, so it measures the
    generic readers on case-changed text.

The set is generated, never stored: ``build`` writes it into a directory with a
``labels.jsonl`` in the shared corpus's format, so ``../shared/tools/eval_bounces.py`` scores
it like the corpus itself::

    python bench/robustness.py build bench/out/robustness
    python3 ../shared/tools/eval_bounces.py bench/out/robustness --by-family \\
        --cmd ".venv/bin/deliverwatch parse --format jsonl {files}"

(``--by-family`` prints one line per perturbation; ``bench/out/robustness/extra`` holds the
``EXTRA`` variants, scored the same way.) ``make bench`` runs it through
``bench/bench_bounces.py``.
"""

from __future__ import annotations

import argparse
import copy
import email
import email.header
import hashlib
import io
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from email import charset as email_charset
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tests.shared_paths import SHARED  # noqa: E402 - ../shared or $DELIVERWATCH_SHARED

CORPUS = SHARED / "corpus" / "bounces"
PERTURBATIONS = ("nodsn", "rewrap", "hosts", "translate", "case")
#: Generated and reported, but outside the targets' ``all`` (see the module docstring).
EXTRA = ("case-all",)
LANGUAGES = ("fr", "de", "es", "pt", "it", "ja", "ru", "zh")

_ENCLOSURES = frozenset({"message/rfc822", "text/rfc822-headers", "message/global"})
_STATUS = frozenset({"message/delivery-status", "message/global-delivery-status"})
_UTF8 = email_charset.Charset("utf-8")
_UTF8.body_encoding = email_charset.QP


# --- reading and writing parts -------------------------------------------------------------


def _read(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=compat32)


def _write(msg: Message, *, maxheaderlen: int = 0) -> bytes:
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=maxheaderlen).flatten(
        msg, unixfrom=msg.get_unixfrom() is not None
    )
    return out.getvalue()


def _notice_parts(msg: Message) -> Iterator[Message]:
    """Leaf text parts of the report itself: not the DSN fields, not the returned message."""
    stack = [msg]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if ctype in _ENCLOSURES or ctype in _STATUS:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
        elif part.get_content_maintype() == "text" or (part is msg and not part.is_multipart()):
            yield part


def _status_parts(msg: Message) -> Iterator[Message]:
    for part in msg.walk():
        if part.get_content_type() in _STATUS:
            yield part


def _text_of(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("latin-1")


def _set_text(part: Message, text: str) -> None:
    del part["Content-Transfer-Encoding"]
    if text.isascii():
        part.set_payload(text)
        part["Content-Transfer-Encoding"] = "7bit"
        if part.get_content_maintype() == "text" and part.get_param("charset"):
            part.set_param("charset", "us-ascii")
    else:
        part.set_payload(text, charset=_UTF8)


def _status_text(part: Message) -> str:
    """The DSN part's field groups as text (Python parses them into a list of blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [_write(block).decode("utf-8", "replace").strip("\n") for block in payload]
        return "\n\n".join(blocks) + "\n"
    return _text_of(part)


def _set_status_text(part: Message, text: str) -> None:
    blocks = [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    part.set_payload([email.message_from_string(b + "\n", policy=compat32) for b in blocks])


def _map_notice(msg: Message, change: Callable[[str], str]) -> None:
    for part in _notice_parts(msg):
        _set_text(part, change(_text_of(part)))


def _map_subject(msg: Message, change: Callable[[str], str]) -> None:
    subject = msg.get("Subject")
    if subject is None:
        return
    decoded = "".join(
        chunk.decode(cs or "latin-1", "replace") if isinstance(chunk, bytes) else chunk
        for chunk, cs in email.header.decode_header(str(subject))
    )
    changed = change(decoded)
    del msg["Subject"]
    msg["Subject"] = (
        changed if changed.isascii() else email.header.Header(changed, "utf-8").encode()
    )


# --- the perturbations -----------------------------------------------------------------------


def no_dsn(msg: Message) -> Message | None:
    """Remove the DSN part(s); None when the message has none (nothing to perturb)."""
    found = False
    for part in msg.walk():
        payload = part.get_payload()
        if not isinstance(payload, list) or part.get_content_type() in _STATUS:
            continue
        kept = [p for p in payload if p.get_content_type() not in _STATUS]
        if len(kept) != len(payload):
            part.set_payload(kept)
            found = True
    return msg if found else None


_FIELD_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")


def _refill(text: str, width: int) -> str:
    """Re-fill each paragraph; header-like blocks (a returned message's header) stay."""
    out = []
    for paragraph in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        lines = [ln for ln in paragraph.split("\n") if ln.strip()]
        if not lines:
            continue
        fields = sum(1 for ln in lines if _FIELD_LINE.match(ln))
        if fields * 2 > len(lines):
            out.append("\n".join(lines))
        else:
            out.append(textwrap.fill(" ".join(" ".join(lines).split()), width=width))
    return "\n\n".join(out) + "\n"


def rewrap(msg: Message) -> Message:
    _map_notice(msg, lambda t: _refill(t, 58))
    for part in _status_parts(msg):
        _set_status_text(part, _fold_fields(_status_text(part), 40))
    return msg


def _fold_fields(text: str, width: int) -> str:
    """Fold long field lines at white space (RFC 5322 2.2.3: CRLF + WSP continues a field)."""
    out = []
    for field in text.split("\n"):
        line = field
        while len(line) > width and " " in line[width // 2 :]:
            cut = line.rfind(" ", width // 2, width)
            if cut <= 0:
                cut = line.find(" ", width)
                if cut < 0:
                    break
            out.append(line[:cut])
            line = " " + line[cut:].lstrip()
            if not line.strip():
                break
        out.append(line)
    return "\n".join(out)


_HOST = re.compile(
    r"(?<![@\w.=/-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,12})"
    r"(?![\w-]*@|[\w.-]*@|\.\w|[\w-])"
)
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_FILE_SUFFIXES = frozenset(
    {"html", "htm", "txt", "php", "asp", "aspx", "jpg", "jpeg", "png", "gif", "pdf", "doc"}
    | {"docx", "exe", "zip", "eml", "js", "css", "cgi", "xml", "json", "pl", "py", "sh", "bat"}
)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"')]+|\bwww\.[^\s<>\"')]+", re.IGNORECASE)
#: MTA product names as they appear in banners, Received fields and notices
PRODUCTS = (
    "DragonFly Mail Agent",
    "Microsoft ESMTP MAIL Service",
    "Microsoft SMTP Server",
    "Microsoft Exchange Server",
    "Microsoft Exchange",
    "CommuniGate Pro",
    "Lotus Domino",
    "qmail-send",
    "qmail-smtpd",
    "OpenSMTPD",
    "PowerMTA",
    "MDaemon",
    "InterScan",
    "MailMarshal",
    "Postfix",
    "Sendmail",
    "sendmail",
    "Exim",
    "qmail",
    "Courier",
    "Zimbra",
    "IMail",
)
_PRODUCT = re.compile(
    r"(?<![@\w.-])(?:" + "|".join(re.escape(p) for p in PRODUCTS) + r")(?![\w.-]*@|[A-Za-z])"
)


def _digest(text: str) -> str:
    return hashlib.sha1(text.lower().encode()).hexdigest()


def _new_host(name: str) -> str:
    h = _digest(name)
    if name.count(".") == 1:  # a bare domain stays a bare domain
        return f"d{h[:6]}.example"
    return f"mta{int(h[:2], 16) % 9 + 1}.h{h[2:8]}.example"


def _new_ip(match: re.Match[str]) -> str:
    h = _digest(match.group(0))
    return f"198.51.100.{int(h[:2], 16) % 250 + 1}"


def _rename_hosts(text: str) -> str:
    urls: list[str] = []

    def keep_url(match: re.Match[str]) -> str:
        urls.append(match.group(0))
        return f"\x00{len(urls) - 1}\x00"

    text = _URL.sub(keep_url, text)

    def host(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.rsplit(".", 1)[1].lower() in _FILE_SUFFIXES or _provider(name):
            return name
        return _new_host(name)

    text = _HOST.sub(host, text)
    text = _IPV4.sub(_new_ip, text)
    text = _PRODUCT.sub("Mailsrv", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: urls[int(m.group(1))], text)


#: Registrable domains of large mailbox providers and gateways whose host names stay.
PROVIDERS = (
    *("google.com", "googlemail.com", "gmail.com", "1e100.net", "outlook.com", "hotmail.com"),
    *("live.com", "msn.com", "yahoo.com", "yahoo.co.jp", "yahoodns.net", "aol.com"),
    *("icloud.com", "me.com", "mac.com", "apple.com", "comcast.net", "charter.net", "rr.com"),
    *("cox.net", "orange.fr", "wanadoo.fr", "laposte.net", "free.fr", "sfr.fr", "gmx.net"),
    *("gmx.de", "gmx.com", "web.de", "t-online.de", "mail.ru", "yandex.ru", "yandex.net"),
    *("qq.com", "163.com", "126.com", "ezweb.ne.jp", "au.com", "docomo.ne.jp", "softbank.jp"),
    *("mimecast.com", "messagelabs.com", "secureserver.net", "amazonses.com", "zoho.com"),
    *("facebook.com", "naver.com", "email.ua"),
)


def _provider(name: str) -> bool:
    lowered = name.lower()
    return any(lowered == p or lowered.endswith(f".{p}") for p in PROVIDERS)


def hosts(raw: bytes) -> bytes:
    """Host names, IPv4 addresses and MTA product names replaced throughout the message.

    Works on the serialised message (as latin-1, byte for byte) so that header fields,
    boundaries and bodies change together and consistently.
    """
    return _rename_hosts(raw.decode("latin-1")).encode("latin-1")


_CODE_LINE = re.compile(r"(?<![\d.])(?:[245]\d\d|[245]\.\d{1,3}\.\d{1,3})(?![\d.])")


def _field_names(msg: Message, change: Callable[[str], str]) -> None:
    for part in msg.walk():
        if part.get_content_type() in _ENCLOSURES:
            continue
        items = part.items()
        for name in {n.lower() for n, _v in items}:
            del part[name]
        for name, value in items:
            part[change(name)] = value


def case(msg: Message, upper: bool) -> Message:
    """Field names, DSN fields, Subject and quoted server answers in one case."""
    change: Callable[[str], str] = str.upper if upper else str.lower

    def answers(text: str) -> str:
        lines = text.split("\n")
        return "\n".join(change(ln) if _CODE_LINE.search(ln) else ln for ln in lines)

    _map_notice(msg, answers)
    _map_subject(msg, change)
    for part in _status_parts(msg):
        _set_status_text(part, change(_status_text(part)))
    _field_names(msg, change)
    return msg


def case_all(msg: Message, upper: bool) -> Message:
    """The notice, the DSN fields and the Subject all in one case."""
    change: Callable[[str], str] = str.upper if upper else str.lower
    _map_notice(msg, change)
    _map_subject(msg, change)
    for part in _status_parts(msg):
        _set_status_text(part, change(_status_text(part)))
    return msg


# --- translation -----------------------------------------------------------------------------

#: The MTAs' own sentences and the common meaning phrases of remote answers, in the wording
#: localised MTAs (Exchange, Exim and Postfix bounce templates of national ISPs, Japanese,
#: Russian and Chinese webmail) use. English keys are matched case-insensitively with any
#: white space between words.
TRANSLATIONS: dict[str, dict[str, str]] = {
    "I'm sorry to have to inform you that your message could not be delivered to one or more"
    " recipients.": {
        "fr": "Nous sommes désolés de vous informer que votre message n'a pas pu être remis à"
        " un ou plusieurs destinataires.",
        "de": "Leider müssen wir Ihnen mitteilen, dass Ihre Nachricht an einen oder mehrere"
        " Empfänger nicht zugestellt werden konnte.",
        "es": "Lamentamos informarle de que su mensaje no se pudo entregar a uno o más"
        " destinatarios.",
        "pt": "Lamentamos informar que a sua mensagem não pôde ser entregue a um ou mais"
        " destinatários.",
        "it": "Siamo spiacenti di informarla che il suo messaggio non è stato recapitato a uno"
        " o più destinatari.",
        "ja": "申し訳ありませんが、お送りいただいたメッセージは"
        "一部または全部の宛先に配信できませんでした。",
        "ru": "К сожалению, ваше письмо не может быть доставлено одному или нескольким"
        " получателям.",
        "zh": "很抱歉，您的邮件无法投递给一个或多个收件人。",
    },
    "This is the mail system at host": {
        "fr": "Ceci est le système de messagerie de l'hôte",
        "de": "Dies ist das Mailsystem auf dem Rechner",
        "es": "Este es el sistema de correo del servidor",
        "pt": "Este é o sistema de correio do servidor",
        "it": "Questo è il sistema di posta dell'host",
        "ja": "こちらはホストのメールシステムです:",
        "ru": "Это почтовая система на узле",
        "zh": "这是主机上的邮件系统：",
    },
    "It's attached below.": {
        "fr": "Il est joint ci-dessous.",
        "de": "Sie ist unten angehängt.",
        "es": "Se adjunta a continuación.",
        "pt": "Segue anexada abaixo.",
        "it": "È allegato qui sotto.",
        "ja": "元のメッセージを以下に添付します。",
        "ru": "Оно приложено ниже.",
        "zh": "原邮件附在下面。",
    },
    "For further assistance, please send mail to": {
        "fr": "Pour obtenir de l'aide, écrivez à",
        "de": "Für weitere Hilfe schreiben Sie bitte an",
        "es": "Para más ayuda, escriba a",
        "pt": "Para mais ajuda, escreva para",
        "it": "Per ulteriore assistenza scrivere a",
        "ja": "ご不明な点は次の宛先までお問い合わせください:",
        "ru": "За помощью обращайтесь по адресу",
        "zh": "如需帮助，请发送邮件至",
    },
    "If you do so, please include this problem report. You can delete your own text from the"
    " attached returned message.": {
        "fr": "Dans ce cas, joignez ce rapport. Vous pouvez supprimer votre propre texte du"
        " message retourné.",
        "de": "Fügen Sie dabei bitte diesen Bericht bei. Ihren eigenen Text können Sie aus der"
        " zurückgesandten Nachricht löschen.",
        "es": "Si lo hace, incluya este informe. Puede borrar su propio texto del mensaje"
        " devuelto.",
        "pt": "Nesse caso, inclua este relatório. Pode apagar o seu próprio texto da mensagem"
        " devolvida.",
        "it": "In tal caso includa questo rapporto. Può cancellare il proprio testo dal"
        " messaggio restituito.",
        "ja": "その際はこのレポートを添えてください。"
        "返送されたメッセージの本文は削除してかまいません。",
        "ru": "В этом случае приложите этот отчёт. Свой текст из возвращённого письма можно"
        " удалить.",
        "zh": "届时请附上本报告。您可以删除退回邮件中您自己的正文。",
    },
    "The mail system": {
        "fr": "Le système de messagerie",
        "de": "Das Mailsystem",
        "es": "El sistema de correo",
        "pt": "O sistema de correio",
        "it": "Il sistema di posta",
        "ja": "メールシステム",
        "ru": "Почтовая система",
        "zh": "邮件系统",
    },
    "This message was created automatically by mail delivery software.": {
        "fr": "Ce message a été créé automatiquement par le logiciel de distribution du courrier.",
        "de": "Diese Nachricht wurde automatisch vom Mailzustellungsprogramm erstellt.",
        "es": "Este mensaje ha sido creado automáticamente por el software de entrega de correo.",
        "pt": "Esta mensagem foi criada automaticamente pelo software de entrega de correio.",
        "it": "Questo messaggio è stato creato automaticamente dal software di consegna della"
        " posta.",
        "ja": "このメッセージはメール配信ソフトウェアによって自動的に作成されました。",
        "ru": "Это сообщение создано автоматически программой доставки почты.",
        "zh": "此邮件由邮件投递软件自动生成。",
    },
    "A message that you sent could not be delivered to one or more of its recipients. This is"
    " a permanent error. The following address(es) failed:": {
        "fr": "Un message que vous avez envoyé n'a pas pu être remis à un ou plusieurs de ses"
        " destinataires. Il s'agit d'une erreur permanente. Les adresses suivantes ont"
        " échoué :",
        "de": "Eine von Ihnen gesendete Nachricht konnte an einen oder mehrere Empfänger nicht"
        " zugestellt werden. Dies ist ein permanenter Fehler. Folgende Adressen sind"
        " fehlgeschlagen:",
        "es": "Un mensaje que usted envió no se pudo entregar a uno o más de sus"
        " destinatarios. Este es un error permanente. Fallaron las siguientes direcciones:",
        "pt": "Uma mensagem que enviou não pôde ser entregue a um ou mais destinatários. Este"
        " é um erro permanente. Falharam os seguintes endereços:",
        "it": "Un messaggio inviato non è stato recapitato a uno o più destinatari. Si tratta"
        " di un errore permanente. I seguenti indirizzi non sono stati raggiunti:",
        "ja": "送信されたメッセージを一部の宛先に配信できませんでした。これは永続的なエラーです。"
        "配信に失敗したアドレス:",
        "ru": "Отправленное вами письмо не удалось доставить одному или нескольким получателям."
        " Это постоянная ошибка. Не удалось доставить по адресам:",
        "zh": "您发送的邮件无法投递给一个或多个收件人。这是永久性错误。以下地址投递失败：",
    },
    "The following addresses had permanent fatal errors": {
        "fr": "Les adresses suivantes ont rencontré des erreurs permanentes",
        "de": "Bei folgenden Adressen traten dauerhafte Fehler auf",
        "es": "Las siguientes direcciones tuvieron errores permanentes",
        "pt": "Os seguintes endereços tiveram erros permanentes",
        "it": "I seguenti indirizzi hanno avuto errori permanenti",
        "ja": "次のアドレスで永続的なエラーが発生しました",
        "ru": "Для следующих адресов произошли постоянные ошибки",
        "zh": "以下地址发生永久性错误",
    },
    "Transcript of session follows": {
        "fr": "Transcription de la session",
        "de": "Protokoll der Sitzung",
        "es": "Transcripción de la sesión",
        "pt": "Transcrição da sessão",
        "it": "Trascrizione della sessione",
        "ja": "セッションの記録",
        "ru": "Протокол сеанса",
        "zh": "会话记录如下",
    },
    "The original message was received at": {
        "fr": "Le message d'origine a été reçu le",
        "de": "Die ursprüngliche Nachricht wurde empfangen am",
        "es": "El mensaje original se recibió el",
        "pt": "A mensagem original foi recebida em",
        "it": "Il messaggio originale è stato ricevuto il",
        "ja": "元のメッセージの受信日時:",
        "ru": "Исходное письмо получено",
        "zh": "原邮件接收时间：",
    },
    "Hi. This is the": {
        "fr": "Bonjour. Ceci est le",
        "de": "Hallo. Hier ist das",
        "es": "Hola. Este es el",
        "pt": "Olá. Este é o",
        "it": "Salve. Questo è il",
        "ja": "こんにちは。こちらは",
        "ru": "Здравствуйте. Это",
        "zh": "您好。这是",
    },
    "I'm afraid I wasn't able to deliver your message to the following addresses.": {
        "fr": "Je n'ai malheureusement pas pu remettre votre message aux adresses suivantes.",
        "de": "Leider konnte ich Ihre Nachricht an die folgenden Adressen nicht zustellen.",
        "es": "Lamentablemente no pude entregar su mensaje a las siguientes direcciones.",
        "pt": "Infelizmente não consegui entregar a sua mensagem aos seguintes endereços.",
        "it": "Purtroppo non è stato possibile recapitare il messaggio ai seguenti indirizzi.",
        "ja": "申し訳ありませんが、次のアドレスにメッセージを配信できませんでした。",
        "ru": "К сожалению, не удалось доставить ваше письмо по следующим адресам.",
        "zh": "很抱歉，无法将您的邮件投递到以下地址。",
    },
    "This is a permanent error; I've given up. Sorry it didn't work out.": {
        "fr": "Il s'agit d'une erreur permanente ; j'abandonne. Désolé.",
        "de": "Dies ist ein permanenter Fehler; ich habe aufgegeben. Tut mir leid.",
        "es": "Este es un error permanente; he desistido. Lo siento.",
        "pt": "Este é um erro permanente; desisti. Lamento.",
        "it": "Si tratta di un errore permanente; ho rinunciato. Mi dispiace.",
        "ja": "これは永続的なエラーのため、配信を中止しました。",
        "ru": "Это постоянная ошибка; доставка прекращена. Сожалеем.",
        "zh": "这是永久性错误，已放弃投递。抱歉。",
    },
    "Delivery to the following recipient failed permanently:": {
        "fr": "La remise au destinataire suivant a échoué définitivement :",
        "de": "Die Zustellung an folgenden Empfänger ist endgültig fehlgeschlagen:",
        "es": "La entrega al siguiente destinatario ha fallado de forma permanente:",
        "pt": "A entrega ao seguinte destinatário falhou permanentemente:",
        "it": "La consegna al seguente destinatario non è riuscita in modo permanente:",
        "ja": "次の宛先への配信に失敗しました（永続的なエラー）:",
        "ru": "Доставка следующему получателю окончательно не удалась:",
        "zh": "投递到以下收件人永久失败：",
    },
    "Your message could not be delivered": {
        "fr": "Votre message n'a pas pu être remis",
        "de": "Ihre Nachricht konnte nicht zugestellt werden",
        "es": "No se ha podido entregar su mensaje",
        "pt": "Não foi possível entregar a sua mensagem",
        "it": "Non è stato possibile recapitare il messaggio",
        "ja": "メッセージを配信できませんでした",
        "ru": "Ваше письмо не может быть доставлено",
        "zh": "您的邮件无法投递",
    },
    "could not be delivered to": {
        "fr": "n'a pas pu être remis à",
        "de": "konnte nicht zugestellt werden an",
        "es": "no se pudo entregar a",
        "pt": "não pôde ser entregue a",
        "it": "non è stato recapitato a",
        "ja": "を次の宛先に配信できませんでした:",
        "ru": "не может быть доставлено",
        "zh": "无法投递到",
    },
    "Unable to deliver message to the following address(es).": {
        "fr": "Impossible de remettre le message aux adresses suivantes.",
        "de": "Die Nachricht konnte nicht an die folgenden Adressen zugestellt werden.",
        "es": "No se puede entregar el mensaje a las siguientes direcciones.",
        "pt": "Não foi possível entregar a mensagem aos seguintes endereços.",
        "it": "Impossibile recapitare il messaggio ai seguenti indirizzi.",
        "ja": "次のアドレスにメッセージを配信できません。",
        "ru": "Невозможно доставить письмо по следующим адресам.",
        "zh": "无法将邮件投递到以下地址。",
    },
    "Your message cannot be delivered to the following recipients:": {
        "fr": "Votre message ne peut pas être remis aux destinataires suivants :",
        "de": "Ihre Nachricht kann an folgende Empfänger nicht zugestellt werden:",
        "es": "Su mensaje no se puede entregar a los siguientes destinatarios:",
        "pt": "A sua mensagem não pode ser entregue aos seguintes destinatários:",
        "it": "Il messaggio non può essere recapitato ai seguenti destinatari:",
        "ja": "次の宛先にメッセージを配信できません:",
        "ru": "Ваше письмо не может быть доставлено следующим получателям:",
        "zh": "您的邮件无法投递给以下收件人：",
    },
    "Sorry, we were unable to deliver your message to the following address.": {
        "fr": "Désolé, nous n'avons pas pu remettre votre message à l'adresse suivante.",
        "de": "Leider konnten wir Ihre Nachricht nicht an folgende Adresse zustellen.",
        "es": "Lo sentimos, no pudimos entregar su mensaje a la siguiente dirección.",
        "pt": "Lamentamos, não foi possível entregar a sua mensagem ao seguinte endereço.",
        "it": "Spiacenti, non è stato possibile recapitare il messaggio al seguente indirizzo.",
        "ja": "申し訳ありませんが、次のアドレスにメッセージを配信できませんでした。",
        "ru": "К сожалению, не удалось доставить ваше письмо по следующему адресу.",
        "zh": "抱歉，我们无法将您的邮件投递到以下地址。",
    },
    "did not reach the following recipient(s):": {
        "fr": "n'a pas atteint le(s) destinataire(s) suivant(s) :",
        "de": "hat folgende Empfänger nicht erreicht:",
        "es": "no llegó a los siguientes destinatarios:",
        "pt": "não chegou aos seguintes destinatários:",
        "it": "non ha raggiunto i seguenti destinatari:",
        "ja": "次の宛先に届きませんでした:",
        "ru": "не дошло до следующих получателей:",
        "zh": "未送达以下收件人：",
    },
    "This message could not be delivered.": {
        "fr": "Ce message n'a pas pu être remis.",
        "de": "Diese Nachricht konnte nicht zugestellt werden.",
        "es": "Este mensaje no se pudo entregar.",
        "pt": "Esta mensagem não pôde ser entregue.",
        "it": "Questo messaggio non è stato recapitato.",
        "ja": "このメッセージは配信できませんでした。",
        "ru": "Это письмо не может быть доставлено.",
        "zh": "此邮件无法投递。",
    },
    "Delivery has failed to these recipients or groups:": {
        "fr": "La remise a échoué pour ces destinataires ou groupes :",
        "de": "Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen:",
        "es": "Error en la entrega a estos destinatarios o grupos:",
        "pt": "Falha na entrega a estes destinatários ou grupos:",
        "it": "Recapito non riuscito per questi destinatari o gruppi:",
        "ja": "次の受信者またはグループへの配信に失敗しました:",
        "ru": "Не удалось доставить сообщение следующим получателям или группам:",
        "zh": "无法传递到以下收件人或组：",
    },
    "An error occurred while trying to deliver the mail to the following recipients:": {
        "fr": "Une erreur s'est produite lors de la remise du message aux destinataires suivants :",
        "de": "Beim Zustellen der Nachricht an folgende Empfänger ist ein Fehler aufgetreten:",
        "es": "Se produjo un error al entregar el correo a los siguientes destinatarios:",
        "pt": "Ocorreu um erro ao entregar a mensagem aos seguintes destinatários:",
        "it": "Si è verificato un errore durante il recapito ai seguenti destinatari:",
        "ja": "次の宛先へのメール配信中にエラーが発生しました:",
        "ru": "При доставке письма следующим получателям произошла ошибка:",
        "zh": "向以下收件人投递邮件时出错：",
    },
    "The response was:": {
        "fr": "La réponse était :",
        "de": "Die Antwort war:",
        "es": "La respuesta fue:",
        "pt": "A resposta foi:",
        "it": "La risposta è stata:",
        "ja": "応答:",
        "ru": "Ответ сервера:",
        "zh": "服务器响应：",
    },
    "Original message follows.": {
        "fr": "Le message d'origine suit.",
        "de": "Die ursprüngliche Nachricht folgt.",
        "es": "Sigue el mensaje original.",
        "pt": "Segue a mensagem original.",
        "it": "Segue il messaggio originale.",
        "ja": "元のメッセージは以下のとおりです。",
        "ru": "Исходное письмо ниже.",
        "zh": "原邮件如下。",
    },
    # subjects
    "Undelivered Mail Returned to Sender": {
        "fr": "Courrier non remis renvoyé à l'expéditeur",
        "de": "Unzustellbare Nachricht an den Absender zurückgesandt",
        "es": "Correo no entregado devuelto al remitente",
        "pt": "Mensagem não entregue devolvida ao remetente",
        "it": "Messaggio non recapitato restituito al mittente",
        "ja": "配信不能のため差出人に返送されたメール",
        "ru": "Недоставленное письмо возвращено отправителю",
        "zh": "无法投递的邮件已退回发件人",
    },
    "Mail delivery failed: returning message to sender": {
        "fr": "Échec de la remise du courrier : message renvoyé à l'expéditeur",
        "de": "Mailzustellung fehlgeschlagen: Nachricht an den Absender zurück",
        "es": "Error en la entrega del correo: mensaje devuelto al remitente",
        "pt": "Falha na entrega do correio: mensagem devolvida ao remetente",
        "it": "Consegna della posta non riuscita: messaggio restituito al mittente",
        "ja": "メール配信失敗: 差出人に返送します",
        "ru": "Ошибка доставки почты: письмо возвращено отправителю",
        "zh": "邮件投递失败：退回发件人",
    },
    "Returned mail: see transcript for details": {
        "fr": "Courrier retourné : voir la transcription pour les détails",
        "de": "Zurückgesandte Nachricht: Einzelheiten im Protokoll",
        "es": "Correo devuelto: vea la transcripción para más detalles",
        "pt": "Correio devolvido: veja a transcrição para detalhes",
        "it": "Posta restituita: vedere la trascrizione per i dettagli",
        "ja": "返送されたメール: 詳細は記録を参照してください",
        "ru": "Возвращённое письмо: подробности в протоколе",
        "zh": "退回的邮件：详情见会话记录",
    },
    "Delivery Status Notification (Failure)": {
        "fr": "Notification d'état de remise (échec)",
        "de": "Benachrichtigung zum Zustellstatus (Fehler)",
        "es": "Notificación de estado de entrega (error)",
        "pt": "Notificação de status de entrega (falha)",
        "it": "Notifica sullo stato della consegna (errore)",
        "ja": "配信状態の通知（失敗）",
        "ru": "Уведомление о состоянии доставки (ошибка)",
        "zh": "递送状态通知（失败）",
    },
    "failure notice": {
        "fr": "avis de non-remise",
        "de": "Fehlermeldung",
        "es": "aviso de error",
        "pt": "aviso de falha",
        "it": "avviso di mancato recapito",
        "ja": "配信エラー通知",
        "ru": "уведомление об ошибке",
        "zh": "退信通知",
    },
    "Undeliverable:": {
        "fr": "Non remis :",
        "de": "Unzustellbar:",
        "es": "No se puede entregar:",
        "pt": "Não é possível entregar:",
        "it": "Non recapitabile:",
        "ja": "配信不能:",
        "ru": "Не доставлено:",
        "zh": "无法投递:",
    },
    # meaning phrases of remote answers
    "User unknown": {
        "fr": "Utilisateur inconnu",
        "de": "Benutzer unbekannt",
        "es": "Usuario desconocido",
        "pt": "Usuário desconhecido",
        "it": "Utente sconosciuto",
        "ja": "ユーザが存在しません",
        "ru": "Пользователь не найден",
        "zh": "用户不存在",
    },
    "Unknown user": {
        "fr": "Utilisateur inconnu",
        "de": "Unbekannter Benutzer",
        "es": "Usuario desconocido",
        "pt": "Utilizador desconhecido",
        "it": "Utente sconosciuto",
        "ja": "ユーザが存在しません",
        "ru": "Неизвестный пользователь",
        "zh": "用户不存在",
    },
    "No such user": {
        "fr": "Utilisateur inexistant",
        "de": "Benutzer existiert nicht",
        "es": "No existe el usuario",
        "pt": "Usuário inexistente",
        "it": "Utente inesistente",
        "ja": "該当するユーザはいません",
        "ru": "Нет такого пользователя",
        "zh": "没有这个用户",
    },
    "Recipient address rejected: User unknown": {
        "fr": "Adresse du destinataire refusée : utilisateur inconnu",
        "de": "Empfängeradresse abgelehnt: Benutzer unbekannt",
        "es": "Dirección del destinatario rechazada: usuario desconocido",
        "pt": "Endereço do destinatário rejeitado: usuário desconhecido",
        "it": "Indirizzo del destinatario rifiutato: utente sconosciuto",
        "ja": "宛先アドレスを拒否しました: ユーザが存在しません",
        "ru": "Адрес получателя отклонён: пользователь не найден",
        "zh": "收件人地址被拒绝：用户不存在",
    },
    "Mailbox full": {
        "fr": "Boîte aux lettres pleine",
        "de": "Postfach voll",
        "es": "Buzón lleno",
        "pt": "Caixa postal cheia",
        "it": "Casella piena",
        "ja": "メールボックスが一杯です",
        "ru": "Почтовый ящик переполнен",
        "zh": "邮箱已满",
    },
    "Mailbox is full": {
        "fr": "La boîte aux lettres est pleine",
        "de": "Das Postfach ist voll",
        "es": "El buzón está lleno",
        "pt": "A caixa de correio está cheia",
        "it": "La casella di posta è piena",
        "ja": "メールボックスが一杯です",
        "ru": "Почтовый ящик переполнен",
        "zh": "邮箱已满",
    },
    "Quota exceeded": {
        "fr": "Quota dépassé",
        "de": "Quota überschritten",
        "es": "Cuota excedida",
        "pt": "Cota excedida",
        "it": "Quota superata",
        "ja": "容量制限を超えています",
        "ru": "Превышена квота",
        "zh": "超出配额",
    },
    "Host not found": {
        "fr": "Hôte introuvable",
        "de": "Host nicht gefunden",
        "es": "Host no encontrado",
        "pt": "Host não encontrado",
        "it": "Host non trovato",
        "ja": "ホストが見つかりません",
        "ru": "Узел не найден",
        "zh": "找不到主机",
    },
    "Connection timed out": {
        "fr": "Délai de connexion dépassé",
        "de": "Zeitüberschreitung der Verbindung",
        "es": "Tiempo de conexión agotado",
        "pt": "Tempo limite de ligação esgotado",
        "it": "Timeout della connessione",
        "ja": "接続がタイムアウトしました",
        "ru": "Превышено время ожидания соединения",
        "zh": "连接超时",
    },
    "Message too large": {
        "fr": "Message trop volumineux",
        "de": "Nachricht zu groß",
        "es": "Mensaje demasiado grande",
        "pt": "Mensagem muito grande",
        "it": "Messaggio troppo grande",
        "ja": "メッセージが大きすぎます",
        "ru": "Сообщение слишком большое",
        "zh": "邮件过大",
    },
    "Relay access denied": {
        "fr": "Relais refusé",
        "de": "Relaying nicht erlaubt",
        "es": "Retransmisión denegada",
        "pt": "Retransmissão negada",
        "it": "Inoltro non consentito",
        "ja": "中継は許可されていません",
        "ru": "Пересылка запрещена",
        "zh": "不允许中继",
    },
}

_TRANSLATE_PATTERNS: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = tuple(
    (
        re.compile(r"\s+".join(re.escape(w) for w in english.split()), re.IGNORECASE),
        table,
    )
    for english, table in sorted(TRANSLATIONS.items(), key=lambda kv: -len(kv[0]))
)


def translate_text(text: str, language: str) -> str:
    """``text`` with every known English sentence or phrase put into ``language``."""
    for pattern, table in _TRANSLATE_PATTERNS:
        text = pattern.sub(lambda _m, t=table[language]: t, text)
    return text


def translate(msg: Message, language: str) -> Message:
    _map_notice(msg, lambda t: translate_text(t, language))
    _map_subject(msg, lambda t: translate_text(t, language))
    return msg


# --- expected answers --------------------------------------------------------------------------


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _notice_text(msg: Message) -> str:
    """The notice as a reader sees it: every text part but the DSN and the returned message."""
    chunks = [_text_of(p) for p in _notice_parts(msg)]
    for name in ("Subject", "X-Failed-Recipients"):
        chunks.extend(str(v) for v in msg.get_all(name) or [])
    return _squash("\n".join(chunks))


def _diagnostics(msg: Message) -> dict[str, str]:
    """Final-Recipient -> Diagnostic-Code text of the DSN part (before it is removed)."""
    found: dict[str, str] = {}
    for part in _status_parts(msg):
        address = ""
        for line in _status_text(part).split("\n"):
            name, _, value = line.partition(":")
            key = name.strip().lower()
            if key == "final-recipient":
                address = value.split(";")[-1].strip().strip("<>").lower()
            elif key == "diagnostic-code" and address:
                found[address] = value.split(";", 1)[-1].strip()
    return found


def _still_said(recipient: dict[str, Any], notice: str, diagnostic: str) -> bool:
    """Does the notice still carry the recipient's status code or its diagnostic?"""
    status = recipient.get("status") or ""
    if re.fullmatch(r"[245]\.\d\.\d{1,3}", status) and ".0.9" not in status and status in notice:
        return True
    words = _squash(diagnostic).split()
    core = " ".join(words[:8])
    return bool(core) and core in notice


def expected_without_dsn(
    label: dict[str, Any], before: Message, after: Message
) -> dict[str, Any] | None:
    """The label for the DSN-less variant, or None when no recipient is left to find."""
    notice = _notice_text(after)
    diagnostics = _diagnostics(before)
    kept = []
    for recipient in label["recipients"]:
        spellings = [recipient.get("address"), *(recipient.get("address_alternatives") or [])]
        spellings = [s.lower() for s in spellings if s]
        if not spellings or not any(s in notice for s in spellings):
            continue
        new = dict(recipient)
        diagnostic = next((diagnostics[s] for s in spellings if s in diagnostics), "")
        if not _still_said(recipient, notice, diagnostic):
            for key in ("status", "reason", "hard", "replycode", "permanent"):
                new[key] = None
        kept.append(new)
    if not kept:
        return None
    return {**label, "recipients": kept}


# --- the set ----------------------------------------------------------------------------------


def variants(raw: bytes, label: dict[str, Any], index: int) -> Iterator[tuple[str, bytes, dict]]:
    """(perturbation, message bytes, label) for each perturbation that applies."""
    before = _read(raw)
    after = no_dsn(copy.deepcopy(before))
    if after is not None and label["recipients"]:
        expected = expected_without_dsn(label, before, after)
        if expected is not None:
            yield "nodsn", _write(after), expected
    yield "rewrap", _write(rewrap(copy.deepcopy(before)), maxheaderlen=78), label
    yield "hosts", hosts(_write(before)), label
    language = LANGUAGES[index % len(LANGUAGES)]
    yield "translate", _write(translate(copy.deepcopy(before), language)), label
    yield "case", _write(case(copy.deepcopy(before), upper=index % 2 == 0)), label
    yield "case-all", _write(case_all(copy.deepcopy(before), upper=index % 2 == 0)), label


def load_labels(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    with (corpus / "labels.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def generate(corpus: Path = CORPUS) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    """(file name, bytes, label) of every variant of every labelled corpus message."""
    for index, label in enumerate(load_labels(corpus)):
        raw = (corpus / label["file"]).read_bytes()
        for name, data, expected in variants(raw, label, index):
            file = f"{name}-{label['file']}"
            yield (
                file,
                data,
                {
                    **expected,
                    "file": file,
                    "family": name,
                    "origin_family": label.get("family"),
                    "source": f"bench/robustness.py ({name}) from shared corpus {label['file']}",
                },
            )


def build(out: Path, corpus: Path = CORPUS) -> list[dict[str, Any]]:
    """Write the set into ``out`` (messages + labels.jsonl), the ``EXTRA`` variants into
    ``out/extra``; return the labels of ``out``."""
    sets: dict[Path, list[dict[str, Any]]] = {out: [], out / "extra": []}
    for directory in sets:
        directory.mkdir(parents=True, exist_ok=True)
    for file, data, label in generate(corpus):
        directory = out / "extra" if label["family"] in EXTRA else out
        (directory / file).write_bytes(data)
        sets[directory].append(label)
    for directory, labels in sets.items():
        with (directory / "labels.jsonl").open("w", encoding="utf-8") as fh:
            for label in labels:
                fh.write(json.dumps(label, ensure_ascii=False) + "\n")
    return sets[out]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="write the set into a directory")
    build_cmd.add_argument("out", type=Path)
    build_cmd.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    labels = build(args.out, args.corpus)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label["family"]] = counts.get(label["family"], 0) + 1
    print(
        f"{len(labels)} messages in {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
