"""Read, validate and print the config: TOML -> typed dataclasses by their type hints."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from monitor.config.model import Config
from monitor.config.secret import Secret, mask_url
from monitor.config.values import Check, Readable, Writable
from monitor.errors import ConfigError

__all__ = [
    "ENV_VAR",
    "config_from_dict",
    "config_to_dict",
    "default_config_path",
    "load_config",
    "mask_database_url",
    "unavailable_inputs",
    "unavailable_secrets",
]

ENV_VAR = "DELIVERWATCH_CONFIG"


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``$DELIVERWATCH_CONFIG``, then ``./config.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path("config.toml")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; raise ``ConfigError`` naming the first bad key."""
    cfg_path = default_config_path(path)
    try:
        with cfg_path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError("", f"config file not found: {cfg_path}") from exc
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {cfg_path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{cfg_path} is not valid TOML: {exc}") from exc
    return config_from_dict(data, base_dir=cfg_path.resolve().parent, source=cfg_path)


def config_from_dict(data: dict[str, Any], *, base_dir: Path, source: Path | None = None) -> Config:
    """Validate a parsed TOML document (also used by tests to build configs in memory)."""
    loader = _Loader(base_dir)
    cfg = loader.build(Config, data, "")
    cfg = dataclasses.replace(_resolve_paths(cfg, base_dir), source=source)
    return _resolve_sqlite_path(cfg, base_dir)


def _resolve_paths(obj: Any, base_dir: Path) -> Any:
    """Make every relative ``Path`` (defaults included) relative to the config's folder."""
    if isinstance(obj, Path):
        return obj if obj.is_absolute() else base_dir / obj
    if isinstance(obj, dict):
        return {k: _resolve_paths(v, base_dir) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: _resolve_paths(getattr(obj, f.name), base_dir)
            for f in dataclasses.fields(obj)
            if not f.metadata.get("internal")
        }
        return dataclasses.replace(obj, **changes)
    return obj


def _resolve_sqlite_path(cfg: Config, base_dir: Path) -> Config:
    """Make ``sqlite:///relative.db`` relative to the config file, not the working dir."""
    url = cfg.database.url.reveal()
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        rel = url[len(prefix) :]
        resolved = Secret(prefix + str(base_dir / rel), cfg.database.url.source, key="database.url")
        return dataclasses.replace(cfg, database=dataclasses.replace(cfg.database, url=resolved))
    return cfg


def _type_name(tp: Any) -> str:
    if tp is Secret:
        return "string"
    if tp is Path:
        return "path string"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


def _annotated(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Annotated


class _Loader:
    """Turn TOML values into typed dataclass instances following the type hints."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def build(self, cls: type[Any], data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(path, f"expected a table, got {_describe(data)}")
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            known = ", ".join(sorted(fields)) or "(none)"
            raise ConfigError(where, f"unknown key (known keys here: {known})")
        kwargs = {
            name: self.convert(hints[name], value, f"{path}.{name}" if path else name)
            for name, value in data.items()
        }
        try:
            return cls(**kwargs)
        except ValueError as exc:  # __post_init__ cross-field checks
            raise ConfigError(path, str(exc)) from exc

    def convert(self, tp: Any, value: Any, path: str) -> Any:  # noqa: C901, PLR0911, PLR0912
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:  # a checked kind of value (monitor.config.values)
            converted = self.convert(args[0], value, path)
            for check in tp.__metadata__:
                if isinstance(check, Check):
                    try:
                        check.func(converted)
                    except ValueError as exc:
                        raise ConfigError(path, str(exc)) from None
            return converted
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            base = typing.get_args(options[0])[0] if _annotated(options[0]) else options[0]
            if base is Path and value == "" and type(None) in args:
                return None  # an optional path left empty: not set
            return self.convert(options[0], value, path)
        if origin is Literal:
            if value not in args:
                allowed = ", ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)
                raise ConfigError(path, f"expected one of {allowed}, got {_describe(value)}")
            return value
        if origin is tuple:
            if not isinstance(value, list):
                raise ConfigError(path, f"expected an array, got {_describe(value)}")
            return tuple(self.convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise ConfigError(path, f"expected a table, got {_describe(value)}")
            return {k: self.convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self.build(tp, value, path)
        if tp is Secret:
            return self.secret(value, path)
        if tp is Path:
            if not isinstance(value, str) or not value:
                raise ConfigError(path, f"expected a path string, got {_describe(value)}")
            return Path(value).expanduser()  # made absolute by _resolve_paths
        if tp is bool:
            if not isinstance(value, bool):
                raise ConfigError(path, f"expected true or false, got {_describe(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(path, f"expected int, got {_describe(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(path, f"expected number, got {_describe(value)}")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise ConfigError(path, f"expected string, got {_describe(value)}")
            return value
        raise ConfigError(path, f"unsupported config type {_type_name(tp)}")  # pragma: no cover

    def secret(self, value: Any, path: str) -> Secret:
        """An inline secret, or an ``env:``/``file:`` one read where it is used (see
        ``monitor.config.secret``); a relative file path is taken from the config's folder."""
        if not isinstance(value, str):
            raise ConfigError(path, f"expected string, got {_describe(value)}")
        if value.startswith("env:"):
            return Secret.deferred(value, path)
        if value.startswith("file:"):
            fpath = Path(value[5:]).expanduser()
            if not fpath.is_absolute():
                fpath = self.base_dir / fpath
            return Secret.deferred(f"file:{fpath}", path)
        return Secret(value, "inline", key=path)


# --------------------------------------------------------------------------- printing


def mask_database_url(url: str) -> str:
    """Hide a password inside a database URL (``postgresql://u:***@h/db``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "***"


def _masked(value: Secret, key: str) -> str:
    problem = value.problem()
    if problem is not None:
        return f"*** ({value.source}: {problem})"
    if key == "url":
        return mask_database_url(value.reveal())
    return f"*** ({value.source})"


def _plain(value: Any, key: str) -> Any:
    if isinstance(value, Secret):
        return _masked(value, key)
    if key in ("webhook_url", "slack_webhook_url") and isinstance(value, str) and value:
        return mask_url(value)  # the path is the credential
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, k) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name), f.name)
            for f in dataclasses.fields(value)
            if not f.metadata.get("internal") and getattr(value, f.name) is not None
        }
    return value


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """The effective config as plain data with every secret masked (for ``config check``)."""
    return typing.cast(dict[str, Any], _plain(cfg, ""))


def unavailable_secrets(cfg: Any) -> list[ConfigError]:
    """Every ``env:``/``file:`` secret of ``cfg`` that cannot be read, as the error its use
    would raise (``config check`` warns of them; the daemon refuses to start)."""
    found: list[ConfigError] = []
    _walk_secrets(cfg, found)
    return found


def _walk_secrets(value: Any, found: list[ConfigError]) -> None:
    if isinstance(value, Secret):
        problem = value.problem()
        if problem is not None:
            found.append(ConfigError(value.key, problem))
    elif isinstance(value, tuple | list):
        for item in value:
            _walk_secrets(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk_secrets(item, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _walk_secrets(getattr(value, f.name), found)


def unavailable_inputs(cfg: Any) -> list[ConfigError]:
    """``unavailable_secrets`` and every file the program reads (``ReadableFile``: CA
    bundles, keys, certificates) that is missing or unreadable, each naming its key."""
    found = unavailable_secrets(cfg)
    _walk_files(cfg, "", found)
    return found


def _marker(tp: Any) -> Any:
    """The ``Readable``/``Writable`` marker of a field's type (or of its Optional)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next((m for a in typing.get_args(tp) if (m := _marker(a)) is not None), None)
    if _annotated(tp):
        return next((m for m in tp.__metadata__ if isinstance(m, Readable | Writable)), None)
    return None


def _walk_files(value: Any, path: str, found: list[ConfigError]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _walk_files(item, f"{path}.{key}", found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = typing.get_type_hints(type(value), include_extras=True)
        for f in dataclasses.fields(value):
            item, where = getattr(value, f.name), f"{path}.{f.name}" if path else f.name
            marker = _marker(hints[f.name]) if isinstance(item, Path) else None
            if marker is not None:
                if isinstance(marker, Readable):
                    problem = _file_problem(item)
                else:
                    folder = item.parent if marker.file else item
                    problem = _folder_problem(folder)
                if problem is not None:
                    found.append(ConfigError(where, problem))
            else:
                _walk_files(item, where, found)


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be written (or created: its nearest existing ancestor must be
    a writable folder), or None."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write in {existing}"
    if _read_only_fs(existing):
        return f"{existing} is on a read-only file system"
    return None


def _read_only_fs(path: Path) -> bool:
    import errno

    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError as exc:
        return exc.errno == errno.EROFS


def _file_problem(path: Path) -> str | None:
    try:
        with path.open("rb"):
            return None
    except FileNotFoundError:
        return f"file not found: {path}"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
