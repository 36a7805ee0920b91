"""The embedded demo corpus: a generated, IEMOCAP-shaped corpus at the feature level.

**Synthetic data.** Nothing here is IEMOCAP: its numbers are not comparable to the paper's. It
exists so that every notebook runs on a laptop CPU in minutes with nothing to download.

What it copies from IEMOCAP (the packaged aggregate counts, :mod:`pddslib.reference`):

* five sessions of two speakers (F, M) each; sessions 1-4 train, session 5 test;
* three external evaluators per utterance, whose categorical votes reproduce, pair by pair, the
  clear / ambiguous / tie / more-than-two / excluded counts of each split, times ``scale``;
* consensus labels as IEMOCAP assigns them (the majority; ``xxx`` without one; an out-of-six
  majority gives ``sur``/``fea``/``dis``/``oth``), with the 6-class sizes of the release.

The features (only for the 6-class utterances, as a real extraction would store):

* audio: ``audio_dim``-d frames at ``frame_rate`` Hz (default 5 Hz, a tenth of data2vec's
  50 Hz, to keep CPU training fast), lengths drawn around IEMOCAP's ~4.5 s per utterance;
* text: ``text_dim``-d "word pieces", ~2.5 per second of speech;
* each utterance's features follow its label distribution: its emotional content is
  ``sum_c y_c mu_c`` (an ambiguous utterance lies between its two emotions), plus a speaker
  offset and utterance noise; frames add envelope and frame noise, text mixes emotional and
  filler tokens;
* neither modality alone separates the classes: audio tells arousal apart (anger and excited
  are close, so are neutral and sadness), text tells valence apart (anger and frustration are
  close, so are happiness and excited), and noise keeps a good model well below perfect.

This module generates the votes and the feature arrays; the feature store of the demo corpus is
written by :mod:`pddslib.features.demo_stores` (``pdds demo``, the notebooks' default corpus).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..config import DEFAULT_SCALE  # the default lives in config; read here too
from ..pdds.counts import CountTable
from ..pdds.labels import CLASSES, NO_CELL_REASONS
from ..pdds.smoothing import round_half_up
from ..reference import iemocap_reference
from . import iemocap
from .votes import NO_CONSENSUS, conform

OUT_OF_SIX = ("sur", "fea", "dis", "oth")
GENERATOR_VERSION = 1


def resolve_scale(scale: float | None) -> float:
    """``scale``, or :data:`DEFAULT_SCALE` when None (the notebooks' and the CLI's "default")."""
    return DEFAULT_SCALE if scale is None else float(scale)

# Similarity of the classes in each modality (rows mix the class prototypes): audio is an
# "arousal" view, text a "valence" view.          ang  hap  sad  neu  exc  fru
_AUDIO_MIX = np.array([[1.0, 0.2, 0.0, 0.0, 0.7, 0.4],   # ang ~ exc (high arousal)
                       [0.2, 1.0, 0.0, 0.2, 0.6, 0.0],   # hap ~ exc
                       [0.0, 0.0, 1.0, 0.7, 0.0, 0.2],   # sad ~ neu (low arousal)
                       [0.0, 0.2, 0.7, 1.0, 0.0, 0.4],   # neu ~ sad, fru
                       [0.7, 0.6, 0.0, 0.0, 1.0, 0.0],   # exc ~ ang, hap
                       [0.4, 0.0, 0.2, 0.4, 0.0, 1.0]])  # fru
_TEXT_MIX = np.array([[1.0, 0.0, 0.2, 0.0, 0.0, 0.8],    # ang ~ fru (negative valence)
                      [0.0, 1.0, 0.0, 0.2, 0.8, 0.0],    # hap ~ exc (positive valence)
                      [0.2, 0.0, 1.0, 0.4, 0.0, 0.5],    # sad ~ fru, neu
                      [0.0, 0.2, 0.4, 1.0, 0.2, 0.3],    # neu
                      [0.0, 0.8, 0.0, 0.2, 1.0, 0.0],    # exc ~ hap
                      [0.8, 0.0, 0.5, 0.3, 0.0, 1.0]])   # fru ~ ang


def _scaled(n: int, scale: float) -> int:
    return int(round_half_up(n * scale))


def _split_counts(split: str, scale: float) -> tuple[CountTable, dict[str, int]]:
    ref = iemocap_reference()
    table = CountTable.from_dict(ref["counts"][split], source=f"reference:{split}")
    six = {c: _scaled(n, scale) for c, n in ref["six_class"][split].items()}
    sc = CountTable(table.classes, round_half_up(table.clear * scale), round_half_up(table.ambiguous * scale),
                    ties=_scaled(table.ties, scale), other=_scaled(table.other, scale),
                    excluded=_scaled(table.excluded, scale))
    return sc, six


#: One generated utterance: category, the three evaluators' labels, consensus, major, minor.
_Item = tuple[str, list[list[str]], str, "str | None", "str | None"]
_EXCLUDED_REASON = "an evaluator names none of the classes"


def votes(scale: float = 1.0, seed: int = 0, sessions: str | Iterable[int] | None = None) -> pd.DataFrame:
    """The votes table of the demo corpus (the contract of :mod:`pddslib.corpora.votes`).

    Parameters
    ----------
    scale : float
        Fraction of IEMOCAP's size (1.0: 10,039 utterances, as the release).
    seed : int
        Random seed (the result is deterministic given scale and seed).
    sessions : str or iterable of int, optional
        Keep only these sessions (default: all five). The corpus itself does not depend on it.

    Returns
    -------
    pandas.DataFrame
        The fixed columns (split: sessions 1-4 train, 5 test), then ``session, dialog, speaker,
        gender, e1, e2, e3, votes_<c>...``; ``e1..e3`` are the three evaluators' label codes
        joined by ``;``.
    """
    if not (0 < scale <= 4):
        raise ValueError(f"scale must lie in (0, 4], got {scale!r}")
    rng = np.random.default_rng([seed, 7])
    rows: list[dict[str, Any]] = []
    for split, split_sessions in iemocap.SPLIT_SESSIONS.items():
        counts, six = _split_counts(split, scale)
        items, need = _cell_items(counts, six)
        items += _tie_items(counts, rng)
        items += _other_items(counts, rng)
        items += _excluded_items(counts, need, rng)
        rows += _utterances(items, split, split_sessions, rng)
    frame = pd.DataFrame(rows).sort_values(["session", "utt_id"], kind="stable")
    if sessions is not None:
        frame = frame[frame["session"].isin(iemocap.session_list(sessions))]
    return conform(frame, CLASSES, source=f"demo corpus (scale {scale:g}, seed {seed})")


def _cell_items(counts: CountTable, six: dict[str, int]) -> tuple[list[_Item], dict[str, int]]:
    """Clear and ambiguous utterances, and the 6-class consensus labels still to be produced."""
    need = dict(six)
    items: list[_Item] = []
    for k, c in enumerate(CLASSES):
        items += [("clear", [[c], [c], [c]], c, c, c)] * int(counts.clear[k])
        need[c] -= int(counts.clear[k])
    for i, a in enumerate(CLASSES):
        for j, b in enumerate(CLASSES):
            items += [("ambiguous", [[a], [a], [b]], a, a, b)] * int(counts.ambiguous[i, j])
            need[a] -= int(counts.ambiguous[i, j])
    return items, need


def _tie_items(counts: CountTable, rng: np.random.Generator) -> list[_Item]:
    """Two-emotion ties, on pairs drawn in proportion to their ambiguous counts (plus one)."""
    pair_w = counts.ambiguous + counts.ambiguous.T
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    pw = np.array([pair_w[i, j] for i, j in pairs], dtype=float) + 1.0
    items: list[_Item] = []
    for _ in range(counts.ties):
        i, j = pairs[rng.choice(len(pairs), p=pw / pw.sum())]
        a, b = CLASSES[i], CLASSES[j]
        items.append(("tie", [[a, b], [a], [b]], NO_CONSENSUS, None, None))
    return items


def _other_items(counts: CountTable, rng: np.random.Generator) -> list[_Item]:
    """Utterances whose three evaluators name three different emotions."""
    items: list[_Item] = []
    for _ in range(counts.other):
        a, b, c = rng.choice(CLASSES, size=3, replace=False)
        items.append(("other", [[a], [b], [c]], NO_CONSENSUS, None, None))
    return items


def _excluded_items(counts: CountTable, need: dict[str, int], rng: np.random.Generator) -> list[_Item]:
    """Excluded: one evaluator names only out-of-six labels.

    Those with two agreeing evaluators carry the 6-class consensus labels that clear + ambiguous
    do not account for; about a fifth of the rest get an out-of-six consensus (IEMOCAP: ~150).
    """
    pending = [c for c in CLASSES for _ in range(max(0, need[c]))]
    rng.shuffle(pending)
    items: list[_Item] = []
    for n in range(counts.excluded):
        out = str(rng.choice(OUT_OF_SIX, p=[0.7, 0.26, 0.02, 0.02]))
        if n < len(pending):
            c = pending[n]
            items.append(("excluded", [[c], [c], [out]], c, None, None))
        elif rng.random() < 0.2:
            c = str(rng.choice(CLASSES))
            items.append(("excluded", [[out], [out], [c]], out, None, None))
        else:
            a, b = rng.choice(CLASSES, size=2, replace=False)
            items.append(("excluded", [[a], [b], [out]], NO_CONSENSUS, None, None))
    return items


def _utterances(items: list[_Item], split: str, sessions: tuple[int, ...],
                rng: np.random.Generator) -> list[dict[str, Any]]:
    """Shuffle the items over the split's sessions and speakers: one table row each."""
    order = rng.permutation(len(items))
    sess = rng.choice(sessions, size=len(items))
    gender = rng.choice(["F", "M"], size=len(items))
    serial: dict[tuple[int, str], int] = {}
    rows = []
    for pos in order:
        cat, ev, consensus, major, minor = items[pos]
        s, g = int(sess[pos]), str(gender[pos])
        k = serial.get((s, g), 0)
        serial[(s, g)] = k + 1
        ids = iemocap.parse_utt_id(f"Ses{s:02d}F_demo{k // 20 + 1:02d}_{g}{k % 20:03d}")
        ev = [ev[t] for t in rng.permutation(3)]
        n_votes = {c: sum(c in e for e in ev) for c in CLASSES}
        total = sum(n_votes.values())
        rows.append({
            "utt_id": ids.utt_id, "split": split, "consensus": consensus, "category": cat,
            "major": major, "minor": minor,
            "reason": _EXCLUDED_REASON if cat == "excluded" else NO_CELL_REASONS.get(cat, ""),
            **{f"dist_{c}": v / total for c, v in n_votes.items()},
            "session": ids.session, "dialog": ids.dialog, "speaker": ids.speaker, "gender": ids.gender,
            **{f"e{t + 1}": ";".join(e) for t, e in enumerate(ev)},
            **{f"votes_{c}": v for c, v in n_votes.items()},
        })
    return rows


