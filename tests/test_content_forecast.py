"""The content performance forecast: the estimator's contract on tiny literal posts, its
metrics, ``advocacy evaluate uci-facebook`` and the real UCI Facebook figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from recsys.forecast import ContentForecast, forecast_metrics
from tests.evaluate_cli import cli
from training.evaluation.uci_facebook import read_posts, uci_facebook

FEATURES = ("type", "hour", "audience")
TARGETS = ("shares", "reach")
#: type code, hour, audience -> shares, reach: type 1 posts do about 4x, the audience adds.
POSTS = np.array(
    [
        [0, 9, 100, 2, 200],
        [0, 12, 120, 3, 260],
        [0, 18, 90, 1, 150],
        [0, 21, 110, 2, 230],
        [1, 8, 100, 9, 900],
        [1, 11, 130, 12, 1300],
        [1, 15, 95, 8, 850],
        [1, 20, 105, 10, 1000],
        [2, 10, 100, 0, 60],
        [2, 14, 140, 1, 90],
        [2, 16, 80, 0, 40],
        [2, 23, 100, 1, 70],
    ],
    dtype=np.float64,
)
X, Y = POSTS[:, :3], POSTS[:, 3:]


def forecast(**params: object) -> ContentForecast:
    settings: dict[str, object] = {
        "features": FEATURES,
        "categorical": ("type",),
        "periods": (("hour", 24.0),),
        "targets": TARGETS,
        "cv": 3,
        "random_state": 1,
    }
    return ContentForecast(**(settings | params))


@pytest.mark.parametrize("model", ["ridge", "boosting", "group_mean"])
def test_contract_fit_returns_self_deterministic_and_the_interval_holds_the_point(
    model: str,
) -> None:
    estimator = forecast(model=model)
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    assert estimator.fit(X, Y) is estimator
    assert clone(estimator).get_params() == estimator.get_params()
    point = estimator.predict(X)
    lower, upper = estimator.predict_interval(X)
    assert point.shape == lower.shape == upper.shape == (len(X), 2)
    assert (lower >= 0).all() and (lower <= point).all() and (point <= upper).all()
    again = forecast(model=model).fit(X, Y)
    np.testing.assert_array_equal(again.predict(X), point)
    np.testing.assert_array_equal(again.predict_interval(X)[1], upper)
    assert estimator.residual_quantiles_.shape == (2, 2)


def test_ridge_learns_the_type_effect_and_an_unseen_type_gets_the_common_level() -> None:
    model = forecast().fit(X, Y)
    new = np.array([[0, 12, 100], [1, 12, 100], [7, 12, 100]], dtype=np.float64)
    shares, reach = model.predict(new).T
    assert reach[1] > 2 * reach[0] and shares[1] > shares[0]
    assert reach[0] < reach[2] < reach[1]  # no indicator: between the types
    means = forecast(model="group_mean").fit(X, Y).predict(new)
    np.testing.assert_allclose(means[0], np.expm1(np.log1p(Y[:4]).mean(axis=0)))
    np.testing.assert_allclose(means[2], np.expm1(np.log1p(Y).mean(axis=0)))


def test_one_target_as_a_vector_and_a_wider_interval_at_a_higher_level() -> None:
    narrow = forecast(targets=("reach",), level=0.5).fit(X, Y[:, 1])
    wide = forecast(targets=("reach",), level=0.95).fit(X, Y[:, 1])
    assert narrow.predict(X).shape == (len(X), 1)
    width = [np.subtract(*m.predict_interval(X)[::-1]).mean() for m in (narrow, wide)]
    assert width[1] > width[0]


def test_bad_input_names_the_field() -> None:
    holes = X.copy()
    holes[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"'hour'.*\[3\]"):
        forecast().fit(holes, Y)
    negative = Y.copy()
    negative[5, 0] = -1
    with pytest.raises(ValueError, match="'shares'"):
        forecast().fit(X, negative)
    with pytest.raises(ValueError, match=r"\('shares', 'reach'\)|\['shares', 'reach'\]"):
        forecast().fit(X, Y[:, :1])
    with pytest.raises(ValueError, match="audience"):
        forecast().fit(X, Y).predict(X[:, :2])
    with pytest.raises(ValueError, match="not in features"):
        forecast(categorical=("author",)).fit(X, Y)
    with pytest.raises(ValueError, match="model"):
        forecast(model="magic").fit(X, Y)
    with pytest.raises(ValueError, match="level"):
        forecast(level=1.5).fit(X, Y)
    with pytest.raises(ValueError, match="cv"):
        forecast(cv=1).fit(X, Y)
    with pytest.raises(ValueError, match="must be numbers"):
        forecast().fit([["Photo", 9, 100]] * 12, Y)


@pytest.mark.parametrize("model", ["ridge", "group_mean"])
def test_save_and_load_give_the_same_forecasts_without_pickle(model: str, tmp_path: Path) -> None:
    fitted = forecast(model=model).fit(X, Y)
    with pytest.raises(NotFittedError):
        forecast(model=model).save(tmp_path / "unfitted")
    folder = fitted.save(tmp_path / model)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "manifest.json"]
    loaded = ContentForecast.load(folder)
    assert loaded.get_params() == fitted.get_params()
    new = np.vstack([X, [[7, 3, 100]]])  # an unseen type too
    np.testing.assert_array_equal(loaded.predict(new), fitted.predict(new))
    for got, want in zip(loaded.predict_interval(new), fitted.predict_interval(new), strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="boosting"):
        forecast(model="boosting").fit(X, Y).save(tmp_path / "boosting")
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        ContentForecast.load(tmp_path / "nothing")


def test_forecast_metrics_of_literal_forecasts() -> None:
    y = np.array([10.0, 20.0, 40.0, 0.0])
    point = np.array([5.0, 20.0, 60.0, 1.0])
    lower, upper = point / 2, point * 2
    m = forecast_metrics(y, point, lower, upper)
    assert m["mape"] == pytest.approx((0.5 + 0.0 + 0.5) / 3)
    assert m["mdape"] == pytest.approx(0.5)
    assert m["n_zero"] == 1 and m["n"] == 4
    assert m["spearman"] == pytest.approx(1.0)  # the same order
    assert m["coverage"] == pytest.approx(0.75)  # y=0 is below 0.5
    assert m["width"] == pytest.approx(1.5)


CSV = (
    "Page total likes;Type;Category;Post Month;Post Weekday;Post Hour;Paid;"
    "Lifetime Engaged Users;Lifetime Post Consumers;like;share\n"
)


def write_posts(path: Path, n: int = 40, seed: int = 0, extra: str = "") -> Path:
    """A ``;``-separated file like the UCI one: Status posts engage about 3x Photo ones; the
    category does nothing."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = ["Photo", "Status", "Link"][i % 3]
        base = {"Photo": 400, "Status": 1200, "Link": 200}[kind] * rng.lognormal(0, 0.3)
        rows.append(
            f"1000;{kind};{i // 3 % 3 + 1};{i % 12 + 1};{i % 7 + 1};{i % 24};{i % 2};"
            f"{base:.0f};{0.8 * base:.0f};{i};{'' if i == 5 else i}"
        )
    path.write_text(CSV + "\n".join(rows) + "\n" + extra, encoding="utf-8")
    return path


