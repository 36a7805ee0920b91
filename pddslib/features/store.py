"""The on-disk feature store: one format for any corpus (IEMOCAP, the demo corpus, yours).

Layout of a store folder::

    store.json          format, version, corpus, classes, modalities (dim, dtype, frames),
                        config + hash, and the content fingerprint (see pddslib.features.fingerprint)
    manifest.csv        one row per utterance: utt_id, session, dialog, speaker, gender, split,
                        consensus, category, major, minor, dist_<class>..., <modality>_len...
    <modality>.npy      all frames of all utterances, concatenated: (sum of lengths, dim)
    <modality>_offsets.npy   (N + 1,) int64: utterance i is rows offsets[i]:offsets[i+1]

Sequences stay ragged (no padding on disk); arrays are memory-mapped, so opening a store reads
only the manifest and the offsets. :meth:`FeatureStore.open` checks what it reads (dimensions,
dtypes, offsets against the manifest, label distributions, NaN/inf, file sizes and hashes against
the fingerprint) and says what is wrong, naming the file. A store is written into a temporary
folder and renamed into place, so a store folder is either complete or absent.

:attr:`FeatureStore.fingerprint` is the store's content key (labels, splits, classes, modalities
and feature values): the run cache keys on it. Opening checks it cheaply (array sizes; an array
whose modification time differs from the record is rehashed); :meth:`FeatureStore.verify`
rehashes everything.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..util.atomic import atomic_dir, link_or_copy, publish_once
from ..util.errors import PddsError
from ..util.hashing import config_hash, file_hash
from ..util.jsonfile import read_object
from . import fingerprint as fpr

FORMAT = "pddslib-feature-store"
VERSION = 2
#: Versions this pddslib opens (version 1 has no fingerprint: it is computed at open).
READABLE_VERSIONS = (1, 2)
MANIFEST_COLUMNS: tuple[str, ...] = (
    "utt_id", "session", "dialog", "speaker", "gender", "split", "consensus", "category", "major", "minor",
)
_EXTRACT_HINT = "write the store again (`pdds extract --overwrite`, or `pdds demo` for a demo store)"


class StoreError(ValueError, PddsError):
    """A feature store is missing, incomplete or inconsistent (the message names the file)."""


# -- writing ------------------------------------------------------------------------------------------

def write_store(path: str | Path, manifest: pd.DataFrame, modalities: Mapping[str, Iterable[np.ndarray]],
                *, classes: Sequence[str], dims: Mapping[str, int], config: Mapping[str, Any],
                corpus: str, synthetic: bool = False, dtype: str = "float16",
                overwrite: bool = False, once: bool = False) -> Path:
    """Write a store atomically, streaming each modality's sequences to disk.

    Parameters
    ----------
    path : str or Path
        The store folder to create.
    manifest : pandas.DataFrame
        One row per utterance with :data:`MANIFEST_COLUMNS`, ``dist_<class>`` for every class and
        ``<modality>_len`` for every modality (the number of frames/tokens of each sequence).
    modalities : mapping of str -> iterable of numpy.ndarray
        For each modality, the sequences ``(len, dim)`` in manifest order (a generator is fine:
        they are written one by one into a memory-mapped file).
    classes : sequence of str
        Class codes (the ``dist_*`` columns).
    dims : mapping of str -> int
        Feature dimension of each modality.
    config : mapping
        What produced the features (models, layers, corpus root, ...); stored with its hash.
    corpus : str
        Corpus name, e.g. ``"iemocap"`` or ``"demo"``.
    synthetic : bool
        True for generated data (notebooks then say that its numbers are not IEMOCAP's).
    dtype : str
        Storage dtype of the frames (``float16`` halves the size; ``float32`` for exactness).
    overwrite : bool
        Replace an existing store (readers of the old one never find the folder missing).
    once : bool
        Write-once publishing, for caches keyed on what the store holds: when ``path`` exists, or
        another writer publishes it before this one finishes, keep that store and return ``path``.

    Returns
    -------
    Path
    """
    path = Path(path)
    if once:
        return publish_once(path, lambda tmp: _assemble(tmp, manifest, modalities, classes=classes, dims=dims,
                                                        config=config, corpus=corpus, synthetic=synthetic,
                                                        dtype=dtype))
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; choose another folder or delete it "
                              f"(from Python: overwrite=True replaces it)")
    _check_manifest(manifest.copy(), classes, list(modalities), source="manifest")
    with atomic_dir(path, replace=overwrite) as tmp:
        _assemble(tmp, manifest, modalities, classes=classes, dims=dims, config=config, corpus=corpus,
                  synthetic=synthetic, dtype=dtype)
    return path


def _assemble(tmp: Path, manifest: pd.DataFrame, modalities: Mapping[str, Iterable[np.ndarray]], *,
              classes: Sequence[str], dims: Mapping[str, int], config: Mapping[str, Any], corpus: str,
              synthetic: bool, dtype: str) -> None:
    """Write the store's files into the (empty) folder ``tmp``; ``store.json`` last."""
    manifest = manifest.copy()
    _check_manifest(manifest, classes, list(modalities), source="manifest")
    info_mods = {}
    for mod, seqs in modalities.items():
        lengths = manifest[f"{mod}_len"].to_numpy(dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        arr = np.lib.format.open_memmap(tmp / f"{mod}.npy", mode="w+", dtype=dtype,
                                        shape=(int(offsets[-1]), int(dims[mod])))
        n = 0
        for i, seq in enumerate(seqs):
            if i >= len(lengths):
                raise StoreError(f"modality {mod!r}: more sequences than manifest rows ({len(lengths)})")
            seq = np.asarray(seq)
            if seq.shape != (lengths[i], dims[mod]):
                raise StoreError(f"modality {mod!r}, utterance {manifest['utt_id'].iloc[i]}: "
                                 f"shape {seq.shape}, expected ({lengths[i]}, {dims[mod]})")
            if not np.isfinite(seq).all():
                raise StoreError(f"modality {mod!r}, utterance {manifest['utt_id'].iloc[i]}: NaN or inf values")
            arr[offsets[i]:offsets[i + 1]] = seq
            n += 1
        if n != len(lengths):
            raise StoreError(f"modality {mod!r}: {n} sequences for {len(lengths)} manifest rows")
        arr.flush()
        del arr
        np.save(tmp / f"{mod}_offsets.npy", offsets)
        # Backdate the array by a second: any later in-place write, however soon, then changes
        # the modification time that the fingerprint records (see FeatureStore.open).
        st = os.stat(tmp / f"{mod}.npy")
        os.utime(tmp / f"{mod}.npy", ns=(st.st_atime_ns, time.time_ns() - 1_000_000_000))
        info_mods[mod] = {"dim": int(dims[mod]), "dtype": dtype, "frames": int(offsets[-1])}
    manifest.to_csv(tmp / "manifest.csv", index=False)
    # the digest of the manifest as readers will parse it
    written = _read_manifest(tmp / "manifest.csv", classes, list(modalities))
    meta = {
        "format": FORMAT, "version": VERSION, "corpus": corpus, "synthetic": bool(synthetic),
        "classes": list(classes), "n_utterances": int(len(manifest)), "modalities": info_mods,
        "config": dict(config), "config_hash": config_hash(config),
        "fingerprint": fpr.record(tmp, written, classes, list(modalities)),
    }
    (tmp / "store.json").write_text(json.dumps(meta, indent=1, default=str))


def rewrite_manifest(old: FeatureStore, manifest: pd.DataFrame, config: Mapping[str, Any]) -> Path:
    """Replace an open store's manifest and config, keeping its feature arrays (new labels, same features).

    The arrays are hard-linked into the new folder (copied where links are impossible), the
    fingerprint is recomputed for the new manifest, and the folder is swapped in atomically.
    The utterances, their order and their sequence lengths must be the store's.
    """
    path = old.path
    if manifest["utt_id"].tolist() != old.manifest["utt_id"].tolist():
        raise StoreError(f"{path}: a new manifest must list the store's utterances in the store's order")
    for mod in old.modalities:
        if not np.array_equal(manifest[f"{mod}_len"].to_numpy(), old.lengths(mod)):
            raise StoreError(f"{path}: the new manifest's {mod}_len differ from the store's sequences")
    manifest = manifest.copy()
    mods = list(old.modalities)
    _check_manifest(manifest, old.classes, mods, source="manifest")
    with atomic_dir(path, replace=True) as tmp:
        for mod in mods:
            for name in (f"{mod}.npy", f"{mod}_offsets.npy"):
                link_or_copy(path / name, tmp / name)
        manifest.to_csv(tmp / "manifest.csv", index=False)
        written = _read_manifest(tmp / "manifest.csv", old.classes, mods)
        known = old.meta["fingerprint"]["arrays"] if "fingerprint" in old.meta else None
        meta = dict(old.meta, version=VERSION, n_utterances=int(len(manifest)), config=dict(config),
                    config_hash=config_hash(config),
                    fingerprint=fpr.record(tmp, written, old.classes, mods, arrays=known))
        (tmp / "store.json").write_text(json.dumps(meta, indent=1, default=str))
    return path


# -- reading and checking -----------------------------------------------------------------------------

def _check_manifest(manifest: pd.DataFrame, classes: Sequence[str], modalities: Sequence[str],
                    source: str) -> None:
    """Check a manifest; its ``dist_*`` and ``*_len`` columns are made numeric in place."""
    if len(manifest) == 0:
        raise StoreError(f"{source}: no rows, expected one row per utterance")
    need = list(MANIFEST_COLUMNS) + [f"dist_{c}" for c in classes] + [f"{m}_len" for m in modalities]
    missing = [c for c in need if c not in manifest.columns]
    if missing:
        raise StoreError(f"{source}: missing column(s) {missing}")
    for col, whole in [(f"dist_{c}", False) for c in classes] + [(f"{m}_len", True) for m in modalities]:
        raw = manifest[col]
        vals = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = vals.isna().to_numpy() | (whole & ~np.isclose(vals.to_numpy() % 1, 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): column {col} holds "
                             f"'{raw.iloc[i]}', expected {'a whole number' if whole else 'a number'}")
        manifest[col] = vals.astype(np.int64) if whole else vals
    if manifest["utt_id"].duplicated().any():
        dup = manifest.loc[manifest["utt_id"].duplicated(), "utt_id"].iloc[0]
        raise StoreError(f"{source}: utterance {dup!r} appears more than once")
    bad_split = ~manifest["split"].isin(["train", "test"])
    if bad_split.any():
        i = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): split "
                         f"{manifest['split'].iloc[i]!r}, expected 'train' or 'test'")
    dist = manifest[[f"dist_{c}" for c in classes]].to_numpy(dtype=float)
    off = np.flatnonzero(~np.isfinite(dist).all(1) | (dist < 0).any(1) | (np.abs(dist.sum(1) - 1) > 1e-4))
    if len(off):
        i = int(off[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): label distribution "
                         f"{dist[i].round(4).tolist()} is not a distribution over {list(classes)}")
    bad_consensus = ~manifest["consensus"].isin(list(classes))
    if bad_consensus.any():
        i = int(np.flatnonzero(bad_consensus.to_numpy())[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): consensus label "
                         f"{manifest['consensus'].iloc[i]!r} is not one of {list(classes)}")
    for m in modalities:
        lens = manifest[f"{m}_len"].to_numpy()
        if (lens < 1).any():
            i = int(np.flatnonzero(lens < 1)[0])
            raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): {m}_len is {lens[i]}, expected >= 1")


