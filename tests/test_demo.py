"""The embedded demo corpus: deterministic, IEMOCAP-shaped votes, and learnable-but-hard features."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pddslib.corpora import demo
from pddslib.features import demo_stores
from pddslib.features.store import FeatureStore
from pddslib.pdds.counts import CountTable
from pddslib.pdds.labels import CLASSES
from pddslib.reference import iemocap_counts, six_class_sizes


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PDDS_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def votes_full():
    """The demo votes at scale 1 (IEMOCAP's size)."""
    return demo.votes(1.0, seed=0)


def _evaluators(row):
    return [row[f"e{t}"].split(";") for t in (1, 2, 3)]


def _categorize(evaluators):
    """Category, major, minor under the default policy, computed from the evaluators' labels."""
    if any(not any(lab in CLASSES for lab in ev) for ev in evaluators):
        return "excluded", None, None
    votes = Counter(lab for ev in evaluators for lab in set(ev) if lab in CLASSES)
    if len(votes) == 1:
        (c,) = votes
        return "clear", c, c
    if len(votes) == 2:
        (a, na), (b, nb) = votes.most_common()
        return ("tie", None, None) if na == nb else ("ambiguous", a, b)
    return "other", None, None


def _majority(evaluators):
    """IEMOCAP's consensus: the label named by most evaluators (at least 2, no tie), else 'xxx'."""
    votes = Counter(lab for ev in evaluators for lab in set(ev)).most_common()
    if votes[0][1] >= 2 and (len(votes) == 1 or votes[1][1] < votes[0][1]):
        return votes[0][0]
    return "xxx"


def _count_table(frame):
    """The `pdds stats --json` object of a vote frame, from the raw evaluator labels."""
    clear = dict.fromkeys(CLASSES, 0)
    amb = {a: {b: 0 for b in CLASSES if b != a} for a in CLASSES}
    rest = Counter()
    for _, row in frame.iterrows():
        cat, a, b = _categorize(_evaluators(row))
        if cat == "clear":
            clear[a] += 1
        elif cat == "ambiguous":
            amb[a][b] += 1
        else:
            rest[cat] += 1
    return {"n_utterances": len(frame), "clear": clear, "ambiguous": amb, "ties": rest["tie"],
            "other": rest["other"], "excluded": rest["excluded"]}


# -- votes ----------------------------------------------------------------------------------------
def test_votes_are_deterministic():
    a = demo.votes(0.05, seed=0)
    b = demo.votes(0.05, seed=0)
    pd.testing.assert_frame_equal(a, b)
    c = demo.votes(0.05, seed=1)
    assert len(c) == len(a)  # the size follows the scale ...
    assert not a[["utt_id", "e1", "e2", "e3"]].equals(c[["utt_id", "e1", "e2", "e3"]])  # ... the rest the seed


@pytest.mark.parametrize("split, sessions", [("train", {1, 2, 3, 4}), ("test", {5})])
def test_scale_one_matches_the_iemocap_reference(votes_full, split, sessions):
    part = votes_full[votes_full["split"] == split]
    assert set(part["session"]) == sessions
    ref = iemocap_counts(split).to_dict()
    got = _count_table(part)
    assert got["clear"] == ref["clear"]
    assert got["ambiguous"] == ref["ambiguous"]  # all 30 ordered pairs
    for key in ("ties", "other", "excluded", "n_utterances"):
        assert got[key] == ref[key], key
    # the generator's own category columns agree with the raw labels
    own = CountTable.from_cells(part["category"], part["major"], part["minor"], CLASSES, reasons=part["reason"])
    assert own.to_dict() == ref
    # the 6-class consensus sizes of the release
    six = part["consensus"][part["consensus"].isin(CLASSES)].value_counts().to_dict()
    assert six == six_class_sizes()[split]


def test_scale_one_sizes(votes_full):
    assert len(votes_full) == 10039
    sizes = six_class_sizes()
    assert votes_full["consensus"].isin(CLASSES).sum() == sum(sizes["train"].values()) + sum(sizes["test"].values())
    assert (votes_full["split"] == "test").sum() == iemocap_counts("test").n_utterances


def test_sessions_speakers_and_evaluators(votes_full):
    f = votes_full
    assert sorted(f["session"].unique()) == [1, 2, 3, 4, 5]
    assert f["utt_id"].is_unique
    for s, part in f.groupby("session"):
        assert set(part["speaker"]) == {f"Ses{s:02d}F", f"Ses{s:02d}M"}
        assert (part["split"] == ("test" if s == 5 else "train")).all()
    assert set(f["gender"]) == {"F", "M"}
    assert (f["speaker"].str[-1] == f["gender"]).all()
    assert all(u.startswith(d) for u, d in zip(f["utt_id"], f["dialog"]))
    assert f["utt_id"].str.slice(0, 5).eq(f["session"].map(lambda s: f"Ses{s:02d}")).all()
    for t in (1, 2, 3):  # three evaluators, each naming at least one label
        assert (f[f"e{t}"].str.len() > 0).all()


def test_consensus_labels_as_iemocap_assigns_them(votes_full):
    f = votes_full
    derived = [(_categorize(ev), _majority(ev)) for ev in (_evaluators(r) for _, r in f.iterrows())]
    cats = np.array([d[0][0] for d in derived])
    assert np.array_equal(cats, f["category"].to_numpy())
    assert [d[1] for d in derived] == f["consensus"].tolist()
    clear, amb = f[f["category"] == "clear"], f[f["category"] == "ambiguous"]
    assert (clear["consensus"] == clear["major"]).all() and (clear["major"] == clear["minor"]).all()
    assert (amb["consensus"] == amb["major"]).all() and (amb["major"] != amb["minor"]).all()
    assert (f.loc[f["category"] == "tie", "consensus"] == "xxx").all()
    # every consensus label is a release code
    assert set(f["consensus"]) <= set(CLASSES) | {"xxx", "sur", "fea", "dis", "oth"}
    # label distributions: the evaluators' votes over the six classes, normalised
    counted = f[f["category"] != "excluded"]
    for _, row in counted.head(500).iterrows():
        votes = Counter(lab for ev in _evaluators(row) for lab in set(ev) if lab in CLASSES)
        total = sum(votes.values())
        assert [row[f"dist_{c}"] for c in CLASSES] == pytest.approx([votes[c] / total for c in CLASSES])


# -- features and the store --------------------------------------------------------------------
def _six(scale, seed):
    v = demo.votes(scale, seed)
    return v[v["consensus"].isin(CLASSES)].reset_index(drop=True)


def test_features_are_deterministic():
    six = _six(0.05, 0)
    a1, t1 = demo.generate_features(six, seed=0)
    a2, t2 = demo.generate_features(six, seed=0)
    a3, t3 = demo.generate_features(six, seed=1)
    assert len(a1) == len(t1) == len(six)
    assert all(np.array_equal(x, y) for x, y in zip(a1, a2)) and all(np.array_equal(x, y) for x, y in zip(t1, t2))
    assert not all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a1, a3))
    assert a1[0].dtype == np.float32 and a1[0].shape[1] == 32 and t1[0].shape[1] == 24


