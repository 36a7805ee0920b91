"""Reading a JSON object from a file, with one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_object(path: Path, error: type[Exception], expected: str = "") -> dict[str, Any]:
    """The JSON object in ``path``; anything else raises ``error`` naming the file (and the line).

    Parameters
    ----------
    path : Path
    error : exception class
        Raised with a one-line message, e.g. :class:`pddslib.features.store.StoreError`.
    expected : str
        What the object holds, added to the message when the file holds another JSON type.
    """
    try:
        obj = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise error(f"{path}: line {err.lineno}: invalid JSON ({err.msg})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file, expected a JSON object") from None
    if not isinstance(obj, dict):
        raise error(f"{path}: a JSON {type(obj).__name__}, expected a JSON object"
                    + (f" ({expected})" if expected else ""))
    return obj