def _read_manifest(man_path: Path, classes: Sequence[str], modalities: Sequence[str]) -> pd.DataFrame:
    if not man_path.is_file():
        raise StoreError(f"{man_path}: not found")
    try:
        manifest = pd.read_csv(man_path, keep_default_na=False,
                               dtype={"utt_id": str, "major": str, "minor": str, "category": str})
    except pd.errors.EmptyDataError:
        raise StoreError(f"{man_path}: empty file, expected a CSV header and one row per utterance") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise StoreError(f"{man_path}: not a readable CSV ({str(err).strip().splitlines()[0]})") from None
    for col in ("major", "minor"):
        if col in manifest.columns:
            manifest[col] = manifest[col].replace("", None)
    _check_manifest(manifest, classes, modalities, source=str(man_path))
    return manifest


def _read_meta(meta_path: Path) -> dict[str, Any]:
    meta = read_object(meta_path, StoreError, "format, version, classes, modalities, ...")
    if meta.get("format") != FORMAT:
        raise StoreError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") not in READABLE_VERSIONS:
        raise StoreError(f"{meta_path}: version {meta.get('version')!r}, this pddslib reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))}")
    for key in ("classes", "modalities", "n_utterances", "config") + (("fingerprint",) if meta["version"] >= 2 else ()):
        if key not in meta:
            raise StoreError(f"{meta_path}: missing field {key!r}")
    classes, mods = meta["classes"], meta["modalities"]
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)
            and len(set(classes)) == len(classes)):
        raise StoreError(f"{meta_path}: field 'classes' is {classes!r}, expected a list of distinct class codes")
    if not (isinstance(mods, dict) and mods):
        raise StoreError(f"{meta_path}: field 'modalities' is {mods!r}, expected an object "
                         f"{{modality: {{dim, dtype, frames}}}}")
    for mod, info in mods.items():
        ok = isinstance(info, dict) and isinstance(info.get("dim"), int) and info["dim"] > 0 \
            and isinstance(info.get("dtype"), str)
        if ok:
            try:
                ok = np.dtype(info["dtype"]).kind == "f"
            except TypeError:
                ok = False
        if not ok:
            raise StoreError(f"{meta_path}: modality {mod!r} is {info!r}, expected {{\"dim\": positive int, "
                             f"\"dtype\": a float dtype such as \"float16\", ...}}")
    if not isinstance(meta["n_utterances"], int) or not isinstance(meta["config"], dict):
        raise StoreError(f"{meta_path}: n_utterances must be an integer and config an object")
    if "fingerprint" in meta:
        problem = fpr.check_record(meta["fingerprint"], list(mods), str(meta_path))
        if problem:
            raise StoreError(problem)
    return meta


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    size = path.stat().st_size
    if size == 0:
        raise StoreError(f"{path}: empty file (0 bytes), expected a .npy array; {_EXTRACT_HINT}")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, EOFError, OSError) as err:
        raise StoreError(f"{path}: not a readable .npy array ({err}); {_EXTRACT_HINT}") from None


