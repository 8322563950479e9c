"""Messages a bounce, FBL or DMARC mailbox receives, written from the RFCs for the tests.

``dsn`` renders an RFC 3464 delivery status notification whose recipient, status and
diagnostic the test chooses, so each suppression rule can be driven by one real message
through a real IMAP server; ARF and report mails come from ``tests.builders.reports``.
"""

from __future__ import annotations

import itertools

_SEQ = itertools.count(1)


def dsn(
    recipient: str,
    *,
    status: str = "5.1.1",
    diagnostic: str | None = None,
    action: str = "failed",
    message_id: str | None = "<newsletter-1@sender.example>",
    return_path: str = "bounces@sender.example",
    campaign: str = "spring",
) -> bytes:
    """An RFC 3464 DSN for one recipient, with the original message's headers enclosed."""
    n = next(_SEQ)
    diag = diagnostic or f"smtp; 550 {status} <{recipient}>: Recipient address rejected"
    return (
        "Return-Path: <>\r\n"
        f"Delivered-To: {return_path}\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.isp.example>\r\n"
        f"To: {return_path}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
        f"Message-ID: <dsn-{n}@mx.isp.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n\r\n"
        "--b1\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.isp.example\r\n"
        "Arrival-Date: Tue, 02 Jan 2024 09:59:58 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx.isp.example\r\n"
        f"Diagnostic-Code: {diag}\r\n\r\n"
        "--b1\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Return-Path: <{return_path}>\r\n"
        "From: News <news@sender.example>\r\n"
        f"To: {recipient}\r\n"
        "Subject: Spring news\r\n"
        + (f"Message-ID: {message_id}\r\n" if message_id else "")
        + f"X-Campaign-ID: {campaign}\r\n\r\n"
        "--b1--\r\n"
    ).encode()


def auto_reply(sender: str) -> bytes:
    """An RFC 3834 automatic reply."""
    n = next(_SEQ)
    return (
        f"From: {sender}\r\nTo: bounces@sender.example\r\nSubject: Out of office\r\n"
        "Auto-Submitted: auto-replied\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
        f"Message-ID: <ooo-{n}@isp.example>\r\n\r\n"
        "I am on vacation until Monday and will read your mail when I am back.\r\n"
    ).encode()


def garbage() -> bytes:
    """Not a report of any kind: a human's reply in the bounce mailbox."""
    n = next(_SEQ)
    return (
        f"From: someone@example.org\r\nTo: bounces@sender.example\r\nSubject: hello {n}\r\n"
        f"Message-ID: <human-{n}@example.org>\r\n\r\nThanks for the newsletter!\r\n"
    ).encode()
