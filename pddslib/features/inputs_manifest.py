"""The inputs of a manifest extraction (``pdds extract --manifest CSV``): :mod:`pddslib.corpora.manifest`
parsed, the wavs read and hashed, audio-only unless the CSV has a ``text`` column."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..corpora.errors import CorpusFormatError
from .audio import AudioFileError, wav_info
from .inputs import ExtractionInputs, features_hash, file_digest, labels_hash
from .store import MANIFEST_COLUMNS


def checked_wav_info(source: Path, line: int, column: str, path: str):
    """:func:`wav_info`, an unreadable file an error naming the CSV, its line and column."""
    try:
        return wav_info(path)
    except AudioFileError as err:
        raise CorpusFormatError(source, line, f"column {column!r}: {err}") from None


def read_manifest_inputs(csv: str | Path, *, agreement: float = 1.0, text: bool = True,
                         classes: Sequence[str] | None = None,
                         workers: int = 2) -> tuple[ExtractionInputs, dict[str, Any]]:
    """The utterances of a manifest with a test label among its classes, and the label policy.

    Returns
    -------
    inputs : ExtractionInputs
        ``texts`` is None (audio only) when the CSV has no ``text`` column or ``text`` is False.
    policy : dict
        What decides the labels (recorded in the store's config): label kind, agreement, split rule.
    """
    from ..corpora import manifest

    csv = Path(csv)
    m = manifest.read(csv, agreement=agreement, classes=classes, check_audio=True)
    rows = m.with_consensus
    dropped = len(m.table) - len(rows)
    if rows.empty:
        raise CorpusFormatError(csv, None, f"no row has a test label among {list(m.classes)} (every row's votes "
                                           f"tie for the top class); nothing to extract")
    extras = [c for c in rows.columns if c.startswith("votes_") or c == "n_votes"]
    frame = rows[list(MANIFEST_COLUMNS) + [f"dist_{c}" for c in m.classes] + extras].copy()
    for col in ("major", "minor"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    lines, paths = rows["line"].tolist(), rows["audio_path"].tolist()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        wavs = list(pool.map(lambda lp: checked_wav_info(csv, lp[0], "path", lp[1]), zip(lines, paths)))
        digests = list(pool.map(lambda p: file_digest(Path(p)), paths))
    texts = None
    if m.has_text and text:
        texts = [str(t) for t in rows["text"].fillna("")]
    label_cols = ["utt_id", "split", "consensus"] + [f"dist_{c}" for c in m.classes] + extras
    policy = {"labels": m.labels, "agreement": m.agreement, "classes": list(m.classes),
              "split": "the CSV's split column" if m.split_given else
                       f"a hash of the speaker (else the utterance): {int(manifest.TEST_FRACTION * 100)} % test"}
    notes = [f"{dropped} row(s) without a unique top class left out"] if dropped else []
    inputs = ExtractionInputs(frame.reset_index(drop=True), texts, wavs,
                              annotations=labels_hash(m.table, label_cols + ["category"]),
                              features=features_hash(frame["utt_id"].tolist(), texts, digests),
                              corpus="manifest", classes=m.classes, notes=notes,
                              label_sources="the manifest's labels or the agreement rule")
    return inputs, policy
