"""Free-text bounces from MTAs without a dedicated module: the last reader before flufl.

Most prose bounces share one shape: a recipient address on a line of its own (or after a
word such as "Recipient:" / "could not be delivered to:"), followed by the remote server's
answer. ``scan`` finds those blocks; family modules reuse it with their own start markers.
A message only qualifies when it carries some sign of being a delivery report (sender,
subject, null return path or ``X-Failed-Recipients``), so that ordinary mail that merely
quotes an address is not mistaken for a bounce.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, addresses_in, first_address, split_original
from parsers.bounce.evidence import remote_host
from parsers.bounce.fluflbounce import flufl_addresses
from parsers.dsn import Failure
from parsers.status import find_command, find_status, names_a_step

__all__ = ["BOUNDARIES", "FAMILY", "is_bounce_like", "parse", "scan", "sender_addresses"]

FAMILY = "text"

#: Lines after which the returned message (not the notice) begins.
BOUNDARIES = (
    "------ This is a copy of the message",
    "--- Below this line is a copy of the message",
    "----- Original message -----",
    "------ Original message ------",
    "--- The header of the original message is following",
    "Original message follows",
    "Original message headers follow",
    "original message follows",
    "Message headers follow",
    "|------------------------- Message text follows:",
    "----- Unsent message follows -----",
    "------ Undelivered message follows ------",
    "The original message was:",
    "--- Original Message ---",
    "-----Original Message-----",
    "----- Original Message -----",
    "------=_NextPart",
    "Content-Type: message/rfc822",
    "Content-Type: text/rfc822-headers",
)

#: Sentences announcing the returned message, in the many wordings MTAs use ("A copy of the
#: original message below this line:", corpus flufl-simple_14; "Your original message is
#: attached", "The original message headers follow").
_COPY_FOLLOWS = re.compile(
    r"^[ \t>|*=_-]*(?:(?:a|the) )?(?:(?:full|complete) )?copy of (?:the |your )?"
    r"(?:original |returned |undelivered )?(?:message|mail|e-?mail)\b[^\n]{0,40}?"
    r"\b(?:below|follows?|attached|included)\b"
    r"|^[ \t>|*=_-]*(?:the |your )?original (?:message|mail|e-?mail)(?: headers?)? "
    r"(?:is |are )?(?:below|follows?|attached|included)\b",
    re.IGNORECASE | re.MULTILINE,
)
# Text every match of _COPY_FOLLOWS holds once lower-cased ("copy of", "original "), without
# the letters IGNORECASE also matches with non-ASCII ones (see _STILL_TRYING_RUNS): the
# search, which tries its "^" at every character of the notice, runs only where one is
# (12.8 -> 8.8 million instructions over the corpus, callgrind).
_COPY_FOLLOWS_RUNS = ("copy of", "nal ")


#: A notice that the MTA is still trying: the recipient is delayed, not failed (RFC 3464's
#: "delayed" action, written as prose; corpus flufl-simple_21, flufl-simple_35).
_STILL_TRYING = re.compile(
    r"this is (?:just )?a warning|has not yet been delivered|not been delivered yet"
    r"|will (?:continue to )?(?:attempt|try|retry)(?: to deliver| delivery)"
    r"|delivery (?:has been|is being) (?:postponed|delayed)|has been postponed"
    r"|attempts will continue",
    re.IGNORECASE,
)
# Text every match of _STILL_TRYING contains once lower-cased, alternative by alternative:
# searching a long notice with that case-insensitive alternation costs ~10 ns a character,
# lower() and these tests a tenth. None holds an i, k or s, the letters IGNORECASE also
# matches with non-ASCII ones (İ, ı, K, ſ) that lower() does not turn into them.
_STILL_TRYING_RUNS = ("a warn", "not yet been", "ered yet", "pone", "delayed")


def _still_trying(notice: str) -> bool:
    """``_STILL_TRYING.search(notice)``, skipped when the lower-cased notice lacks its runs."""
    lowered = notice.lower()
    if any(run in lowered for run in _STILL_TRYING_RUNS) or (
        "ll " in lowered  # "will (attempt|try|retry) (to deliver| delivery)", "attempts will con"
        and (
            ("attempt" in lowered and ("ll con" in lowered or " del" in lowered))
            or ("try" in lowered and " del" in lowered)
        )
    ):
        return _STILL_TRYING.search(notice) is not None
    return False


def _split(text: str) -> tuple[str, str]:
    """(notice, returned message): at the first boundary line or announcing sentence."""
    notice, original = split_original(text, BOUNDARIES)
    lowered = notice.lower()
    if not any(run in lowered for run in _COPY_FOLLOWS_RUNS):
        return notice, original
    found = _COPY_FOLLOWS.search(notice)
    if found is None:
        return notice, original
    end = text.find("\n", found.end())
    return text[: found.start()], text[end + 1 :] if end >= 0 else ""


_FROM = re.compile(
    r"mailer-daemon|postmaster|mail delivery|delivery subsystem|mail administrator"
    r"|mdaemon|mailadmin|^\s*<?>?\s*$|no-?reply|bounce",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|fail|report|notification|problem|has failed)"
    r"|failure notice|returned mail|mail delivery|non-?delivery|could not be delivered"
    r"|delivery failure|failed delivery|mail failed|mail error|not delivered|bounce"
    r"|nondeliverable|returning message|unzustellbar|non remis|non recapitabile|no entregado"
    r"|warning: |message delayed|delayed mail|error sending|rejected|系統退信|配信",
    re.IGNORECASE,
)
# Words on a line that names a failed recipient (``_has_keyword``)
_KEYWORDS = (
    r"recipient|address|rcpt to|\bto:|delivered to|deliver to|delivery to|failed"
    r"|undeliverable|unknown user|mailbox|error-for|user|destinat|could not|cannot"
)
_KEYWORD = re.compile(_KEYWORDS, re.IGNORECASE)
_KEYWORD_LOWER = re.compile(_KEYWORDS)
# Words that may name one in prose ("There was an error delivering your mail to <...>"),
# and the same in the languages of phrases/lang ("Zustellung an", "宛先", "получатель" ...).
# A recipient found by these alone is checked with flufl.bounce (see _with_flufl).
_PROSE_KEYWORD = re.compile(  # over the lower-cased line
    r"deliver|unknown|not found|reject|refused|invalid"
    r"|adresse|remis|distribu|empf[aä]nger|zugestellt|zustellung|direcci[oó]n|entreg"
    r"|endere[cç]o|indirizzo|recapit|consegn|宛先|アドレス|配信|получател|адрес|доставл"
    r"|收件人|地址|投递|投遞"
)
# An address opening a line: bare, in <>, after ">>> ", a bullet, a number, or a reply code
# (Sendmail: "554 <user@example.org>... 550 Host unknown")
_ADDRESS_START = re.compile(
    r"^\s*(?:>>>\s*|[-*\u2022]\s+|\d+\.\s+|[245]\d\d[ -])?[<\"']?[^\s<>\"'@]+@[^\s<>\"']+\.[A-Za-z]"
)
_ORIGINAL_HEADER = re.compile(
    r"^(?:from|reply-to|return-path|message-id|received|sender|date|subject|cc|bcc"
    r"|x-[a-z0-9-]+|dkim-signature|in-reply-to|references|mime-version|content-[a-z-]+"
    r"|list-[a-z-]+|errors-to|delivered-to|envelope-to|authentication-results):",
    re.IGNORECASE,
)
# Fields that only the returned message's header section has (never a notice's prose)
_RETURNED_HEADER = re.compile(
    r"^(?:return-path|received|message-id|mime-version|dkim-signature|x-mailer"
    r"|x-mailman-version|list-id|list-unsubscribe):",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*(?:[-=*_#~|]{5,}|\|-{5,})")
# Either of them (``scan`` asks of every line): one regex call a line instead of two, 6.7 ->
# 4.4 million instructions over the corpus (callgrind); IGNORECASE leaves _SEPARATOR as it
# is (no letters)
_BLOCK_END = re.compile(f"{_SEPARATOR.pattern}|{_RETURNED_HEADER.pattern}", re.IGNORECASE)
_MAX_BLOCK_LINES = 12
# Sendmail/Postfix alias notes: "(expanded from: <list@example.org>)"
_EXPANDED = re.compile(r"\((?:expanded|generated) from:? <?([^\s<>()]+@[^\s<>()]+)>?\)")


def sender_addresses(ctx: Context) -> set[str]:
    """Addresses that identify the bounce's own parties, never a failed recipient."""
    found: set[str] = set()
    for name in ("From", "To", "Reply-To", "Return-Path", "Sender"):
        found.update(addresses_in(ctx.header(name)))
    return found


