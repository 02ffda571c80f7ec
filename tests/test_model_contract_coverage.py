"""No registered recommender without the shared contract (tests/recsys_contract.py)."""

from __future__ import annotations

from recsys.models import MODELS, Popular
from tests.recsys_contract import contract_classes, covered_models


def test_the_scan_finds_the_contract_classes() -> None:
    names = {cls.__name__ for cls in contract_classes()}
    assert "TestPopular" in names
    assert Popular in covered_models()


def test_every_registered_model_runs_the_contract() -> None:
    missing = {name for name, model in MODELS.items() if model not in covered_models()}
    assert not missing, (
        f"models in recsys.models.MODELS without a RecommenderContract subclass in a"
        f" tests/test_*.py module: {sorted(missing)}"
    )
