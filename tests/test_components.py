"""Contract of every score component: one pair = its row entry = its folded catalogue entry,
live updates keep the shapes equal, state round-trips; plus a component added in a test."""

from __future__ import annotations

from typing import Self

import numpy as np
import pytest

from recsys.dataset import Dataset
from recsys.models import Hybrid
from recsys.models.cache import BoundedCache, SourceCache, TimedCache
from recsys.models.component import COMPONENTS, FitContext, Fold, ScoreComponent, register
from recsys.models.content import GenreAffinity
from recsys.models.covisit import CoVisit
from recsys.models.ease import TreePrior
from recsys.models.hybrid import DEFAULT_COMPONENTS
from recsys.models.neighbours import NeighbourTrend
from recsys.models.timing import ColdTimePopularity, ReleaseWindow
from recsys.reasons import component_kind
from tests.test_hybrid import SMALL, _with_features, trend_dataset

DAY = 86_400.0
AS_OF = 10.5 * DAY


@register
class ConstantPrior(ScoreComponent):
    """The example of a new component: the same prior for every pair (item-only)."""

    name = "constant_prior"

    def __init__(self, *, value: float = 1.0) -> None:
        self.value = value

    def fit_component(self, dataset: Dataset, context: FitContext) -> Self:
        self.n_items_ = len(dataset.items)
        return self

    def is_item_only(self) -> bool:
        return True

    def pairs(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> np.ndarray:
        return np.full(len(items), self.value)

    def item_values(self, as_of: float) -> np.ndarray | None:
        return np.full(self.n_items_, self.value)

    def grow_items(self, internal, content_ids, features, times) -> None:
        self.n_items_ += len(internal)

    def state(self) -> dict[str, np.ndarray]:
        return {"n_items": np.asarray([self.n_items_])}

    def load_state(self, arrays: dict[str, np.ndarray]) -> Self:
        self.n_items_ = int(arrays["n_items"][0])
        return self


#: The extra components every contract hybrid carries: the test's own, and the registered ones
#: no default includes (the trend data's people touch one item a day: co-visitation needs a
#: two-day window to count anything; the genre affinity, the tree prior and the release
#: window read the test embeddings, the dataset has no genres or release dates).
EXTRA = (
    "constant_prior",
    "covisit",
    "genre_affinity",
    "tree_prior",
    "release_window",
    "cold_time_popularity",
    "neighbour_trend",
)


def extras(value: float = 1.0) -> tuple[ScoreComponent, ...]:
    return (
        ConstantPrior(value=value),
        CoVisit(window_hours=48.0, session_half_life_hours=24.0),
        GenreAffinity(feature_prefix="emb_"),
        TreePrior(prefixes="emb_", trees=5),
        ReleaseWindow(release_column="emb_0"),
        ColdTimePopularity(bin_days=1.0, prefixes="emb_", release_column="emb_0"),
        NeighbourTrend(neighbours=2, half_life_days=2.0),
    )


@pytest.fixture(scope="module")
def hybrid() -> Hybrid:
    model = Hybrid(extra_components=extras(0.5)).set_params(**SMALL)
    return model.fit(_with_features(trend_dataset()))


def test_every_registered_component_is_in_the_suite(hybrid: Hybrid) -> None:
    covered = {component.name for component in hybrid.components_.values()}
    assert covered == set(COMPONENTS), f"not covered: {set(COMPONENTS) - covered}"
    assert list(hybrid.components_)[: len(DEFAULT_COMPONENTS)] == list(DEFAULT_COMPONENTS)


def _folded(component: ScoreComponent, users: np.ndarray, n_items: int) -> np.ndarray:
    """The catalogue shape with unit weights: item-only + static + live parts."""
    ones = np.ones(n_items)
    cold = np.zeros(n_items, bool)
    fold = Fold("c", lambda: ones, lambda: cold, SourceCache(), BoundedCache(), TimedCache())
    total = np.zeros((len(users), n_items))
    values = component.item_values(AS_OF)
    if values is not None:
        total += np.asarray(values, np.float64)[None, :]
    for part in (
        component.static_scores(users, None, fold),
        component.live_scores(users, None, AS_OF, fold),
    ):
        if part is not None:
            total += part
    return total


def _check_shapes(component: ScoreComponent, n_users: int, n_items: int) -> None:
    users = np.asarray([*range(n_users), -1], np.int64)
    items = np.arange(n_items)
    folded = _folded(component, users, n_items)
    for j, user in enumerate(users.tolist()):
        pairs = component.pairs(np.full(n_items, user), items, np.full(n_items, AS_OF))
        np.testing.assert_allclose(component.row(user, items, AS_OF), pairs, atol=1e-9)
        np.testing.assert_allclose(folded[j], pairs, rtol=1e-5, atol=1e-5)
        if component.row_key(user) is not None and component.is_item_only():
            np.testing.assert_allclose(component.item_values(AS_OF), pairs, atol=1e-12)


@pytest.mark.parametrize("name", [*DEFAULT_COMPONENTS, *EXTRA])
def test_one_pair_equals_its_row_and_catalogue_entries(hybrid: Hybrid, name: str) -> None:
    _check_shapes(hybrid.components_[name], len(hybrid.users_), len(hybrid.items_))


@pytest.mark.parametrize("name", [*DEFAULT_COMPONENTS, *EXTRA])
def test_live_updates_keep_the_shapes_equal_and_state_round_trips(name: str) -> None:
    model = Hybrid(extra_components=extras()).set_params(**SMALL)
    model.fit(_with_features(trend_dataset()))
    model.add_users(["newbie"])
    model.add_items(["fresh"], times=[AS_OF - 3600])
    model.observe(["u1", "newbie", "u2"], ["fresh", "i2", "fresh"], [AS_OF - 60] * 3)
    component = model.components_[name]
    _check_shapes(component, len(model.users_), len(model.items_))
    restored = type(component)(**component.get_params()).load_state(component.state())
    users = np.asarray([0, len(model.users_) - 1, -1])
    items = np.asarray([0, len(model.items_) - 1, 1])
    np.testing.assert_array_equal(
        restored.pairs(users, items, np.full(3, AS_OF)),
        component.pairs(users, items, np.full(3, AS_OF)),
    )


def test_a_hybrid_with_the_new_component_saves_and_loads(hybrid: Hybrid, tmp_path) -> None:
    hybrid.save(tmp_path / "model")
    loaded = Hybrid.load(tmp_path / "model")
    assert loaded.components_["constant_prior"].value == 0.5
    users, items = np.arange(3), np.arange(len(hybrid.items_))
    np.testing.assert_allclose(loaded.score(users, items, AS_OF), hybrid.score(users, items, AS_OF))


def test_loading_an_unregistered_component_names_it(hybrid: Hybrid, tmp_path, monkeypatch) -> None:
    hybrid.save(tmp_path / "model")
    monkeypatch.delitem(COMPONENTS, "constant_prior")
    with pytest.raises(ValueError, match="unknown score component 'constant_prior'"):
        Hybrid.load(tmp_path / "model")


def test_every_registered_component_gives_a_reason() -> None:
    """Each component a feed can rank by can also be named as a reason."""
    silent = [
        name for name in COMPONENTS if name != "constant_prior" and component_kind(name) is None
    ]
    assert not silent, f"no reason kind for {silent}"
