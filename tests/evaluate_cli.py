"""``advocacy evaluate ...`` run in-process for the benchmark tests (stdout and stderr apart)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner, Result

from training.commands.evaluate import evaluate


def cli(*args: str) -> Result:
    """The result of ``advocacy evaluate *args``."""
    app = typer.Typer()
    app.command("evaluate")(evaluate)
    app.callback()(lambda: None)
    return CliRunner().invoke(app, ["evaluate", *args])
