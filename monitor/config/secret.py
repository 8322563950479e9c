"""``Secret``: a config value that never prints itself, read where it is used.

An ``env:NAME`` or ``file:PATH`` secret is looked up the first time ``reveal()`` is called,
not when the config is loaded (issue 11): a mailbox password that is not in this shell's
environment must not stop ``events list`` or ``suppression export``, which never log in.
The command that does need it fails with one line naming the key and the variable. The
daemon, which will need every secret sooner or later, checks them all at start
(``unavailable_secrets``), so it still fails fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from monitor.errors import ConfigError

__all__ = ["Secret", "mask_url"]


class Secret:
    """A secret value from the config; masked whenever it is printed or logged."""

    __slots__ = ("_key", "_source", "_value")

    def __init__(self, value: str | None, source: str = "inline", *, key: str = "") -> None:
        """``value`` None means: read it from ``source`` (``env:NAME``/``file:PATH``) on
        first use; ``key`` is the dotted config path named in errors."""
        self._value = value
        self._source = source
        self._key = key

    @classmethod
    def deferred(cls, source: str, key: str) -> Secret:
        """An ``env:NAME`` or ``file:PATH`` secret, read on first ``reveal()``."""
        if not source.startswith(("env:", "file:")):
            raise ValueError(f"not an env: or file: source: {source!r}")
        return cls(None, source, key=key)

    def reveal(self) -> str:
        """The plain value, for the one place that needs it (a login, an HMAC key).

        Raises ``ConfigError`` naming the key when an env/file secret cannot be read.
        """
        if self._value is None:
            self._value = self._read()
        return self._value

    def _read(self) -> str:
        kind, _, name = self._source.partition(":")
        if kind == "env":
            if name not in os.environ:
                raise ConfigError(self._key, f"environment variable {name} is not set")
            return os.environ[name]
        try:
            return Path(name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(self._key, f"cannot read secret file {name}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ConfigError(self._key, f"secret file {name} is not UTF-8 text") from None

    def problem(self) -> str | None:
        """Why ``reveal()`` would fail (``"... is not set"``), or None when it would not."""
        try:
            self.reveal()
        except ConfigError as exc:
            return exc.problem
        return None

    @property
    def source(self) -> str:
        """Where it came from (``inline``, ``env:NAME``, ``file:PATH``), safe to print."""
        return self._source

    @property
    def key(self) -> str:
        """The dotted config key it was read from ("" when built in code)."""
        return self._key

    def __repr__(self) -> str:
        return f"Secret(<{self._source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret) or other._source != self._source:
            return False
        if self.problem() is not None or other.problem() is not None:
            return self.problem() == other.problem()  # the same unreadable source
        return other._value == self._value

    def __hash__(self) -> int:
        return hash(self._source)


def mask_url(url: str) -> str:
    """``url`` with its user, password, path and query hidden: a webhook URL's path is its
    credential (``https://hooks.slack.com/services/T0/B0/XXXX``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    if not parts.scheme or not host:
        return "***"
    hidden = "/***" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"
