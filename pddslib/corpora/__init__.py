"""Corpus readers, and :func:`open_votes`: the votes of any source behind one object.

==============  ===============================  ==============================================
source          options                          what
==============  ===============================  ==============================================
``iemocap``     ``root, sessions, policy``       an IEMOCAP release (:mod:`.iemocap`)
``crema-d``     ``path, modality, agreement``    CREMA-D's crowd votes (:mod:`.crema_d`)
``demo``        ``scale, seed, sessions``        the synthetic demo corpus (:mod:`.demo`)
``manifest``    ``path, agreement, split``       a manifest CSV (:mod:`.manifest`; no audio read)
``reference``   ``split``                        the packaged aggregate IEMOCAP counts
``counts``      ``path``                         a ``pdds stats --json`` file
==============  ===============================  ==============================================

The first four give a votes table (:mod:`pddslib.corpora.votes`); the last two only counts. A feature
store's labels are read by :func:`pddslib.features.store_votes.votes_of_store` (the corpora wing
imports no feature store; :func:`pddslib.features.store_votes.open_any_votes` opens any source,
stores included, as ``pdds stats/plan`` do).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .votes import Votes, split_rows

__all__ = ["SOURCES", "open_votes", "source_from_flags"]


def _iemocap(root: str | Path, sessions: str | Iterable[int] = (1, 2, 3, 4), policy: Any = "default") -> Votes:
    from ..pdds.labels import CLASSES
    from . import iemocap

    if not root:
        raise ValueError("source 'iemocap' needs root (the release folder holding Session1..Session5)")
    sessions = iemocap.session_list(sessions)
    return Votes("iemocap", f"IEMOCAP sessions {_join(sessions)} ({root})", CLASSES,
                 table=iemocap.votes(root, sessions, policy))


def _crema_d(path: str | Path = "download", modality: str = "voice", agreement: float | None = None) -> Votes:
    from ..pdds.labels import check_agreement
    from . import crema_d

    agreement = crema_d.DEFAULT_AGREEMENT if agreement is None else check_agreement(agreement)
    what = {"voice": "voice-only", "face": "face-only", "audiovisual": "audio-visual"}.get(modality, modality)
    rule = "" if agreement == crema_d.DEFAULT_AGREEMENT else f", agreement {agreement:g}"
    return Votes("crema-d", f"CREMA-D {what} crowd votes{rule}", crema_d.CLASSES,
                 table=crema_d.votes(path, modality, agreement))


def _manifest(path: str | Path, agreement: float | None = None, split: str = "train") -> Votes:
    from . import manifest
    from .votes import table_columns

    m = manifest.read(path, agreement=1.0 if agreement is None else agreement, check_audio=False)
    rule = f", agreement {m.agreement:g}" if m.agreement != 1.0 else ""
    table, label = split_rows(m.table, split, f"manifest {path}{rule}")
    keep = table_columns(m.classes) + [c for c in ("session", "dialog", "speaker", "gender") if c in table.columns]
    return Votes("manifest", label, m.classes, table=table[keep])


def _demo(scale: float = 1.0, seed: int = 0, sessions: str | Iterable[int] = (1, 2, 3, 4, 5)) -> Votes:
    from ..pdds.labels import CLASSES
    from . import demo, iemocap

    sessions = iemocap.session_list(sessions)
    return Votes("demo", f"synthetic demo corpus (scale {scale:g}), sessions {_join(sessions)}", CLASSES,
                 table=demo.votes(scale, seed, sessions), synthetic=True)


def _reference(split: str = "train") -> Votes:
    from ..reference import iemocap_counts, six_class_sizes
    from . import iemocap

    parts = ("train", "test") if split == "all" else (split,)
    sessions = iemocap.sessions_of(split)  # checks split
    counts = {s: iemocap_counts(s) for s in parts}
    sizes = six_class_sizes()
    return Votes("reference", f"IEMOCAP sessions {_join(sessions)} (packaged counts)", counts[parts[0]].classes,
                 aggregate=counts, aggregate_one_hot={s: sizes[s] for s in parts})


def _counts(path: str | Path) -> Votes:
    from ..pdds.counts import CountTable

    table = CountTable.read_json(path)
    return Votes("counts", f"counts file {path}", table.classes, aggregate={"all": table})


#: Every source and what opens it; the options are the keyword arguments.
SOURCES: dict[str, Callable[..., Votes]] = {
    "iemocap": _iemocap, "crema-d": _crema_d, "demo": _demo, "manifest": _manifest,
    "reference": _reference, "counts": _counts,
}


def open_votes(source: str, **options: Any) -> Votes:
    """The votes of one source (see the module docstring for the sources and their options).

    Parameters
    ----------
    source : {"iemocap", "crema-d", "demo", "manifest", "reference", "counts"}
    **options
        The source's options: ``iemocap``: ``root``, ``sessions`` (default ``(1, 2, 3, 4)``, or
        ``"1,2,3,4"``), ``policy`` (a name or a :class:`~pddslib.pdds.labels.VotePolicy`, default
        ``"default"``); ``crema-d``: ``path`` (the csv, its folder, or ``"download"``, the
        default), ``modality`` (default ``"voice"``), ``agreement`` (the clear-sample threshold,
        default :data:`pddslib.corpora.crema_d.DEFAULT_AGREEMENT`; 1 = every rater agrees);
        ``demo``: ``scale`` (default 1.0), ``seed`` (default 0), ``sessions`` (default all
        five); ``manifest``: ``path`` (the CSV), ``agreement`` (default 1), ``split``
        (``"train"``, the default, ``"test"`` or ``"all"``); ``reference``:
        ``split`` (``"train"``, the default, ``"test"`` or ``"all"``); ``counts``: ``path``.

    Returns
    -------
    Votes
        ``.counts(split)``, ``.one_hot(split)``, ``.table``, ``.label``.

    Raises
    ------
    ValueError
        For an unknown source or option, or a missing required option.

    Examples
    --------
    >>> open_votes("reference").counts().to_dict()["clear"]["hap"]
    43
    """
    if source == "store":
        raise ValueError("a feature store's votes are read by pddslib.features.store_votes.votes_of_store(path, "
                         "split) or open_any_votes('store', path=...): the corpora wing reads no feature store")
    if source not in SOURCES:
        raise ValueError(f"unknown source of votes {source!r}; expected one of {list(SOURCES)}")
    opener = SOURCES[source]
    try:
        inspect.signature(opener).bind(**options)
    except TypeError as err:
        allowed = list(inspect.signature(opener).parameters)
        raise ValueError(f"source {source!r}: {err} (its options: {allowed})") from None
    return opener(**options)


def source_from_flags(*, iemocap: str | None = None, crema_d: str | None = None, counts: str | None = None,
                      reference: str | None = None, sessions: str | Iterable[int] = (1, 2, 3, 4),
                      policy: str = "default", modality: str = "voice", manifest: str | None = None,
                      store: str | None = None, agreement: float | None = None,
                      split: str = "train") -> tuple[str, dict[str, Any]]:
    """The source and options of ``pdds stats/plan`` flags, for :func:`open_votes` (the ``store``
    source's, for :func:`pddslib.features.store_votes.votes_of_store`).

    Exactly one of ``iemocap`` (ROOT), ``crema_d`` (PATH), ``manifest`` (CSV), ``store``
    (STORE), ``counts`` (FILE.json) and ``reference`` (train|test|all) must be given;
    ``sessions`` and ``policy`` apply to IEMOCAP, ``modality`` to CREMA-D, ``agreement`` to
    CREMA-D and manifests (None: the source's default), ``split`` to manifests and stores.

    Raises
    ------
    ValueError
        When none or several sources are given.
    """
    given = {"iemocap": iemocap, "crema-d": crema_d, "manifest": manifest, "store": store, "counts": counts,
             "reference": reference}
    chosen = [k for k, v in given.items() if v]
    if len(chosen) != 1:
        raise ValueError("give exactly one source of votes: --iemocap ROOT, --crema-d PATH, --manifest CSV, "
                         f"--store STORE, --counts FILE.json or --reference train|test|all (got {len(chosen)})")
    source = chosen[0]
    options: dict[str, Any] = {
        "iemocap": {"root": iemocap, "sessions": sessions, "policy": policy},
        "crema-d": {"path": crema_d, "modality": modality},
        "manifest": {"path": manifest, "split": split},
        "store": {"path": store, "split": split},
        "counts": {"path": counts},
        "reference": {"split": reference},
    }[source]
    if agreement is not None and source in ("crema-d", "manifest"):
        options["agreement"] = agreement
    return source, options


def _join(sessions: Iterable[int]) -> str:
    return ",".join(map(str, sessions))
