"""Models you can keep and the protocols researchers expect: saved weights (safetensors only),
`pdds evaluate` re-scoring to identical numbers, `pdds predict` on one utterance, leave-one-
session-out folds and a validation split for early stopping."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cli_helpers import run_cli, run_name

from pddslib.config import LOSO_SESSIONS, RunSpec
from pddslib.features import demo_stores
from pddslib.features.store import FeatureStore, config_hash
from pddslib.runs import training
from pddslib.runs.cache import CACHE_VERSION, run_key
from pddslib.runs.corpus import load_corpus
from pddslib.runs.one import run_one
from pddslib.runs.saved_models import ARCH_FILE, MODEL_FILE, SavedModelError, SavedRun
from pddslib.runs.splits import check_loso, fold_rows, run_split, validation_rows

#: A small CLTNet: these tests need *a* trained model, not a good one.
SMALL = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))
RUN_FILES = ["model.json", "model.safetensors", "predictions.csv", "run.json"]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return load_corpus(str(demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


@pytest.fixture(scope="module")
def saved(corpus, tmp_path_factory):
    """One small run with its weights: (cache folder of the run, record, predictions)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cache = tmp_path_factory.mktemp("runs")
        spec = RunSpec.build("cltnet", "pdds", 0, max_epochs=1, model_overrides=SMALL)
        record, preds = run_one(spec, corpus, cache_dir=cache, device="cpu")
    finally:
        torch.set_num_threads(n)
    return cache / record["key"], record, preds


def _cli(argv, capsys):
    return run_cli(argv, capsys)


def _no_pickle(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("a pickle loader was called")

    monkeypatch.setattr(torch, "load", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)


# -- saved models ----------------------------------------------------------------------------------

def test_a_run_folder_holds_its_weights_and_architecture(saved, corpus):
    folder, record, _ = saved
    assert sorted(p.name for p in folder.iterdir()) == RUN_FILES
    arch = json.loads((folder / ARCH_FILE).read_text())
    assert (arch["model"], arch["audio_dim"], arch["text_dim"], arch["n_classes"]) == ("cltnet", 32, 24, 6)
    assert arch["classes"] == list(corpus.store.classes) and arch["overrides"] == dict(SMALL)
    assert arch["fold"] is None and arch["encoders"] is None and record["encoders"] is None  # demo: no encoders
    weights = (folder / MODEL_FILE).read_bytes()
    assert arch["bytes"] == len(weights) and arch["sha256"] == hashlib.sha256(weights).hexdigest()
    # a safetensors file: an 8-byte little-endian header length, then a JSON header; no pickle anywhere
    (n,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8:8 + n])
    assert "audio_convs.0.weight" in header or any(k.endswith(".weight") for k in header)
    for p in folder.iterdir():
        assert not p.read_bytes().startswith(b"\x80"), f"{p.name} looks like a pickle"


def test_a_saved_run_rescores_to_identical_numbers(saved, corpus, tmp_path, capsys, monkeypatch):
    folder, record, preds = saved
    _no_pickle(monkeypatch)
    out = tmp_path / "rescored"
    code, stdout, err = _cli(["evaluate", folder, "--out", out, "--device", "cpu", "--json"], capsys)
    assert code == 0, err
    metrics = json.loads(stdout)
    assert (metrics["wa"], metrics["ua"], metrics["confusion"]) == (record["wa"], record["ua"], record["confusion"])
    assert metrics["same_as_run"] is True and metrics["n"] == record["n_test"] and metrics["split"] == "test"
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert (out / "predictions.csv").read_bytes() == (folder / "predictions.csv").read_bytes()
    # the Python API, on every split
    run = SavedRun.open(folder)
    m, p = run.evaluate(corpus.store, "test", device="cpu")
    pd.testing.assert_frame_equal(p, preds)
    m_all, p_all = run.evaluate(corpus.store, "all", device="cpu")
    m_train, _ = run.evaluate(corpus.store, "train", device="cpu")
    assert m_all["n"] == len(corpus.store) and m_train["n"] == len(corpus.store.split_indices("train"))
    assert m_all["same_as_run"] is None and m_train["same_as_run"] is None
    merged = p_all.set_index("utt_id").loc[preds["utt_id"]].reset_index()
    np.testing.assert_allclose(merged.filter(like="p_").to_numpy(), preds.filter(like="p_").to_numpy(), atol=2e-6)
    # the printed line
    code, stdout, _ = _cli(["evaluate", folder, "--device", "cpu"], capsys)
    assert code == 0 and f"WA {100 * record['wa']:.2f}" in stdout and "equal to the run's" in stdout


