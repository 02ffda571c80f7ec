"""``generate``: a whole synthetic organisation from a config."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from features.data.contract import TABLE_ORDER, TABLES
from features.data.synthetic.accounts import make_accounts
from features.data.synthetic.activity import make_interactions, make_share_outcomes
from features.data.synthetic.catalogue import Catalog, make_content, render_text
from features.data.synthetic.clicks import make_clicks
from features.data.synthetic.config import OrgConfig, SyntheticOrg
from features.data.synthetic.conversions import make_conversions
from features.data.synthetic.network import make_edges
from features.data.synthetic.people import People, make_people
from features.data.synthetic.slot_effects import TRUTH_COLUMNS, plant_slot_effects, slot_truth_table
from features.data.synthetic.tables import (
    advocates_table,
    attribution_truth_table,
    content_table,
    conversion_truth_table,
    conversions_table,
    ground_truth_table,
    interactions_table,
    link_clicks_table,
    social_accounts_table,
    str_column,
    time_column,
    visitor_ids,
)
from features.data.synthetic.violations import plant_violations
from features.data.synthetic.vocabulary import EDGE_KINDS
from recsys.progress import Progress, Stage, resolve

logger = logging.getLogger(__name__)

GENERATE_PARTS = 7  # the steps of "generate organisation" (people ... clicks and conversions)


def generate(config: OrgConfig, progress: Progress | None = None) -> SyntheticOrg:
    """Generate a synthetic organisation; deterministic in ``config``.

    Streams 0-7 draw the six feed tables, 8-9 the link clicks and conversions (spawned
    after the others, so adding them left the feed tables unchanged), 10 the planted
    screening violations (only when ``violation_rate`` > 0), 11 the planted time-of-week
    effects on share outcomes (only when ``slot_effect`` > 0). ``progress`` gets one
    stage, "generate organisation", advanced once per part (people, content, ...).
    """
    with resolve(progress).stage("generate organisation", GENERATE_PARTS, "parts") as step:
        tables, truth, ground_truth = _generate(config, step)
    logger.info("generated %s in %.1fs", {k: len(v) for k, v in tables.items()}, step.seconds)
    return SyntheticOrg(tables=tables, ground_truth=ground_truth, **truth)


def _generate(config: OrgConfig, step: Stage) -> tuple[dict, dict, pd.DataFrame]:
    """The contract tables, the attribution truths and the influencer ground truth;
    ``step`` advances after each of the :data:`GENERATE_PARTS` parts."""
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(12)]
    people = make_people(config, rngs[0])
    acc = make_accounts(config, people, rngs[1])
    step.advance()
    cat, author, text_dept, country = make_content(config, people, rngs[2])
    texts = render_text(config, cat, text_dept, country, rngs[3])
    step.advance()
    ev = make_interactions(config, people, cat, acc, rngs[4])
    interactions = interactions_table(ev, people, cat)
    step.advance()
    effects = None
    if config.slot_effect > 0:
        effects = plant_slot_effects(config.slot_effect, people, rngs[11])
    idx, at, values = make_share_outcomes(config, people, cat, acc, ev, rngs[5], effects)
    outcomes = pd.DataFrame(
        values, columns=["impressions", "clicks", "reactions", "comments", "reshares"]
    )
    outcomes.insert(0, "event_id", pd.Series(interactions["event_id"].array.take(idx)))
    outcomes.insert(1, "measured_at", time_column(at))
    step.advance()
    a, b, w, kind = make_edges(people, rngs[7])
    edges = pd.DataFrame(
        {
            "employee_a": str_column(people.ids, a),
            "employee_b": str_column(people.ids, b),
            "weight": w,
            "kind": str_column(np.array(EDGE_KINDS, dtype=object)[kind]),
        }
    )
    step.advance()
    opted = set(people.ids[people.opted_out])  # their audience and ties are not stored
    edges = edges.loc[~(edges["employee_a"].isin(opted) | edges["employee_b"].isin(opted))]
    accounts = social_accounts_table(config, people, acc, rngs[6])
    accounts = accounts.loc[~accounts["employee_id"].isin(opted)].reset_index(drop=True)
    tables = {
        "advocates": advocates_table(people),
        "content": content_table(cat, people, author, texts),
        "interactions": interactions,
        "share_outcomes": outcomes,
        "social_accounts": accounts,
        "org_edges": edges.reset_index(drop=True),
    }
    step.advance()
    outcome_rows = (idx, at, values)
    tables |= _attribution(config, people, cat, texts, ev, interactions, outcome_rows, rngs[8:])
    step.advance()
    truth = {name: tables.pop(name) for name in ("attribution_truth", "conversion_truth")}
    truth["screening_truth"] = pd.DataFrame(columns=["content_id", "kind", "detector", "planted"])
    if config.violation_rate > 0:
        planted = plant_violations(tables["content"], config.violation_rate, rngs[10])
        tables["content"], truth["screening_truth"] = planted
    truth["slot_truth"] = pd.DataFrame(columns=TRUTH_COLUMNS)
    if effects is not None:
        shares = ev["network"] >= 0
        emp, net = ev["emp"][shares], ev["network"][shares]
        truth["slot_truth"] = slot_truth_table(effects, people, emp, net)
    tables = {
        name: tables[name].loc[:, list(TABLES[name].field_names)]
        for name in TABLE_ORDER
        if name in tables
    }
    return tables, truth, ground_truth_table(people, acc)


def _attribution(
    cfg: OrgConfig, people: People, cat: Catalog, texts, ev, interactions, outcomes, rngs
) -> dict[str, pd.DataFrame]:
    """Link clicks and conversions, and the true cause of each conversion (rolled up too)."""
    clicks = make_clicks(cfg, people, ev, outcomes, rngs[0])
    conv = make_conversions(cfg, people, cat, ev, clicks, rngs[1])
    who = np.concatenate([clicks.visitor, conv.visitor])
    ids = visitor_ids(clicks.visitors.n, who, np.concatenate([clicks.t, conv.t]))
    urls = np.asarray(texts[2], dtype=object)
    link_clicks = link_clicks_table(clicks, ev, interactions["event_id"], urls, ids)
    conversions = conversions_table(conv, ids)
    click_ids = link_clicks["click_id"].to_numpy()
    return {
        "link_clicks": link_clicks,
        "conversions": conversions,
        "attribution_truth": attribution_truth_table(people, cat, ev, clicks, conv),
        "conversion_truth": conversion_truth_table(conv, conversions["conversion_id"], click_ids),
    }