def is_bounce_like(ctx: Context) -> bool:
    """Any sign that the message is a delivery report rather than person-to-person mail.

    A null return path alone is not enough when the message says it is an automatic
    reply (RFC 3834 "Auto-Submitted: auto-replied" from a person's address): that is a
    vacation notice, which ``parsers.autoreply`` reads.
    """
    if ctx.has("X-Failed-Recipients"):
        return True
    if _FROM.search(ctx.from_) or _SUBJECT.search(ctx.subject):
        return True
    if ctx.header("Auto-Submitted").lower().startswith("auto-replied"):
        return False
    return_path = ctx.header("Return-Path").strip().lower()
    return return_path == "<>" or "mailer-daemon" in return_path


def _has_keyword(line: str) -> bool:
    """``_KEYWORD.search(line)``: an ASCII line is searched lower-cased, case-sensitively.

    The same answer (on ASCII text IGNORECASE is lower-casing), for 30 % of the instructions
    (16.6 -> 4.8 million over the corpus's lines, callgrind): an IGNORECASE alternation folds
    the case of each character for each word it tries. Beyond ASCII the two part ways (ſ
    matches s, İ lower-cases to two characters), so other lines keep IGNORECASE.
    """
    if line.isascii():
        return _KEYWORD_LOWER.search(line.lower()) is not None
    return _KEYWORD.search(line) is not None


