"""``Secret``: a config value that never prints itself."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """A secret value resolved from the config; masked whenever it is printed or logged."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "inline") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        """The plain value, for the one place that needs it (a login, an HMAC key)."""
        return self._value

    @property
    def source(self) -> str:
        """Where it came from (``inline``, ``env:NAME``, ``file:PATH``), safe to print."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret(<{self._source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
