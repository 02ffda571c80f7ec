"""A forecast model for a CLI command: a saved folder (``--model-dir``) or the registry's
champion, and where it came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from training import console

Model = TypeVar("Model")


def folder_or_champion(
    load: Callable[[Path], Model],
    registered_name: str,
    model_dir: Path | None,
    tracking_uri: str | None,
    *,
    needs: str,
) -> tuple[Model, dict[str, Any]]:
    """``load(model_dir)`` (a bad folder exits 2 naming ``--model-dir``), else ``load`` of
    the champion of ``registered_name`` (no registry or no champion exits 4; ``needs``
    says what training one takes, e.g. "a few months of history")."""
    if model_dir is not None:
        try:
            return load(model_dir), {"folder": str(model_dir)}
        except (FileNotFoundError, ValueError) as exc:
            raise console.fail(f"--model-dir: {exc}") from None
    from training.registry_reader import RegistryUnavailableError, champion

    try:
        ref = champion(registered_name, tracking_uri=tracking_uri)
    except RegistryUnavailableError as exc:
        raise console.fail(str(exc), 4) from None
    if ref is None:
        raise console.fail(
            f"no {registered_name} champion: run `advocacy train` on a store with {needs},"
            " or pass --model-dir",
            4,
        )
    source = {"name": ref.name, "version": ref.version, "run_id": ref.run_id}
    return load(Path(ref.path)), source
