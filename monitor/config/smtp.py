"""The SMTP client settings shared by ``[alerts]`` and ``[report.email]`` (one type, the
same keys in both tables)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.secret import Secret
from monitor.config.values import Host, MailAddress

__all__ = ["SmtpSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    """How to reach the SMTP server that carries our own mail (alerts, the report)."""

    #: From address of the mail.
    sender: MailAddress = "deliverwatch@localhost"
    smtp_host: Host = "localhost"
    smtp_port: int = 587
    #: Upgrade with STARTTLS (RFC 3207) before logging in.
    starttls: bool = True
    username: str = ""
    password: Secret | None = None
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.smtp_port < 65536:
            raise ValueError(f"smtp_port must be 1..65535, got {self.smtp_port}")
        if self.username and self.password is None:
            raise ValueError("username is set but password is not")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