def test_written_store(tmp_path):
    path = demo_stores.write_demo_store(tmp_path / "demo", scale=0.05, seed=0)
    st = FeatureStore.open(path)
    assert st.synthetic
    six = _six(0.05, 0)
    assert len(st) == len(six)
    assert st.manifest["utt_id"].astype(str).tolist() == six["utt_id"].tolist()
    assert st.manifest["consensus"].isin(CLASSES).all()
    sess = st.manifest["session"].to_numpy()
    assert np.array_equal(st.split_indices("train"), np.flatnonzero(sess <= 4))
    assert np.array_equal(st.split_indices("test"), np.flatnonzero(sess == 5))
    assert st.dims == {"audio": 32, "text": 24} and st.classes == tuple(CLASSES)
    assert np.allclose(st.label_distributions(), six[[f"dist_{c}" for c in CLASSES]].to_numpy())
    # the stored sequences are the generated ones
    audio, text = demo.generate_features(six, seed=0)
    for i in (0, len(st) // 2, len(st) - 1):
        assert np.array_equal(st.sequence("audio", i), audio[i])
        assert np.array_equal(st.sequence("text", i), text[i])
    # a different seed gives a different store
    other = FeatureStore.open(demo_stores.write_demo_store(tmp_path / "demo1", scale=0.05, seed=1))
    assert other.manifest["utt_id"].tolist() != st.manifest["utt_id"].tolist() or \
        not np.array_equal(other.arrays["audio"][:50], st.arrays["audio"][:50])


def test_the_store_is_the_same_bytes_without_numpys_vector_kernels(tmp_path):
    """The demo store (and so every demo run key) is the same on a CPU with fewer vector units: numpy's
    dispatched SIMD kernels (AVX2, AVX-512 ...) are switched off in a second process and the store
    written there has the same content fingerprint."""
    import os
    import subprocess
    import sys

    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    extra = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if not extra:
        pytest.skip("this CPU runs numpy's baseline kernels only: nothing to switch off")
    here = FeatureStore.open(demo_stores.write_demo_store(tmp_path / "here", scale=0.05, seed=0)).fingerprint
    code = ("import sys; from pddslib.features import demo_stores; from pddslib.features.store import FeatureStore; "
            "print(FeatureStore.open(demo_stores.write_demo_store(sys.argv[1], scale=0.05, seed=0)).fingerprint)")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "baseline")], capture_output=True, text=True,
                       env={**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(extra)}, check=True)
    assert r.stdout.strip() == here, f"numpy without {extra} writes another demo store"


