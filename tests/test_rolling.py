"""Rolling-origin DeskDrop replay (training.evaluation.rolling), its slices, CLI and config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml

from recsys.models import MODELS, Hybrid, Popular, RecentPopular
from tests.evaluate_cli import cli
from tests.test_evaluation import events
from training.config import ConfigError, parse_config
from training.evaluation.deskdrop import (
    TUNED,
    VALIDATION_DAYS,
    deskdrop_benchmark,
    tuning_grid,
    weighted_log,
)
from training.evaluation.protocols import deskdrop_replay
from training.evaluation.replay_slices import earlier_events, slice_masks, slice_names
from training.evaluation.rolling import (
    METRICS,
    RollingError,
    deskdrop_rolling,
    origin_windows,
    rolling_origins,
)

DAY = 86_400
#: Month starts of 1970: the synthetic logs start at the epoch.
FEB, MAR, APR = 31 * DAY, 59 * DAY, 90 * DAY
ORIGINS = ("1970-02-01", "1970-03-01")
UNTUNED = {"popular": Popular, "recent_popular": lambda: RecentPopular()}


def monthly_log(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Events over 1970-01-01 .. 1970-04-10 (DeskDrop-shaped), content renewed every 10 days."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.integers(0, 100 * DAY, n))
    kinds = rng.choice(["VIEW", "LIKE", "BOOKMARK", "FOLLOW", "COMMENT CREATED"], n)
    contents = rng.integers(0, 15, n) + (times // (10 * DAY)) * 100
    people = rng.integers(0, 40, n)
    return events(list(zip(times.tolist(), kinds, contents.tolist(), people.tolist(), strict=True)))


def test_monthly_origins_and_their_windows() -> None:
    assert rolling_origins("2016-06-01", "2016-09-01") == [
        1464739200,
        1467331200,
        1470009600,
        1472688000,
    ]
    assert rolling_origins("2016-06-15", "2016-08-01") == [1467331200, 1470009600]
    # each window ends at the next origin or a calendar month after its origin
    assert origin_windows(["1970-02-01", "1970-02-10", "1970-03-01"]) == [
        (FEB, FEB + 9 * DAY),
        (FEB + 9 * DAY, MAR),
        (MAR, APR),
    ]


@pytest.mark.parametrize(
    ("call", "option", "message"),
    [
        (lambda: origin_windows(["2016-10-01", "2016-09-01"]), "origins", "increasing"),
        (lambda: origin_windows(["2016-13-01"]), "origins", "cannot read '2016-13-01'"),
        (lambda: origin_windows([]), "origins", "no origins"),
        (lambda: rolling_origins("2016-06-01", "2016-05-01"), "to", "before the first origin"),
        (lambda: rolling_origins("2016-06-02", "2016-06-20"), "from", "no month starts"),
        (lambda: rolling_origins("x", "2016-06-20"), "from", "cannot read 'x'"),
        (lambda: rolling_origins("2016-06-01", "2016-07-01", "weekly"), "rolling", "weekly"),
    ],
)
def test_bad_origins_name_the_option(call, option: str, message: str) -> None:
    with pytest.raises(RollingError, match=message) as caught:
        call()
    assert caught.value.option == option


class Spy(Popular):
    """Records (latest event seen at fit, latest event seen, as_of) at each scoring."""

    name = "spy"
    log: ClassVar[list[tuple[float, float, float]]] = []

    def _fit(self, dataset):
        super()._fit(dataset)
        self.fitted_ = self.latest_ = float(dataset.interactions.times.max(initial=-1))

    def _observe(self, users, items, times, weights) -> None:
        super()._observe(users, items, times, weights)
        self.latest_ = max(self.latest_, float(np.max(times, initial=-1)))

    def _score(self, users, items, as_of):
        Spy.log.append((self.fitted_, self.latest_, as_of))
        return super()._score(users, items, as_of)


def test_each_origin_fits_before_it_and_replays_only_its_window() -> None:
    Spy.log = []
    result = deskdrop_rolling(monthly_log(), ["1970-02-01", "1970-03-01"], {"spy": Spy})
    assert list(result["origins"]) == ["1970-02-01", "1970-03-01"]
    seen = np.asarray(Spy.log)
    for start, end in ((FEB, MAR), (MAR, APR)):
        inside = (seen[:, 2] >= start) & (seen[:, 2] < end)
        assert inside.sum() > 5
        assert (seen[inside, 0] < start).all()  # fitted on events before the origin only
        assert (seen[inside, 1] < seen[inside, 2]).all()  # observed only what came before t
    assert ((seen[:, 2] >= FEB) & (seen[:, 2] < APR)).all()  # nothing scored outside


def test_origins_equal_single_split_replays_and_mean_has_intervals() -> None:
    log = monthly_log()
    result = deskdrop_rolling(log, [FEB, MAR], UNTUNED, resamples=300, seed=3)
    assert set(result) == {
        "benchmark",
        "protocol",
        "origins",
        "mean",
        "pooled_slices",
        "versus",
        "seconds",
    }
    single = deskdrop_benchmark(log, UNTUNED, split_at=MAR, until=APR)
    march = result["origins"]["1970-03-01"]["models"]
    for name in UNTUNED:
        for metric in METRICS:
            assert march[name][metric] == single["models"][name][metric]
            ci = march[name]["ci"][metric]
            assert ci["ci_low"] <= march[name][metric] <= ci["ci_high"]
    for name, entry in result["mean"].items():
        for metric in METRICS:
            values = [o["models"][name][metric] for o in result["origins"].values()]
            assert entry[metric]["value"] == pytest.approx(np.mean(values))
            assert entry[metric]["ci_low"] <= entry[metric]["value"] <= entry[metric]["ci_high"]
    assert result["protocol"]["bootstrap"] | {"method": ""} == {
        "resamples": 300,
        "seed": 3,
        "level": 0.95,
        "method": "",
    }
    json.dumps(result, allow_nan=False)


def test_bootstrap_is_seeded_and_ratios_compare_the_reference_to_the_best_other() -> None:
    log = monthly_log()
    first = deskdrop_rolling(log, [FEB, MAR], UNTUNED, resamples=200, reference="recent_popular")
    again = deskdrop_rolling(log, [FEB, MAR], UNTUNED, resamples=200, reference="recent_popular")
    other = deskdrop_rolling(log, [FEB, MAR], UNTUNED, resamples=200, seed=1)
    assert first["mean"] == again["mean"] and first["versus"] == again["versus"]
    assert first["mean"] != other["mean"]  # another seed, other intervals
    versus = first["versus"]
    assert versus["reference"] == "recent_popular" and versus["metric"] == "ndcg@10"
    for origin, ratio in versus["origins"].items():
        models = first["origins"][origin]["models"]
        assert ratio["baseline"] == "popular"
        expected = models["recent_popular"]["ndcg@10"] / models["popular"]["ndcg@10"]
        assert ratio["ratio"] == pytest.approx(expected)
        assert ratio["ci_low"] <= ratio["ratio"] <= ratio["ci_high"]
    mean = first["mean"]
    assert versus["mean"]["ratio"] == pytest.approx(
        mean["recent_popular"]["ndcg@10"]["value"] / mean["popular"]["ndcg@10"]["value"]
    )
    # hybrid is the default reference: absent here, so no ratios
    assert other["versus"]["origins"] == {} and other["versus"]["mean"] is None


def test_baselines_are_tuned_on_the_validation_days_before_each_origin() -> None:
    log = monthly_log(n=1500)
    result = deskdrop_rolling(log, [FEB, MAR], {"recent_popular": RecentPopular}, resamples=50)
    for key, end in (("1970-02-01", "1970-02-01T00:00:00+00:00"), ("1970-03-01", None)):
        tuning = result["origins"][key]["protocol"]["tuning"]["recent_popular"]
        if end is None:
            assert tuning["validation_end_utc"] == "1970-03-01T00:00:00+00:00"
            assert tuning["chosen"] is not None
        else:  # no event before February's validation window: the defaults
            assert tuning["chosen"] is None and tuning["validation_end_utc"] == end


def test_tuning_before_an_origin_reads_nothing_at_or_after_it(monkeypatch) -> None:
    """A tuned registered model (here a spy with a 2-point grid): its validation fits end
    before the validation days, its validation scoring stays before the origin, and the
    test replay uses the chosen point."""
    monkeypatch.setitem(MODELS, "spy", Spy)
    monkeypatch.setitem(TUNED, "spy", {"weighted": (0.0, 1.0)})
    Spy.log = []
    result = deskdrop_rolling(monthly_log(n=1500), [MAR], {"spy": Spy}, resamples=50)
    tuning = result["origins"]["1970-03-01"]["protocol"]["tuning"]["spy"]
    assert tuning["chosen"] in ({"weighted": 0.0}, {"weighted": 1.0}) and len(tuning["grid"]) == 2
    seen = np.asarray(Spy.log)
    validation = seen[:, 2] < MAR
    assert validation.sum() > 5 and (~validation).sum() > 5
    assert (seen[validation, 0] < MAR - VALIDATION_DAYS * DAY).all()
    assert (seen[validation, 2] >= MAR - VALIDATION_DAYS * DAY).all()
    assert (seen[:, 1] < seen[:, 2]).all() and (seen[:, 2] < APR).all()
    assert result["protocol"]["tuned"] == {"1970-03-01": {"spy": tuning["chosen"]}}


def test_the_hybrid_is_tuned_per_origin_on_its_validation_days_only() -> None:
    """The registered hybrid gets its grid's choice before each origin; changing every event
    at or after the origin changes nothing of the choice nor of its validation figures."""
    log = monthly_log(n=1500)
    result = deskdrop_rolling(log, [FEB, MAR], {"hybrid": Hybrid}, resamples=50)
    first, second = (result["origins"][k]["protocol"]["tuning"]["hybrid"] for k in ORIGINS)
    assert first["chosen"] is None  # no event before February's validation days: defaults
    assert second["parameters"] == list(TUNED["hybrid"])
    assert second["validation_end_utc"] == "1970-03-01T00:00:00+00:00"
    assert len(second["grid"]) == 6 and second["chosen"] in tuning_grid(TUNED["hybrid"])
    assert result["protocol"]["tuned"] == {
        k: {"hybrid": t["chosen"]} for k, t in zip(ORIGINS, (first, second), strict=True)
    }
    later = log["timestamp"] >= MAR
    changed = log.copy()
    changed.loc[later, "contentId"] = changed.loc[later, "contentId"].to_numpy()[::-1]
    changed.loc[later, "personId"] = changed.loc[later, "personId"].to_numpy()[::-1]
    again = deskdrop_rolling(changed, [MAR], {"hybrid": Hybrid}, resamples=50)
    assert again["origins"]["1970-03-01"]["protocol"]["tuning"]["hybrid"] == second


def test_slices_count_earlier_events_and_content_age() -> None:
    """Person 1: 0, 1, 2, 6 earlier events at their four test pairs; content ages are the
    times since each content's first event (content 7 first appears at the split, read by
    person 5: a first read, left out of the test pairs)."""
    hour = 3600
    rows = [(t * hour, "VIEW", 100 + t, 1) for t in range(6)]  # person 1: six events
    rows += [(10 * hour, "VIEW", 100, 2), (11 * hour, "VIEW", 101, 2)]
    split = 12 * hour
    rows += [
        (split, "VIEW", 7, 5),  # content 7's first read: not a test pair
        (split + 3600, "VIEW", 7, 2),  # person 2: 2 earlier; content 7 new: 1 hour old
        (split + 2 * DAY, "LIKE", 100, 3),  # person 3: none earlier; content 100 2 days old
        (split + 40 * DAY, "VIEW", 7, 1),  # person 1: six earlier; content 7 is 40 days old
        (split + 40 * DAY + 1, "VIEW", 101, 4),  # person 4: none; content 101 ~40 days old
        (split + 41 * DAY, "VIEW", 102, 4),  # person 4: one earlier
    ]
    log = events(rows)
    replay = deskdrop_replay(log, split)
    masks = slice_masks(replay.pairs, weighted_log(log), replay.index.first_seen)
    assert list(masks) == slice_names()
    assert [
        next(n for n in masks if n.startswith("person_events") and masks[n][row])
        for row in range(5)
    ] == [
        "person_events_2-5",
        "person_events_0",
        "person_events_6_plus",
        "person_events_0",
        "person_events_1",
    ]
    ages = [
        next(n for n in masks if n.startswith("content_age") and masks[n][row]) for row in range(5)
    ]
    assert ages == [
        "content_age_0-1d",
        "content_age_1-7d",
        "content_age_30d_plus",
        "content_age_30d_plus",
        "content_age_30d_plus",
    ]
    assert masks["new_content"].tolist() == [True, False, True, False, False]
    assert masks["new_person"].tolist() == [False, True, False, True, True]
    assert replay.first_reads == 1


def test_earlier_events_counts_strictly_before() -> None:
    persons = np.asarray(["a", "a", "b", "a"], dtype=object)
    times = np.asarray([5, 9, 9, 9])
    counted = earlier_events(
        persons, times, np.asarray(["a", "a", "b", "c"]), np.asarray([9, 10, 9, 100])
    )
    assert counted.tolist() == [1, 3, 0, 0]


def write_log(folder: Path, log: pd.DataFrame) -> Path:
    log.assign(sessionId=0).to_csv(folder / "users_interactions.csv", index=False)
    return folder


def test_cli_comma_origins_and_rolling_give_the_same_json(tmp_path: Path) -> None:
    data = str(write_log(tmp_path, monthly_log()))
    common = ["deskdrop-replay", "--data", data, "--models", "popular", "--json"]
    listed = cli(*common, "--split-at", "1970-02-01,1970-03-01")
    assert listed.exit_code == 0, listed.output
    rolled = cli(*common, "--rolling", "monthly", "--from", "1970-02-01", "--to", "1970-03-01")
    assert rolled.exit_code == 0, rolled.output
    first, second = json.loads(listed.stdout), json.loads(rolled.stdout)
    assert list(first["origins"]) == ["1970-02-01", "1970-03-01"]
    assert first["mean"] == second["mean"]
    assert set(first["mean"]["popular"]["ndcg@10"]) == {"value", "ci_low", "ci_high"}
    table = cli(
        "deskdrop-replay",
        "--data",
        data,
        "--models",
        "popular,recent_popular",
        "--split-at",
        "1970-02-01,1970-03-01",
    )
    assert table.exit_code == 0 and "mean" in table.stdout and "content_age_0-1d" in table.stdout
    assert "1970-03-01: recent_popular tuned before it: {'half_life_days':" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split-at", "1970-02-01,1970-13-01"], "--split-at: cannot read '1970-13-01'"),
        (["--split-at", "1970-03-01,1970-02-01"], "--split-at: origins must be distinct"),
        (["--split-at", "1970-02-01,1970-06-01"], "--split-at: origin 1970-06-01: no events"),
        (["--split-at", "1969-12-01,1970-02-01"], "no events before it"),
        (["--rolling", "monthly", "--from", "1970-02-01"], "--to: --rolling needs --from and --to"),
        (
            ["--rolling", "weekly", "--from", "1970-02-01", "--to", "1970-03-01"],
            "--rolling: unknown",
        ),
        (
            ["--rolling", "monthly", "--from", "1970-03-01", "--to", "1970-02-01"],
            "--to: 1970-02-01",
        ),
        (["--split-at", "1970-02-01,1970-03-01", "--until", "1970-04-01"], "--until:"),
    ],
)
def test_cli_rolling_errors_name_the_option(tmp_path: Path, args: list[str], message: str) -> None:
    data = str(write_log(tmp_path, monthly_log(n=200)))
    done = cli("deskdrop-replay", "--data", data, "--models", "popular", *args)
    assert done.exit_code == 2, done.output
    assert message in done.stderr


def test_config_errors_name_the_key() -> None:
    base = {"kind": "benchmark", "benchmark": "deskdrop-replay"}
    for extra, message in [
        ({"rolling": {"from": "2016-13-01", "to": "2016-12-01"}}, "rolling.from: cannot read"),
        ({"origins": ["2016-10-01", "2016-09-01"]}, "origins: origins must be distinct"),
        ({"origins": ["2016-10-01"], "until": "2016-11-01"}, "origins: split_at and until"),
        ({"rolling": {"from": "2016-06-01"}}, "rolling.to: Field required"),
        (
            {"origins": ["2016-10-01"], "rolling": {"from": "2016-06-01", "to": "2016-07-01"}},
            "not both",
        ),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_config(base | extra, source="test")
    parsed = parse_config(
        base | {"rolling": {"from": "2016-06-01", "to": "2016-08-01"}}, source="t"
    )
    assert parsed.origin_list() == [1464739200, 1467331200, 1470009600]


def test_rolling_deskdrop_real(shared_data: Path) -> None:
    """Two real origins, the untuned baselines (tuning per origin is tested above): each
    origin's window is its month."""
    from training.evaluation.protocols import read_deskdrop_events

    log = read_deskdrop_events(shared_data / "deskdrop")
    result = deskdrop_rolling(log, ["2016-10-01", "2016-11-01"], UNTUNED, resamples=200)
    november = deskdrop_replay(log, "2016-11-01", "2016-12-01")
    assert result["protocol"]["test_pairs"]["2016-11-01"] == len(november.pairs)
    assert result["protocol"]["windows"]["2016-11-01"]["end"] == "2016-12-01T00:00:00+00:00"
    recent = result["mean"]["recent_popular"]["ndcg@10"]
    assert 0.3 < recent["ci_low"] <= recent["value"] <= recent["ci_high"] < 0.6
    slices = result["pooled_slices"]["recent_popular"]
    assert (
        sum(slices[f"person_events_{b}"]["n"] for b in ("0", "1", "2-5", "6_plus"))
        == (slices["all"]["n"])
    )


