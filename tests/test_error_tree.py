"""Every exception class of parsers/ and monitor/ hangs from one of the two roots, and the
drawings in ``parsers.errors`` and ``monitor.errors`` name them all (STYLE.md 4).

The classes are found by importing every module of both packages, so a class added
anywhere shows up here without anyone listing it; an error class that must derive from a
library's exception instead goes in ``LIBRARY_BASES`` with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType

import click
import pytest

import monitor
import monitor.errors
import parsers
import parsers.errors
from monitor.errors import MonitorError
from parsers.errors import ParseError

ROOTS: dict[type[BaseException], ModuleType] = {
    ParseError: parsers.errors,
    MonitorError: monitor.errors,
}

#: Classes that must derive from a library's exception rather than from a root, with why.
#: Each is drawn under that library class in the root module's docstring.
LIBRARY_BASES: dict[str, tuple[type[BaseException], str, ModuleType]] = {
    "monitor.cli.common.Refused": (
        click.ClickException,
        "monitor.cli.root.main shows a ClickException in click's own format with its "
        "exit_code; a MonitorError would print as 'error: ...' with exit status 2",
        monitor.errors,
    ),
}

_DRAWN = re.compile(r"── (\w+)")


def _modules(package: ModuleType) -> Iterator[ModuleType]:
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith(".__main__") or ".alembic.versions" in info.name:
            continue  # runs the CLI / migration scripts loaded by Alembic by path
        yield importlib.import_module(info.name)


def _classes(owner: ModuleType | type, module: str) -> Iterator[type]:
    for value in vars(owner).values():
        if inspect.isclass(value) and value.__module__ == module and value is not owner:
            yield value
            yield from _classes(value, module)


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in (parsers, monitor):
        for module in _modules(package):
            for cls in _classes(module, module.__name__):
                if issubclass(cls, BaseException):
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


EXCEPTIONS = _exception_classes()


def _drawing(module: ModuleType) -> set[str]:
    return set(_DRAWN.findall(module.__doc__ or ""))


def test_the_walk_finds_classes_of_both_packages_beyond_the_error_modules() -> None:
    modules = {name.rsplit(".", 1)[0] for name in EXCEPTIONS}
    assert {"parsers.errors", "monitor.errors", "parsers.verp", "monitor.checks.transport"} <= (
        modules
    )


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_every_exception_class_hangs_from_a_root(name: str) -> None:
    cls = EXCEPTIONS[name]
    if name in LIBRARY_BASES:
        base, reason, _ = LIBRARY_BASES[name]
        assert issubclass(cls, base), f"{name} no longer needs its allow-list entry ({reason})"
        return
    roots = [root for root in ROOTS if issubclass(cls, root)]
    assert roots, f"{name} derives from neither ParseError nor MonitorError"
    own = ParseError if name.startswith("parsers.") else MonitorError
    assert own in roots, f"{name} should hang from its own package's root, {own.__name__}"


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_every_exception_class_is_drawn_in_its_root_module(name: str) -> None:
    cls = EXCEPTIONS[name]
    if name in LIBRARY_BASES:
        module = LIBRARY_BASES[name][2]
    else:
        module = next(m for root, m in ROOTS.items() if issubclass(cls, root))
    assert cls.__name__ in _drawing(module), f"{module.__name__}'s docstring does not draw {name}"


@pytest.mark.parametrize("module", list(ROOTS.values()), ids=lambda m: m.__name__)
def test_every_drawn_class_exists(module: ModuleType) -> None:
    """The drawing names no class that was renamed or removed (library bases aside)."""
    real = {cls.__name__ for cls in EXCEPTIONS.values()}
    libraries = {base.__name__ for base, _, _ in LIBRARY_BASES.values()} | {"ClickException"}
    stale = _drawing(module) - real - libraries
    assert not stale, f"{module.__name__} draws classes that do not exist: {sorted(stale)}"


def test_the_drawing_puts_the_roots_under_their_builtin_bases() -> None:
    assert issubclass(ParseError, ValueError)
    assert "ValueError\n     └── ParseError" in (parsers.errors.__doc__ or "")
    assert "Exception\n     └── MonitorError" in (monitor.errors.__doc__ or "")