def test_ensure_store_generates_once_under_pdds_cache(tmp_path):
    p1 = demo_stores.ensure_demo_store(0.02, 0)
    assert str(p1).startswith(str(tmp_path / "cache" / "demo"))
    stamp = (p1 / "store.json").stat().st_mtime_ns
    assert demo_stores.ensure_demo_store(0.02, 0) == p1 and (p1 / "store.json").stat().st_mtime_ns == stamp
    assert demo_stores.ensure_demo_store(0.02, 1) != p1


@pytest.fixture(scope="module")
def pooled_features():
    """Time-averaged features of the 6-class utterances at scale 0.2 (~1,150 train, ~325 test)."""
    six = _six(0.2, 0)
    audio, text = demo.generate_features(six, seed=0)
    a = np.stack([x.mean(0) for x in audio])
    t = np.stack([x.mean(0) for x in text])
    y = six["consensus"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    return a, t, y, (six["split"] == "train").to_numpy()


def _accuracy(x, y, train):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(x[train], y[train])
    return clf.score(x[~train], y[~train])


def test_features_are_learnable_but_not_trivial(pooled_features):
    a, t, y, train = pooled_features
    chance = np.bincount(y[~train]).max() / (~train).sum()
    both = _accuracy(np.hstack([a, t]), y, train)
    # measured (seed 0): 0.634; seeds 0-2 at scales 0.05-0.3: 0.53-0.66; chance ~0.24
    assert both > 0.45 and both > chance + 0.2
    assert both < 0.85


def test_each_modality_alone_does_worse(pooled_features):
    a, t, y, train = pooled_features
    both = _accuracy(np.hstack([a, t]), y, train)
    audio = _accuracy(a, y, train)
    text = _accuracy(t, y, train)
    # measured (seed 0): audio 0.560, text 0.526, both 0.634 (seeds 1-2: gaps >= 0.07)
    assert both > audio + 0.03 and both > text + 0.03
    assert audio > 0.3 and text > 0.3  # each still carries information