def _stale(path: Path, what: str) -> StoreError:
    return StoreError(f"{path}: content differs from the fingerprint recorded at assembly ({what}); "
                      f"it was changed after the store was written: {_EXTRACT_HINT}")


def _open_modality(path: Path, mod: str, info: Mapping[str, Any], manifest: pd.DataFrame,
                   rec: Mapping[str, Any] | None, validate: bool) -> tuple[np.ndarray, np.ndarray]:
    """One modality's memory-mapped frames and offsets, checked against store.json, the manifest and
    the fingerprint record ``rec`` (None for a version-1 store); ``validate`` scans for NaN/inf."""
    a_path, o_path = path / f"{mod}.npy", path / f"{mod}_offsets.npy"
    for p in (a_path, o_path):
        if not p.is_file():
            raise StoreError(f"{p}: not found (modality {mod!r} is listed in store.json)")
    size = a_path.stat().st_size
    if rec is not None and size != rec["bytes"]:
        raise StoreError(f"{a_path}: {size} bytes{' (empty file)' if size == 0 else ''}, expected "
                         f"{rec['bytes']} as recorded at assembly (truncated or replaced?); {_EXTRACT_HINT}")
    arr = _load_npy(a_path, mmap=True)
    off = _load_npy(o_path, mmap=False)
    if arr.dtype != np.dtype(info["dtype"]):
        raise StoreError(f"{a_path}: dtype {arr.dtype}, expected {info['dtype']} as store.json says")
    if arr.ndim != 2 or arr.shape[1] != info["dim"]:
        raise StoreError(f"{a_path}: shape {arr.shape}, expected (frames, {info['dim']}) as store.json says")
    if off.dtype.kind not in "iu":
        raise StoreError(f"{o_path}: dtype {off.dtype}, expected int64 offsets")
    if off.shape != (len(manifest) + 1,) or off[0] != 0 or (np.diff(off) < 1).any():
        raise StoreError(f"{o_path}: offsets must be {len(manifest) + 1} increasing integers starting at 0")
    if off[-1] != arr.shape[0]:
        raise StoreError(f"{o_path}: last offset {off[-1]} but {a_path.name} has {arr.shape[0]} frames")
    lens = manifest[f"{mod}_len"].to_numpy()
    if not np.array_equal(np.diff(off), lens):
        i = int(np.flatnonzero(np.diff(off) != lens)[0])
        raise StoreError(f"{o_path}: utterance {manifest['utt_id'].iloc[i]} has {np.diff(off)[i]} "
                         f"frames but manifest.csv says {mod}_len = {lens[i]}")
    if rec is not None:
        if file_hash(o_path) != rec["offsets_sha256"]:
            raise _stale(o_path, "sha256")
        if a_path.stat().st_mtime_ns != rec["mtime_ns"] and file_hash(a_path) != rec["sha256"]:
            raise _stale(a_path, "modified after assembly, and its sha256 differs")
    if validate:
        _check_finite(a_path, arr, off, manifest)
    return arr, off