def test_experiment_logs_one_child_run_per_origin(tmp_path: Path) -> None:
    from training.experiment import EXPERIMENT, run_experiment
    from training.tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}", artifact_root=(tmp_path / "a").as_uri())
    config = {
        "kind": "benchmark",
        "benchmark": "deskdrop-replay",
        "data": str(write_log(tmp_path, monthly_log())),
        "models": ["popular", "recent_popular"],
        "model_params": {"recent_popular": {"half_life_days": 1.0}},
        "rolling": {"every": "monthly", "from": "1970-02-01", "to": "1970-03-01"},
    }
    path = tmp_path / "rolling.yaml"
    path.write_text(yaml.safe_dump(config))
    experiment = run_experiment([path], {}, tracker)
    (row,) = experiment.rows
    assert row.metric == "ndcg@10" and row.model in ("popular", "recent_popular")
    run = tracker.client.get_run(row.run_id)
    metrics = run.data.metrics
    assert metrics[f"bench.{row.model}.ndcg_at_10"] == pytest.approx(row.value)
    assert {"bench.popular.ndcg_at_10_ci_low", "bench.recent_popular.mrr_ci_high"} <= set(metrics)
    assert run.data.params["rolling.from"] == "1970-02-01"
    listed = {a.path for a in tracker.client.list_artifacts(row.run_id)}
    assert {"result.json", "config.yaml", "benchmark_ndcg_at_10.png"} <= listed
    children = tracker.client.search_runs(
        [tracker.experiment_id(EXPERIMENT)], f"tags.mlflow.parentRunId = '{row.run_id}'"
    )
    by_origin = {c.data.tags["origin"]: c for c in children}
    assert set(by_origin) == {"1970-02-01", "1970-03-01"}
    saved = json.loads(
        (Path(run.info.artifact_uri.removeprefix("file://")) / "result.json").read_text()
    )
    for origin, child in by_origin.items():
        entry = saved["origins"][origin]["models"]["popular"]
        assert child.data.metrics["bench.popular.ndcg_at_10"] == pytest.approx(entry["ndcg@10"])
        assert "bench.popular.new_person.n" in child.data.metrics
        assert "bench.popular.ndcg_at_10_ci_low" in child.data.metrics
        assert child.data.params["origin"] == origin and child.info.status == "FINISHED"
