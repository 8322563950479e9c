"""Turn a ``Failure`` (what a report says) into a ``Recipient`` (what it means).

The decision follows the order an experienced postmaster reads a bounce in, and the order
Sisimai 5 (whose labels our corpus carries) formalised:

1. a family parser's own verdict, unless it is one of the weak ones (``RETRY``);
2. a known provider's wording (``parsers.rhost``), then a code a provider documents for
   senders wherever it is quoted (``parsers.rhost.policy``);
3. for SMTP diagnostics, reasons whose evidence is strongest first (``FIRST_PASS``): the
   status code if it is decisive, the SMTP command that failed, then the phrase tables;
4. otherwise the status code's class and subject, the remaining phrase tables
   (``SECOND_PASS``), the reply code, the Action field and finally ``onhold``/``undefined``.

Then the status is filled in (a private ``X.0.9nn`` code when the report gives none), the
reply code is made consistent with it, and ``hard`` is set: true exactly for userunknown,
hostunknown, hasmoved, and notaccept with a 5.x.x status (RFC 3463 class 5).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from parsers.dsn import Failure, normalize_action
from parsers.phrases import Diagnostic
from parsers.records import Action, Reason, Recipient
from parsers.rhost import policy, provider_for, reason_from
from parsers.status import (
    find_command,
    find_reply,
    find_status,
    is_permanent,
    prefer_status,
    pseudo_status,
    reason_of_status,
    valid_reply,
    valid_status,
)

__all__ = ["RETRY", "classify", "clean_diagnostic", "decide_reason"]

_R = Reason
#: Every reason value, to tell a family's reason string from free text
_REASON_VALUES = frozenset(reason.value for reason in Reason)

#: Verdicts weak enough that the text may still overrule them.
RETRY = frozenset(
    {
        _R.UNDEFINED,
        _R.ON_HOLD,
        _R.SYSTEM_ERROR,
        _R.SECURITY_ERROR,
        _R.EXPIRED,
        _R.SUSPEND,
        _R.NETWORK_ERROR,
        _R.HOST_UNKNOWN,
        _R.USER_UNKNOWN,
    }
)
_NOT_A_FAILURE = frozenset({_R.DELIVERED, _R.FEEDBACK, _R.VACATION})
_HARD = frozenset({_R.USER_UNKNOWN, _R.HOST_UNKNOWN, _R.HAS_MOVED})
_BEFORE_DATA = frozenset({"CONN", "EHLO", "HELO", "MAIL", "RCPT"})
_GREETING = frozenset({"CONN", "EHLO", "HELO"})
_KNOWN_COMMANDS = frozenset({"CONN", "HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA"})


class _Facts:
    """The inputs of the decision, normalised once."""

    __slots__ = ("action", "command", "diag_type", "diagnostic", "hint", "reply", "status", "tmp")

    def __init__(self, failure: Failure, reply: str, hint: Reason | None) -> None:
        self.status = failure.status
        self.reply = reply
        self.diagnostic = Diagnostic(failure.diagnostic.lower())  # for the phrase tables
        self.diag_type = failure.diagnostic_type
        self.command = failure.command
        self.action = failure.action
        self.hint = hint
        self.tmp = reason_of_status(failure.status)

    def says(self, reason: Reason) -> bool:
        """True if the diagnostic has a phrase of ``reason`` (``parsers.phrases.matches``)."""
        return self.diagnostic.says(reason)


def _user_unknown(f: _Facts) -> bool:
    if f.hint is _R.USER_UNKNOWN:
        return True
    if f.tmp is _R.SUSPEND:
        return False
    if f.tmp is _R.USER_UNKNOWN:
        others = (
            _R.NO_RELAYING,
            _R.BLOCKED,
            _R.MAILBOX_FULL,
            _R.HAS_MOVED,
            _R.REJECTED,
            _R.NOT_ACCEPT,
        )
        return not any(f.says(r) for r in others)
    return f.command == "RCPT" and f.says(_R.USER_UNKNOWN)


def _filtered(f: _Facts) -> bool:
    if f.tmp is _R.SUSPEND:
        return False
    if f.tmp is _R.FILTERED:
        return f.says(_R.USER_UNKNOWN) or f.says(_R.FILTERED)
    if f.command in _BEFORE_DATA:
        return False
    return f.says(_R.FILTERED) or f.says(_R.USER_UNKNOWN)


def _rejected(f: _Facts) -> bool:
    if f.tmp is _R.REJECTED:
        return True
    if f.command == "MAIL":
        return f.says(_R.REJECTED)
    if f.command == "DATA":
        return f.tmp is not _R.USER_UNKNOWN and f.says(_R.REJECTED)
    weak = (None, _R.ON_HOLD, _R.UNDEFINED, _R.SECURITY_ERROR, _R.SYSTEM_ERROR)
    return f.tmp in weak and f.says(_R.REJECTED)


def _host_unknown(f: _Facts) -> bool:
    if f.hint is _R.HOST_UNKNOWN:
        return True
    if f.tmp is _R.HOST_UNKNOWN:
        return not f.says(_R.NETWORK_ERROR)
    return f.says(_R.HOST_UNKNOWN)


def _by_status_or_text(reason: Reason, *, needs_status: bool = False) -> Callable[[_Facts], bool]:
    def check(f: _Facts) -> bool:
        if needs_status and not f.status:
            return False
        return f.tmp is reason or f.says(reason)

    return check


def _after_data(reason: Reason) -> Callable[[_Facts], bool]:
    """Content verdicts (spam, virus) cannot come before DATA: the server had no content."""

    def check(f: _Facts) -> bool:
        if not f.status and reason is _R.SPAM_DETECTED:
            return False
        if f.tmp is reason:
            return True
        return f.command not in _BEFORE_DATA and f.says(reason)

    return check


def _mesg_too_big(f: _Facts) -> bool:
    if f.tmp is _R.MESG_TOO_BIG:
        return True
    if f.tmp is _R.EXCEED_LIMIT or f.status == "5.2.3":
        return False
    return f.says(_R.MESG_TOO_BIG)


def _no_relaying(f: _Facts) -> bool:
    if f.hint in (_R.SECURITY_ERROR, _R.SYSTEM_ERROR, _R.UNDEFINED):
        return False
    return f.command not in _GREETING and f.says(_R.NO_RELAYING)


def _suspend(f: _Facts) -> bool:
    if not f.status:
        return False
    return f.hint is _R.SUSPEND or f.reply == "525" or f.says(_R.SUSPEND)


def _has_moved(f: _Facts) -> bool:
    """RFC 5321 4.2.3: "551 User not local; please try <forward-path>" names the move
    itself, unless a more specific status says what else it was (a 5.7.x policy)."""
    if f.reply == "551" and f.status[:3] in ("", "5.0", "5.1"):
        return True
    return f.says(_R.HAS_MOVED)


def _text_only(reason: Reason, *, needs_status: bool = False) -> Callable[[_Facts], bool]:
    def check(f: _Facts) -> bool:
        return (not needs_status or bool(f.status)) and f.says(reason)

    return check


#: Reasons tried first for SMTP diagnostics, most specific evidence first.
FIRST_PASS: tuple[tuple[Reason, Callable[[_Facts], bool]], ...] = (
    (_R.MAILBOX_FULL, _by_status_or_text(_R.MAILBOX_FULL, needs_status=True)),
    (_R.MESG_TOO_BIG, _mesg_too_big),
    (_R.EXCEED_LIMIT, _by_status_or_text(_R.EXCEED_LIMIT, needs_status=True)),
    (_R.SUSPEND, _suspend),
    (_R.HAS_MOVED, _has_moved),
    (_R.NO_RELAYING, _no_relaying),
    (_R.AUTH_FAILURE, _by_status_or_text(_R.AUTH_FAILURE)),
    (_R.USER_UNKNOWN, _user_unknown),
    (_R.FILTERED, _filtered),
    (_R.REQUIRE_PTR, _by_status_or_text(_R.REQUIRE_PTR)),
    (_R.NOT_COMPLIANT_RFC, _text_only(_R.NOT_COMPLIANT_RFC)),
    (_R.REJECTED, _rejected),
    (_R.HOST_UNKNOWN, _host_unknown),
    (_R.SPAM_DETECTED, _after_data(_R.SPAM_DETECTED)),
    (_R.SPEEDING, _text_only(_R.SPEEDING, needs_status=True)),
    (_R.TOO_MANY_CONN, _by_status_or_text(_R.TOO_MANY_CONN)),
    (_R.BLOCKED, _by_status_or_text(_R.BLOCKED)),
)

#: Phrase tables consulted when the first pass and the status code leave the reason open.
SECOND_PASS = (
    _R.MAILBOX_FULL,
    _R.SPAM_DETECTED,
    _R.POLICY_VIOLATION,
    _R.VIRUS_DETECTED,
    _R.NO_RELAYING,
    _R.AUTH_FAILURE,
    _R.BAD_REPUTATION,
    _R.SECURITY_ERROR,
    _R.SYSTEM_ERROR,
    _R.NETWORK_ERROR,
    _R.SPEEDING,
    _R.SUSPEND,
    _R.EXPIRED,
    _R.CONTENT_ERROR,
    _R.SYSTEM_FULL,
    _R.NOT_ACCEPT,
    _R.MAILER_ERROR,
)


def _by_code_class(f: _Facts) -> Reason | None:
    """What the status subject, diagnostic type or reply code says when no phrase matched."""
    subject = f.status[:3]
    if subject in ("5.6", "4.6"):
        return _R.CONTENT_ERROR
    if subject in ("5.7", "4.7"):
        return _R.SECURITY_ERROR
    if f.diag_type.startswith("X-UNIX"):
        return _R.MAILER_ERROR
    if f.reply and (401 <= int(f.reply) <= 407 or 501 <= int(f.reply) <= 507):
        return _R.SYNTAX_ERROR
    return None


def _second_pass(f: _Facts) -> Reason | None:
    """Status-implied reason, or the text when the status is weak or not an SMTP answer."""
    reason = f.tmp
    if reason is not None and reason not in RETRY and f.diag_type == "SMTP":
        return reason
    for candidate in SECOND_PASS:
        if f.says(candidate):
            return candidate
    found = reason or _by_code_class(f)
    if found is not None:
        return found
    if f.action in ("delayed", "expired"):
        return _R.EXPIRED
    return _R.BLOCKED if f.command in ("EHLO", "HELO") else None


def _first_pass(f: _Facts) -> Reason | None:
    if f.diag_type not in ("SMTP", ""):
        return None
    return next((reason for reason, check in FIRST_PASS if check(f)), None)


def _provider(failure: Failure, facts: _Facts, remote_host: str) -> Reason | None:
    """A known provider's verdict (or the family's own one, when the provider defers to it),
    then the meaning of a code a provider documents, wherever its reply is quoted."""
    hint, reply = facts.hint, facts.reply
    host = remote_host or failure.reporting_host
    provider = provider_for(host, failure.diagnostic)
    if provider is not None:
        if hint is not None and provider.keeps_family_reason:
            return hint
        decided = reason_from(provider, failure.status, reply, failure.diagnostic)
        if decided is not None:
            return decided
    published = policy.find(failure.diagnostic, facts.diagnostic.tokens)
    return published.reason if published is not None else None


def decide_reason(failure: Failure, reply: str, remote_host: str) -> Reason:
    """The bounce reason for one recipient (see the module docstring for the order)."""
    hint = Reason(failure.reason) if failure.reason in _REASON_VALUES else None
    if hint is not None and hint not in RETRY:
        return hint
    facts = _Facts(failure, reply, hint)
    decided = _provider(failure, facts, remote_host)
    if decided is not None:
        return decided
    if failure.status.startswith("2."):
        return _R.DELIVERED
    if hint is None and not failure.reason:
        hint = facts.hint = facts.diagnostic.verdict()  # the reporting MTA's own words
    if hint is not None and hint not in RETRY:
        return hint
    decided = _first_pass(facts) or hint or _second_pass(facts)
    if decided is not None and decided is not _R.UNDEFINED:
        return decided
    return _left_open(facts, failure)


def _left_open(f: _Facts, failure: Failure) -> Reason:
    """No code or phrase decided: a delay is expiring; a text without meaning is on hold."""
    if failure.action == "delayed":
        return _R.EXPIRED
    if f.says(_R.VACATION):
        return _R.VACATION
    return _R.ON_HOLD if failure.diagnostic else _R.UNDEFINED


_HTML = re.compile(r"<html>.*?</html>", re.IGNORECASE | re.DOTALL)


def clean_diagnostic(text: str, reply: str, status: str) -> str:
    """Collapse a multi-line SMTP answer ("550-5.7.1 ... 550 5.7.1 ...") into one line."""
    if reply and f"{reply}-" in text:
        for sep in ("-", " "):
            if status:
                text = text.replace(f"{reply}{sep}{status}", "")
            text = text.replace(f"{reply}{sep}", "")
        if text.find(reply) != 0:
            text = f"{reply} {status} {text}" if status else f"{reply} {text}"
    text = _HTML.sub("", text)
    return " ".join(text.split())


def _permanence(reply: str, diagnostic: str, action: str) -> bool:
    """Permanent unless the codes or words say temporary, or the report says "delayed"."""
    verdict = is_permanent(f"{reply} {diagnostic}".strip())
    if verdict is None:
        return action != "delayed"
    return verdict


def _hard(reason: Reason, status: str, diagnostic: str) -> bool | None:
    if reason in _NOT_A_FAILURE:
        return None
    if reason is _R.NOT_ACCEPT:
        text = f"{status} {diagnostic}".strip()
        code = find_status(text) or find_reply(text) or ""
        return code[:1] != "4"
    return reason in _HARD


def _action(failure: Failure, reason: Reason, status: str) -> Action | None:
    """The report's own Action when it has one (RFC 3464 2.3.3), else implied by the status."""
    action = normalize_action(failure.action)
    if action:
        return Action(action)
    if reason is _R.DELIVERED:
        return Action.DELIVERED
    if status[:1] == "4" and reason is _R.EXPIRED:
        return Action.DELAYED
    if status[:1] in ("4", "5"):
        return Action.FAILED
    return None


