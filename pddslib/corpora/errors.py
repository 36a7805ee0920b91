"""Errors that point at the offending file and line."""

from __future__ import annotations

from pathlib import Path

from ..util.errors import PddsError


class CorpusFormatError(ValueError, PddsError):
    """A corpus file does not have the expected format.

    The message always starts with ``path:line:`` (or ``path:`` when no line applies) and says
    what was found and what was expected.
    """

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
