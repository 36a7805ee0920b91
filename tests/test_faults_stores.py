"""Faults of feature stores: a store corrupted one way is refused by ``FeatureStore.open`` naming the file,
and ``write_store`` refuses bad inputs before writing anything.
"""


from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from faults_common import *  # noqa: F403  (the Fault rows, fixtures and helpers)
from test_store import DIMS, make_manifest

from pddslib.features.store import FeatureStore, write_store
from pddslib.pdds.labels import CLASSES

# -- stores --------------------------------------------------------------------------------------------

STORE_FAULTS = [
    # arrays
    Fault("array-empty", overwrite_bytes("audio.npy", lambda n: b""), "audio.npy",
          r": 0 bytes \(empty file\), expected \d+ as recorded at assembly \(truncated or replaced\?\)"),
    Fault("array-truncated", truncate("audio.npy", 0.5), "audio.npy", r": \d+ bytes, expected \d+ as recorded at assembly"),
    Fault("array-empty-v1", as_version_1(overwrite_bytes("audio.npy", lambda n: b"")), "audio.npy",
          r"empty file \(0 bytes\), expected a \.npy array"),
    Fault("array-truncated-v1", as_version_1(truncate("audio.npy", 0.5)), "audio.npy", r"not a readable \.npy array"),
    Fault("array-garbage", overwrite_bytes("audio.npy", lambda n: b"\x07" * n), "audio.npy", r"not a readable \.npy array"),
    Fault("array-pickled-v1", as_version_1(overwrite_bytes("text.npy", lambda n: b"\x80\x04K\x01.")), "text.npy",
          r"not a readable \.npy array"),
    Fault("array-dtype-in-store-json", edit_meta(lambda m: m["modalities"]["audio"].__setitem__("dtype", "float16")),
          "audio.npy", r"dtype float32, expected float16 as store\.json says"),
    Fault("array-dtype-v1", as_version_1(save_npy("audio.npy", lambda a: a.astype(np.float64))), "audio.npy",
          r"dtype float64, expected float32 as store\.json says"),
    Fault("array-value-changed", flip_value("audio.npy"), "audio.npy",
          r"content differs from the fingerprint recorded at assembly .* write the store again"),
    Fault("array-missing", remove("text.npy"), "text.npy", r"not found \(modality 'text' is listed in store\.json\)"),
    # offsets
    Fault("offsets-empty", overwrite_bytes("text_offsets.npy", lambda n: b""), "text_offsets.npy",
          r"empty file \(0 bytes\)"),
    Fault("offsets-garbage", overwrite_bytes("text_offsets.npy", lambda n: b"\x93NUMPY garbage" * 9), "text_offsets.npy",
          r"not a readable \.npy array"),
    Fault("offsets-float", save_npy("text_offsets.npy", lambda a: a.astype(np.float64)), "text_offsets.npy",
          r"dtype float64, expected int64 offsets"),
    Fault("offsets-truncated", save_npy("text_offsets.npy", lambda a: a[:-1]), "text_offsets.npy",
          r"offsets must be 6 increasing integers starting at 0"),
    Fault("offsets-rewritten-int32", save_npy("text_offsets.npy", lambda a: a.astype(np.int32)), "text_offsets.npy",
          r"content differs from the fingerprint recorded at assembly"),
    # store.json
    Fault("meta-list", set_meta("[1, 2]"), "store.json", r"a JSON list, expected a JSON object"),
    Fault("meta-empty", set_meta(""), "store.json", r"line 1: invalid JSON"),
    Fault("meta-binary", set_meta(b"\xff\xfe\x00garbage"), "store.json", r"not a text file, expected a JSON object"),
    Fault("meta-version", edit_meta(lambda m: m.__setitem__("version", 3)), "store.json",
          r"version 3, this pddslib reads versions 1, 2"),
    Fault("meta-format", edit_meta(lambda m: m.__setitem__("format", "npz")), "store.json",
          r"format 'npz', expected 'pddslib-feature-store'"),
    Fault("meta-no-classes", edit_meta(lambda m: m.pop("classes")), "store.json", r"missing field 'classes'"),
    Fault("meta-classes-string", edit_meta(lambda m: m.__setitem__("classes", "ang,hap")), "store.json",
          r"field 'classes' is 'ang,hap', expected a list of distinct class codes"),
    Fault("meta-dim-string", edit_meta(lambda m: m["modalities"]["audio"].__setitem__("dim", "6")), "store.json",
          r"modality 'audio' is .*expected \{\"dim\": positive int"),
    Fault("meta-dtype-int", edit_meta(lambda m: m["modalities"]["text"].__setitem__("dtype", "int8")), "store.json",
          r"modality 'text' is .*a float dtype"),
    Fault("meta-n-string", edit_meta(lambda m: m.__setitem__("n_utterances", "5")), "store.json",
          r"n_utterances must be an integer"),
    Fault("meta-no-fingerprint", edit_meta(lambda m: m.pop("fingerprint")), "store.json", r"missing field 'fingerprint'"),
    Fault("meta-fingerprint-malformed", edit_meta(lambda m: m["fingerprint"]["arrays"]["audio"].pop("sha256")),
          "store.json", r"fingerprint of modality 'audio' must hold bytes, mtime_ns, sha256 and offsets_sha256"),
    Fault("meta-modality-dropped", edit_meta(lambda m: m["modalities"].pop("audio")), "store.json",
          r"modalities \['text'\] but the fingerprint recorded at assembly covers \['audio', 'text'\]"),
    Fault("meta-missing", remove("store.json"), "store.json", r"not found; .* is not a feature store"),
    # manifest.csv
    Fault("manifest-empty", set_manifest(b""), "manifest.csv", r"empty file, expected a CSV header"),
    Fault("manifest-header-only", header_only, "manifest.csv", r"no rows, expected one row per utterance"),
    Fault("manifest-binary", set_manifest(b"\xff\xfe\x00\x01" * 50), "manifest.csv", r"not a readable CSV"),
    Fault("manifest-extra-field", extra_field, "manifest.csv", r"not a readable CSV \(.*line 4"),
    Fault("dist-non-numeric", set_cell(3, "dist_sad", "abc"), "manifest.csv",
          rf"row 3 {UTT3}: column dist_sad holds 'abc', expected a number"),
    Fault("dist-empty-cell", set_cell(3, "dist_ang", ""), "manifest.csv",
          rf"row 3 {UTT3}: column dist_ang holds '', expected a number"),
    Fault("dist-column-missing", edit_manifest(lambda m: m.pop("dist_neu")), "manifest.csv",
          r"missing column\(s\) \['dist_neu'\]"),
    Fault("dist-not-a-distribution", set_cell(3, "dist_ang", "0.9"), "manifest.csv",
          rf"row 3 {UTT3}: label distribution .* is not a distribution over"),
    Fault("len-fractional", set_cell(3, "audio_len", "2.5"), "manifest.csv",
          rf"row 3 {UTT3}: column audio_len holds '2.5', expected a whole number"),
    Fault("len-zero", set_cell(3, "text_len", "0"), "manifest.csv", rf"row 3 {UTT3}: text_len is 0, expected >= 1"),
    Fault("len-disagrees-with-offsets", set_cell(1, "audio_len", "99"), "audio_offsets.npy",
          r"utterance \S+F001 has \d+ frames but manifest\.csv says audio_len = 99"),
    Fault("split-dev", set_cell(2, "split", "dev"), "manifest.csv", r"row 2 .*split 'dev', expected 'train' or 'test'"),
    Fault("consensus-unknown", set_cell(2, "consensus", "joy"), "manifest.csv",
          r"row 2 .*consensus label 'joy' is not one of"),
    Fault("utt-duplicate", set_cell(3, "utt_id", "Ses01F_impro01_F000"), "manifest.csv",
          r"utterance 'Ses01F_impro01_F000' appears more than once"),
    Fault("rows-disagree-with-store-json", edit_meta(lambda m: m.__setitem__("n_utterances", 9)), "manifest.csv",
          r"5 rows but store\.json says n_utterances = 9"),
    Fault("manifest-missing", remove("manifest.csv"), "manifest.csv", r"not found"),
]



