"""The on-disk feature store: round trip, and every corruption is an error that names the file."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pddslib.features.store import FeatureStore, StoreError, config_hash, write_store
from pddslib.pdds.labels import CLASSES

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
    # written in place with the modification time restored: the cheap fingerprint check passes
    stamp = (store_path / "audio.npy").stat()
    arr = np.load(store_path / "audio.npy", mmap_mode="r+")
    off = np.load(store_path / "audio_offsets.npy")
    arr[off[3] + 0, 1] = np.nan
    arr.flush()
    del arr
    os.utime(store_path / "audio.npy", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
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


# -- the content fingerprint: what the run cache keys on ---------------------------------------------------

def _fingerprint(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unchanged store opens without a warning
        return FeatureStore.open(path).fingerprint


def _edit_meta(path: Path, edit) -> None:
    meta = json.loads((path / "store.json").read_text())
    edit(meta)
    (path / "store.json").write_text(json.dumps(meta, indent=1))


def test_identical_stores_have_identical_fingerprints(tmp_path, store_path):
    fp = _fingerprint(store_path)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert FeatureStore.open(store_path).info()["fingerprint"] == fp and f"content {fp}" in FeatureStore.open(store_path).summary()
    assert _fingerprint(write(tmp_path / "again")[0]) == fp  # same content, other path, other mtimes
    manifest, seqs = make_manifest()
    write_store(store_path, manifest, seqs, classes=CLASSES, dims=DIMS, config={"other": "config"},
                corpus="test", dtype="float32", overwrite=True)
    assert _fingerprint(store_path) == fp  # the key is the content, not the config that produced it
    assert _fingerprint(write(tmp_path / "seed1", seed=1)[0]) != fp
    assert _fingerprint(write(tmp_path / "f16", dtype="float16")[0]) != fp


def _relabel(m):
    dist = [f"dist_{c}" for c in CLASSES]
    m.loc[2, dist] = 0.0
    m.loc[2, "dist_sad"] = 1.0
    m.loc[2, ["consensus", "major", "category", "minor"]] = ["sad", "sad", "clear", ""]


@pytest.mark.parametrize("edit", [
    _relabel,
    lambda m: m.__setitem__("split", "train"),
    lambda m: m.__setitem__("consensus", m["consensus"].where(m.index != 0, m["consensus"][1])),
    lambda m: m.__setitem__("dist_ang", m["dist_ang"].round(3)),
], ids=["relabel-one-row", "every-split-train", "consensus-only", "dist-rounded"])
def test_a_manifest_edit_changes_the_fingerprint(store_path, edit):
    before = _fingerprint(store_path)
    _edit_manifest(store_path, edit)
    m = pd.read_csv(store_path / "manifest.csv", keep_default_na=False)
    s = m[[f"dist_{c}" for c in CLASSES]].sum(axis=1)
    for c in CLASSES:  # keep every row a distribution
        m[f"dist_{c}"] = m[f"dist_{c}"] / s
    m.to_csv(store_path / "manifest.csv", index=False)
    with pytest.warns(UserWarning, match=r"manifest\.csv: labels, splits or classes changed after assembly"):
        after = FeatureStore.open(store_path).fingerprint
    assert after != before


def test_an_irrelevant_manifest_column_keeps_the_fingerprint(store_path):
    before = _fingerprint(store_path)
    _edit_manifest(store_path, lambda m: m.__setitem__("gender", "M"))
    assert _fingerprint(store_path) == before


def test_reordered_classes_change_the_fingerprint_and_renamed_ones_are_refused(store_path):
    before = _fingerprint(store_path)
    _edit_meta(store_path, lambda meta: meta.__setitem__("classes", meta["classes"][::-1]))
    with pytest.warns(UserWarning, match=r"store\.json: labels, splits or classes changed after assembly"):
        st = FeatureStore.open(store_path)
    assert st.fingerprint != before and st.classes == tuple(CLASSES[::-1])
    _edit_meta(store_path, lambda meta: meta.__setitem__("classes", ["joy" if c == "hap" else c for c in CLASSES]))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'manifest.csv'))}: missing column\(s\) \['dist_joy'\]"):
        FeatureStore.open(store_path)


def test_a_feature_value_changed_in_place_is_refused(store_path):
    arr = np.load(store_path / "audio.npy", mmap_mode="r+")
    arr[3, 2] = -arr[3, 2] + 1.0
    arr.flush()
    del arr
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'audio.npy'))}: content differs from the fingerprint recorded at assembly"):
        FeatureStore.open(store_path, validate=False)


def test_a_dropped_modality_is_refused(store_path):
    _edit_meta(store_path, lambda meta: meta["modalities"].pop("text"))
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'store.json'))}: modalities \['audio'\] but the fingerprint .* covers \['audio', 'text'\]"):
        FeatureStore.open(store_path)


def test_verify_finds_an_edit_that_kept_the_modification_time(store_path):
    st = FeatureStore.open(store_path)
    assert any("audio.npy: sha256 as recorded" in line for line in st.verify())
    before = st.fingerprint
    stamp = (store_path / "audio.npy").stat()
    arr = np.load(store_path / "audio.npy", mmap_mode="r+")
    arr[0, 0] = arr[0, 0] + 1.0
    arr.flush()
    del arr
    os.utime(store_path / "audio.npy", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    st = FeatureStore.open(store_path)  # the cheap check cannot see it
    assert st.fingerprint == before
    with pytest.raises(StoreError, match=rf"{re.escape(str(store_path / 'audio.npy'))}: content differs from the fingerprint recorded at assembly"):
        st.verify()


def test_a_version_1_store_gets_the_same_fingerprint_with_one_warning(store_path):
    before = _fingerprint(store_path)
    _edit_meta(store_path, lambda meta: (meta.pop("fingerprint"), meta.__setitem__("version", 1)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = FeatureStore.open(store_path)
    assert [str(w.message) for w in caught if "version-1 store" in str(w.message)] and len(caught) == 1
    assert st.fingerprint == before
    assert "version-1 store" in st.verify()[0]
