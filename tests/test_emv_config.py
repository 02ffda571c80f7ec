"""The EMV config: the shipped example, rates by hand, and every bad value named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from features.program import (
    EXAMPLE_CONFIG,
    EmvConfigError,
    NetworkRates,
    load_emv_config,
    parse_emv_config,
)

LINKEDIN = {"cpm": 30, "cpc": 5, "reaction_multiplier": 0.2, "currency": "EUR"}


def _config(**networks: object) -> dict[str, object]:
    return {"networks": networks or {"linkedin": dict(LINKEDIN)}}


def test_the_shipped_example_loads_and_says_it_is_an_example() -> None:
    config = load_emv_config(EXAMPLE_CONFIG)
    assert config.is_example
    assert set(config.networks) == {"linkedin", "x", "facebook", "instagram", "xing"}
    assert EXAMPLE_CONFIG.read_text().startswith("# EXAMPLE RATES - REPLACE THEM")


def test_a_company_config_is_not_an_example(tmp_path: Path) -> None:
    path = tmp_path / "emv.yaml"
    path.write_text(yaml.safe_dump(_config(x={**LINKEDIN, "currency": "usd"})))
    config = load_emv_config(path)
    assert not config.is_example and config.source == str(path)
    assert config.networks["x"] == NetworkRates(30.0, 5.0, 0.2, "USD")  # code upper-cased
    assert config.currencies == ("USD",)


def test_emv_by_hand() -> None:
    rates = NetworkRates(cpm=30.0, cpc=5.0, reaction_multiplier=0.2, currency="EUR")
    # 30 x 12000 / 1000 + 5 x (0.2 x 150 + 40) = 360 + 5 x 70 = 710
    assert rates.emv(12_000, 150, 40) == pytest.approx(710.0)
    assert rates.emv(0, 0, 0) == 0.0


def test_mixed_currencies_are_kept_apart() -> None:
    config = parse_emv_config(_config(linkedin=LINKEDIN, x={**LINKEDIN, "currency": "USD"}))
    assert config.currencies == ("EUR", "USD")
    assert config.networks_in("EUR") == ("linkedin",)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (_config(linkedin={**LINKEDIN, "cpm": -1}), "networks.linkedin.cpm"),
        (_config(linkedin={**LINKEDIN, "cpm": "30"}), "networks.linkedin.cpm"),
        (_config(linkedin={**LINKEDIN, "cpc": True}), "networks.linkedin.cpc"),
        (_config(linkedin={**LINKEDIN, "cpc": float("nan")}), "networks.linkedin.cpc"),
        (
            _config(linkedin={**LINKEDIN, "reaction_multiplier": None}),
            "networks.linkedin.reaction_multiplier",
        ),
        (_config(linkedin={**LINKEDIN, "currency": "EURO"}), "networks.linkedin.currency"),
        (_config(linkedin={**LINKEDIN, "currency": 978}), "networks.linkedin.currency"),
        (_config(linkedin={**LINKEDIN, "cmp": 3}), "networks.linkedin.cmp"),
        (
            _config(linkedin={k: v for k, v in LINKEDIN.items() if k != "cpc"}),
            "networks.linkedin.cpc",
        ),
        (_config(linkedin=[30, 5]), "networks.linkedin"),
        (_config(tiktok=LINKEDIN), "networks.tiktok"),
        ({"networks": {}}, "networks"),
        ({"networks": ["linkedin"]}, "networks"),
        ({}, "networks"),
        ({**_config(), "currency": "EUR"}, "currency"),
        ({**_config(), "example": "yes"}, "example"),
        (["networks"], "(top level)"),
        (None, "(top level)"),
    ],
)
def test_bad_values_are_refused_with_their_key(raw: object, key: str) -> None:
    with pytest.raises(EmvConfigError) as caught:
        parse_emv_config(raw)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_the_message_says_what_is_expected() -> None:
    with pytest.raises(EmvConfigError, match=r"^networks\.linkedin\.cpm: must be a number >= 0"):
        parse_emv_config(_config(linkedin={**LINKEDIN, "cpm": -0.5}))


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "emv.yaml"
    path.write_text("networks: [linkedin\n")
    with pytest.raises(EmvConfigError) as caught:
        load_emv_config(path)
    assert caught.value.key == "(file)"