@pytest.mark.parametrize("fault", params(STORE_FAULTS))
def test_store_fault(fault, pristine, tmp_path):
    import shutil

    path = tmp_path / "store"
    shutil.copytree(pristine, path)
    fault.corrupt(path)
    expect_fault(fault, path, lambda: FeatureStore.open(path))


def test_the_fault_table_is_tested_on_a_sound_store(pristine):
    assert len(FeatureStore.open(pristine)) == 5
    assert len({f.id for f in STORE_FAULTS}) == len(STORE_FAULTS)


# -- store inputs: write_store refuses before writing ------------------------------------------------------

def _write_with(edit: Callable[[pd.DataFrame], object]) -> Callable[[Path], object]:
    def f(path: Path) -> object:
        manifest, seqs = make_manifest()
        manifest = manifest.astype({f"dist_{c}": object for c in CLASSES})
        edited = edit(manifest)
        manifest = manifest if edited is None else edited
        return write_store(path, manifest, seqs, classes=CLASSES, dims=DIMS, config={}, corpus="test")
    return f


INPUT_FAULTS = [
    Fault("input-empty-manifest", _write_with(lambda m: m.iloc[:0]), None,
          r"no rows, expected one row per utterance", prefix="manifest"),
    Fault("input-dist-non-numeric", _write_with(lambda m: m.__setitem__("dist_hap", m["dist_hap"].where(m.index != 2, "x"))),
          None, r"row 2 \(\S+F002\): column dist_hap holds 'x', expected a number", prefix="manifest"),
]


@pytest.mark.parametrize("fault", params(INPUT_FAULTS))
def test_store_input_fault(fault, tmp_path):
    expect_fault(fault, tmp_path, lambda: fault.corrupt(tmp_path / "store"))
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary folder left