def generate_features(manifest: pd.DataFrame, *, seed: int = 0, audio_dim: int = 32, text_dim: int = 24,
                      frame_rate: float = 5.0, noise: float = 1.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Audio and text sequences that follow each utterance's label distribution.

    Parameters
    ----------
    manifest : pandas.DataFrame
        6-class utterances with ``speaker`` and ``dist_<c>`` columns.
    seed : int
    audio_dim, text_dim : int
        Feature dimensions.
    frame_rate : float
        Audio frames per second.
    noise : float
        Scales every noise term (1.0: the default difficulty).

    Returns
    -------
    audio, text : lists of numpy.ndarray, shapes (Ta, audio_dim) and (Tt, text_dim), float32
    """
    rng = np.random.default_rng([seed, 11])
    y = manifest[[f"dist_{c}" for c in CLASSES]].to_numpy()
    base_a = rng.standard_normal((6, audio_dim))
    base_t = rng.standard_normal((6, text_dim))
    mu_a = (_AUDIO_MIX / _AUDIO_MIX.sum(1, keepdims=True)) @ base_a       # (6, Da)
    mu_t = (_TEXT_MIX / _TEXT_MIX.sum(1, keepdims=True)) @ base_t         # (6, Dt)
    fillers = rng.standard_normal((40, text_dim)) * 0.8                   # (V, Dt) non-emotional words
    speakers = sorted(manifest["speaker"].unique())
    spk_a = {s: rng.standard_normal(audio_dim) * 0.5 * noise for s in speakers}
    spk_t = {s: rng.standard_normal(text_dim) * 0.2 * noise for s in speakers}
    audio, text = [], []
    for n, spk in enumerate(manifest["speaker"]):
        seconds = float(np.clip(rng.lognormal(np.log(3.8), 0.55), 0.6, 20.0))
        ta = max(2, int(round(seconds * frame_rate)))
        tt = max(1, int(round(seconds * 2.5 * rng.uniform(0.6, 1.4))))
        z_a = y[n] @ mu_a + spk_a[spk] + rng.standard_normal(audio_dim) * 0.75 * noise     # (Da,)
        z_t = y[n] @ mu_t + spk_t[spk] + rng.standard_normal(text_dim) * 0.8 * noise       # (Dt,)
        env = np.clip(np.sin(np.linspace(0, np.pi, ta)) + 0.3 * rng.standard_normal(ta), 0, None)
        frames = env[:, None] * z_a[None, :] + rng.standard_normal((ta, audio_dim)) * 1.0 * noise
        emotional = rng.random(tt) < 0.35
        tokens = fillers[rng.integers(0, len(fillers), tt)] + rng.standard_normal((tt, text_dim)) * 0.6 * noise
        tokens[emotional] += z_t * 1.5
        audio.append(frames.astype(np.float32))
        text.append(tokens.astype(np.float32))
    return audio, text


# The demo store is written by pddslib.features.demo_stores (write_demo_store, ensure_demo_store,
# demo_cache_dir): this wing generates votes and arrays and imports no feature store.
