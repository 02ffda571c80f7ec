"""The one shape of a refused input: a ``ValueError`` that names the field at fault.

Raised by every layer (the store, the feature builders, the feed, the jobs); callers (the
CLI, the service) read ``field`` to say which option or body field was wrong and never parse
the message. Defined here, at the bottom, so that ``recsys`` can raise it too.
"""

from __future__ import annotations


class FieldError(ValueError):
    """``field: message``; ``field`` is the (dotted) name of the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.problem = message
