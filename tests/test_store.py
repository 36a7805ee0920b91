"""The on-disk feature store: round trip, and every corruption is an error that names the file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pddslib.features.store import FeatureStore, StoreError, config_hash, write_store
from pddslib.labels import CLASSES

DIMS = {"audio": 6, "text": 4}


def make_manifest(n: int = 5, seed: int = 0) -> tuple[pd.DataFrame, dict[str, list[np.ndarray]]]:
    rng = np.random.default_rng(seed)
    rows, seqs = [], {m: [] for m in DIMS}
    for i in range(n):
        votes = rng.integers(0, 3, len(CLASSES)).astype(float)
        votes[i % len(CLASSES)] += 1
        row = {"utt_id": f"Ses0{1 + i % 5}F_impro01_F{i:03d}", "session": 1 + i % 5, "dialog": f"Ses0{1 + i % 5}F_impro01",
               "speaker": f"Ses0{1 + i % 5}F", "gender": "F", "split": "test" if i % 5 == 4 else "train",
               "consensus": CLASSES[i % len(CLASSES)], "category": "clear" if i % 2 else "ambiguous",
               "major": CLASSES[i % len(CLASSES)], "minor": None if i % 2 else CLASSES[(i + 1) % len(CLASSES)]}
        row.update({f"dist_{c}": v for c, v in zip(CLASSES, votes / votes.sum())})
        for m, d in DIMS.items():
            length = int(rng.integers(1, 9))
            row[f"{m}_len"] = length
            seqs[m].append(rng.standard_normal((length, d)).astype(np.float32))
        rows.append(row)
    return pd.DataFrame(rows), seqs


def write(path: Path, dtype: str = "float32", **kw) -> tuple[Path, pd.DataFrame, dict[str, list[np.ndarray]]]:
    manifest, seqs = make_manifest(**kw)
    write_store(path, manifest, {m: iter(s) for m, s in seqs.items()}, classes=CLASSES, dims=DIMS,
                config={"audio_model": "tiny", "sessions": [1, 2, 3, 4, 5]}, corpus="test", dtype=dtype)
    return path, manifest, seqs


@pytest.fixture
def store_path(tmp_path) -> Path:
    return write(tmp_path / "store")[0]


# -- round trip ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,atol", [("float32", 0.0), ("float16", 2e-3)])
def test_round_trip(tmp_path, dtype, atol):
    path, manifest, seqs = write(tmp_path / "s", dtype=dtype)
    store = FeatureStore.open(path)
    assert len(store) == len(manifest) and store.dims == DIMS and store.classes == CLASSES
    assert store.manifest["utt_id"].tolist() == manifest["utt_id"].tolist()
    for i in range(len(manifest)):
        for m in DIMS:
            got = store.sequence(m, i)
            assert got.dtype == np.float32 and got.shape == seqs[m][i].shape
            np.testing.assert_allclose(got, seqs[m][i], atol=atol, rtol=1e-3 if atol else 0)
    np.testing.assert_allclose(store.label_distributions(), manifest[[f"dist_{c}" for c in CLASSES]].to_numpy())
    assert store.manifest["minor"].isna().tolist() == manifest["minor"].isna().tolist()
    info = store.info()
    assert info["n_utterances"] == 5 and info["split"] == {"train": 4, "test": 1} and info["dims"] == DIMS
    assert info["config_hash"] == config_hash({"sessions": [1, 2, 3, 4, 5], "audio_model": "tiny"})
    assert f"{path}: test, 5 utterances (train 4, test 1)" in store.summary()


def test_write_refuses_an_existing_store_and_nan(tmp_path, store_path):
    manifest, seqs = make_manifest()
    with pytest.raises(FileExistsError, match="already exists"):
        write_store(store_path, manifest, seqs, classes=CLASSES, dims=DIMS, config={}, corpus="test")
    seqs["audio"][2][0, 0] = np.nan
    with pytest.raises(StoreError, match=f"utterance {manifest.utt_id[2]}: NaN"):
        write_store(tmp_path / "nan", manifest, seqs, classes=CLASSES, dims=DIMS, config={}, corpus="test")
    assert not (tmp_path / "nan").exists() and not list(tmp_path.glob(".nan.*"))


# -- corruption: each error names the file --------------------------------------------------------------

def _edit_manifest(path: Path, edit) -> None:
    m = pd.read_csv(path / "manifest.csv", keep_default_na=False)
    edit(m)
    m.to_csv(path / "manifest.csv", index=False)


def test_missing_store_json(store_path):
    (store_path / "store.json").unlink()
    with pytest.raises(StoreError, match=f"{re.escape(str(store_path / 'store.json'))}: not found"):
        FeatureStore.open(store_path)


def test_missing_manifest(store_path):
    (store_path / "manifest.csv").unlink()
    with pytest.raises(StoreError, match=f"{re.escape(str(store_path / 'manifest.csv'))}: not found"):
        FeatureStore.open(store_path)


def test_manifest_and_offsets_disagree(store_path):
    def edit(m):
        m.loc[1, "audio_len"] += 1
    _edit_manifest(store_path, edit)
    with pytest.raises(StoreError, match=r"audio_offsets\.npy: utterance .*F001 has \d+ frames but manifest\.csv says"):
        FeatureStore.open(store_path)


def test_wrong_dimension(store_path):
    meta = json.loads((store_path / "store.json").read_text())
    meta["modalities"]["text"]["dim"] = 768
    (store_path / "store.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'text.npy'))}: shape \(\d+, 4\), expected \(frames, 768\)"):
        FeatureStore.open(store_path)


def test_nan_in_an_array_is_found_when_validating(store_path):
    arr = np.load(store_path / "audio.npy", mmap_mode="r+")
    off = np.load(store_path / "audio_offsets.npy")
    arr[off[3] + 0, 1] = np.nan
    arr.flush()
    del arr
    FeatureStore.open(store_path, validate=False)  # memory-mapped, not scanned
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'audio.npy'))}: NaN or inf in frame {off[3]} \(utterance .*F003\)"):
        FeatureStore.open(store_path, validate=True)


def test_truncated_offsets(store_path):
    off = np.load(store_path / "text_offsets.npy")
    np.save(store_path / "text_offsets.npy", off[:-1])
    with pytest.raises(StoreError, match=f"{re.escape(str(store_path / 'text_offsets.npy'))}: offsets must be 6 increasing integers"):
        FeatureStore.open(store_path)


def test_truncated_array_file(store_path):
    data = (store_path / "audio.npy").read_bytes()
    (store_path / "audio.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="audio.npy"):
        FeatureStore.open(store_path)


def test_bad_split_value(store_path):
    _edit_manifest(store_path, lambda m: m.__setitem__("split", m["split"].where(m.index != 2, "dev")))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'manifest.csv'))}: row 2 .*split 'dev', expected 'train' or 'test'"):
        FeatureStore.open(store_path)


def test_distribution_that_does_not_sum_to_one(store_path):
    _edit_manifest(store_path, lambda m: m.__setitem__("dist_ang", m["dist_ang"] + np.where(m.index == 4, 0.25, 0.0)))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'manifest.csv'))}: row 4 .*is not a distribution"):
        FeatureStore.open(store_path)


def test_duplicate_utterance_id(store_path):
    _edit_manifest(store_path, lambda m: m.__setitem__("utt_id", m["utt_id"].where(m.index != 3, m["utt_id"][0])))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'manifest.csv'))}: utterance .*F000' appears more than once"):
        FeatureStore.open(store_path)


def test_row_count_disagrees_with_store_json(store_path):
    meta = json.loads((store_path / "store.json").read_text())
    meta["n_utterances"] = 9
    (store_path / "store.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match=f"{re.escape(str(store_path / 'manifest.csv'))}: 5 rows but store.json says n_utterances = 9"):
        FeatureStore.open(store_path)


def test_unfinished_extraction_hint(tmp_path):
    (tmp_path / "store.partial").mkdir()
    with pytest.raises(StoreError, match="unfinished extraction"):
        FeatureStore.open(tmp_path / "store")