def test_reader_drops_posts_missing_a_used_value_and_reports_both_kinds(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "posts.csv", extra="1000;Photo;1;3;;5;0;100;90;1;1\n")
    x, y, info = read_posts(path)
    assert x.shape == (40, 6) and y.shape == (40, 2)
    assert info["dropped_rows"] == {"Post Weekday": 1} and info["dropped_total"] == 1
    assert info["missing_unread"] == {"share": 1} and info["types"] == ["Link", "Photo", "Status"]
    bad = write_posts(tmp_path / "bad.csv", extra="1000;Photo;1;13;2;5;0;100;90;1;1\n")
    with pytest.raises(ValueError, match=r"'month'.*outside 1\.\.12"):
        read_posts(bad)


def test_benchmark_beats_mean_by_category_on_a_planted_type_effect(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "posts.csv", n=60)
    result = uci_facebook(path, folds=3, repeats=2, seed=4)
    models = result["models"]
    assert set(models) == {"content", "mean_by_type", "mean_by_category"}
    for entry in models.values():
        assert set(entry) == {"lifetime_engaged_users", "lifetime_post_consumers", "seconds"}
        assert entry["lifetime_post_consumers"]["n"] == 60
    target = "lifetime_engaged_users"
    by_category = models["mean_by_category"][target]
    for better in ("mean_by_type", "content"):
        assert models[better][target]["spearman"] > by_category["spearman"] + 0.3
        assert models[better][target]["mape"] < by_category["mape"]
    assert result["protocol"]["seeds"] == [4, 5]
    json.dumps(result, allow_nan=False)
    again = uci_facebook(path, folds=3, repeats=2, seed=4)["models"]["content"]
    assert {**again, "seconds": 0} == {**models["content"], "seconds": 0}


def test_cli_json_table_and_errors(tmp_path: Path) -> None:
    path = write_posts(tmp_path / "dataset_Facebook.csv")
    done = cli("uci-facebook", "--data", str(path), "--folds", "3", "--seed", "1", "--json")
    assert done.exit_code == 0, done.output
    parsed = json.loads(done.output)
    assert parsed["protocol"]["folds"] == 3 and parsed["protocol"]["seeds"][0] == 1
    assert "mean_by_type" in parsed["models"]
    table = cli("uci-facebook", "--data", str(tmp_path), "--repeats", "1")
    assert table.exit_code == 0 and "(40 posts, 5-fold x 1, 80% intervals)" in table.output
    assert cli("uci-facebook").exit_code == 2
    assert cli("uci-facebook", "--data", str(tmp_path / "nope")).exit_code == 2
    unknown = cli("uci-facebook", "--data", str(path), "--models", "oracle")
    assert unknown.exit_code == 2 and "oracle" in unknown.output


def test_uci_facebook_real(shared_data: Path) -> None:
    """The measured figures on the real file (docs/content_forecast.md): the model beats both
    baselines on MAPE and rank correlation for both targets, its 80% intervals cover about 80%."""
    result = uci_facebook(shared_data / "uci-facebook-metrics" / "dataset_Facebook.csv")
    protocol, models = result["protocol"], result["models"]
    assert protocol["used"] == 500 and protocol["dropped_total"] == 0
    assert protocol["missing_unread"] == {"like": 1, "share": 4}
    for target in ("lifetime_engaged_users", "lifetime_post_consumers"):
        ours, by_type, by_category = (
            models[m][target] for m in ("content", "mean_by_type", "mean_by_category")
        )
        for baseline in (by_type, by_category):
            assert ours["mape"] < baseline["mape"] - 0.15
            assert ours["spearman"] > baseline["spearman"] + 0.35
            assert ours["mdape"] < baseline["mdape"]
        assert 0.75 < ours["coverage"] < 0.85
    content = models["content"]
    assert content["lifetime_engaged_users"]["mape"] == pytest.approx(0.882, abs=0.01)
    assert content["lifetime_post_consumers"]["mape"] == pytest.approx(0.830, abs=0.01)
    assert content["lifetime_post_consumers"]["spearman"] == pytest.approx(0.655, abs=0.01)