def test_only_safetensors_weights_are_ever_loaded(saved, tmp_path, monkeypatch):
    folder, _, _ = saved
    _no_pickle(monkeypatch)
    state = SavedRun.open(folder).load_weights()
    crafted = tmp_path / "crafted"
    shutil.copytree(folder, crafted)
    with open(crafted / "model.pt", "wb") as f:
        pickle.dump({k: v.numpy() for k, v in state.items()}, f)
    arch = json.loads((crafted / ARCH_FILE).read_text())
    for weights in ("model.pt", "../model.safetensors", "sub/model.safetensors"):
        (crafted / ARCH_FILE).write_text(json.dumps(dict(arch, weights=weights)))
        with pytest.raises(SavedModelError, match=r"only from a \.safetensors file in the run folder, never pickle"):
            SavedRun.open(crafted)
    # only a pickle checkpoint left: refused by name
    (crafted / ARCH_FILE).unlink()
    (crafted / MODEL_FILE).unlink()
    with pytest.raises(SavedModelError, match=r"model\.pt is a pickle file, which pddslib never loads"):
        SavedRun.open(crafted)
    # a safetensors file whose bytes changed: said, not loaded
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    data = bytearray((bad / MODEL_FILE).read_bytes())
    data[-1] ^= 0xFF
    (bad / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(SavedModelError, match=r"content differs from the sha256 in model\.json; .*--recompute"):
        SavedRun.open(bad).build_model()


def test_a_store_the_model_cannot_score_is_refused(saved, tmp_path, capsys):
    folder, _, _ = saved
    other = demo_stores.write_demo_store(tmp_path / "narrow", scale=0.02, audio_dim=16)
    code, out, err = _cli(["evaluate", folder, "--store", other, "--device", "cpu"], capsys)
    assert code == 1 and out == "" and len(err.splitlines()) == 1, err
    assert f"{other}: features audio 16-d, text 24-d differ from the model's audio 32-d, text 24-d" in err
    crafted = tmp_path / "crafted"
    shutil.copytree(folder, crafted)
    arch = json.loads((crafted / ARCH_FILE).read_text())
    (crafted / ARCH_FILE).write_text(json.dumps(dict(arch, classes=arch["classes"][::-1])))
    with pytest.raises(SavedModelError, match=r"classes \['ang', .*\] differ from the model's \['fru', .*\]"):
        SavedRun.open(crafted).evaluate(load_corpus(str(other)).store)


def test_run_out_links_the_weights_and_no_save_model_opts_out(tmp_path, capsys):
    base = ["run", "--model", "cltnet_text", "--strategy", "none", "--seeds", "1", "--epochs", "1",
            "--demo-scale", "0.05", "--no-progress", "--device", "cpu"]
    code, _, err = _cli(base + ["--no-save-model", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    key = pd.read_csv(tmp_path / "a" / "runs.csv")["key"].iloc[0]
    entry = tmp_path / "cache" / "runs" / key
    assert sorted(p.name for p in entry.iterdir()) == ["predictions.csv", "run.json"]
    assert not (tmp_path / "a" / "models").exists()
    # weights wanted, but the cached run has none: its numbers are reused and a line says how
    with pytest.warns(UserWarning, match=r"has no saved model .* run again with --recompute"):
        code, _, err = _cli(base + ["--out", tmp_path / "b"], capsys)
    assert code == 0 and pd.read_csv(tmp_path / "b" / "runs.csv")["cached"].all()
    assert not (tmp_path / "b" / "models").exists()
    code, _, err = _cli(["evaluate", entry, "--device", "cpu"], capsys)
    assert code == 1 and "saved without its model" in err and "--recompute" in err
    # --recompute trains it again (the same numbers) and keeps the weights, reachable from --out
    code, _, err = _cli(base + ["--recompute", "--out", tmp_path / "c"], capsys)
    assert code == 0, err
    a, c = (pd.read_csv(tmp_path / x / "runs.csv").iloc[0] for x in ("a", "c"))
    assert (c["key"], c["wa"], c["ua"], c["cached"]) == (a["key"], a["wa"], a["ua"], False)
    run_dir = tmp_path / "c" / "models" / run_name(tmp_path / "c", "cltnet_text-none-seed0")
    assert sorted(p.name for p in run_dir.iterdir()) == RUN_FILES
    assert (run_dir / MODEL_FILE).read_bytes() == (entry / MODEL_FILE).read_bytes()
    code, _, err = _cli(["evaluate", tmp_path / "c", "--device", "cpu"], capsys)
    assert code == 1 and f"give one of its runs, e.g. {run_dir}" in err
    code, out, err = _cli(["evaluate", run_dir, "--device", "cpu", "--json"], capsys)
    assert code == 0 and json.loads(out)["same_as_run"] is True


def _folders(out: Path) -> tuple[list[str], list[str]]:
    return (sorted(p.name for p in (out / "models").iterdir()) if (out / "models").is_dir() else [],
            sorted(p.name for p in (out / "predictions").iterdir()))


def test_an_out_folder_of_other_runs_is_refused_unless_overwrite(tmp_path, capsys, monkeypatch):
    base = ["run", "--model", "cltnet_text", "--strategy", "pdds", "--seeds", "1", "--epochs", "1",
            "--demo-scale", "0.05", "--no-progress", "--device", "cpu", "--out", tmp_path / "out"]
    code, _, err = _cli(base + ["--sigma", "1"], capsys)
    assert code == 0, err
    first = pd.read_csv(tmp_path / "out" / "runs.csv").iloc[0]
    one = run_name(tmp_path / "out", "cltnet_text-pdds-seed0")
    assert one == f"cltnet_text-pdds-seed0-{first['key'][:8]}"
    assert _folders(tmp_path / "out") == ([one], [f"{one}.csv"])
    # the same command again: the same runs (read from the cache), written into the same folder
    code, _, err = _cli(base + ["--sigma", "1"], capsys)
    assert code == 0, err
    again = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert again["key"].tolist() == [first["key"]] and again["cached"].all()
    assert _folders(tmp_path / "out") == ([one], [f"{one}.csv"])
    # other settings: refused before any training, with one line naming the folder and what to do
    monkeypatch.setattr(training, "train_model", lambda *a, **k: pytest.fail("trained before refusing"))
    code, out, err = _cli(base + ["--sigma", "2"], capsys)
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == (f"pdds run: error: {tmp_path / 'out'}: holds runs.csv of other runs (1 of its 1 "
                                    f"not made by this command, e.g. {one}); pass --overwrite to replace them, or "
                                    f"choose another --out")
    assert pd.read_csv(tmp_path / "out" / "runs.csv")["key"].tolist() == [first["key"]]  # left as it was
    monkeypatch.undo()
    # the two settings in two folders: the same model, strategy and seed, different names
    code, _, err = _cli(base[:-1] + [tmp_path / "other", "--sigma", "2"], capsys)
    assert code == 0, err
    two = run_name(tmp_path / "other", "cltnet_text-pdds-seed0")
    assert two != one and two.startswith("cltnet_text-pdds-seed0-")
    # --overwrite: the other settings' runs replace the first ones, and nothing of the first is left
    code, _, err = _cli(base + ["--sigma", "2", "--overwrite"], capsys)
    assert code == 0, err
    assert pd.read_csv(tmp_path / "out" / "runs.csv")["key"].tolist() == \
        pd.read_csv(tmp_path / "other" / "runs.csv")["key"].tolist()
    assert _folders(tmp_path / "out") == ([two], [f"{two}.csv"])
    code, out, err = _cli(["evaluate", tmp_path / "out" / "models" / two, "--device", "cpu", "--json"], capsys)
    assert code == 0 and json.loads(out)["same_as_run"] is True


def test_an_out_folder_of_before_the_keyed_names_is_still_read(tmp_path, capsys):
    """`pdds power` reads DIR/predictions/<model>-<strategy>-seed<k>.csv of a folder written before."""
    from pddslib.runs.saved_models import run_folder_name

    base = ["run", "--model", "cltnet_text", "--seeds", "2", "--epochs", "1", "--demo-scale", "0.05",
            "--no-progress", "--device", "cpu", "--no-save-model"]
    for strategy in ("none", "pdds"):
        code, _, err = _cli(base + ["--strategy", strategy, "--out", tmp_path / strategy], capsys)
        assert code == 0, err
        for rec in pd.read_csv(tmp_path / strategy / "runs.csv").to_dict("records"):  # as pddslib wrote them
            (tmp_path / strategy / "predictions" / f"{run_folder_name(rec)}.csv").rename(
                tmp_path / strategy / "predictions" / f"{run_folder_name(rec, legacy=True)}.csv")
    code, out, err = _cli(["power", tmp_path / "none", tmp_path / "pdds", "--effect", "1", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)[0]["n_seeds"] == 2


# -- leave-one-session-out -------------------------------------------------------------------------

def test_loso_folds_partition_the_store(corpus):
    m = corpus.store.manifest
    assert check_loso(m, "s") == list(LOSO_SESSIONS) == [1, 2, 3, 4, 5]
    tested = []
    for k in LOSO_SESSIONS:
        train, test = fold_rows(m, k)
        assert np.array_equal(test, np.flatnonzero(m["session"].to_numpy() == k)) and len(test) > 0
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(m)))
        tested.append(test)
    tested = np.concatenate(tested)
    assert len(tested) == len(m) and np.array_equal(np.sort(tested), np.arange(len(m)))  # each utterance once
    train, test = fold_rows(m, None)
    assert np.array_equal(train, corpus.store.split_indices("train"))
    assert np.array_equal(test, corpus.store.split_indices("test"))
    with pytest.raises(ValueError, match=r"^STORE: leave-one-session-out needs sessions 1, 2, 3, 4, 5; this store "
                                         r"holds session\(s\) 1, 2, 4, 5 \(missing 3\)$"):
        check_loso(m[m["session"] != 3], "STORE")
    with pytest.raises(ValueError, match=r"fold 7 tests on session 7, which this store does not hold"):
        fold_rows(m, 7, "STORE")


@pytest.mark.filterwarnings("ignore:.*changed after assembly")
def test_loso_needs_all_five_sessions(corpus, tmp_path, capsys):
    copy = tmp_path / "four-sessions"
    shutil.copytree(corpus.store.path, copy)
    m = pd.read_csv(copy / "manifest.csv", dtype=str, keep_default_na=False)
    m["session"] = m["session"].replace("3", "4")
    m.to_csv(copy / "manifest.csv", index=False)
    code, out, err = _cli(["run", "--model", "cltnet_text", "--strategy", "none", "--corpus", copy, "--folds", "loso",
                           "--seeds", "1", "--epochs", "1", "--no-progress", "--out", tmp_path / "o"], capsys)
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == (f"pdds run: error: {copy}: leave-one-session-out needs sessions 1, 2, 3, 4, 5; "
                                    f"this store holds session(s) 1, 2, 4, 5 (missing 3)")


def test_loso_summaries_give_the_fold_and_the_seed_variance_apart():
    from pddslib.runs.sweep import summarise

    runs = pd.DataFrame({"model": "m", "strategy": "s", "fold": [1, 1, 2, 2], "seed": [0, 1, 0, 1],
                         "wa": [0.50, 0.54, 0.60, 0.62], "ua": [0.4, 0.4, 0.5, 0.5], "n_train": 10})
    s = summarise(runs).iloc[0]
    assert s.wa_fold_sd == pytest.approx(np.std([0.52, 0.61], ddof=1))        # the folds' means
    assert s.wa_seed_sd == pytest.approx(np.sqrt((0.0008 + 0.0002) / 2))       # pooled within-fold variance
    assert s.ua_seed_sd == pytest.approx(0.0) and s.n_folds == 2 and s.n_runs == 4


def test_a_loso_run_reports_mean_and_std_over_folds_and_seeds(corpus, tmp_path, capsys):
    base = ["run", "--model", "cltnet_text", "--strategy", "none", "--corpus", corpus.store.path, "--seeds", "1",
            "--epochs", "1", "--no-progress", "--device", "cpu", "--json"]
    code, out, err = _cli(base + ["--folds", "loso", "--out", tmp_path / "loso"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    runs = pd.read_csv(tmp_path / "loso" / "runs.csv")
    assert runs["fold"].tolist() == [1, 2, 3, 4, 5] and runs["key"].nunique() == 5
    sessions = corpus.store.manifest["session"].value_counts()
    assert runs["n_test"].tolist() == [int(sessions[k]) for k in range(1, 6)]
    assert summary["n_folds"] == 5 and summary["n_seeds"] == 1
    for m in ("wa", "ua"):  # over every (fold, seed) run
        assert summary[f"{m}_mean"] == pytest.approx(runs[m].mean())
        assert summary[f"{m}_std"] == pytest.approx(runs[m].std(ddof=1))
    assert summary["wa_fold_sd"] == pytest.approx(runs["wa"].std(ddof=1))  # one seed: each fold's mean is its run
    assert summary["wa_seed_sd"] is None                                  # and no seed variance to measure
    for k in range(1, 6):
        assert (tmp_path / "loso" / "predictions" / f"{run_name(tmp_path / 'loso', f'cltnet_text-none-fold{k}-seed0')}.csv").is_file()
    # fold 5 trains and tests on the rows of the store's own split (sessions 1-4 / 5): the same numbers
    code, out, err = _cli(base + ["--out", tmp_path / "paper"], capsys)
    paper = pd.read_csv(tmp_path / "paper" / "runs.csv").iloc[0]
    fold5 = runs.iloc[4]
    assert (paper["wa"], paper["ua"], paper["n_train"]) == (fold5["wa"], fold5["ua"], fold5["n_train"])
    assert paper["key"] != fold5["key"] and pd.isna(paper["fold"])
    # a fold's saved model re-scores its own session
    code, out, err = _cli(["evaluate", tmp_path / "loso" / "models" / run_name(tmp_path / "loso", "cltnet_text-none-fold3-seed0"), "--json",
                           "--device", "cpu"], capsys)
    assert code == 0 and json.loads(out)["n"] == int(sessions[3]) and json.loads(out)["same_as_run"] is True


# -- validation split -------------------------------------------------------------------------------

def test_validation_rows_are_drawn_per_class_with_the_seed(corpus):
    train = corpus.store.split_indices("train")
    labels = corpus.store.consensus_indices()[train]
    kept, val = validation_rows(train, labels, 0.2, seed=0)
    assert len(np.intersect1d(kept, val)) == 0 and np.array_equal(np.union1d(kept, val), train)
    for c in np.unique(labels):
        n = int((labels == c).sum())
        assert np.isin(val, train[labels == c]).sum() == min(round(0.2 * n), n - 1)
    assert np.array_equal(validation_rows(train, labels, 0.2, seed=0)[1], val)
    assert not np.array_equal(validation_rows(train, labels, 0.2, seed=1)[1], val)
    kept0, val0 = validation_rows(train, labels, 0.0, seed=0)
    assert np.array_equal(kept0, train) and len(val0) == 0
    spec = RunSpec.build("cltnet", "none", 0, val_fraction=0.2)
    split = run_split(spec, corpus.store)
    assert np.array_equal(split.val, val) and np.array_equal(split.test, corpus.store.split_indices("test"))


def test_a_validation_split_stops_on_validation_loss_and_keeps_the_best_epoch(corpus, tmp_path, monkeypatch):
    real = training.validation_loss
    calls = []

    def rising(*args, **kwargs):  # the real computation, then a loss that only rises after epoch 1
        real(*args, **kwargs)
        calls.append(1)
        return float(len(calls))

    monkeypatch.setattr(training, "validation_loss", rising)
    spec = RunSpec.build("cltnet", "none", 0, max_epochs=6, patience=2, val_fraction=0.2, model_overrides=SMALL)
    rec, preds = run_one(spec, corpus, cache_dir=tmp_path / "a", device="cpu")
    train = corpus.store.split_indices("train")
    assert rec["n_val"] == len(run_split(spec, corpus.store).val) > 0 and rec["n_train"] + rec["n_val"] == len(train)
    assert rec["epochs"] == 3 and rec["stopped_early"] and rec["best_epoch"] == 1
    assert rec["val_losses"] == [1.0, 2.0, 3.0]
    assert rec["losses"][2] < rec["losses"][0]  # the training loss fell: it alone would not have stopped
    monkeypatch.setattr(training, "validation_loss", real)
    # the model kept is epoch 1's: the predictions of the same run stopped after one epoch
    one = RunSpec.build("cltnet", "none", 0, max_epochs=1, patience=2, val_fraction=0.2, model_overrides=SMALL)
    rec1, preds1 = run_one(one, corpus, cache_dir=tmp_path / "b", device="cpu")
    pd.testing.assert_frame_equal(preds, preds1)
    assert rec1["val_losses"][0] > 0 and rec1["best_epoch"] == 1
    # and the saved weights are that model too
    m, _ = SavedRun.open(tmp_path / "a" / rec["key"]).evaluate(corpus.store, device="cpu")
    assert (m["wa"], m["ua"]) == (rec1["wa"], rec1["ua"])


def test_defaults_keep_the_run_keys_of_before():
    """Run keys of default settings are those of pddslib before folds and validation existed."""
    def key(spec):
        return config_hash({"spec": spec.identity(), "corpus": "0123456789abcdef", "cache_version": CACHE_VERSION})

    assert CACHE_VERSION == 2
    # computed with the code before this change
    assert key(RunSpec.build("cltnet", "pdds")) == "72e1a25dcd3b251a"
    assert key(RunSpec.build("cltnet", "pdds", val_fraction=0, fold=None)) == "72e1a25dcd3b251a"
    assert key(RunSpec.build("mat", "none", 2, max_epochs=4, model_overrides={"hidden": 128})) == "771dba1de8d655fa"
    assert "val_fraction" not in RunSpec.build("cltnet", "pdds").identity()["train"]
    assert "fold" not in RunSpec.build("cltnet", "pdds").identity()
    others = {key(RunSpec.build("cltnet", "pdds", val_fraction=0.1)), key(RunSpec.build("cltnet", "pdds", fold=5)),
              key(RunSpec.build("cltnet", "pdds", fold=4))}
    assert len(others) == 3 and "72e1a25dcd3b251a" not in others


#: The default run of the refactor guards below, recorded once (demo store 9ff8389620d30014,
#: torch 2.13.0, CPU): its training losses, and its predictions as ``predictions.csv`` wrote them.
REFERENCE_KEY = "565038182cb718d3"
REFERENCE_LOSSES = [1.3195991814580652, 1.2072441743134386]
REFERENCE_PREDICTIONS = Path(__file__).parent / "data" / f"reference-run-{REFERENCE_KEY}.csv"
#: Across CPUs (AVX-512, AVX2, or torch's ``ATEN_CPU_CAPABILITY=default`` kernels) the same float32
#: sums are added in another order: the losses of these two epochs were seen to move by 1e-8
#: relative, the written probabilities by one unit of their 6th decimal. A refactor that changes
#: anything real (a seed, the order of batches, a layer) moves the loss by more than 1e-3, so
#: these tolerances keep the guard while letting any x86 CPU pass.
LOSS_RTOL = 1e-6
PROB_ATOL = 1e-5


def test_default_run_is_bitwise_reproducible_in_one_process(corpus, tmp_path):
    """Same machine, same versions, same seed: two runs agree bit for bit (losses, weights, predictions)."""
    spec = RunSpec.build("cltnet", "pdds", 0, max_epochs=2, model_overrides=SMALL)
    rec_a, preds_a = run_one(spec, corpus, cache_dir=tmp_path / "a", device="cpu")
    rec_b, preds_b = run_one(spec, corpus, cache_dir=tmp_path / "b", device="cpu")
    assert rec_a["cached"] is False and rec_b["cached"] is False  # both trained, neither read the other
    assert rec_a["losses"] == rec_b["losses"] and (rec_a["wa"], rec_a["ua"]) == (rec_b["wa"], rec_b["ua"])
    pd.testing.assert_frame_equal(preds_a, preds_b, check_exact=True)
    for name in ("model.safetensors", "predictions.csv"):
        assert (tmp_path / "a" / rec_a["key"] / name).read_bytes() == (tmp_path / "b" / rec_b["key"] / name).read_bytes()


def test_default_results_are_those_of_before_on_any_cpu(corpus, tmp_path):
    """A default run gives what pddslib gave before the refactors, to the tolerance stated above."""
    if corpus.key != "9ff8389620d30014" or not torch.__version__.startswith("2.13.0"):
        pytest.skip("reference numbers were measured on another demo store or torch version")
    spec = RunSpec.build("cltnet", "pdds", 0, max_epochs=2, model_overrides=SMALL)
    rec, preds = run_one(spec, corpus, cache_dir=tmp_path, device="cpu")
    assert rec["key"] == run_key(spec, corpus) == REFERENCE_KEY  # a hash of settings and store content: exact
    np.testing.assert_allclose(rec["losses"], REFERENCE_LOSSES, rtol=LOSS_RTOL, atol=0)
    ref = pd.read_csv(REFERENCE_PREDICTIONS)
    written = pd.read_csv(tmp_path / rec["key"] / "predictions.csv")
    probs = [c for c in ref if c.startswith("p_")]
    assert list(written.columns) == list(ref.columns) and written["utt_id"].tolist() == ref["utt_id"].tolist()
    assert written["consensus"].tolist() == ref["consensus"].tolist()
    np.testing.assert_allclose(written[probs].to_numpy(), ref[probs].to_numpy(), rtol=0, atol=PROB_ATOL)
    # the smallest top-two margin of the reference is 1.4e-3, far above PROB_ATOL: labels must agree exactly
    top2 = np.sort(ref[probs].to_numpy(), axis=1)[:, -2:]
    assert (top2[:, 1] - top2[:, 0]).min() > 10 * PROB_ATOL
    assert written["pred"].tolist() == ref["pred"].tolist()
    # WA/UA are ratios of counts of those labels, so they are the reference's to the last bit
    truth = ref["consensus"].to_numpy()
    assert rec["wa"] == pytest.approx(float((ref["pred"].to_numpy() == truth).mean()), rel=1e-12)
    assert (rec["wa"], rec["ua"]) == pytest.approx((0.35802469, 0.30506823), abs=5e-9)


# -- one utterance ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extracted(tiny_models, tmp_path_factory):
    """A small IEMOCAP-format release (all five sessions, short wavs) extracted with the tiny models."""
    from iemocap_fixture import small_release, write_tree

    from pddslib.features.extract import extract

    utts = small_release()
    for u in utts:
        u.seconds = 0.25 + 0.1 * (len(u.utt_id) % 3) if u.seconds else u.seconds
    root = tmp_path_factory.mktemp("keep-iemocap")
    release = write_tree(root / "release", utts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = extract(release, root / "store", audio_model=tiny_models["audio"], text_model=tiny_models["text"],
                        progress=False)
    return release, store


@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
def test_predict_one_utterance_with_the_runs_encoders(extracted, tiny_models, saved, tmp_path, capsys):
    from pddslib.corpora import iemocap

    release, store_path = extracted
    code, _, err = _cli(["run", "--model", "cltnet", "--strategy", "none", "--corpus", store_path, "--seeds", "1",
                         "--epochs", "1", "--no-progress", "--device", "cpu", "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "out" / "models" / run_name(tmp_path / "out", "cltnet-none-seed0")
    arch = json.loads((run_dir / ARCH_FILE).read_text())
    assert arch["encoders"] == {"audio_model": str(Path(tiny_models["audio"]).resolve()), "audio_layer": "cnn",
                                "text_model": str(Path(tiny_models["text"]).resolve()), "dtype": "float16"}
    assert json.loads((run_dir / "run.json").read_text())["encoders"] == arch["encoders"]
    store = FeatureStore.open(store_path)
    _, every = SavedRun.open(run_dir).evaluate(store, "all", device="cpu")
    texts = iemocap.read_transcripts(release, (1, 2, 3, 4, 5)).texts
    for utt in (store.manifest["utt_id"].iloc[-1], store.manifest["utt_id"].iloc[0]):  # a test and a training one
        wav = iemocap.wav_path(release, utt)
        code, out, err = _cli(["predict", run_dir, "--wav", wav, "--text", texts[utt], "--json", "--device", "cpu"],
                              capsys)
        assert code == 0, err
        got = json.loads(out)
        stored = every.set_index("utt_id").loc[utt]
        np.testing.assert_allclose([got["probabilities"][c] for c in store.classes],
                                   [stored[f"p_{c}"] for c in store.classes], atol=2e-3)
        assert got["prediction"] == max(got["probabilities"], key=got["probabilities"].get)
    code, out, _ = _cli(["predict", run_dir, "--wav", wav, "--text", texts[utt], "--device", "cpu"], capsys)
    lines = out.splitlines()
    assert code == 0 and [ln.split()[0] for ln in lines[:-1]] == list(store.classes)
    assert lines[-1] == f"prediction: {got['prediction']}"
    # CLTNet reads the transcript: without --text, a usage error
    code, _, err = _cli(["predict", run_dir, "--wav", wav, "--device", "cpu"], capsys)
    assert code == 2 and "model cltnet uses the transcript: give --text" in err
    # a run on the synthetic demo corpus has no encoders: one line
    code, out, err = _cli(["predict", saved[0], "--wav", wav, "--text", "hello"], capsys)
    assert code == 1 and out == "" and err.splitlines() == [
        f"pdds predict: error: {saved[0]} was trained on synthetic demo features (no encoders); predict needs a "
        f"run trained on features extracted by `pdds extract`"]


#: Two run folders written by pddslib before its modules moved into wings (commit after c0c1f89):
#: a cache made by that version must be found, not trained again, by every later one.
RUNS_BEFORE_THE_MOVE = Path(__file__).parent / "data" / "runs-before-wings"


def test_a_run_cached_before_the_move_is_still_found(corpus, tmp_path, monkeypatch):
    """The keys of runs cached by an older layout of pddslib are those the package computes today."""
    cache = tmp_path / "runs"
    shutil.copytree(RUNS_BEFORE_THE_MOVE, cache)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(training, "train_model", no_training)
    for strategy, key in (("none", "cfd8bbe100a8626b"), ("pdds", "eddb1da563aab4a6")):
        spec = RunSpec.build("cltnet", strategy, 0, max_epochs=1, model_overrides=SMALL)
        assert run_key(spec, corpus) == key
        rec, preds = run_one(spec, corpus, cache_dir=cache, device="cpu")
        assert rec["cached"] is True and rec["key"] == key
        pd.testing.assert_frame_equal(preds, pd.read_csv(RUNS_BEFORE_THE_MOVE / key / "predictions.csv"))
        # and its kept weights still re-score to the numbers it recorded
        m, _ = SavedRun.open(cache / key).evaluate(corpus.store, device="cpu")
        assert (m["wa"], m["ua"]) == (rec["wa"], rec["ua"])
