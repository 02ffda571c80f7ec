"""Extra score components on the rolling DeskDrop origins, beside ``covisit``: decided on each
origin's validation days, then (``--test``) replayed on its month.

For each origin (``--origins``, month starts): the benchmark's hybrid (the parameters its
tuning chose before that origin, :data:`~experiments.rolling_covisit.CHOSEN`, and the
:data:`~training.evaluation.deskdrop.HYBRID_EXTRAS` components) is fitted before the 31
validation days before the origin and replayed on them (nothing at or after the origin is
read), without more components (unless ``--skip-base``) and with each ``--variant``: a JSON
object of registered component name -> parameters added to the extras (``{}`` adds nothing).
``--test``: the same models fitted before the origin and replayed on its month.
``--user-features region|country``: every employee seen in the fit gets a ``department=``
profile, the most frequent ``userRegion`` (or ``userCountry``) of their events before the fit
(none when unknown), so the ``department_trend`` component runs (employees first seen during
the replay have none; the taste keeps no user features when ``--hybrid`` sets
``taste__user_feature_prefix`` to a prefix nothing has). Prints one
JSON line per origin, part and variant: nDCG@10 overall and on the weak slices, seconds::

    OPENBLAS_NUM_THREADS=1 nice -n 19 python experiments/rolling_components.py \\
        --origins 2016-06-01,2016-07-01 --variant '{"neighbour_trend": {"neighbours": 20}}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import recsys.models.neighbours  # noqa: E402, F401  (registers its components)
from experiments.rolling_covisit import CHOSEN, measure  # noqa: E402
from recsys.matrix import FeatureMatrix  # noqa: E402
from recsys.models import Hybrid  # noqa: E402
from recsys.models.component import COMPONENTS  # noqa: E402
from training.evaluation.deskdrop import (  # noqa: E402
    HYBRID_EXTRAS,
    VALIDATION_DAYS,
    ReplaySetup,
    deskdrop_validation_window,
    weighted_log,
)
from training.evaluation.protocols import read_deskdrop_events  # noqa: E402
from training.evaluation.rolling import origin_windows, rolling_origins  # noqa: E402

SHARED = Path(os.environ.get("ADVOCACY_SHARED_DATA", ROOT.parent / "shared" / "data"))


def hybrid(origin: str, variant: dict[str, dict], params: dict) -> Hybrid:
    """The benchmark's hybrid of ``origin`` with the variant's components added."""
    extras = {**HYBRID_EXTRAS, **variant}
    components = tuple(COMPONENTS[name](**p) for name, p in extras.items())
    return Hybrid().set_params(**{**CHOSEN[origin], **params}, extra_components=components)


def setups(events, log, origin: str, validation: bool, test: bool) -> dict[str, ReplaySetup]:
    """The origin's validation replay and/or its test month's."""
    out: dict[str, ReplaySetup] = {}
    if validation:
        start, end = deskdrop_validation_window(origin, VALIDATION_DAYS)
        out["validation"] = ReplaySetup.build(events[events["timestamp"] < end], start, end, log)
    if test:
        month = origin_windows(rolling_origins(origin, origin))[0]
        out["test"] = ReplaySetup.build(events, month[0], month[1], log)
    return out


def with_profiles(setup: ReplaySetup, places: pd.DataFrame, column: str) -> ReplaySetup:
    """``setup`` with ``department=`` user features: each fitted employee's most frequent
    ``column`` value among their events before the fit (a one-hot row; none if unknown)."""
    users = setup.dataset.users
    before = places[places["timestamp"] < setup.replay.split_at]
    known = before[before[column].notna() & (before[column].astype(str) != "?")]
    mode = known.groupby(known["personId"].astype(str))[column].agg(lambda s: s.mode().iloc[0])
    values = [str(mode.get(str(u), "")) for u in users.external]
    names = sorted({v for v in values if v})
    rows = np.zeros((len(users), len(names)), np.float32)
    for i, value in enumerate(values):
        if value:
            rows[i, names.index(value)] = 1.0
    features = FeatureMatrix(rows, tuple(f"department={n}" for n in names), users)
    return dataclasses.replace(
        setup, dataset=dataclasses.replace(setup.dataset, user_features=features)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", default="2016-06-01,2016-07-01,2016-10-01")
    parser.add_argument("--variant", action="append", default=[], help="components, JSON")
    parser.add_argument("--test", action="store_true", help="also replay the origins' months")
    parser.add_argument("--skip-base", action="store_true", help="no run without more components")
    parser.add_argument("--skip-validation", action="store_true")
    parser.add_argument("--hybrid", default="{}", help="more Hybrid params for every model, JSON")
    parser.add_argument("--user-features", choices=("region", "country"))
    args = parser.parse_args()
    events = read_deskdrop_events(SHARED / "deskdrop")
    log = weighted_log(events)
    places = pd.read_csv(
        SHARED / "deskdrop" / "users_interactions.csv.gz",
        usecols=["timestamp", "personId", "userRegion", "userCountry"],
        dtype={"timestamp": "int64", "personId": "int64"},
    )
    params = json.loads(args.hybrid)
    variants = ([] if args.skip_base else [{}]) + [json.loads(v) for v in args.variant]
    for origin in args.origins.split(","):
        for part, setup in setups(events, log, origin, not args.skip_validation, args.test).items():
            if args.user_features:
                column = {"region": "userRegion", "country": "userCountry"}[args.user_features]
                setup = with_profiles(setup, places, column)
            for variant in variants:
                line = {"origin": origin, "part": part, "variant": variant, "hybrid": params}
                line["user_features"] = args.user_features
                model = hybrid(origin, variant, params)
                print(json.dumps(line | measure(setup, model)), flush=True)


if __name__ == "__main__":
    main()
