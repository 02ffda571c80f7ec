"""The contract every recommender passes: subclass and define ``make_model``.

Every model of ``recsys.models.MODELS`` must have such a subclass in a ``tests/test_*.py``
module: tests/test_model_contract_coverage.py compares :func:`covered_models` with the
registry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from recsys.base import Recommender
from recsys.dataset import Dataset
from recsys.ids import UnknownIdError

DAY = 86_400


def tiny_dataset() -> Dataset:
    """Three employees, five items; item ``a`` is the most popular, ``e`` never seen."""
    users = ["u1", "u1", "u2", "u2", "u3", "u3"]
    items = ["a", "b", "a", "c", "a", "d"]
    times = [1 * DAY, 2 * DAY, 3 * DAY, 4 * DAY, 5 * DAY, 6 * DAY]
    dataset = Dataset.from_events(users, items, times=times)
    catalogue = dataset.items.add(["e"])
    return Dataset.from_events(
        users,
        items,
        times=times,
        users=dataset.users,
        items=catalogue,
        item_times=np.asarray([0, DAY, 2 * DAY, 3 * DAY, 6 * DAY]),
    )


class RecommenderContract:
    """Shared tests (the ``implicit`` library's pattern)."""

    def make_model(self) -> Recommender:
        raise NotImplementedError

    def dataset(self) -> Dataset:
        """The training data; override to add features to :func:`tiny_dataset` (same events)."""
        return tiny_dataset()

    def fitted(self) -> Recommender:
        return self.make_model().fit(self.dataset())

    def test_fit_returns_self(self) -> None:
        model = self.make_model()
        assert model.fit(self.dataset()) is model

    def test_recommend_before_fit_is_a_clear_error(self) -> None:
        with pytest.raises(NotFittedError, match="fit"):
            self.make_model().recommend(["u1"], 3)

    def test_batch_equals_one_by_one(self) -> None:
        model = self.fitted()
        ids, scores = model.recommend(["u1", "u2", "u3"], 3)
        for i, user in enumerate(["u1", "u2", "u3"]):
            one_ids, one_scores = model.recommend([user], 3)
            assert one_ids[0].tolist() == ids[i].tolist()
            np.testing.assert_allclose(one_scores[0], scores[i], rtol=1e-5)

    def test_k_larger_than_catalogue_returns_every_unseen_item(self) -> None:
        ids, scores = self.fitted().recommend(["u1"], 50)
        assert sorted(ids[0].tolist()) == ["c", "d", "e"]
        assert np.all(np.diff(scores[0]) <= 0)

    def test_seen_items_and_candidates_are_honoured(self) -> None:
        model = self.fitted()
        ids, _ = model.recommend(["u2"], 5, candidates=["a", "b", "e"])
        assert set(ids[0]) <= {"b", "e"}
        ids, _ = model.recommend(["u2"], 5, candidates=["a", "b"], exclude_seen=False)
        assert sorted(ids[0].tolist()) == ["a", "b"]
        with pytest.raises(UnknownIdError, match="content"):
            model.recommend(["u2"], 5, candidates=["nope"])

    def test_unknown_employee_per_policy(self) -> None:
        model = self.fitted()
        ids, _ = model.recommend(["new-hire"], 2)
        assert len(ids[0]) == 2
        with pytest.raises(UnknownIdError, match="employee"):
            model.recommend(["new-hire"], 2, unknown_employees="raise")
        with pytest.raises(ValueError, match="k must be"):
            model.recommend(["u1"], 0)

    def test_deterministic(self) -> None:
        first = self.fitted().recommend(["u1", "u2", "new"], 4)
        second = self.fitted().recommend(["u1", "u2", "new"], 4)
        for a, b in zip(first[0], second[0], strict=True):
            assert a.tolist() == b.tolist()

    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        model = self.fitted()
        model.save(tmp_path / "model")
        loaded = type(model).load(tmp_path / "model")
        assert _leaves(loaded.get_params()) == _leaves(model.get_params())
        before = model.recommend(["u1", "u2", "unknown"], 5, as_of=7 * DAY)
        after = loaded.recommend(["u1", "u2", "unknown"], 5, as_of=7 * DAY)
        for a, b in zip(before[0], after[0], strict=True):
            assert a.tolist() == b.tolist()
        for a, b in zip(before[1], after[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6)

    def test_observe_excludes_new_events_and_adds_employees(self) -> None:
        model = self.fitted()
        model.observe(["u1", "hire"], ["c", "a"], [7 * DAY, 7 * DAY])
        ids, _ = model.recommend(["u1", "hire"], 10, unknown_employees="raise")
        assert "c" not in ids[0] and "a" not in ids[1]

    def test_new_content_is_ranked_without_refit(self) -> None:
        model = self.fitted()
        model.add_items(["f"], times=[7 * DAY])
        ids, _ = model.recommend(["u1"], 10, candidates=["f", "e"])
        assert set(ids[0]) == {"e", "f"}

    def test_add_users_serves_new_employees_without_refit(self) -> None:
        model = self.fitted()
        before = model.recommend(["u1"], 3)
        assert model.add_users(["hire", "u1", "hire"]) == ["hire"]
        assert model.add_users(["hire"]) == []
        ids, _ = model.recommend(["hire"], 2, unknown_employees="raise")
        assert len(ids[0]) == 2
        after = model.recommend(["u1"], 3)
        assert after[0][0].tolist() == before[0][0].tolist()
        with pytest.raises(TypeError, match="features must be a FeatureMatrix"):
            model.add_users(["other"], features=[[1.0]])  # type: ignore[arg-type]


def _leaves(params: dict) -> dict:
    """Parameters without nested estimators (compared through their own parameters)."""
    from sklearn.base import BaseEstimator

    return {k: v for k, v in params.items() if not isinstance(v, BaseEstimator)}


def contract_classes() -> list[type[RecommenderContract]]:
    """Every test class running the contract, from the ``tests/test_*.py`` modules that use it
    (imported here, so the answer does not depend on which test files were collected)."""
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        if "RecommenderContract" in path.read_text():
            importlib.import_module(f"tests.{path.stem}")
    found: list[type[RecommenderContract]] = []
    todo = list(RecommenderContract.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.make_model is not RecommenderContract.make_model]


def covered_models() -> set[type[Recommender]]:
    """The recommender classes the contract runs on (the exact class ``make_model`` builds)."""
    return {type(cls().make_model()) for cls in contract_classes()}
