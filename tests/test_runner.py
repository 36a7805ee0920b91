"""The experiment runner: accuracy on the demo corpus, determinism, the run cache, resuming, and
the ``pdds run`` command."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from pddslib.cli import main
from pddslib.config import RunSpec, seed_list
from pddslib.features import demo_stores
from pddslib.pdds.counts import CountTable
from pddslib.pdds.labels import CLASSES
from pddslib.pdds.registry import plan_for
from pddslib.runs import training
from pddslib.runs.cache import run_key
from pddslib.runs.corpus import load_corpus
from pddslib.runs.one import run_one
from pddslib.runs.sweep import run_specs, summarise
from pddslib.util.formats import p_text, pm

#: A small CLTNet for the tests that only need *a* run (cache, resume), not a good one.
SMALL = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)
    return load_corpus(str(path))


@pytest.fixture(scope="module")
def full_run(corpus, tmp_path_factory):
    """CLTNet (paper sizes), no resampling, 3 epochs, seed 0 -- trained once for the module."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cache = tmp_path_factory.mktemp("runs")
        spec = RunSpec.build("cltnet", strategy="none", seed=0, max_epochs=3)
        record, preds = run_one(spec, corpus, cache_dir=cache, device="cpu")
    finally:
        torch.set_num_threads(n)
    return spec, cache, record, preds