def _check_finite(a_path: Path, arr: np.ndarray, off: np.ndarray, manifest: pd.DataFrame) -> None:
    """Scan the frames for NaN/inf in chunks; the error names the frame and the utterance."""
    step = 1 << 16
    for s in range(0, arr.shape[0], step):
        chunk = np.asarray(arr[s:s + step], dtype=np.float32)
        if not np.isfinite(chunk).all():
            row = s + int(np.flatnonzero(~np.isfinite(chunk).all(1))[0])
            utt = int(np.searchsorted(off, row, side="right") - 1)
            raise StoreError(f"{a_path}: NaN or inf in frame {row} (utterance {manifest['utt_id'].iloc[utt]})")


class FeatureStore:
    """A read-only, memory-mapped feature store (see the module docstring for the layout).

    Use :meth:`open`; ``store[i]`` is ``{modality: (T, D) float32 array}`` of utterance ``i``.
    """

    def __init__(self, path: Path, meta: dict[str, Any], manifest: pd.DataFrame,
                 arrays: dict[str, np.ndarray], offsets: dict[str, np.ndarray],
                 content: str | None = None) -> None:
        self.path = path
        self.meta = meta
        self.manifest = manifest
        self.arrays = arrays
        self.offsets = offsets
        self._content = content

    # -- opening and checking ----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, validate: bool = True) -> FeatureStore:
        """Open a store, checking its consistency.

        Parameters
        ----------
        path : str or Path
            The store folder.
        validate : bool
            Also scan every frame for NaN/inf (reads the whole arrays once, in chunks).

        Raises
        ------
        StoreError
            Anything missing, malformed or inconsistent (the message names the file), including an
            array whose size, or whose content when its modification time changed, differs from
            the fingerprint recorded at assembly.

        Warns
        -----
        UserWarning
            When labels, splits or classes were edited after assembly (the store opens, with a
            new :attr:`fingerprint`), or for a version-1 store, whose fingerprint is computed now.
        """
        path = Path(path)
        meta_path = path / "store.json"
        if not meta_path.is_file():
            hint = " (an unfinished extraction? run the same `pdds extract` again to resume)" \
                if path.with_name(path.name + ".partial").exists() else ""
            raise StoreError(f"{meta_path}: not found; {path} is not a feature store{hint}")
        meta = _read_meta(meta_path)
        classes = meta["classes"]
        mods = meta["modalities"]
        recorded = meta.get("fingerprint")
        man_path = path / "manifest.csv"
        manifest = _read_manifest(man_path, classes, list(mods))
        if len(manifest) != meta["n_utterances"]:
            raise StoreError(f"{man_path}: {len(manifest)} rows but store.json says "
                             f"n_utterances = {meta['n_utterances']}")
        arrays, offsets, hashes = {}, {}, {}
        for mod, info in mods.items():
            rec = recorded["arrays"][mod] if recorded else None
            arrays[mod], offsets[mod] = _open_modality(path, mod, info, manifest, rec, validate)
            if rec is not None:
                hashes[mod] = rec
        digest = fpr.manifest_digest(manifest, classes, list(mods))
        if recorded is None:
            hashes = {m: fpr.array_record(path, m) for m in mods}
            size = sum(h["bytes"] for h in hashes.values())
            warnings.warn(f"{meta_path}: a version-1 store, without the content fingerprint that keys the run "
                          f"cache; computed it now by hashing {size / 2**20:.0f} MiB of arrays (again at every "
                          f"open). Re-extract or rewrite the store with this pddslib to record it", stacklevel=2)
        elif digest != recorded["manifest"]:
            edited = "store.json's classes" if list(classes) != recorded.get("classes", classes) else "manifest.csv"
            warnings.warn(f"{path / ('store.json' if edited.startswith('store') else 'manifest.csv')}: labels, "
                          f"splits or classes changed after assembly ({edited} edited); the store's fingerprint "
                          f"changed with them, so no cached run of the old content is reused", stacklevel=2)
        content = fpr.content_digest(classes, digest, hashes)
        return cls(path, meta, manifest, arrays, offsets, content=content)

    def verify(self) -> list[str]:
        """Rehash every file and compare it with the fingerprint recorded at assembly (``pdds info --verify``).

        Unlike :meth:`open`, this also finds arrays changed in place whose modification time was
        restored. A manifest edited after assembly is reported, not an error (the store's
        :attr:`fingerprint` follows the current content).

        Returns
        -------
        list of str
            One line per file: what was checked and found equal.

        Raises
        ------
        StoreError
            Listing every file whose content differs from the record, one per line.
        """
        recorded = self.meta.get("fingerprint")
        lines, problems = [], []
        digest = fpr.manifest_digest(self.manifest, self.classes, list(self.arrays))
        man_path, meta_path = self.path / "manifest.csv", self.path / "store.json"
        if recorded is None:
            lines.append(f"{meta_path}: version-1 store, no fingerprint recorded at assembly: nothing to compare")
        elif digest == recorded["manifest"]:
            lines.append(f"{man_path}: labels, splits and classes as recorded at assembly")
        else:
            lines.append(f"{man_path}: labels, splits or classes changed after assembly (the fingerprint follows them)")
        hashes = {}
        for mod in self.arrays:
            now = fpr.array_record(self.path, mod)
            hashes[mod] = now
            rec = recorded["arrays"].get(mod) if recorded else None
            for key, name in (("sha256", f"{mod}.npy"), ("offsets_sha256", f"{mod}_offsets.npy")):
                if rec is None:
                    lines.append(f"{self.path / name}: sha256 {now[key][:16]}")
                elif now[key] != rec[key]:
                    problems.append(f"{self.path / name}: content differs from the fingerprint recorded at "
                                    f"assembly (sha256 {now[key][:16]}, recorded {rec[key][:16]}); {_EXTRACT_HINT}")
                else:
                    lines.append(f"{self.path / name}: sha256 as recorded at assembly")
        if problems:
            raise StoreError("\n".join(problems))
        self._content = fpr.content_digest(self.classes, digest, hashes)
        lines.append(f"{self.path}: content fingerprint {self.fingerprint}")
        return lines

    @property
    def fingerprint(self) -> str:
        """The store's content key (16 hex digits): changes with any label, split, class, modality
        or feature value. The run cache keys on it."""
        if self._content is None:
            hashes = {m: fpr.array_record(self.path, m) for m in self.arrays}
            digest = fpr.manifest_digest(self.manifest, self.classes, list(self.arrays))
            self._content = fpr.content_digest(self.classes, digest, hashes)
        return self._content[:16]

    # -- access -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.manifest)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {m: self.sequence(m, i) for m in self.arrays}

    def sequence(self, modality: str, i: int) -> np.ndarray:
        """Frames of utterance ``i`` of one modality, ``(T, D)`` float32."""
        off = self.offsets[modality]
        return np.asarray(self.arrays[modality][off[i]:off[i + 1]], dtype=np.float32)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(a.shape[1]) for m, a in self.arrays.items()}

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def corpus(self) -> str:
        return str(self.meta.get("corpus", "?"))

    def lengths(self, modality: str) -> np.ndarray:
        return np.diff(self.offsets[modality])

    def split_indices(self, split: str) -> np.ndarray:
        """Row indices of ``train`` or ``test`` utterances."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return np.flatnonzero(self.manifest["split"].to_numpy() == split)

    def label_distributions(self) -> np.ndarray:
        """``(N, C)`` training targets (vote distributions)."""
        return self.manifest[[f"dist_{c}" for c in self.classes]].to_numpy(dtype=np.float64)

    def consensus_indices(self) -> np.ndarray:
        """``(N,)`` index of each utterance's consensus label (the test labels)."""
        index = {c: i for i, c in enumerate(self.classes)}
        return self.manifest["consensus"].map(index).to_numpy(dtype=np.int64)

    def cells(self) -> np.ndarray:
        """``(N, 2)`` (major, minor) cells as the vote policy decided (see pddslib.pdds.labels)."""
        from ..pdds.labels import cells_from_categories

        m = self.manifest
        return cells_from_categories(m["category"].tolist(), m["major"].tolist(), m["minor"].tolist(),
                                     self.classes)

    def info(self) -> dict[str, Any]:
        """The ``pdds info --json`` object."""
        split = self.manifest["split"].value_counts()
        return {
            "n_utterances": len(self),
            "split": {"train": int(split.get("train", 0)), "test": int(split.get("test", 0))},
            "dims": self.dims,
            "config": self.meta["config"],
            "config_hash": self.meta.get("config_hash"),
            "corpus": self.corpus,
            "synthetic": self.synthetic,
            "classes": list(self.classes),
            "fingerprint": self.fingerprint,
        }

    def summary(self) -> str:
        """One line: corpus, size, split, dimensions."""
        i = self.info()
        dims = ", ".join(f"{m} {d}-d ({self.meta['modalities'][m]['frames']} frames)" for m, d in i["dims"].items())
        from .corpus_kinds import kind_of_store

        kind = kind_of_store(self) if self.synthetic else None  # the corpus object's tag
        tag = kind.summary_tag if kind is not None else ""
        return (f"{self.path}: {self.corpus}{tag}, {i['n_utterances']} utterances "
                f"(train {i['split']['train']}, test {i['split']['test']}); {dims}; config {i['config_hash']}; "
                f"content {i['fingerprint']}")
