"""The ``advocacy`` command: the single entry point of the service."""

from __future__ import annotations

import typer

from training.commands.advocates import advocates_app
from training.commands.analytics import analytics
from training.commands.attribution import attribution
from training.commands.content import content_app
from training.commands.data import data_app
from training.commands.demo import demo
from training.commands.evaluate import evaluate
from training.commands.features import features_app
from training.commands.influencers import influencers_app
from training.commands.screening import screening_app
from training.commands.serve import serve
from training.commands.train import experiment_app, retrain, rollback, train
from training.progress import configure

app = typer.Typer(
    name="advocacy",
    help="advocacy-recsys: feeds and micro-influencers for employee advocacy programs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(advocates_app, name="advocates")
app.command("analytics")(analytics)
app.command("attribution")(attribution)
app.add_typer(content_app, name="content")
app.add_typer(features_app, name="features")
app.command("demo")(demo)
app.command("evaluate")(evaluate)
app.add_typer(influencers_app, name="influencers")
app.add_typer(screening_app, name="screening")
app.command("serve")(serve)
app.command("train")(train)
app.command("retrain")(retrain)
app.command("rollback")(rollback)
app.add_typer(experiment_app, name="experiment")


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress (INFO)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or stage lines."),
) -> None:
    """Feeds and micro-influencers for employee advocacy programs."""
    configure(verbose=verbose, quiet=quiet)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