def _train_must_not_run(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("train_model called for a run that should come from the cache")

    monkeypatch.setattr(training, "train_model", boom)


# -- a real run ----------------------------------------------------------------------------------
def test_cltnet_beats_chance_on_the_demo_test_session(corpus, full_run):
    _, _, record, _ = full_run
    test = corpus.store.split_indices("test")
    shares = corpus.store.manifest["consensus"].iloc[test].value_counts(normalize=True)
    chance_wa, chance_ua = shares.max(), 1 / 6   # 19/81 = 0.235 and 0.167
    # measured (seed 0, 3 epochs): WA 0.568, UA 0.509; seeds 0-4: WA 0.44-0.59, UA 0.43-0.54
    assert record["wa"] > chance_wa + 0.12
    assert record["ua"] > chance_ua + 0.14
    assert not record["cached"] and record["epochs"] == 3 and len(record["losses"]) == 3
    assert record["losses"][-1] < record["losses"][0]
    assert record["n_test"] == len(test)


def test_same_spec_twice_gives_identical_results(corpus, full_run, tmp_path):
    spec, _, record, preds = full_run
    again, preds2 = run_one(spec, corpus, cache_dir=tmp_path / "runs", device="cpu", recompute=True)
    assert not again["cached"]
    assert (again["wa"], again["ua"]) == (record["wa"], record["ua"])
    assert again["losses"] == record["losses"]
    pd.testing.assert_frame_equal(preds, preds2)


def test_cached_run_is_not_retrained(corpus, full_run, monkeypatch):
    spec, cache, record, preds = full_run
    _train_must_not_run(monkeypatch)
    again, preds2 = run_one(spec, corpus, cache_dir=cache, device="cpu")
    assert again["cached"]
    assert again["key"] == record["key"] == run_key(spec, corpus)
    assert (again["wa"], again["ua"], again["confusion"]) == (record["wa"], record["ua"], record["confusion"])
    assert np.allclose(preds2[[f"p_{c}" for c in CLASSES]].to_numpy(),
                       preds[[f"p_{c}" for c in CLASSES]].to_numpy(), atol=1e-6)
    # a setting that 'none' does not use hits the same cache entry ...
    for irrelevant in (dict(sigma=2.0), dict(p=0.6), dict(normalize="sum"), dict(level=100)):
        other = RunSpec.build("cltnet", strategy="none", seed=0, max_epochs=3, **irrelevant)
        assert run_key(other, corpus) == record["key"]
        assert run_one(other, corpus, cache_dir=cache, device="cpu")[0]["cached"]
    # ... while one that changes the run misses it (and so trains: here, the patched error)
    for relevant in (dict(seed=1), dict(max_epochs=4), dict(lr=1e-4), dict(strategy="pdds")):
        other = RunSpec.build(**{**dict(model="cltnet", strategy="none", seed=0, max_epochs=3), **relevant})
        assert run_key(other, corpus) != record["key"]
        with pytest.raises(AssertionError, match="should come from the cache"):
            run_one(other, corpus, cache_dir=cache, device="cpu")


def test_run_key_depends_on_the_strategy_parameters_that_matter(corpus):
    pdds = RunSpec.build("cltnet", strategy="pdds")
    assert run_key(pdds, corpus) != run_key(RunSpec.build("cltnet", strategy="pdds", p=0.7), corpus)
    assert run_key(pdds, corpus) != run_key(RunSpec.build("cltnet", strategy="pdds", sigma=2.0), corpus)
    assert run_key(pdds, corpus) != run_key(RunSpec.build("cltnet", strategy="pdds", align="crop"), corpus)
    assert run_key(pdds, corpus) != run_key(RunSpec.build("cltnet_audio", strategy="pdds"), corpus)
    assert run_key(pdds, corpus) == run_key(RunSpec.build("cltnet", strategy="pdds", level=100), corpus)
    happy = RunSpec.build("cltnet", strategy="happiness")
    assert run_key(happy, corpus) == run_key(RunSpec.build("cltnet", strategy="happiness", sigma=3.0, p=0.6), corpus)
    assert run_key(happy, corpus) != run_key(RunSpec.build("cltnet", strategy="happiness", clear_p=0.6), corpus)


def test_changed_p_misses_the_cache(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "runs"
    spec = RunSpec.build("cltnet", strategy="pdds", max_epochs=1, model_overrides=SMALL)
    first, _ = run_one(spec, corpus, cache_dir=cache, device="cpu")
    assert not first["cached"]
    _train_must_not_run(monkeypatch)
    assert run_one(RunSpec.build("cltnet", strategy="pdds", max_epochs=1, model_overrides=SMALL, level=7), corpus,
                   cache_dir=cache, device="cpu")[0]["cached"]
    with pytest.raises(AssertionError, match="should come from the cache"):
        run_one(RunSpec.build("cltnet", strategy="pdds", max_epochs=1, model_overrides=SMALL, p=0.7), corpus,
                cache_dir=cache, device="cpu")


def test_the_cached_record_and_predictions(corpus, full_run):
    spec, cache, record, _ = full_run
    folder = cache / record["key"]
    saved = json.loads((folder / "run.json").read_text())
    preds = pd.read_csv(folder / "predictions.csv")
    store = corpus.store
    test = store.split_indices("test")
    # one row per test utterance, in store order, with the consensus label
    assert len(preds) == len(test)
    assert preds["utt_id"].astype(str).tolist() == store.manifest["utt_id"].iloc[test].astype(str).tolist()
    assert preds["consensus"].tolist() == store.manifest["consensus"].iloc[test].tolist()
    p = preds[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert ((p >= 0) & (p <= 1)).all() and np.allclose(p.sum(1), 1, atol=1e-4)
    top = np.sort(p, 1)
    clear_top = top[:, -1] - top[:, -2] > 1e-5  # no tie after rounding to 6 decimals
    assert (np.array(CLASSES)[p.argmax(1)] == preds["pred"].to_numpy())[clear_top].all()
    # WA, UA, recall and the confusion matrix recomputed from the file equal the record's
    truth, pred = preds["consensus"].to_numpy(), preds["pred"].to_numpy()
    wa = (truth == pred).mean()
    recall = {c: (pred[truth == c] == c).mean() for c in CLASSES if (truth == c).any()}
    cm = [[int(((truth == a) & (pred == b)).sum()) for b in CLASSES] for a in CLASSES]
    assert saved["wa"] == pytest.approx(wa, abs=1e-12)
    assert saved["ua"] == pytest.approx(np.mean(list(recall.values())), abs=1e-12)
    assert saved["confusion"] == cm
    for c, r in recall.items():
        assert saved[f"recall_{c}"] == pytest.approx(r, abs=1e-12)
    assert saved["n_train"] == len(store.split_indices("train")) and saved["n_new"] == 0
    assert saved["key"] == record["key"] and saved["spec"] == spec.identity()


def test_interrupted_sweep_resumes(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "runs"
    specs = [RunSpec.build("cltnet", strategy="none", seed=s, max_epochs=1, model_overrides=SMALL) for s in range(3)]
    real = training.train_model
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(kwargs["seed"])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_specs(specs, corpus, cache_dir=cache, device="cpu", progress=False, log=None)
    assert calls == [0, 1]
    done = [d.name for d in cache.iterdir() if (d / "run.json").is_file()]
    assert done == [run_key(specs[0], corpus)]
    assert not [d for d in cache.iterdir() if d.name.startswith(".")]  # no half-written run left

    calls.clear()
    lines = []
    monkeypatch.setattr(training, "train_model", lambda *a, **k: (calls.append(k["seed"]), real(*a, **k))[1])
    res = run_specs(specs, corpus, cache_dir=cache, device="cpu", progress=False, log=lines.append)
    assert calls == [1, 2]  # only the runs that had not finished
    assert res.runs["cached"].tolist() == [True, False, False]
    assert res.runs["seed"].tolist() == [0, 1, 2]
    assert len(lines) == 3 and "cached" in lines[0]
    assert len(res.predictions) == 3


def test_align_changes_a_happiness_run(corpus, tmp_path):
    # happiness balancing adds clear samples by mixup (p = 0.5), so the sequence alignment matters
    recs = {}
    for align in ("pad", "crop"):
        spec = RunSpec.build("cltnet", strategy="happiness", align=align, max_epochs=1, model_overrides=SMALL)
        recs[align] = run_one(spec, corpus, cache_dir=tmp_path / align, device="cpu", recompute=True)[0]
    assert recs["pad"]["n_new"] > 0  # measured: 8 new happiness samples at scale 0.05
    assert recs["pad"]["losses"] != recs["crop"]["losses"]


def test_happiness_run_key_depends_on_align(corpus):
    pad = RunSpec.build("cltnet", strategy="happiness", align="pad")
    crop = RunSpec.build("cltnet", strategy="happiness", align="crop")
    assert run_key(pad, corpus) != run_key(crop, corpus)


def test_a_rewritten_store_is_not_read_from_stale_memory(tmp_path):
    import shutil

    path = tmp_path / "store"
    spec = RunSpec.build("cltnet", strategy="none", seed=0, max_epochs=1, model_overrides=SMALL)
    demo_stores.write_demo_store(path, scale=0.05, seed=0)
    run_one(spec, load_corpus(str(path)), cache_dir=tmp_path / "runs", device="cpu")
    # the store is re-generated in place (as `pdds extract` or write_store(overwrite=True) would)
    demo_stores.write_demo_store(path, scale=0.05, seed=1, overwrite=True)
    rewritten = load_corpus(str(path))
    rec, preds = run_one(spec, rewritten, cache_dir=tmp_path / "runs", device="cpu")
    # reference: the same store contents at another path, trained on in the same way
    shutil.copytree(path, tmp_path / "copy")
    copy = load_corpus(str(tmp_path / "copy"))
    ref, ref_preds = run_one(spec, copy, cache_dir=tmp_path / "runs2", device="cpu")
    assert rec["key"] == ref["key"]  # same spec, same store contents
    assert np.allclose(preds.filter(like="p_").to_numpy(), ref_preds.filter(like="p_").to_numpy(), atol=1e-6)


def test_pdds_run_command(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", "--model", "cltnet", "--strategy", "pdds", "--corpus", "demo", "--seeds", "2",
               "--epochs", "2", "--out", str(out)])
    assert rc in (0, None)
    runs = pd.read_csv(out / "runs.csv")
    for col in ("model", "strategy", "seed", "wa", "ua", "n_train", "epochs", "seconds"):
        assert col in runs.columns, col
    assert len(runs) == 2 and runs["seed"].tolist() == [0, 1]
    assert (runs["model"] == "cltnet").all() and (runs["strategy"] == "pdds").all()
    assert runs["wa"].between(0, 1).all() and runs["ua"].between(0, 1).all()
    assert (runs["epochs"] <= 2).all() and (runs["seconds"] > 0).all()
    # the demo store was generated under $PDDS_CACHE (not the home folder)
    assert list((tmp_path / "cache" / "demo").glob("*/store.json"))
    # n_train: the training set plus what the PDDS plan adds on the demo training counts
    store = load_corpus("demo").store
    m = store.manifest.iloc[store.split_indices("train")]
    counts = CountTable.from_cells(m["category"], m["major"], m["minor"], CLASSES)
    expected = len(m) + plan_for("pdds", counts).new_samples
    assert (runs["n_train"] == expected).all() and expected > len(m)
    # the summary: mean +- std over the seeds, in percent
    printed = capsys.readouterr().out
    wa = f"{100 * runs['wa'].mean():.1f} ± {100 * runs['wa'].std(ddof=1):.1f}"
    ua = f"{100 * runs['ua'].mean():.1f} ± {100 * runs['ua'].std(ddof=1):.1f}"
    assert wa in printed and ua in printed


@pytest.mark.parametrize("argv, word", [
    (["--model", "nosuchnet", "--strategy", "pdds"], "nosuchnet"),
    (["--model", "cltnet", "--strategy", "smote"], "smote"),
])
def test_run_command_rejects_unknown_names(tmp_path, capsys, argv, word):
    with pytest.raises(SystemExit) as err:
        main(["run", *argv, "--corpus", "demo", "--seeds", "1", "--epochs", "1", "--out", str(tmp_path / "o")])
    assert err.value.code != 0
    msg = capsys.readouterr().err
    assert word in msg and "choose from" in msg
    assert not (tmp_path / "o" / "runs.csv").exists()


def test_runspec_rejects_unknown_names():
    with pytest.raises(ValueError, match="cltnet"):
        RunSpec.build("nosuchnet")
    with pytest.raises(ValueError, match="pdds"):
        RunSpec.build("cltnet", strategy="smote")


def test_load_corpus_demo_is_cached_under_pdds_cache(tmp_path):
    c = load_corpus("demo", demo_scale=0.02)
    assert c.synthetic and str(c.store.path).startswith(str(tmp_path / "cache"))
    assert load_corpus("demo", demo_scale=0.02).store.path == c.store.path
    with pytest.raises(ValueError):
        load_corpus(str(tmp_path / "not-a-store"))


def test_summaries_and_seed_lists():
    runs = pd.DataFrame({"model": ["a", "a", "a", "b"], "strategy": ["none"] * 4, "seed": [0, 1, 2, 0],
                         "wa": [0.5, 0.6, 0.7, 0.4], "ua": [0.4, 0.4, 0.7, 0.3], "n_train": [10, 10, 10, 12]})
    s = summarise(runs).set_index("model")
    assert s.loc["a", "wa_mean"] == pytest.approx(0.6) and s.loc["a", "wa_std"] == pytest.approx(0.1)
    assert s.loc["a", "ua_mean"] == pytest.approx(0.5) and s.loc["a", "ua_std"] == pytest.approx(math.sqrt(0.03))
    assert s.loc["a", "n_seeds"] == 3 and s.loc["b", "n_seeds"] == 1 and np.isnan(s.loc["b", "wa_std"])
    assert pm(0.559, 0.012, scale=100) == "55.9 ± 1.2"
    assert pm(0.4, float("nan"), scale=100) == "40.0"
    assert pm(1.25, 0.5, sign=True) == "+1.2 ± 0.5" and pm(float("nan"), 0.1) == "–"
    assert (p_text(0.0421), p_text(0.0421, relation=True), p_text(0.0004)) == ("0.042", "= 0.042", "< 0.001")
    assert seed_list(3) == [0, 1, 2] and seed_list([5, 7]) == [5, 7]
    with pytest.raises(ValueError):
        seed_list(0)
