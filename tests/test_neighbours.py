"""The co-reader trend component on tiny literal data (the shape contract is in
tests/test_components.py)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.dataset import Dataset
from recsys.models.component import FitContext
from recsys.models.neighbours import NeighbourTrend
from recsys.reasons import ReasonKind, component_kind

HOUR = 3_600.0
DAY = 86_400.0
T0 = 1_460_000_000.0  # a DeskDrop-like epoch: the multipliers must not overflow


def reading() -> Dataset:
    """a and b read x and y; c read x and z; d read w. Then, at T0 + 10 days, b reads n."""
    events = [
        ("a", "x", T0),
        ("a", "y", T0 + HOUR),
        ("b", "x", T0 + 2 * HOUR),
        ("b", "y", T0 + 3 * HOUR),
        ("c", "x", T0 + 4 * HOUR),
        ("c", "z", T0 + 5 * HOUR),
        ("d", "w", T0 + 6 * HOUR),
        ("b", "n", T0 + 10 * DAY),
    ]
    users, items, times = zip(*events, strict=True)
    return Dataset.from_events(list(users), list(items), times=np.asarray(times))


def fitted(**params: float) -> tuple[NeighbourTrend, Dataset]:
    data = reading()
    settings: dict[str, float] = {"history_half_life_days": 1e6} | params
    return NeighbourTrend(**settings).fit_component(data, FitContext()), data  # type: ignore[arg-type]


def value(model: NeighbourTrend, data: Dataset, user: str, item: str, at: float) -> float:
    u, i = data.users.to_internal([user]), data.items.to_internal([item])
    return float(model.pairs(u, i, np.asarray([at]))[0])


def test_what_the_nearest_co_readers_read_just_now_scores() -> None:
    model, data = fitted(neighbours=1)
    now = T0 + 10 * DAY
    # a's nearest co-reader is b (both read x and y): b's read of n counts, by their cosine
    history = {"a": {"x", "y"}, "b": {"x", "y", "n"}}
    cosine = len(history["a"] & history["b"]) / np.sqrt(2 * 3)
    assert value(model, data, "a", "n", now) == pytest.approx(cosine, rel=1e-3)
    assert value(model, data, "a", "n", now + HOUR) == pytest.approx(cosine / 2, rel=1e-3)
    # d shares nothing with anyone, and b's own read is not its neighbours'
    assert value(model, data, "d", "n", now) == 0.0
    assert value(model, data, "b", "n", now) == 0.0
    assert model.pairs(np.asarray([-1]), np.asarray([0]), np.asarray([now]))[0] == 0.0


def test_only_the_k_nearest_count_and_live_events_move_the_neighbours() -> None:
    model, data = fitted(neighbours=1)
    now = T0 + 10 * DAY + HOUR
    # c's nearest is a (x shared: cos 1/2; b's is 1/sqrt(6)), who did not read z: 0
    # (c's own read of z is not its neighbours')
    assert value(model, data, "c", "z", now) == 0.0
    # a reads z now: a is still c's nearest, now with x and z shared
    model.observe_events(
        data.users.to_internal(["a"]), data.items.to_internal(["z"]), np.asarray([now]), np.ones(1)
    )
    assert value(model, data, "c", "z", now) == pytest.approx(2 / np.sqrt(6), rel=1e-3)


def test_the_decay_survives_a_rebase_and_the_reason_is_colleagues() -> None:
    model, data = fitted(neighbours=2, half_life_days=0.05)
    later = T0 + 13 * DAY  # 60 half-lives after the last event: the next one rebases
    expected = value(model, data, "a", "n", later)
    base = model.bases_[1]
    d, w = data.users.to_internal(["d"]), data.items.to_internal(["w"])
    model.observe_events(d, w, np.asarray([later]), np.ones(1))  # d is nobody's neighbour
    assert model.bases_[1] > base
    assert expected > 0
    assert value(model, data, "a", "n", later) == pytest.approx(expected, rel=1e-5)
    assert component_kind("neighbour_trend") is ReasonKind.COLLEAGUES
    with pytest.raises(ValueError, match="neighbours must be >= 1"):
        NeighbourTrend(neighbours=0).fit_component(reading(), FitContext())
