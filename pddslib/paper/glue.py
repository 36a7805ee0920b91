"""Numbers and sentences for the book's prose: ``myst_nb.glue`` of formatted text, and line wrapping."""

from __future__ import annotations

import textwrap


def glue_number(key: str, value: float, fmt: str = "{:.1f}", display: bool = False) -> None:
    """Glue a formatted number (as text) for ``{glue:text}`` in the book's prose."""
    from myst_nb import glue

    glue(key, fmt.format(value), display=display)


def glue_text(key: str, text: str, display: bool = False) -> None:
    """Glue a sentence (or any text) for ``{glue:text}`` in the book's prose."""
    from myst_nb import glue

    glue(key, text, display=display)


def wrap(text: str, width: int = 80) -> str:
    """Wrap each line of ``text`` at ``width`` columns (continuation lines indented by two)."""
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in text.split("\n"))


__all__ = ["glue_number", "glue_text", "wrap"]
