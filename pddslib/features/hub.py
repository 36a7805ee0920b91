"""Loading Hugging Face checkpoints by hub name or local folder, with errors that say what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def is_local_model(name: str | Path) -> bool:
    """True when ``name`` is a folder on disk (else it is a hub name)."""
    return Path(name).expanduser().is_dir()


def model_identity(name: str | Path) -> str:
    """What identifies a model in a configuration: the resolved path of a local folder, else the name."""
    return str(Path(name).expanduser().resolve()) if is_local_model(name) else str(name)


def load_pretrained(loader: Callable[..., Any], name: str | Path, what: str) -> Any:
    """``loader(name)`` with an error that says what failed and how to fix it when offline."""
    try:
        return loader(str(Path(name).expanduser()) if is_local_model(name) else str(name))
    except OSError as err:
        raise OSError(f"{what} {str(name)!r}: cannot load ({err}). Give a hub name that is in the local "
                      f"Hugging Face cache, or a local folder written by save_pretrained.") from None
