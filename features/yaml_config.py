"""Checks shared by the YAML config files (EMV rates, the screening policy): each raises the
caller's :class:`~recsys.errors.FieldError` subclass, naming the dotted key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from recsys.errors import FieldError


def read_yaml(path: Path | str, error: type[FieldError]) -> object:
    """The parsed document in ``path``; ``error("(file)", ...)`` if unreadable or not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error("(file)", f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise error("(file)", f"{path} is not valid YAML: {exc}") from None


def mapping(raw: object, key: str, error: type[FieldError]) -> dict[str, object]:
    """``raw`` as a mapping of names, or ``error(key, ...)``."""
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        raise error(key, "must be a mapping of names")
    return raw


def no_unknown_keys(
    entry: Mapping[str, object], known: tuple[str, ...], prefix: str, error: type[FieldError]
) -> None:
    """``error(prefix + name, ...)`` for the first key of ``entry`` not in ``known``."""
    for name in entry:
        if name not in known:
            raise error(f"{prefix}{name}", f"unknown key; expected {', '.join(known)}")
