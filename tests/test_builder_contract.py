"""The contract every feature builder keeps (features/builder.py), on one tiny literal snapshot.

- ``fit(snapshot)`` returns the builder itself; ``transform`` before ``fit`` raises
  ``NotFittedError``;
- ``transform(snapshot, ids)`` is a :class:`FeatureMatrix` with one row per id asked, in
  that order, of the builder's id kind;
- ids that were not in the snapshot at ``fit`` (a new hire, new content) transform without
  refitting, with the same columns;
- only what was known at ``as_of`` counts: a snapshot that still holds later events (an
  uncut one) gives exactly the matrix of the cut snapshot.

Every builder of :class:`~features.pipeline.FeaturePipeline` and every other class in
``features`` with ``fit(snapshot)`` and ``transform`` must be in ``CASES``: the coverage
tests at the end fail for a builder added without a case here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import features
from features.advocate_profile import AdvocateProfile
from features.audience import AudienceFeatures
from features.content_embeddings import ContentEmbeddings
from features.content_metadata import ContentMetadata
from features.encoder import SentenceTransformerEncoder, TextEncoder
from features.influence_features import InfluenceFeatures
from features.org_network import OrgNetwork
from features.pipeline import ADVOCATE_STAGES, CONTENT_STAGES, FeaturePipeline
from features.sharing_history import SharingHistory
from features.snapshot import Snapshot
from recsys.ids import IdMap
from recsys.matrix import FeatureMatrix

AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
DAY = pd.Timedelta(days=1)


def _at(days_before: float) -> pd.Timestamp:
    return AS_OF - days_before * DAY


# --- the literal organisation ----------------------------------------------------------------

ADVOCATE_COLUMNS = ["employee_id", "department", "role", "seniority", "region", "country"]
ADVOCATE_COLUMNS += ["languages", "hire_date", "interests", "opted_out"]
ADVOCATES = [
    ("ana", "Engineering", "Engineer", "senior", "EMEA", "DE", ["de", "en"], "2020-10-01",
     ["ai", "cloud"], False),
    ("ben", "Sales", "Account Executive", "junior", "NA", "US", ["en"], "2024-03-01",
     ["sales"], False),
    ("cara", "HR", "Recruiter", None, "EMEA", "FR", ["fr"], "2026-09-01", [], True),
    ("dan", "Engineering", "Engineer", "mid", "APAC", "JP", ["ja", "en"], "2019-01-01",
     ["ai"], False),
]  # fmt: skip
NEW_HIRE = ("gus", "Legal", "Counsel", "lead", "NA", "CA", ["en", "fr"], "2026-09-15",
            ["law", "ai"], False)  # fmt: skip

CONTENT_COLUMNS = ["content_id", "title", "body", "content_type", "language", "topics"]
CONTENT_COLUMNS += ["author_id", "published_at", "approval_status", "expires_at"]
CONTENT_COLUMNS += ["allowed_regions", "allowed_departments", "allowed_languages", "networks"]
CONTENT = [
    ("c1", "Our AI platform", "How the team built it.", "article", "en", ["ai"], "ana", _at(60),
     "approved"),
    ("c2", "We are hiring", "Join the sales team.", "job", "en", ["hiring"], "ben", _at(50),
     "approved"),
    ("c3", "Cloud day", "Meet us in Berlin.", "event", "de", ["cloud", "events"], "ana",
     _at(40), "approved"),
]  # fmt: skip
NEW_CONTENT = ("c9", "Privacy by design", "A new guide.", "article", "fr", ["law"], "gus",
               _at(5), "approved")  # fmt: skip

INTERACTIONS = [
    ("e1", "ana", "c1", "view", None, _at(20)),
    ("e2", "ana", "c1", "share", "linkedin", _at(19)),
    ("e3", "ben", "c2", "share", "x", _at(10)),
    ("e4", "dan", "c3", "click", None, _at(3)),
    ("e5", "cara", "c3", "share", "linkedin", _at(2)),
    ("e6", "dan", "c1", "share", "linkedin", _at(1)),
]
LATER_INTERACTIONS = [
    ("e7", "ana", "c3", "share", "linkedin", _at(-1)),
    ("e8", "dan", "c2", "like", None, _at(-0.5)),
    ("e9", "ben", "c1", "share", "x", _at(-3)),
]
NEW_INTERACTIONS = [
    ("e10", "gus", "c1", "share", "linkedin", _at(4)),
    ("e11", "ana", "c9", "share", "linkedin", _at(2)),
]
OUTCOMES = [
    ("e2", _at(18), 100, 5, 8, 1, 1),
    ("e3", _at(9), 200, 2, 2, 0, 0),
    ("e6", _at(0.5), 50, 1, 2, 0, 0),
]
LATER_OUTCOMES = [("e2", _at(-1), 1000, 50, 80, 10, 10), ("e7", _at(-2), 10, 1, 1, 1, 1)]
ACCOUNTS = [
    ("ana", "linkedin", 600, 320, 13, _at(10)),
    ("ana", "x", 50, None, None, _at(10)),
    ("ben", "linkedin", 1000, 10, 2, _at(5)),
    ("dan", "linkedin", 80, 40, 1, _at(5)),
]
LATER_ACCOUNTS = [("ana", "linkedin", 9999, 1, 1, _at(-1)), ("dan", "xing", 70, 1, 1, _at(-1))]
OUTCOME_COLUMNS = ("event_id", "measured_at", "impressions", "clicks", "reactions", "comments")
OUTCOME_COLUMNS += ("reshares",)
ACCOUNT_COLUMNS = ("employee_id", "network", "followers", "following", "posts_last_90d", "as_of")
EDGES = [("ana", "ben", 1.0, "team"), ("ben", "dan", 2.0, "email"), ("dan", "ana", 1.0, "email")]


def _frames(*, later: bool = False, new: bool = False) -> dict[str, pd.DataFrame]:
    advocates = ADVOCATES + ([NEW_HIRE] if new else [])
    content = [
        (*row, None, [], [], [], ["linkedin"])  # no expiry, no restrictions
        for row in CONTENT + ([NEW_CONTENT] if new else [])
    ]
    interactions = INTERACTIONS + (LATER_INTERACTIONS if later else [])
    interactions += NEW_INTERACTIONS if new else []
    outcomes = OUTCOMES + (LATER_OUTCOMES if later else [])
    accounts = ACCOUNTS + (LATER_ACCOUNTS if later else [])
    accounts += [("gus", "linkedin", 300, 30, 3, _at(3))] if new else []
    edges = EDGES + ([("gus", "ana", 1.0, "team")] if new else [])
    frame = pd.DataFrame(advocates, columns=ADVOCATE_COLUMNS)
    columns = ["event_id", "employee_id", "content_id", "event_type", "network", "timestamp"]
    return {
        "advocates": frame.assign(hire_date=pd.to_datetime(frame["hire_date"])),
        "content": pd.DataFrame(content, columns=CONTENT_COLUMNS),
        "interactions": pd.DataFrame(interactions, columns=columns).assign(value=np.nan),
        "share_outcomes": pd.DataFrame(
            outcomes,
            columns=[*OUTCOME_COLUMNS],
        ),
        "social_accounts": pd.DataFrame(
            accounts,
            columns=[*ACCOUNT_COLUMNS],
        ),
        "org_edges": pd.DataFrame(edges, columns=["employee_a", "employee_b", "weight", "kind"]),
    }


def snapshot(*, new: bool = False) -> Snapshot:
    return Snapshot.from_frames(AS_OF, **_frames(later=True, new=new))


def uncut() -> Snapshot:
    """The same tables with the events after ``as_of`` still in them."""
    return replace(Snapshot.from_frames(AS_OF + 30 * DAY, **_frames(later=True)), as_of=AS_OF)


def _embeddings() -> FeatureMatrix:
    vectors = np.asarray([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    return FeatureMatrix(vectors, ("e0", "e1"), IdMap(np.array(["c1", "c2", "c3"]), "content"))


# --- the builders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[TextEncoder], object]
    kind: str  # the id kind of the rows: "advocate" or "content"

    @property
    def ids(self) -> list[str]:
        """A subset in an order of its own (cara opted out: never profiled)."""
        return ["c3", "c1"] if self.kind == "content" else ["dan", "ana"]

    @property
    def new_ids(self) -> list[str]:
        return ["c9", "c2"] if self.kind == "content" else ["gus", "ben"]


CASES = [
    Case("content_embeddings", lambda encoder: ContentEmbeddings(encoder), "content"),
    Case("content_metadata", lambda encoder: ContentMetadata(), "content"),
    Case("advocate_profile", lambda encoder: AdvocateProfile(), "advocate"),
    Case("sharing_history", lambda encoder: SharingHistory(), "advocate"),
    Case(
        "sharing_history+embeddings",
        lambda encoder: SharingHistory(embeddings=_embeddings()),
        "advocate",
    ),
    Case("audience", lambda encoder: AudienceFeatures(), "advocate"),
    Case("org_network", lambda encoder: OrgNetwork(), "advocate"),
    Case("org_network+networkx", lambda encoder: OrgNetwork(backend="networkx"), "advocate"),
    Case("influence_features", lambda encoder: InfluenceFeatures(), "advocate"),
]


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def _dense(matrix: FeatureMatrix) -> np.ndarray:
    values = matrix.values.toarray() if sp.issparse(matrix.values) else matrix.values
    return np.asarray(values, dtype=np.float64)


def _check_rows(matrix: FeatureMatrix, ids: list[str], kind: str) -> None:
    assert isinstance(matrix, FeatureMatrix)
    assert matrix.shape[0] == len(ids)
    assert list(matrix.ids.external) == ids
    assert matrix.ids.kind == kind
    assert matrix.shape[1] == len(matrix.names) > 0
    assert np.isfinite(_dense(matrix)).all()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_fit_returns_the_builder_and_transform_needs_it(case: Case, encoder) -> None:
    builder = case.make(encoder)
    with pytest.raises(NotFittedError):
        builder.transform(snapshot(), case.ids)
    assert builder.fit(snapshot()) is builder


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_row_per_id_asked_in_that_order(case: Case, encoder) -> None:
    builder = case.make(encoder).fit(snapshot())
    matrix = builder.transform(snapshot(), case.ids)
    _check_rows(matrix, case.ids, case.kind)
    _check_rows(builder.transform(snapshot(), case.ids[:1]), case.ids[:1], case.kind)


# InfluenceFeatures computes the pooled engagement rate and the engagement-lift line over the
# rows asked for, while its docstring says over the organisation / every advocate with
# measured shares in the snapshot: an advocate's row changes with the other ids requested.
# Reported (issue 15), not changed here; strict, so the fix shows up as an XPASS.
ROWS_DEPEND_ON_THE_IDS_ASKED = {"influence_features"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason="rows depend on the other ids asked")]
            if case.name in ROWS_DEPEND_ON_THE_IDS_ASKED
            else [],
        )
        for case in CASES
    ],
)
def test_a_row_does_not_depend_on_the_other_ids_asked(case: Case, encoder) -> None:
    builder = case.make(encoder).fit(snapshot())
    every = builder.transform(snapshot())
    rows = dict(zip(every.ids.external.tolist(), _dense(every), strict=True))
    for wanted in (case.ids, case.ids[:1], case.ids[::-1]):
        matrix = builder.transform(snapshot(), wanted)
        expected = np.vstack([rows[i] for i in wanted])
        np.testing.assert_allclose(_dense(matrix), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_new_ids_transform_without_refit(case: Case, encoder) -> None:
    builder = case.make(encoder).fit(snapshot())
    columns = builder.transform(snapshot(), case.ids).names
    later = snapshot(new=True)  # a new hire and new content, never seen by fit
    known = snapshot().content["content_id"] if case.kind == "content" else None
    known = known if known is not None else snapshot().advocates["employee_id"]
    assert case.new_ids[0] not in set(known)
    matrix = builder.transform(later, case.new_ids)
    _check_rows(matrix, case.new_ids, case.kind)
    assert matrix.names == columns


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_events_after_as_of_change_nothing(case: Case, encoder) -> None:
    builder = case.make(encoder).fit(snapshot())
    assert len(uncut().interactions) > len(snapshot().interactions)  # the later events are in
    for ids in (case.ids, None):
        cut_matrix = builder.transform(snapshot(), ids)
        uncut_matrix = builder.transform(uncut(), ids)
        assert uncut_matrix.names == cut_matrix.names
        assert list(uncut_matrix.ids.external) == list(cut_matrix.ids.external)
        np.testing.assert_array_equal(_dense(uncut_matrix), _dense(cut_matrix))
    fitted_on_uncut = case.make(encoder).fit(uncut()).transform(snapshot(), case.ids)
    np.testing.assert_array_equal(
        _dense(fitted_on_uncut), _dense(builder.transform(snapshot(), case.ids))
    )


# --- coverage: no builder without a case ---------------------------------------------------------


def _covered_types(encoder: TextEncoder) -> set[type]:
    return {type(case.make(encoder)) for case in CASES}


def test_every_pipeline_builder_has_a_case(encoder) -> None:
    registry = FeaturePipeline(encoder=encoder).fit(snapshot()).builders_
    assert set(registry) == {*CONTENT_STAGES, *ADVOCATE_STAGES}
    names = {case.name for case in CASES}
    assert set(registry) <= names, set(registry) - names
    types = {type(builder) for builder in registry.values()}
    assert types <= _covered_types(encoder), types - _covered_types(encoder)


def _builder_classes() -> set[type]:
    """Classes defined in ``features`` whose ``fit`` takes a snapshot and that transform."""
    found = set()
    for module_info in pkgutil.walk_packages(features.__path__, "features."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            fit, transform = getattr(cls, "fit", None), getattr(cls, "transform", None)
            if not (callable(fit) and callable(transform)):
                continue
            parameters = list(inspect.signature(fit).parameters)
            if parameters[1:2] == ["snapshot"]:
                found.add(cls)
    return found


def test_every_builder_class_in_features_has_a_case(encoder) -> None:
    classes = _builder_classes() - {FeaturePipeline}  # all the builders together, not one
    assert {ContentEmbeddings, OrgNetwork, InfluenceFeatures} <= classes  # the scan finds them
    missing = classes - _covered_types(encoder)
    assert not missing, f"builders without a contract case: {sorted(c.__name__ for c in missing)}"
