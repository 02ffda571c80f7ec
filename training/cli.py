"""The ``advocacy`` command: the single entry point of the service."""

from __future__ import annotations

import typer

from training.analytics_command import analytics
from training.attribution_command import attribution
from training.data_commands import data_app
from training.demo_command import demo
from training.evaluate_command import evaluate
from training.features_command import features_app
from training.influencers_command import influencers_app
from training.progress import configure
from training.serve_command import serve
from training.train_command import experiment_app, retrain, rollback, train

app = typer.Typer(
    name="advocacy",
    help="advocacy-recsys: feeds and micro-influencers for employee advocacy programs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.command("analytics")(analytics)
app.command("attribution")(attribution)
app.add_typer(features_app, name="features")
app.command("demo")(demo)
app.command("evaluate")(evaluate)
app.add_typer(influencers_app, name="influencers")
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
