"""The six emotion classes, vote policies, and votes -> label distribution and category.

Everything here is pure Python/numpy and corpus-agnostic: a corpus reader turns its raw
annotation into one :class:`Evaluation` per evaluator, and :func:`tally_votes` turns the
evaluations of an utterance into votes over the classes, a label distribution, a category
(``clear``, ``ambiguous``, ``tie``, ``other`` or ``excluded``) and the major and minor emotion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

#: The paper's six classes, in the order used everywhere (a contract of the package: stats JSON, stores and runs
#: use it).
CLASSES: tuple[str, ...] = ("ang", "hap", "sad", "neu", "exc", "fru")

#: Readable names of the codes used in tables and figures.
CLASS_NAMES: dict[str, str] = {
    "ang": "anger",
    "hap": "happiness",
    "sad": "sadness",
    "neu": "neutral",
    "exc": "excited",
    "fru": "frustration",
    "sur": "surprise",
    "fea": "fear",
    "dis": "disgust",
    "oth": "other",
}

Category = Literal["clear", "ambiguous", "tie", "other", "excluded"]

#: Why a row outside the (major, minor) cells is there (an excluded row carries its own reason).
NO_CELL_REASONS: dict[str, str] = {
    "tie": "two classes with equal votes",
    "other": "votes name more than two classes",
}


@dataclass(frozen=True)
class VotePolicy:
    """How evaluator lines become votes (defaults reproduce the paper's 43 clear happiness).

    Parameters
    ----------
    self_evaluations : bool
        Count the actors' self-evaluations (``C-F*``/``C-M*`` lines) as votes. Default False:
        only external evaluators (``C-E*``) vote.
    strict : bool
        Any label outside the classes excludes the utterance. Default False: such labels are
        ignored.
    empty_evaluator : {"exclude", "drop"}
        What happens when a counted evaluator names none of the classes: ``"exclude"`` (default)
        excludes the utterance, ``"drop"`` drops that evaluator and keeps the others.
    """

    self_evaluations: bool = False
    strict: bool = False
    empty_evaluator: Literal["exclude", "drop"] = "exclude"

    def __post_init__(self) -> None:
        if self.empty_evaluator not in ("exclude", "drop"):
            raise ValueError(
                f"VotePolicy.empty_evaluator must be 'exclude' or 'drop', got {self.empty_evaluator!r}"
            )

    @classmethod
    def named(cls, name: str) -> VotePolicy:
        """Return a policy by name: ``default``, ``self``, ``strict`` or ``drop-evaluator``."""
        table = {
            "default": cls(),
            "self": cls(self_evaluations=True),
            "strict": cls(strict=True),
            "drop-evaluator": cls(empty_evaluator="drop"),
        }
        if name not in table:
            raise ValueError(f"unknown vote policy {name!r}; expected one of {sorted(table)}")
        return table[name]


@dataclass(frozen=True)
class Evaluation:
    """One evaluator's categorical answer for one utterance.

    Parameters
    ----------
    evaluator : str
        Evaluator id, e.g. ``"C-E2"``.
    labels : tuple of str
        Label codes named by the evaluator (in or out of the classes), e.g. ``("fru", "ang")``.
    external : bool
        True for external evaluators, False for the actors' self-evaluations.
    """

    evaluator: str
    labels: tuple[str, ...]
    external: bool = True


@dataclass
class VoteTally:
    """Votes of one utterance under a policy.

    Attributes
    ----------
    votes : dict
        Votes per class (only classes of ``classes``), zeros included.
    distribution : numpy.ndarray
        ``(C,)`` votes normalised to sum 1; all zeros when there is no vote in the classes.
    category : str
        ``clear``, ``ambiguous``, ``tie``, ``other`` or ``excluded``.
    major, minor : str or None
        The class (clear), or the major and minor emotion (ambiguous).
    reason : str
        Why the utterance is in no (major, minor) cell: excluded (the policy's reason), tie or
        other (:data:`NO_CELL_REASONS`); empty for clear and ambiguous utterances.
    n_evaluators : int
        Evaluators counted under the policy.
    """

    votes: dict[str, int]
    distribution: np.ndarray
    category: Category
    major: str | None = None
    minor: str | None = None
    reason: str = ""
    n_evaluators: int = 0
    out_of_classes: dict[str, int] = field(default_factory=dict)


def categorize(votes: Sequence[int] | np.ndarray) -> tuple[Category, int | None, int | None]:
    """Category of a vote vector over the classes.

    Parameters
    ----------
    votes : array-like of int, shape (C,)
        Votes per class.

    Returns
    -------
    category : str
        ``clear`` (one class), ``ambiguous`` (two classes, one with strictly more votes), ``tie``
        (two classes, equal votes), ``other`` (more than two classes) or ``excluded`` (no votes).
    major, minor : int or None
        Class indices: for ``clear`` both are the class; for ``ambiguous`` the major (more votes)
        and the minor; None otherwise.
    """
    v = np.asarray(votes)
    if v.ndim != 1 or (v < 0).any():
        raise ValueError(f"votes must be a 1-d vector of non-negative counts, got {votes!r}")
    named = np.flatnonzero(v > 0)
    if len(named) == 0:
        return "excluded", None, None
    if len(named) == 1:
        k = int(named[0])
        return "clear", k, k
    if len(named) == 2:
        a, b = (int(i) for i in named)
        if v[a] == v[b]:
            return "tie", None, None
        return ("ambiguous", a, b) if v[a] > v[b] else ("ambiguous", b, a)
    return "other", None, None


def tally_votes(
    evaluations: Iterable[Evaluation],
    policy: VotePolicy = VotePolicy(),
    classes: Sequence[str] = CLASSES,
) -> VoteTally:
    """Turn evaluator answers into votes, a label distribution and a category.

    Parameters
    ----------
    evaluations : iterable of Evaluation
        The categorical answers of one utterance.
    policy : VotePolicy
        Which answers count (see :class:`VotePolicy`).
    classes : sequence of str
        The class codes; labels outside them are "out of classes".

    Returns
    -------
    VoteTally
    """
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros(len(classes), dtype=np.int64)
    outside: dict[str, int] = {}
    counted = 0
    reason = ""
    for ev in evaluations:
        if not ev.external and not policy.self_evaluations:
            continue
        inside = [lab for lab in ev.labels if lab in index]
        extra = [lab for lab in ev.labels if lab not in index]
        for lab in extra:
            outside[lab] = outside.get(lab, 0) + 1
        if extra and policy.strict and not reason:
            reason = f"{ev.evaluator} names {', '.join(extra)} (strict policy)"
        if not inside:
            if policy.empty_evaluator == "exclude" and not reason:
                reason = f"{ev.evaluator} names none of the classes"
            continue
        counted += 1
        for lab in dict.fromkeys(inside):  # a label repeated on one line counts once
            counts[index[lab]] += 1
    if counted == 0 and not reason:
        reason = "no counted evaluator"
    total = counts.sum()
    dist = counts / total if total > 0 else np.zeros(len(classes))
    votes = {c: int(n) for c, n in zip(classes, counts)}
    if reason:
        return VoteTally(votes, dist, "excluded", reason=reason, n_evaluators=counted,
                         out_of_classes=outside)
    cat, major, minor = categorize(counts)
    return VoteTally(
        votes,
        dist,
        cat,
        major=None if major is None else classes[major],
        minor=None if minor is None else classes[minor],
        reason=NO_CELL_REASONS.get(cat, ""),
        n_evaluators=counted,
        out_of_classes=outside,
    )


def cells_from_distributions(y: np.ndarray, atol: float = 1e-9) -> np.ndarray:
    """Derive (major, minor) cells from label distributions alone.

    Used when a caller has only label distributions (e.g. their own corpus): a one-hot row is a
    clear sample of its class, a row with exactly two non-zero, unequal entries is an ambiguous
    sample (major = the larger), anything else belongs to no cell.

    Parameters
    ----------
    y : numpy.ndarray, shape (N, C)
        Label distributions.

    Returns
    -------
    numpy.ndarray of int, shape (N, 2)
        ``(i, i)`` for clear class i, ``(i, j)`` for major i and minor j, ``(-1, -1)`` otherwise.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 2:
        raise ValueError(f"label distributions must be 2-d (N, C), got shape {y.shape}")
    cells = np.full((len(y), 2), -1, dtype=np.int64)
    for n, row in enumerate(y):
        nz = np.flatnonzero(row > atol)
        if len(nz) == 1:
            cells[n] = nz[0], nz[0]
        elif len(nz) == 2:
            a, b = nz
            if abs(row[a] - row[b]) > atol:
                cells[n] = (a, b) if row[a] > row[b] else (b, a)
    return cells


def cells_from_categories(
    category: Sequence[str], major: Sequence[str | None], minor: Sequence[str | None],
    classes: Sequence[str] = CLASSES,
) -> np.ndarray:
    """(major, minor) cells from the categories a vote policy assigned.

    Parameters
    ----------
    category, major, minor : sequences of length N
        As in a corpus manifest (missing values may be None, NaN or "").
    classes : sequence of str
        Class codes.

    Returns
    -------
    numpy.ndarray of int, shape (N, 2)
        See :func:`cells_from_distributions`.
    """
    index = {c: i for i, c in enumerate(classes)}
    cells = np.full((len(category), 2), -1, dtype=np.int64)
    for n, (cat, a, b) in enumerate(zip(category, major, minor)):
        if cat in ("clear", "ambiguous"):
            if a not in index or b not in index:
                raise ValueError(
                    f"row {n}: category {cat!r} needs major and minor among {list(classes)}, "
                    f"got {a!r} and {b!r}"
                )
            cells[n] = index[a], index[b]
    return cells


#: Why a row is in no (major, minor) cell under an agreement threshold below 1 (see :func:`agreement_cells`).
AGREEMENT_REASONS: dict[str, str] = {
    "tie": "the top two emotions have equal votes",
    "minor-tie": "the second emotion is not unique (two emotions tie for second place)",
    "other": "no emotion, nor any two emotions together, reach the agreement threshold",
}


def check_agreement(agreement: float) -> float:
    """``agreement`` as a float in (0.5, 1]; a ValueError otherwise.

    Above one half, the top emotion of a clear sample is always unique.
    """
    try:
        value = float(agreement)
    except (TypeError, ValueError):
        raise ValueError(f"agreement must be a number in (0.5, 1], got {agreement!r}") from None
    if not (0.5 < value <= 1.0):
        raise ValueError(f"agreement must lie in (0.5, 1] (1 = every vote agrees), got {value:g}")
    return value


@dataclass
class AgreementCells:
    """What :func:`agreement_cells` returns, one entry per row."""

    category: list[str]
    major: np.ndarray       # class index, -1 outside clear and ambiguous rows
    minor: np.ndarray
    distribution: np.ndarray  # (N, C): one-hot (clear), the two emotions renormalised (ambiguous), else as given
    reason: list[str]


def agreement_cells(values: np.ndarray, agreement: float = 1.0, atol: float = 1e-9) -> AgreementCells:
    """Clear and ambiguous rows under an agreement threshold (the crowd-vote rule).

    With ``a = agreement`` and a row's shares ``s1 >= s2 >= s3 ...`` (votes normalised, or a label
    distribution):

    - ``clear`` when ``s1 >= a``: its label distribution becomes one-hot on the top emotion;
    - ``ambiguous`` when ``s1 < a <= s1 + s2``, ``s1 > s2`` and ``s2 > s3``: major = the top
      emotion, minor = the second; its label distribution keeps these two, renormalised;
    - ``tie`` when ``s1 + s2 >= a`` but ``s1 == s2``; ``other`` when the second place is shared
      (``s2 == s3``) or ``s1 + s2 < a``; ``excluded`` when the row has no vote.

    The remaining votes of clear and ambiguous rows are treated as rater noise. ``agreement=1``
    is the paper's rule (:func:`categorize`: clear when every vote agrees, ambiguous when the
    votes name exactly two emotions) with the same categories, reasons and distributions.

    Parameters
    ----------
    values : numpy.ndarray, shape (N, C)
        Vote counts or label distributions (non-negative).
    agreement : float
        In (0.5, 1].
    """
    a = check_agreement(agreement)
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or (v < 0).any() or not np.isfinite(v).all():
        raise ValueError("values must be a 2-d array of non-negative, finite votes or shares")
    total = v.sum(1)
    dist = np.divide(v, total[:, None], out=np.zeros_like(v), where=total[:, None] > 0)
    order = np.argsort(-dist, axis=1, kind="stable")
    s = np.take_along_axis(dist, order, axis=1)
    s = np.concatenate([s, np.zeros((len(s), 3))], axis=1)  # fewer than three classes: zeros beyond
    s1, s2, s3 = s[:, 0], s[:, 1], s[:, 2]
    n = len(v)
    major = np.full(n, -1, dtype=np.int64)
    minor = np.full(n, -1, dtype=np.int64)
    out = dist.copy()
    category, reason = [], []
    for k in range(n):
        if total[k] <= 0:
            category.append("excluded"); reason.append("no votes")  # noqa: E702
            continue
        if s1[k] >= a - atol:
            category.append("clear"); reason.append("")  # noqa: E702
            major[k] = minor[k] = order[k, 0]
            out[k] = 0.0
            out[k, order[k, 0]] = 1.0
        elif s1[k] + s2[k] >= a - atol and s2[k] > atol:
            if abs(s1[k] - s2[k]) <= atol:
                category.append("tie")
                reason.append(NO_CELL_REASONS["tie"] if a == 1.0 else AGREEMENT_REASONS["tie"])
            elif abs(s2[k] - s3[k]) <= atol:
                category.append("other"); reason.append(AGREEMENT_REASONS["minor-tie"])  # noqa: E702
            else:
                category.append("ambiguous"); reason.append("")  # noqa: E702
                i, j = order[k, 0], order[k, 1]
                major[k], minor[k] = i, j
                out[k] = 0.0
                out[k, i], out[k, j] = s1[k] / (s1[k] + s2[k]), s2[k] / (s1[k] + s2[k])
        else:
            category.append("other")
            reason.append(NO_CELL_REASONS["other"] if a == 1.0 else AGREEMENT_REASONS["other"])
    return AgreementCells(category, major, minor, out, reason)