def classify(failure: Failure) -> Recipient:
    """Decide status, reply code, reason and hard/soft for one recipient (never raises)."""
    diagnostic = failure.diagnostic or failure.alt_diagnostic
    failure.diagnostic = diagnostic
    status = failure.status if valid_status(failure.status) else ""
    reply = failure.reply_code if valid_reply(failure.reply_code) else ""
    if diagnostic:
        in_text = find_status(diagnostic) or ""
        reply_in_text = find_reply(diagnostic, in_text[:1] or None) or ""
        status = prefer_status(status, in_text, reply_in_text) or ""
        reply = reply or reply_in_text
        diagnostic = clean_diagnostic(diagnostic, reply_in_text, in_text)
    failure.status = status
    failure.diagnostic = diagnostic
    if not failure.diagnostic_type and failure.reason != _R.MAILER_ERROR:
        failure.diagnostic_type = "SMTP"
    elif not failure.diagnostic_type:
        failure.diagnostic_type = "X-UNIX"
    command = failure.command or find_command(diagnostic) or ""
    failure.command = command if command in _KNOWN_COMMANDS else ""
    reason = decide_reason(failure, reply, failure.remote_mta)
    hard = _hard(reason, status, diagnostic)
    if not status:
        status = (
            pseudo_status(reason, permanent=_permanence(reply, diagnostic, failure.action)) or ""
        )
    if status and reply and status[:1] != reply[:1]:
        alternative = find_reply(diagnostic, status[:1]) or ""
        reply = alternative if alternative[:1] == status[:1] else ""
    if reason in (_R.FEEDBACK, _R.VACATION):
        reply = ""
    return Recipient(
        address=failure.address or None,
        reason=reason,
        action=_action(failure, reason, status),
        status=status or None,
        reply_code=reply or None,
        hard=hard,
        diagnostic=diagnostic or None,
        diagnostic_type=failure.diagnostic_type or None,
        remote_mta=failure.remote_mta or None,
        smtp_command=failure.command or None,
        original_recipient=failure.original_recipient or None,
    )
