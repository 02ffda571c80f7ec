"""Deterministic synthetic organisations in the data contract.

``generate(OrgConfig(...))`` builds an employee advocacy programme with planted structure:
departments split into teams whose members share topic interests (homophily); a content
catalogue with readable titles, approval states, expiry and eligibility lists; a funnel of
interactions (impression >> view > click > like/bookmark/comment > share) driven by
interest x freshness (half-life two days) x quality on live, approved, eligible content;
social accounts with log-normal audiences; share outcomes in which planted
micro-influencers earn 3-6x more engagement per impression on every share, next to
confounders that fool naive baselines (macro accounts, heavy sharers); org edges; tracked
link clicks of the shares by returning site visitors, and conversions from a planted causal
process (per-click effects of advocate x content x network with a log-normal delay, plus a
baseline no share caused; see ``conversions.py``).

The planted truth is returned in ``SyntheticOrg.ground_truth`` (influencers),
``attribution_truth`` and ``conversion_truth`` (the true cause of each conversion) only,
never in a contract table. All randomness comes from generators spawned from
``config.seed``: the same config gives the same tables and byte-identical files.
"""

from features.data.synthetic.activity import HALF_LIFE_DAYS
from features.data.synthetic.config import DAY, OrgConfig, SyntheticOrg
from features.data.synthetic.conversions import EUR_PER_USD
from features.data.synthetic.files import write
from features.data.synthetic.organisation import generate
from features.data.synthetic.vocabulary import LANGUAGES, REGIONS, TIERS, TOPICS

__all__ = [
    "DAY",
    "EUR_PER_USD",
    "HALF_LIFE_DAYS",
    "LANGUAGES",
    "REGIONS",
    "TIERS",
    "TOPICS",
    "OrgConfig",
    "SyntheticOrg",
    "generate",
    "write",
]
