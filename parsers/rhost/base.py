"""The provider record and the helpers provider tables are built with."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from parsers.records import Reason

__all__ = ["LazyPattern", "Provider", "code_table", "rules"]

_R = Reason


class LazyPattern:
    """A regex compiled on its first search: a process meets few providers, and compiling
    every provider's tables up front cost ~10 ms of each start."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.source)
        return self._compiled.search(text)


@dataclass(frozen=True, slots=True)
class Provider:
    """A mailbox provider: how to recognise its MTAs and how to read its answers."""

    name: str
    hosts: tuple[str, ...]
    rules: tuple[tuple[Reason, LazyPattern], ...] = ()
    #: reason from (status, reply code, text) when wording alone is not enough
    decide: Callable[[str, str, str], Reason | None] | None = None
    #: consult ``decide`` (an error-code table) before the wording rules
    codes_first: bool = False
    #: a family parser's own verdict stands (the provider's texts only fill gaps)
    keeps_family_reason: bool = True


def rules(table: dict[Reason, list[str]]) -> tuple[tuple[Reason, LazyPattern], ...]:
    return tuple((reason, LazyPattern("|".join(parts))) for reason, parts in table.items())


def code_table(
    pattern: re.Pattern[str], table: dict[str, Reason], *, last3: bool = False
) -> Callable[[str, str, str], Reason | None]:
    def decide(_status: str, _reply: str, text: str) -> Reason | None:
        match = pattern.search(text.upper() if not last3 else text)
        if match is None:
            return None
        key = match.group(0)[-3:] if last3 else match.group(1).upper()
        return table.get(key)

    return decide
