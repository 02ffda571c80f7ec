"""Progress of long work, reported by library code without knowing how it is shown.

Library code opens a stage and advances it::

    with progress.stage("import advocates", total=n, unit="rows") as step:
        step.advance(len(chunk))

The plain :class:`Progress` shows nothing while a stage runs and logs one INFO line on the
``recsys.progress`` logger when it ends, with its count, rate and seconds. A command line
installs its own subclass (bars on a terminal) with :func:`use`; library functions that take
no ``progress`` argument report to :func:`current`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class Stage:
    """One running stage: its name, expected total (None: unknown) and count so far."""

    name: str
    total: int | None = None
    unit: str = "items"
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    _owner: Progress | None = field(default=None, repr=False)

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more units done."""
        self.done += count
        if self._owner is not None:
            self._owner.advanced(self, count)

    @property
    def seconds(self) -> float:
        """Seconds since the stage started."""
        return time.perf_counter() - self.started


def stage_line(stage: Stage) -> str:
    """``<name>: <done> <unit> in <s> s (<rate> <unit>/s)`` (no count when nothing was
    counted)."""
    seconds = stage.seconds
    if not stage.done:
        return f"{stage.name}: {seconds:.2f} s"
    rate = f", {rate_text(stage.done / seconds, stage.unit)}" if seconds > 0 else ""
    return f"{stage.name}: {stage.done:,} {stage.unit} in {seconds:.2f} s{rate}"


def rate_text(per_second: float, unit: str) -> str:
    """``<n> <unit>/s``, or ``<s> s each`` when fewer than one a second."""
    if per_second >= 1:
        return f"{per_second:,.0f} {unit}/s"
    return f"{1 / per_second:,.1f} s each" if per_second > 0 else ""


class Progress:
    """Reports stages as one INFO log line each, when they end; subclasses also show them
    while they run (override :meth:`started`, :meth:`advanced`, :meth:`finished`)."""

    @contextmanager
    def stage(self, name: str, total: int | None = None, unit: str = "items") -> Iterator[Stage]:
        """A stage named ``name`` of ``total`` ``unit`` (None: unknown), reported when it
        ends, also when it raises."""
        current_stage = Stage(name, total, unit, _owner=self)
        self.started(current_stage)
        try:
            yield current_stage
        finally:
            self.finished(current_stage)

    def started(self, stage: Stage) -> None:
        """Called when ``stage`` begins; nothing here."""

    def advanced(self, stage: Stage, count: int) -> None:
        """Called after ``stage`` advanced by ``count``; nothing here."""

    def finished(self, stage: Stage) -> None:
        """Log the stage's line (count, rate, seconds) at INFO."""
        logger.info("%s", stage_line(stage))


_current: ContextVar[Progress] = ContextVar("progress", default=Progress())  # noqa: B039


def current() -> Progress:
    """The progress installed by :func:`use`, else a plain logging :class:`Progress`."""
    return _current.get()


def use(progress: Progress) -> None:
    """Make ``progress`` the one :func:`current` returns from now on (in this context)."""
    _current.set(progress)


def resolve(progress: Progress | None) -> Progress:
    """``progress``, or :func:`current` when None."""
    return progress if progress is not None else current()
