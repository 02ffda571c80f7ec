"""The `advocacy` CLI sub-commands, one module each (``training.cli`` assembles them)."""