def _starts_recipient(line: str) -> bool:
    if "@" not in line or _ORIGINAL_HEADER.match(line.strip()):
        return False
    return bool(
        _ADDRESS_START.match(line) or _has_keyword(line) or _PROSE_KEYWORD.search(line.lower())
    )


def _in_prose(notice: str, address: str) -> bool:
    """True if the line that names ``address`` is a recipient line by a prose word only."""
    for line in notice.split("\n"):
        if address in line and _starts_recipient(line):
            return not (_ADDRESS_START.match(line) or _has_keyword(line))
    return False


def scan(notice: str, excluded: set[str]) -> list[Failure]:
    """Recipient blocks in ``notice``: an address line plus the lines that explain it.

    Each recipient gets its own line and the lines after it up to the next recipient (or a
    separator); text before the first recipient ("User's mailbox is full: <rcpt>" puts the
    reason first) is prepended to the first recipient's block.
    """
    failures: list[Failure] = []
    blocks: list[list[str]] = []
    preamble: list[str] = []
    is_open = False
    for line in notice.split("\n"):
        if _BLOCK_END.match(line):
            is_open = False  # a separator, or the returned message's header section begins
            continue
        address = first_address(line) if _starts_recipient(line) else ""
        if address and address not in excluded and all(f.address != address for f in failures):
            failures.append(Failure(address=address))
            blocks.append([line.strip()])
            is_open = True
        elif line.strip() and is_open and len(blocks[-1]) <= _MAX_BLOCK_LINES:
            blocks[-1].append(line.strip())
        elif line.strip() and not failures:
            preamble.append(line.strip())
    for failure, block in zip(failures, blocks, strict=True):
        failure.alt_diagnostic = " ".join(" ".join(block).split())
        expanded = _EXPANDED.search(failure.alt_diagnostic)
        if expanded:
            failure.original_recipient = first_address(expanded.group(1))
    if failures and preamble:
        head = " ".join(preamble[-_MAX_BLOCK_LINES:])
        failures[0].alt_diagnostic = f"{head} {failures[0].alt_diagnostic}".strip()
    return failures


def _notice_summary(notice: str, excluded: set[str]) -> str:
    kept = [ln.strip() for ln in notice.split("\n") if ln.strip() and not _SEPARATOR.match(ln)]
    text = " ".join(kept)
    for address in excluded:
        text = text.replace(address, "")
    return " ".join(text.split())[:2000]


def _with_flufl(ctx: Context, failures: list[Failure], excluded: set[str]) -> list[Failure]:
    """Use flufl.bounce's recipient list when it has one; keep our diagnostics.

    Asked only when our scan found no recipient or several (flufl is the slowest step of
    the pipeline, and with one clear recipient line it has never disagreed with us on the
    corpus): it is there to find what we missed and to drop list and notice addresses.
    """
    permanent, temporary = flufl_addresses(ctx.msg, ctx.raw)
    addresses = [a for a in (*permanent, *temporary) if a not in excluded]
    if not addresses:
        return failures
    known = {f.address: f for f in failures}
    # an alias expansion and the address it was expanded from name the same delivery:
    # keep the address we sent to
    addresses = [
        a for a in addresses if not (a in known and known[a].original_recipient in addresses)
    ]
    return [known.get(a) or Failure(address=a) for a in addresses]


_WORD = re.compile(r"[A-Za-z]{3}")
# Sendmail sums up each recipient's remote answer under its address: "(reason: 551 not our
# user)"; its transcript may end in the code Sendmail mapped that to ("550 5.1.1 ... User
# unknown"), so the summary's reply code is the recipient's
_REASON_REPLY = re.compile(r"\(reason: ([245]\d\d)[ -]", re.IGNORECASE)

