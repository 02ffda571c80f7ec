"""The one shape of a refused input: a ``ValueError`` that names the field at fault.

Raised by every layer (the store, the feature builders, the feed, the jobs); callers (the
CLI, the service) read ``field`` to say which option or body field was wrong and never parse
the message. Defined here, at the bottom, so that ``recsys`` can raise it too.
"""

from __future__ import annotations

from collections.abc import Sequence


class FieldError(ValueError):
    """``field: message``; ``field`` is the (dotted) name of the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.problem = message


OPT_OUT_POLICY = (
    "opt-out policy: advocates who opted out are never profiled - no sharing history, audience "
    "or org-network features are built for them"
)


class OptedOutError(ValueError):
    """Features that profile behaviour were asked for advocates who opted out (raised by
    the feature builders, the store's reviews and the service alike)."""

    def __init__(self, ids: Sequence[str]) -> None:
        shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        super().__init__(f"advocate(s) {shown} opted out ({OPT_OUT_POLICY})")
        self.ids = list(ids)
