"""The data contract: the tables a company feeds into advocacy-recsys.

Each table is described once, here, as a :class:`TableSpec`. Validation, the SQL
schema, the importers and the README's contract section are all derived from these
specs, so a field is added or changed in exactly one place.

Conventions
- Ids are strings (external ids); numeric ids in a file are kept as their text.
- Timestamps are ISO 8601; a value without a zone is taken as UTC. They are stored as UTC.
- List fields are written ``a;b;c`` in CSV (a JSON array ``["a", "b"]`` is accepted too).
- Enumerated values and codes are case-insensitive and stored lower-case; currency codes
  (ISO 4217) are case-insensitive and stored upper-case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """The type of a contract field."""

    STRING = "string"
    TOKEN = "token"  # short lower-case code from an open set (e.g. content_type)
    ENUM = "enum"  # lower-case code from a closed set
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    DATE = "date"
    LIST = "list"
    CURRENCY = "currency"  # ISO 4217 alphabetic code, stored upper-case


class Conflict(StrEnum):
    """What a re-import does with a row whose key is already stored."""

    UPDATE = "update"  # entities: the newest file wins (status changes, moves, ...)
    IGNORE = "ignore"  # immutable facts: stored once, never rewritten


EVENT_TYPES = (
    "impression",
    "view",
    "click",
    "like",
    "bookmark",
    "follow",
    "comment",
    "share",
    "rate",
    "dismiss",
)
NETWORKS = ("linkedin", "x", "facebook", "instagram", "xing", "other")
APPROVAL_STATUSES = ("draft", "approved", "rejected", "retired")
SENIORITIES = ("intern", "junior", "mid", "senior", "lead", "manager", "director", "executive")


@dataclass(frozen=True)
class FieldSpec:
    """One column of a contract table."""

    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    exclusive_min: bool = False
    default: object = None
    future_checked: bool = False  # a time of an observation: may not lie in the future
    lowercase: bool = False  # LIST items / STRING values are lower-cased (language codes)

    def __post_init__(self) -> None:
        if (self.kind is Kind.ENUM) != bool(self.choices):
            raise ValueError(f"field {self.name!r}: choices go with kind 'enum' only")


@dataclass(frozen=True)
class ForeignKey:
    """``field`` must name a stored (or same-import) row of ``table``.

    ``target`` is the referenced key set; ``share_events`` is the set of interaction
    event ids whose event_type is ``share``.
    """

    field: str
    table: str
    target: str


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its fields, key, references and re-import rule."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    on_conflict: Conflict = Conflict.IGNORE
    field_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))
        unknown = set(self.key) - set(self.field_names)
        if unknown:
            raise ValueError(f"table {self.name!r}: key fields {sorted(unknown)} are not fields")

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required and f.default is None)


ADVOCATES = TableSpec(
    name="advocates",
    description="Employees who may receive a feed and share content.",
    key=("employee_id",),
    on_conflict=Conflict.UPDATE,
    fields=(
        FieldSpec("employee_id", Kind.STRING, True, "Stable employee id (key)."),
        FieldSpec("department", Kind.STRING, description="Department name."),
        FieldSpec("role", Kind.STRING, description="Job role or title family."),
        FieldSpec("seniority", Kind.ENUM, choices=SENIORITIES, description="Seniority level."),
        FieldSpec("region", Kind.STRING, description="Sales/HR region, used for eligibility."),
        FieldSpec("country", Kind.STRING, description="Country code, e.g. DE."),
        FieldSpec("languages", Kind.LIST, lowercase=True, description="Language codes they read."),
        FieldSpec("hire_date", Kind.DATE, description="First day at the company."),
        FieldSpec("interests", Kind.LIST, description="Free interest tags."),
        FieldSpec(
            "opted_out",
            Kind.BOOL,
            default=False,
            description="Excluded from profiling and influencer scoring (default false).",
        ),
    ),
)

CONTENT = TableSpec(
    name="content",
    description="Items advocates may share: news, jobs, events, product, culture ...",
    key=("content_id",),
    on_conflict=Conflict.UPDATE,
    fields=(
        FieldSpec("content_id", Kind.STRING, True, "Stable content id (key)."),
        FieldSpec("title", Kind.STRING, default="", description="Headline."),
        FieldSpec("body", Kind.STRING, description="Text or lead."),
        FieldSpec("url", Kind.STRING, description="Link that is shared."),
        FieldSpec(
            "content_type",
            Kind.TOKEN,
            True,
            "article, job, event, product, culture, video, ... (open set).",
        ),
        FieldSpec("language", Kind.TOKEN, description="Language code of the text."),
        FieldSpec("topics", Kind.LIST, description="Topic tags."),
        FieldSpec("author_id", Kind.STRING, description="Author (employee id or external)."),
        FieldSpec("published_at", Kind.TIMESTAMP, True, "Publication time (may be scheduled)."),
        FieldSpec("expires_at", Kind.TIMESTAMP, description="No longer shown after this time."),
        FieldSpec(
            "approval_status",
            Kind.ENUM,
            choices=APPROVAL_STATUSES,
            default="approved",
            description="draft, approved, rejected or retired (default approved).",
        ),
        FieldSpec("allowed_regions", Kind.LIST, description="Eligible regions; empty = all."),
        FieldSpec(
            "allowed_departments", Kind.LIST, description="Eligible departments; empty = all."
        ),
        FieldSpec(
            "allowed_languages",
            Kind.LIST,
            lowercase=True,
            description="Eligible languages; empty = all.",
        ),
        FieldSpec(
            "networks",
            Kind.LIST,
            lowercase=True,
            description="Networks it is meant to be shared on (linkedin, x, ...); empty = any.",
        ),
    ),
)

INTERACTIONS = TableSpec(
    name="interactions",
    description="What advocates did with content: one row per event.",
    key=("event_id",),
    foreign_keys=(
        ForeignKey("employee_id", "advocates", "advocates"),
        ForeignKey("content_id", "content", "content"),
    ),
    fields=(
        FieldSpec("event_id", Kind.STRING, True, "Unique event id (dedupe key)."),
        FieldSpec("employee_id", Kind.STRING, True, "Who (advocates.employee_id)."),
        FieldSpec("content_id", Kind.STRING, True, "What (content.content_id)."),
        FieldSpec("event_type", Kind.ENUM, True, "Kind of event.", choices=EVENT_TYPES),
        FieldSpec(
            "network", Kind.ENUM, choices=NETWORKS, description="Network shared to (shares)."
        ),
        FieldSpec("timestamp", Kind.TIMESTAMP, True, "When.", future_checked=True),
        FieldSpec("value", Kind.FLOAT, description="Optional strength: rating, dwell seconds."),
    ),
)

SHARE_OUTCOMES = TableSpec(
    name="share_outcomes",
    description="What a share earned on its network, measured at a time.",
    key=("event_id", "measured_at"),
    foreign_keys=(ForeignKey("event_id", "interactions", "share_events"),),
    fields=(
        FieldSpec("event_id", Kind.STRING, True, "The share (interactions.event_id)."),
        FieldSpec("measured_at", Kind.TIMESTAMP, True, "Measurement time.", future_checked=True),
        FieldSpec("impressions", Kind.INT, min_value=0, description="Times shown."),
        FieldSpec("clicks", Kind.INT, min_value=0, description="Link clicks."),
        FieldSpec("reactions", Kind.INT, min_value=0, description="Likes and reactions."),
        FieldSpec("comments", Kind.INT, min_value=0, description="Comments."),
        FieldSpec("reshares", Kind.INT, min_value=0, description="Reshares / reposts."),
    ),
)

SOCIAL_ACCOUNTS = TableSpec(
    name="social_accounts",
    description="Snapshots of an advocate's audience on a network.",
    key=("employee_id", "network", "as_of"),
    foreign_keys=(ForeignKey("employee_id", "advocates", "advocates"),),
    fields=(
        FieldSpec("employee_id", Kind.STRING, True, "Whose account."),
        FieldSpec("network", Kind.ENUM, True, "Network.", choices=NETWORKS),
        FieldSpec("followers", Kind.INT, True, "Followers.", min_value=0),
        FieldSpec("following", Kind.INT, min_value=0, description="Following / connections."),
        FieldSpec("posts_last_90d", Kind.INT, min_value=0, description="Posts in last 90 days."),
        FieldSpec("as_of", Kind.TIMESTAMP, True, "Snapshot time.", future_checked=True),
    ),
)

ORG_EDGES = TableSpec(
    name="org_edges",
    description="Ties between employees: reporting lines, teams, email, mentions.",
    key=("employee_a", "employee_b", "kind"),
    on_conflict=Conflict.UPDATE,
    foreign_keys=(
        ForeignKey("employee_a", "advocates", "advocates"),
        ForeignKey("employee_b", "advocates", "advocates"),
    ),
    fields=(
        FieldSpec("employee_a", Kind.STRING, True, "One employee (for manager: the manager)."),
        FieldSpec("employee_b", Kind.STRING, True, "The other employee."),
        FieldSpec(
            "weight",
            Kind.FLOAT,
            min_value=0,
            exclusive_min=True,
            default=1.0,
            description="Tie strength > 0 (default 1).",
        ),
        FieldSpec("kind", Kind.TOKEN, True, "manager, team, email, mention, ... (open set)."),
    ),
)

LINK_CLICKS = TableSpec(
    name="link_clicks",
    description="Visits to the company's site through a share's tracked link.",
    key=("click_id",),
    foreign_keys=(ForeignKey("share_event_id", "interactions", "share_events"),),
    fields=(
        FieldSpec("click_id", Kind.STRING, True, "Unique click id (key)."),
        FieldSpec(
            "share_event_id", Kind.STRING, True, "The share whose link was clicked (a share event)."
        ),
        FieldSpec(
            "visitor_id", Kind.STRING, True, "Pseudonymous visitor id set by the company's site."
        ),
        FieldSpec("timestamp", Kind.TIMESTAMP, True, "When.", future_checked=True),
        FieldSpec("landing_url", Kind.STRING, description="The page the link opened."),
    ),
)

CONVERSIONS = TableSpec(
    name="conversions",
    description="Business results on the company's site: leads, sign-ups, applications ...",
    key=("conversion_id",),
    fields=(
        FieldSpec("conversion_id", Kind.STRING, True, "Unique conversion id (key)."),
        FieldSpec("visitor_id", Kind.STRING, True, "The visitor (as in link_clicks.visitor_id)."),
        FieldSpec("timestamp", Kind.TIMESTAMP, True, "When.", future_checked=True),
        FieldSpec(
            "kind",
            Kind.TOKEN,
            True,
            "lead, signup, application, demo_request, purchase, ... (open set).",
        ),
        FieldSpec("value", Kind.FLOAT, min_value=0, description="What it is worth, >= 0."),
        FieldSpec(
            "currency", Kind.CURRENCY, description="ISO 4217 code of value (required with value)."
        ),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        ADVOCATES,
        CONTENT,
        INTERACTIONS,
        SHARE_OUTCOMES,
        SOCIAL_ACCOUNTS,
        ORG_EDGES,
        LINK_CLICKS,
        CONVERSIONS,
    )
}
"""All contract tables, in dependency order (a table only references earlier ones)."""

TABLE_ORDER: tuple[str, ...] = tuple(TABLES)

FEED_TABLES: tuple[str, ...] = TABLE_ORDER[:6]
"""The tables the recommenders and the influencer scorer learn from (a snapshot's tables);
link clicks and conversions are read by program analytics and attribution only."""


def _type_text(spec: FieldSpec) -> str:
    if spec.kind is Kind.ENUM:
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    if spec.kind is Kind.CURRENCY:
        return "ISO 4217 code (e.g. `EUR`)"
    text = spec.kind.value
    if spec.min_value is not None:
        text += f" {'>' if spec.exclusive_min else '>='} {spec.min_value:g}"
    return text


def contract_markdown() -> str:
    """The contract as Markdown tables, as the README shows it."""
    lines: list[str] = []
    for table in TABLES.values():
        lines += [f"#### `{table.name}`", "", table.description, ""]
        key = ", ".join(f"`{k}`" for k in table.key)
        rule = "updated" if table.on_conflict is Conflict.UPDATE else "ignored"
        lines.append(f"Key: {key} (a re-imported key is {rule}).")
        for fk in table.foreign_keys:
            target = "a share in `interactions`" if fk.target == "share_events" else f"`{fk.table}`"
            lines.append(f"`{fk.field}` must exist in {target}.")
        lines += ["", "| field | type | required | meaning |", "|---|---|---|---|"]
        for spec in table.fields:
            required = "yes" if spec.required else "no"
            if spec.default is not None:
                shown = str(spec.default).lower() or '""'
                required = f"no (default `{shown}`)"
            lines.append(
                f"| `{spec.name}` | {_type_text(spec)} | {required} | {spec.description} |"
            )
        lines.append("")
    return "\n".join(lines)
