"""``/share_text``: a suggested post for an advocate, a content item and a network.

The work is :func:`features.share_text_source.suggest` (the same answer as ``advocacy
content share-text``), read from the store on a worker thread; the screening policy is the
service's (``ADVOCACY_POLICY``, else the default policy; read once at start, and a policy
that cannot be used stops the start).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from features.data.contract import NETWORKS
from features.data.store import Store
from features.screening.policy import Policy
from features.share_text import Suggestion
from features.share_text_source import suggest
from recsys.errors import FieldError
from recsys.ids import UnknownIdError
from serving.errors import NotFound, Unprocessable
from serving.schemas import ShareTextOut

logger = logging.getLogger(__name__)


class ShareTexts:
    """Suggestions with the service's policy; errors as the service answers them."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store = store
        self.policy = policy

    def answer(self, employee_id: str, content_id: str, network: str) -> ShareTextOut:
        """The suggestion (``text`` null with the ``reason`` when there is none); 404 on an
        unknown id, 422 on a network that is unknown or the item is not meant for."""
        try:
            found = suggest(self.store, self.policy, employee_id, content_id, network)
        except UnknownIdError as exc:
            if exc.kind == "employee":
                message, field = f"no advocate with id {employee_id!r}", "employee_id"
            else:
                message, field = f"no content with id {content_id!r}", "content_id"
            raise NotFound(message, field=field) from None
        except FieldError as exc:
            raise Unprocessable(str(exc), field=exc.field) from None
        return ShareTextOut.model_validate(found.to_dict())

    def for_items(
        self, employee_id: str, content_ids: Sequence[str], network: str
    ) -> list[dict[str, object] | None]:
        """The suggestion of each item of a feed (``/feed`` with ``share_text_network``): an
        item not meant for ``network`` gets none with the reason; an employee the store does
        not hold (a cold start from a profile) gets None per item, and so does every item
        when the store does not answer (the feed is served all the same)."""
        name = network.strip().lower()
        if name not in NETWORKS:
            known = ", ".join(NETWORKS)
            raise Unprocessable(
                f"unknown network {network!r}; one of {known}", field="share_text_network"
            )
        out: list[dict[str, object] | None] = []
        try:
            for content_id in content_ids:
                out.append(self._one(employee_id, content_id, name))
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("share texts of a feed left out: %s", type(exc).__name__)
            return [None] * len(content_ids)
        return out

    def _one(self, employee_id: str, content_id: str, network: str) -> dict[str, object] | None:
        try:
            return suggest(self.store, self.policy, employee_id, content_id, network).to_dict()
        except UnknownIdError:
            return None
        except FieldError as exc:  # the item is not meant for this network
            return Suggestion(employee_id, content_id, network, None, reason=exc.problem).to_dict()