# A success notice without a DSN part (an Exchange delivery receipt, a relay's report):
# "Your message has been delivered to the following recipients:", then their names
_SUCCESS = re.compile(
    r"(?:has|have) been (?:successfully )?(?:delivered|relayed) to the following recipients?"
    r"|(?:delivery|relay) to the following recipients? (?:was successful|succeeded|was completed)"
    r"|wurde an (?:die )?folgenden? empf[aä]nger (?:[uü]bermittelt|zugestellt)"
    r"|a (?:bien )?[eé]t[eé] (?:remis|distribu[eé]) aux destinataires suivants"
    r"|se (?:entreg[oó]|ha entregado) a los siguientes destinatarios",
    re.IGNORECASE,
)


def _delivered(notice: str, excluded: set[str]) -> list[Failure]:
    """The recipients a success notice lists after its announcement (its first paragraph
    with an address), as delivered: RFC 3464 Action "delivered", status 2.0.0."""
    said = _SUCCESS.search(notice)
    if said is None:
        return []
    for paragraph in notice[said.end() :].split("\n\n")[:4]:
        addresses = [a for a in addresses_in(paragraph) if a not in excluded]
        if addresses:
            line = " ".join(said.group(0).split())
            return [
                Failure(address=a, action="delivered", status="2.0.0", alt_diagnostic=line)
                for a in addresses
            ]
    return []


def parse(ctx: Context) -> Parsed | None:
    """Bounce-like messages with recipient blocks, or an X-Failed-Recipients header."""
    if not is_bounce_like(ctx):
        return None
    notice, original = _split(ctx.text)
    excluded = sender_addresses(ctx)
    failures = scan(notice, excluded)
    failed_header = addresses_in(", ".join(ctx.headers("X-Failed-Recipients")))
    if failed_header:
        known = {f.address for f in failures}
        failures = [f for f in failures if f.address in failed_header] + [
            Failure(address=a) for a in failed_header if a not in known
        ]
    elif not failures and (delivered := _delivered(notice, excluded)):
        return Parsed(FAMILY, delivered, original)
    elif len(failures) != 1 or _in_prose(notice, failures[0].address):  # see _with_flufl
        failures = _with_flufl(ctx, failures, excluded)
    if not failures:
        return None
    _finish(failures, notice, excluded)
    return Parsed(FAMILY, failures, original)


def _finish(failures: list[Failure], notice: str, excluded: set[str]) -> None:
    """What the notice says beside each recipient's block: a delay, the notice's summary
    for a block without words, Sendmail's reply summary, the command and status from the
    transcript, the remote host."""
    if _still_trying(notice):
        for failure in failures:
            failure.action = failure.action or "delayed"
    summary = _notice_summary(notice, excluded)
    paragraphs: list[tuple[str, str]] | None = None  # with each one lower-cased
    for failure in failures:
        if not _WORD.search(failure.alt_diagnostic):
            failure.alt_diagnostic = summary
        said = _REASON_REPLY.search(failure.alt_diagnostic)
        if said is not None and not failure.reply_code:
            failure.reply_code = said.group(1)
        if not (failure.command and failure.status):
            if paragraphs is None:
                paragraphs = [(p, p.lower()) for p in notice.split("\n\n") if "@" in p]
            _from_paragraphs(failure, paragraphs)
        failure.remote_mta = failure.remote_mta or remote_host(failure.alt_diagnostic)


def _from_paragraphs(failure: Failure, paragraphs: list[tuple[str, str]]) -> None:
    """Command and status from every paragraph naming the recipient, when its block has
    neither: a Sendmail transcript (">>> RCPT To:<address>", "<<< 550 5.1.1 ...") or a
    "Technical details" section comes after the recipient list, outside the recipient's
    block. The paragraph that gave the status joins the block: its words go with it."""
    needle = failure.address.lower()
    named = [(p, lowered) for p, lowered in paragraphs if needle in lowered]
    if not named:
        return
    mentions = [p for p, _lowered in named]
    if not failure.command:
        steps = (
            p.upper()
            for p, lowered in reversed(named)
            if not lowered.isascii() or names_a_step(lowered)
        )
        failure.command = next((c for c in map(find_command, steps) if c), "")
    if failure.status or find_status(failure.alt_diagnostic):
        return
    for paragraph in mentions:
        status = find_status(paragraph)
        if status:
            failure.status = status
            said = " ".join(paragraph.split())[:1000]
            if said not in failure.alt_diagnostic:
                failure.alt_diagnostic = f"{failure.alt_diagnostic} {said}".strip()
            return
