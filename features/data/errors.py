"""The one shape of a refused input: a ``ValueError`` that names the field at fault.

Callers (the CLI, the service) read ``field`` to say which option or body field was wrong;
they never parse the message.
"""

from __future__ import annotations


class FieldError(ValueError):
    """``field: message``; ``field`` is the (dotted) name of the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.problem = message
