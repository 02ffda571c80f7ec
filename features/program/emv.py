"""Earned media value: what a share's organic results would have cost as paid media.

Per network, with the rates of an :class:`EmvConfig`::

    EMV = CPM x impressions / 1000 + CPC x (reaction_multiplier x reactions + clicks)

CPM prices the impressions, CPC the clicks; a reaction is valued as ``reaction_multiplier``
clicks. Each network's rates carry an ISO 4217 currency and EMV is reported per currency,
never converted. A network the config does not price has no EMV: the report counts its
shares as unpriced instead of adding 0.

The config is YAML (``emv.example.yaml`` beside this module is the shipped example)::

    example: true          # optional; true marks rates to replace (the CLI warns)
    networks:
      linkedin: {cpm: 30, cpc: 3.5, reaction_multiplier: 0.2, currency: USD}

Every problem raises :class:`EmvConfigError` naming the key, e.g.
``networks.linkedin.cpm: must be a number >= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from features.data.contract import NETWORKS
from features.data.currencies import ISO_4217
from features.yaml_config import mapping, no_unknown_keys, read_yaml
from recsys.errors import FieldError

EXAMPLE_CONFIG = Path(__file__).with_name("emv.example.yaml")
"""The shipped example rates (marked ``example: true``): replace them before reporting EMV."""

RATE_KEYS = ("cpm", "cpc", "reaction_multiplier", "currency")
_TOP_KEYS = ("example", "networks")

Amount = TypeVar("Amount")  # a number, or a SQL expression


class EmvConfigError(FieldError):
    """An EMV config that cannot be used; ``key`` (= ``field``) names the dotted key at fault."""

    @property
    def key(self) -> str:
        return self.field


@dataclass(frozen=True)
class NetworkRates:
    """One network's media rates: per thousand impressions, per click, in ``currency``."""

    cpm: float
    cpc: float
    reaction_multiplier: float
    currency: str

    def emv(self, impressions: Amount, reactions: Amount, clicks: Amount) -> Amount:
        """The EMV of these results on this network."""
        return earned_media_value(
            self.cpm, self.cpc, self.reaction_multiplier, impressions, reactions, clicks
        )


def earned_media_value(
    cpm: Amount,
    cpc: Amount,
    reaction_multiplier: Amount,
    impressions: Amount,
    reactions: Amount,
    clicks: Amount,
) -> Amount:
    """The EMV formula: numbers, or SQL expressions (rates chosen per row by network)."""
    return cpm * impressions / 1000 + cpc * (reaction_multiplier * reactions + clicks)


@dataclass(frozen=True)
class EmvConfig:
    """Rates by network; ``is_example`` is true for the shipped example rates."""

    networks: Mapping[str, NetworkRates]
    is_example: bool = False
    source: str = ""

    @cached_property
    def currencies(self) -> tuple[str, ...]:
        """The currencies EMV is reported in, sorted."""
        return tuple(sorted({r.currency for r in self.networks.values()}))

    def networks_in(self, currency: str) -> tuple[str, ...]:
        """The priced networks whose EMV is in ``currency``."""
        return tuple(n for n, r in self.networks.items() if r.currency == currency)


def load_emv_config(path: Path | str) -> EmvConfig:
    """The validated config in YAML file ``path``; :class:`EmvConfigError` if unusable."""
    return parse_emv_config(read_yaml(path, EmvConfigError), source=str(path))


def parse_emv_config(raw: object, *, source: str = "") -> EmvConfig:
    """The validated config in a parsed YAML document."""
    top = _mapping(raw, "(top level)")
    _no_unknown_keys(top, _TOP_KEYS, "")
    is_example = top.get("example", False)
    if not isinstance(is_example, bool):
        raise EmvConfigError("example", "must be true or false")
    if "networks" not in top:
        raise EmvConfigError("networks", "required: a mapping of network to rates")
    networks = _mapping(top["networks"], "networks")
    if not networks:
        raise EmvConfigError("networks", "must price at least one network")
    rates = {}
    for name, entry in networks.items():
        if name not in NETWORKS:
            raise EmvConfigError(f"networks.{name}", f"unknown network; one of {_listed(NETWORKS)}")
        rates[name] = _rates(entry, f"networks.{name}")
    return EmvConfig(networks=rates, is_example=is_example, source=source)


def _rates(raw: object, key: str) -> NetworkRates:
    entry = _mapping(raw, key)
    _no_unknown_keys(entry, RATE_KEYS, f"{key}.")
    for name in RATE_KEYS:
        if name not in entry:
            raise EmvConfigError(f"{key}.{name}", "required")
    numbers = {name: _rate(entry[name], f"{key}.{name}") for name in RATE_KEYS[:3]}
    return NetworkRates(**numbers, currency=_currency(entry["currency"], f"{key}.currency"))


def _rate(value: object, key: str) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:  # type: ignore[arg-type]
        raise EmvConfigError(key, f"must be a number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _currency(value: object, key: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in ISO_4217:
        raise EmvConfigError(key, f"must be an ISO 4217 currency code (e.g. EUR), got {value!r}")
    return code


def _mapping(raw: object, key: str) -> dict[str, object]:
    return mapping(raw, key, EmvConfigError)


def _no_unknown_keys(entry: Mapping[str, object], known: tuple[str, ...], prefix: str) -> None:
    no_unknown_keys(entry, known, prefix, EmvConfigError)


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names)
