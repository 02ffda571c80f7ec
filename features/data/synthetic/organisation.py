"""``generate``: a whole synthetic organisation from a config."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from features.data.contract import TABLE_ORDER, TABLES
from features.data.synthetic.accounts import make_accounts
from features.data.synthetic.activity import make_interactions, make_share_outcomes
from features.data.synthetic.catalogue import make_content, render_text
from features.data.synthetic.config import OrgConfig, SyntheticOrg
from features.data.synthetic.network import make_edges
from features.data.synthetic.people import make_people
from features.data.synthetic.tables import (
    advocates_table,
    content_table,
    ground_truth_table,
    interactions_table,
    social_accounts_table,
    str_column,
    time_column,
)
from features.data.synthetic.vocabulary import EDGE_KINDS

logger = logging.getLogger(__name__)


def generate(config: OrgConfig) -> SyntheticOrg:
    """Generate a synthetic organisation; deterministic in ``config``."""
    started = time.perf_counter()
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(8)]
    people = make_people(config, rngs[0])
    acc = make_accounts(config, people, rngs[1])
    cat, author, text_dept, country = make_content(config, people, rngs[2])
    texts = render_text(config, cat, text_dept, country, rngs[3])
    ev = make_interactions(config, people, cat, acc, rngs[4])
    interactions = interactions_table(ev, people, cat)
    idx, at, values = make_share_outcomes(config, people, cat, acc, ev, rngs[5])
    outcomes = pd.DataFrame(
        values, columns=["impressions", "clicks", "reactions", "comments", "reshares"]
    )
    outcomes.insert(0, "event_id", pd.Series(interactions["event_id"].array.take(idx)))
    outcomes.insert(1, "measured_at", time_column(at))
    a, b, w, kind = make_edges(people, rngs[7])
    edges = pd.DataFrame(
        {
            "employee_a": str_column(people.ids, a),
            "employee_b": str_column(people.ids, b),
            "weight": w,
            "kind": str_column(np.array(EDGE_KINDS, dtype=object)[kind]),
        }
    )
    tables = {
        "advocates": advocates_table(people),
        "content": content_table(cat, people, author, texts),
        "interactions": interactions,
        "share_outcomes": outcomes,
        "social_accounts": social_accounts_table(config, people, acc, rngs[6]),
        "org_edges": edges,
    }
    tables = {
        name: tables[name].loc[:, list(TABLES[name].field_names)]
        for name in TABLE_ORDER
        if name in tables
    }
    logger.info(
        "generated %s in %.1fs",
        {k: len(v) for k, v in tables.items()},
        time.perf_counter() - started,
    )
    return SyntheticOrg(tables=tables, ground_truth=ground_truth_table(people, acc))
