"""The one progress display of the ``advocacy`` commands.

On a terminal (stderr is a TTY, no ``--json``, no ``--quiet``) every stage is a rich bar on
stderr with its count, rate and time left when the total is known; otherwise no bar is drawn
and each stage ends with one log line on stderr with its seconds (``--quiet``: none).
Library code never sees this module: it reports to :mod:`recsys.progress`.
"""

from __future__ import annotations

import logging
import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichBars
from rich.text import Text

from recsys import progress as library
from recsys.progress import Stage

# Read by huggingface_hub, transformers and tqdm when they are imported: no download or
# "Loading weights" bars in our commands (warnings still go through logging).
QUIET_LIBRARY_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "warning",
    "TQDM_DISABLE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class BarProgress(library.Progress):
    """Stages as rich bars on ``console``; nested stages share one live display.

    A command run with ``--json`` gets no bars, only the stage log lines of the plain
    :class:`~recsys.progress.Progress` (on stderr when the command line is not quiet).
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bars: RichBars | None = None
        self._tasks: dict[int, TaskID] = {}

    def started(self, stage: Stage) -> None:
        """Open the live display if this is the outermost stage; add a bar for ``stage``."""
        if self._bars is None and not self._tasks:
            if json_requested():
                return
            self._bars = _bars(self.console)
            self._bars.start()
        if self._bars is not None:
            task = self._bars.add_task(stage.name, total=stage.total, unit=stage.unit)
            self._tasks[id(stage)] = task

    def advanced(self, stage: Stage, count: int) -> None:
        if self._bars is not None and id(stage) in self._tasks:
            self._bars.advance(self._tasks[id(stage)], count)

    def finished(self, stage: Stage) -> None:
        """Complete the bar of ``stage``: an inner stage's bar goes, the outermost one's stays
        and the display closes; without bars (``--json``), log the stage line."""
        task = self._tasks.pop(id(stage), None)
        if self._bars is None or task is None:
            super().finished(stage)
            return
        rate = stage.done / stage.seconds if stage.seconds > 0 else None
        self._bars.update(task, rate=rate)
        if stage.total is None:
            self._bars.update(task, total=stage.done, completed=stage.done)
        if self._tasks:  # an inner stage: its outermost stage's line stays
            self._bars.remove_task(task)
        else:
            self._bars.stop()
            self._bars = None


def json_requested() -> bool:
    """Whether this process's command line holds ``--json`` (bars are drawn only by a real
    process on a terminal, so its ``sys.argv`` is the command line; the root callback does
    not see its subcommand's options)."""
    return "--json" in sys.argv[1:]


class CountColumn(ProgressColumn):
    """``done/total`` of a task, ``done`` when the total is unknown, blank when the stage
    counts nothing."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        if not task.total:
            return Text(f"{done:,}" if done else "", style="progress.download")
        return Text(f"{done:,}/{int(task.total):,}", style="progress.download")


class RateColumn(ProgressColumn):
    """``<rate> <unit>/s`` of a task: rich's recent speed while it runs, the mean rate of
    the whole stage once it ended; blank while unknown or when nothing is counted."""

    def render(self, task: Task) -> Text:
        rate = task.fields.get("rate") or task.speed
        if not rate or not task.completed:
            return Text("")
        return Text(library.rate_text(rate, task.fields["unit"]), style="progress.data.speed")


def _bars(console: Console) -> RichBars:
    return RichBars(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        CountColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class CurrentStderrHandler(logging.StreamHandler):
    """A log handler writing to whatever ``sys.stderr`` is at the time of each record, so
    that log lines printed while bars are drawn appear above them (rich redirects it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def configure(*, verbose: bool, quiet: bool) -> library.Progress:
    """Set up logging and the progress display of one command; the progress installed.

    Bars when stderr is a terminal and the command is neither ``quiet`` nor ``--json``;
    otherwise stage lines through logging on stderr unless ``quiet``.
    """
    for name, value in QUIET_LIBRARY_ENV.items():
        os.environ.setdefault(name, value)  # a value the user set wins
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[CurrentStderrHandler()],
    )
    stage_logger = logging.getLogger(library.__name__)
    stage_logger.setLevel(logging.WARNING if quiet else logging.INFO)
    errors = Console(stderr=True)
    shown = library.Progress()
    if not quiet and errors.is_terminal:
        shown = BarProgress(errors)
    library.use(shown)
    return shown
