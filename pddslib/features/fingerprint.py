"""Content fingerprints of feature stores: what the run cache keys on.

A store's fingerprint is recorded in ``store.json`` when it is assembled::

    "fingerprint": {
      "algorithm": "sha256",
      "classes": ["ang", ...],                 # the classes it was assembled with
      "manifest": "<sha256>",                  # manifest_digest() of manifest.csv
      "arrays": {"audio": {"file": "audio.npy", "bytes": 1234, "mtime_ns": 17..., "sha256": "<sha256>",
                           "offsets_sha256": "<sha256>"}, ...},
      "content": "<sha256>"                    # content_digest() of the above
    }

The manifest digest covers what training and evaluation read: the classes (in order), and per
row ``utt_id, split, consensus, category, major, minor``, the ``dist_<class>`` values rounded to
:data:`DIST_DECIMALS` decimals and the ``<modality>_len`` columns. The array hashes cover the
``.npy`` files byte for byte (header included: dtype and shape). The content digest combines
them; :attr:`pddslib.features.store.FeatureStore.fingerprint` is its first 16 hex digits, so any
change of a label, split, class, modality or feature value changes it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..util.hashing import file_hash

ALGORITHM = "sha256"
DIST_DECIMALS = 8
#: Manifest columns that enter the digest (besides ``dist_<class>`` and ``<modality>_len``).
TEXT_COLUMNS: tuple[str, ...] = ("utt_id", "split", "consensus", "category", "major", "minor")




def _text(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return ""
    return str(x)


def manifest_digest(manifest: pd.DataFrame, classes: Sequence[str], modalities: Sequence[str]) -> str:
    """SHA-256 (hex) of the manifest content that training and evaluation read.

    Parameters
    ----------
    manifest : pandas.DataFrame
        A checked manifest (numeric ``dist_*`` and ``*_len`` columns).
    classes : sequence of str
        Class codes, in the store's order.
    modalities : sequence of str
        Modalities whose ``<modality>_len`` columns enter the digest (order does not matter).
    """
    mods = sorted(modalities)
    cols: list[list[str]] = [[_text(v) for v in manifest[c].tolist()] for c in TEXT_COLUMNS]
    cols += [[f"{float(v):.{DIST_DECIMALS}f}" for v in manifest[f"dist_{c}"].tolist()] for c in classes]
    cols += [[str(int(v)) for v in manifest[f"{m}_len"].tolist()] for m in mods]
    names = list(TEXT_COLUMNS) + [f"dist_{c}" for c in classes] + [f"{m}_len" for m in mods]
    h = hashlib.sha256()
    h.update(("classes=" + ",".join(classes) + "\n" + "\t".join(names) + "\n").encode())
    for row in zip(*cols):
        h.update(("\t".join(row) + "\n").encode())
    return h.hexdigest()


def content_digest(classes: Sequence[str], manifest: str, arrays: Mapping[str, Mapping[str, Any]]) -> str:
    """SHA-256 (hex) combining the classes, the manifest digest and each modality's file hashes."""
    doc = {"classes": list(classes), "manifest": manifest,
           "arrays": {m: {"sha256": r["sha256"], "offsets_sha256": r["offsets_sha256"]} for m, r in arrays.items()}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def array_record(folder: Path, modality: str) -> dict[str, Any]:
    """The fingerprint entry of one modality's files in ``folder`` (hashes both files)."""
    a_path = folder / f"{modality}.npy"
    st = os.stat(a_path)
    return {"file": a_path.name, "bytes": int(st.st_size), "mtime_ns": int(st.st_mtime_ns),
            "sha256": file_hash(a_path), "offsets_sha256": file_hash(folder / f"{modality}_offsets.npy")}


def record(folder: Path, manifest: pd.DataFrame, classes: Sequence[str], modalities: Sequence[str], *,
           arrays: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The ``fingerprint`` block of ``store.json`` for the files in ``folder``.

    ``arrays``: the records of arrays known unchanged (e.g. hard links of a fingerprinted store's),
    reused instead of hashing the files again.
    """
    arrays = dict(arrays) if arrays is not None else {m: array_record(folder, m) for m in modalities}
    digest = manifest_digest(manifest, classes, modalities)
    return {"algorithm": ALGORITHM, "classes": list(classes), "manifest": digest, "arrays": arrays,
            "content": content_digest(classes, digest, arrays)}


def check_record(fp: Any, modalities: Sequence[str], source: str) -> str | None:
    """What is malformed in a ``fingerprint`` block (None: nothing)."""
    if not isinstance(fp, dict):
        return f"{source}: field 'fingerprint' must be an object, found {type(fp).__name__}"
    if fp.get("algorithm") != ALGORITHM:
        return f"{source}: fingerprint algorithm {fp.get('algorithm')!r}, expected {ALGORITHM!r}"
    for key in ("manifest", "content"):
        if not isinstance(fp.get(key), str):
            return f"{source}: fingerprint field {key!r} missing or not a string"
    arrays = fp.get("arrays")
    if not isinstance(arrays, dict):
        return f"{source}: fingerprint field 'arrays' missing or not an object"
    if sorted(arrays) != sorted(modalities):
        return (f"{source}: modalities {sorted(modalities)} but the fingerprint recorded at assembly covers "
                f"{sorted(arrays)} (store.json edited?); restore store.json or re-extract the store")
    for m, r in arrays.items():
        ok = isinstance(r, dict) and all(isinstance(r.get(k), int) for k in ("bytes", "mtime_ns")) and \
            all(isinstance(r.get(k), str) for k in ("sha256", "offsets_sha256"))
        if not ok:
            return f"{source}: fingerprint of modality {m!r} must hold bytes, mtime_ns, sha256 and offsets_sha256"
    return None
