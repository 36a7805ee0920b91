"""Count tables: clear samples per class and ambiguous samples per ordered emotion pair.

A :class:`CountTable` is what ``pdds stats`` prints and what the PDDS plan is computed from. It
is corpus-agnostic: the classes are part of the table (IEMOCAP's six, CREMA-D's six, ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .labels import CLASSES


@dataclass
class CountTable:
    """Clear and ambiguous counts of a corpus (or of a part of it).

    Parameters
    ----------
    classes : tuple of str
        Class codes, in order.
    clear : numpy.ndarray of int, shape (C,)
        Clear samples per class.
    ambiguous : numpy.ndarray of int, shape (C, C)
        ``ambiguous[i, j]``: samples with major emotion i and minor emotion j (diagonal zero).
    ties, other, excluded : int
        Two-emotion ties, utterances with more than two emotions, utterances the vote policy
        excluded.
    n_utterances : int
        All utterances counted (the sum of the five categories).
    excluded_reasons : dict
        Why utterances were excluded, reason -> count (informative; not part of the JSON contract).
    """

    classes: tuple[str, ...]
    clear: np.ndarray
    ambiguous: np.ndarray
    ties: int = 0
    other: int = 0
    excluded: int = 0
    n_utterances: int = 0
    excluded_reasons: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        c = len(self.classes)
        self.clear = np.asarray(self.clear, dtype=np.int64)
        self.ambiguous = np.asarray(self.ambiguous, dtype=np.int64)
        if self.clear.shape != (c,):
            raise ValueError(f"clear counts must have shape ({c},), got {self.clear.shape}")
        if self.ambiguous.shape != (c, c):
            raise ValueError(f"ambiguous counts must have shape ({c}, {c}), got {self.ambiguous.shape}")
        if (self.clear < 0).any() or (self.ambiguous < 0).any():
            raise ValueError("counts must be non-negative")
        if np.diag(self.ambiguous).any():
            raise ValueError("ambiguous[i, i] must be 0: an ambiguous sample has two distinct emotions")
        total = self.n_clear + self.n_ambiguous + self.ties + self.other + self.excluded
        if self.n_utterances == 0:
            self.n_utterances = total
        elif self.n_utterances != total:
            raise ValueError(
                f"n_utterances={self.n_utterances} but clear + ambiguous + ties + other + excluded "
                f"= {total}"
            )

    @property
    def n_clear(self) -> int:
        return int(self.clear.sum())

    @property
    def n_ambiguous(self) -> int:
        return int(self.ambiguous.sum())

    @classmethod
    def from_cells(
        cls,
        categories: Iterable[str],
        majors: Iterable[str | None],
        minors: Iterable[str | None],
        classes: Sequence[str] = CLASSES,
        reasons: Iterable[str] | None = None,
    ) -> CountTable:
        """Count categories as produced by :func:`pddslib.pdds.labels.tally_votes` (a votes table's columns)."""
        index = {c: i for i, c in enumerate(classes)}
        clear = np.zeros(len(classes), dtype=np.int64)
        amb = np.zeros((len(classes), len(classes)), dtype=np.int64)
        tally = {"tie": 0, "other": 0, "excluded": 0}
        why: dict[str, int] = {}
        reasons_it = iter(reasons) if reasons is not None else None
        for cat, a, b in zip(categories, majors, minors):
            reason = next(reasons_it) if reasons_it is not None else ""
            if cat == "clear":
                clear[index[a]] += 1
            elif cat == "ambiguous":
                amb[index[a], index[b]] += 1
            elif cat in tally:
                tally[cat] += 1
                if cat == "excluded":
                    why[reason or "unspecified"] = why.get(reason or "unspecified", 0) + 1
            else:
                raise ValueError(f"unknown category {cat!r}")
        return cls(tuple(classes), clear, amb, ties=tally["tie"], other=tally["other"],
                   excluded=tally["excluded"], excluded_reasons=why)

    def __add__(self, other: CountTable) -> CountTable:
        if self.classes != other.classes:
            raise ValueError(f"cannot add count tables over {self.classes} and {other.classes}")
        reasons = dict(self.excluded_reasons)
        for k, v in other.excluded_reasons.items():
            reasons[k] = reasons.get(k, 0) + v
        return CountTable(self.classes, self.clear + other.clear, self.ambiguous + other.ambiguous,
                          self.ties + other.ties, self.other + other.other,
                          self.excluded + other.excluded, excluded_reasons=reasons)

    # -- JSON (the `pdds stats --json` contract) --------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``pdds stats --json`` object (classes in order; all ordered pairs, zeros too)."""
        return {
            "n_utterances": int(self.n_utterances),
            "clear": {c: int(n) for c, n in zip(self.classes, self.clear)},
            "ambiguous": {
                a: {b: int(self.ambiguous[i, j]) for j, b in enumerate(self.classes) if j != i}
                for i, a in enumerate(self.classes)
            },
            "ties": int(self.ties),
            "other": int(self.other),
            "excluded": int(self.excluded),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<counts>") -> CountTable:
        """Read the ``pdds stats --json`` object; errors name ``source`` and the field."""
        for key in ("clear", "ambiguous"):
            if key not in data:
                raise ValueError(f"{source}: missing field {key!r} (expected the `pdds stats --json` object)")
        clear_map = data["clear"]
        if not isinstance(clear_map, Mapping) or not clear_map:
            raise ValueError(f"{source}: field 'clear' must be an object {{class: count}}")
        classes = tuple(clear_map)
        amb = np.zeros((len(classes), len(classes)), dtype=np.int64)
        amb_map = data["ambiguous"]
        if not isinstance(amb_map, Mapping):
            raise ValueError(f"{source}: field 'ambiguous' must be an object {{major: {{minor: count}}}}")
        index = {c: i for i, c in enumerate(classes)}
        for a, row in amb_map.items():
            if a not in index:
                raise ValueError(f"{source}: ambiguous.{a}: {a!r} is not one of the clear classes {list(classes)}")
            if not isinstance(row, Mapping):
                raise ValueError(f"{source}: ambiguous.{a} must be an object {{minor: count}}")
            for b, n in row.items():
                if b not in index:
                    raise ValueError(f"{source}: ambiguous.{a}.{b}: {b!r} is not one of {list(classes)}")
                if a == b:
                    if n:
                        raise ValueError(f"{source}: ambiguous.{a}.{b} must be 0")
                    continue
                amb[index[a], index[b]] = _count(n, f"{source}: ambiguous.{a}.{b}")
        clear = [_count(clear_map[c], f"{source}: clear.{c}") for c in classes]
        extra = {k: _count(data.get(k, 0), f"{source}: {k}") for k in ("ties", "other", "excluded")}
        n = _count(data.get("n_utterances", 0), f"{source}: n_utterances")
        try:
            return cls(classes, np.array(clear), amb, n_utterances=n, **extra)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None

    @classmethod
    def read_json(cls, path: str | Path) -> CountTable:
        """Read a ``pdds stats --json`` file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such counts file") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {err.lineno}: not valid JSON ({err.msg})") from None
        return cls.from_dict(data, source=str(path))

    # -- readable output --------------------------------------------------------------------
    def format(self, other_label: str = "more than two emotions") -> str:
        """Readable tables (what ``pdds stats`` prints without ``--json``); ``other_label`` names the
        ``other`` count (an agreement threshold below 1 puts more than "more than two emotions" there)."""
        w = max(6, *(len(c) + 2 for c in self.classes))
        lines = [
            f"utterances {self.n_utterances}: clear {self.n_clear}, ambiguous {self.n_ambiguous}, "
            f"ties {self.ties}, {other_label} {self.other}, excluded {self.excluded}",
        ]
        for reason, n in sorted(self.excluded_reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  excluded because {reason}: {n}")
        lines.append("")
        lines.append("clear: " + ", ".join(f"{c} {n}" for c, n in zip(self.classes, self.clear)))
        lines.append("")
        lines.append("ambiguous (rows: major, columns: minor)")
        lines.append("major\\minor".ljust(12) + "".join(c.rjust(w) for c in self.classes))
        for i, a in enumerate(self.classes):
            cells = "".join(("-" if i == j else str(self.ambiguous[i, j])).rjust(w)
                            for j in range(len(self.classes)))
            lines.append(a.ljust(12) + cells)
        return "\n".join(lines)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where}: expected a non-negative integer, got {value!r}")
    return int(value)
