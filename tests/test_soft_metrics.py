"""Soft metrics of a run: NLL, Brier score, ECE and KL from the vote distributions, by hand on small
examples, and in every record of a sweep (trained or cached, old cached runs included)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_name

from pddslib.config import RunSpec
from pddslib.features import demo_stores
from pddslib.runs import training
from pddslib.runs.cache import run_key
from pddslib.runs.corpus import load_corpus
from pddslib.runs.metrics import (
    confidence_bins,
    expected_calibration_error,
    predictions_frame,
    soft_metrics,
    soft_metrics_of,
)
from pddslib.runs.sweep import RUN_COLUMNS, run_specs

SOFT = ["nll", "brier", "ece", "kl_votes"]
#: A small CLTNet, as in tests/test_runner.py: any run will do.
SMALL = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))
RUNS_BEFORE_THE_MOVE = Path(__file__).parent / "data" / "runs-before-wings"

# three utterances, three classes
P3 = np.array([[0.70, 0.20, 0.10],
               [0.30, 0.50, 0.20],
               [0.25, 0.25, 0.50]])
Y3 = np.array([0, 2, 2])
V3 = np.array([[1.00, 0.00, 0.00],
               [0.00, 0.40, 0.60],
               [0.25, 0.25, 0.50]])


# -- by hand ----------------------------------------------------------------------------------------
def test_hand_computed_values_of_a_three_utterance_example():
    m = soft_metrics(P3, Y3, V3)
    assert set(m) == set(SOFT) and all(isinstance(v, float) for v in m.values())
    # p of the consensus class: 0.7, 0.2, 0.5 (no probability is under the 1e-6 floor)
    assert m["nll"] == pytest.approx(-(math.log(0.7) + math.log(0.2) + math.log(0.5)) / 3, rel=1e-9)
    assert m["nll"] == pytest.approx(0.88642, abs=1e-5)  # (0.35667 + 1.60944 + 0.69315) / 3
    # (0.09 + 0.04 + 0.01) + (0.09 + 0.25 + 0.64) + (0.0625 + 0.0625 + 0.25) = 0.14 + 0.98 + 0.375
    assert m["brier"] == pytest.approx(1.495 / 3, rel=1e-9)
    # confidences 0.7 (bin 10 of 15, right), 0.5 and 0.5 (bin 7: one wrong, one right; acc 0.5 = conf 0.5)
    assert m["ece"] == pytest.approx(0.3 / 3, rel=1e-9)
    # 1 log(1/0.7) + (0.4 log(0.4/0.5) + 0.6 log(0.6/0.2)) + 0 (the third predicts its votes)
    kl = (math.log(1 / 0.7) + 0.4 * math.log(0.8) + 0.6 * math.log(3)) / 3
    assert m["kl_votes"] == pytest.approx(kl, rel=1e-9)
    assert m["kl_votes"] == pytest.approx(0.30886, abs=1e-5)  # (0.35667 - 0.08926 + 0.65917) / 3


def test_perfect_one_hot_predictions_of_the_consensus():
    y = np.array([0, 2, 1, 1])
    votes = np.array([[0.5, 0.25, 0.25], [0, 0, 1], [0.2, 0.8, 0], [0, 1, 0]])
    m = soft_metrics(np.eye(3)[y], y, votes)
    # the two zeros of a row are clipped to 1e-6: p = 1 / (1 + 2e-6)
    assert 0 < m["nll"] <= -math.log(1 - 2e-6)
    assert m["brier"] == 0.0 and m["ece"] == 0.0


@pytest.mark.parametrize("c", [2, 3, 4, 6])
def test_a_uniform_predictor(c):
    y = np.arange(12) % c
    m = soft_metrics(np.full((12, c), 1 / c), y, np.eye(c)[y])
    assert m["nll"] == pytest.approx(math.log(c), rel=1e-12)
    assert m["brier"] == pytest.approx(1 - 1 / c, rel=1e-12)
    assert m["kl_votes"] == pytest.approx(math.log(c), rel=1e-12)  # one-hot votes: KL = NLL


def test_kl_is_zero_when_the_predictions_are_the_votes():
    votes = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.25, 0.5, 0.25]])
    assert soft_metrics(votes, np.array([0, 2, 1]), votes)["kl_votes"] == pytest.approx(0.0, abs=1e-15)
    # zero votes: 0 log 0 = 0; only the floor's renormalisation is left, log(1 + 1e-6)
    with_zeros = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    kl = soft_metrics(with_zeros, np.array([0, 2]), with_zeros)["kl_votes"]
    assert 0 <= kl <= 2e-6


def test_zero_probabilities_are_clipped_and_renormalised():
    # the consensus class was written as 0.000000: NLL and KL are finite, those of p = 1e-6 / (1 + 2e-6)
    m = soft_metrics(np.array([[1.0, 0.0, 0.0]]), np.array([1]), np.array([[0.0, 1.0, 0.0]]))
    expected = math.log(1e6) + math.log(1 + 2e-6)
    assert m["nll"] == pytest.approx(expected, rel=1e-12) and m["nll"] == pytest.approx(13.81551, abs=1e-5)
    assert m["kl_votes"] == pytest.approx(expected, rel=1e-12)
    assert m["brier"] == pytest.approx(2.0) and m["ece"] == pytest.approx(1.0)  # as given, not clipped
    # rows as a predictions table writes them (6 decimals) need not sum to exactly 1
    written = np.array([[0.333333, 0.333333, 0.333333]])
    assert soft_metrics(written, np.array([0]), np.array([[1.0, 0, 0]]))["nll"] == pytest.approx(math.log(3), abs=1e-5)


# -- ECE bins --------------------------------------------------------------------------------------
def test_confidences_of_exactly_zero_and_one_land_in_the_end_bins():
    assert confidence_bins([0.0, 1.0, 0.5, 0.999999], 15).tolist() == [0, 14, 7, 14]
    # each edge of numpy.linspace(0, 1, 16) opens a bin; 1.0 closes the last
    assert confidence_bins(np.linspace(0, 1, 16), 15).tolist() == [*range(15), 14]
    # dropped from the sums, either would leave ECE below 1
    assert expected_calibration_error([0.0, 1.0], [True, False]) == 1.0
    assert expected_calibration_error([0.0, 1.0], [False, True]) == 0.0


def test_a_two_bin_example():
    # bin [0, 0.5): conf 0.2, 0.4 (mean 0.3), correct 1 of 2 -> |0.5 - 0.3| * 2/4 = 0.1
    # bin [0.5, 1]: conf 0.6, 0.9 (mean 0.75), correct 2 of 2 -> |1 - 0.75| * 2/4 = 0.125
    ece = expected_calibration_error([0.2, 0.4, 0.6, 0.9], [True, False, True, True], n_bins=2)
    assert ece == pytest.approx(0.225, rel=1e-12)
    # through soft_metrics: conf 0.4, wrong (bin 0: 0.4 / 2), conf 0.9, right (bin 1: 0.1 / 2)
    probs = np.array([[0.4, 0.3, 0.3], [0.9, 0.05, 0.05]])
    m = soft_metrics(probs, np.array([1, 0]), np.eye(3)[[1, 0]], n_bins=2)
    assert m["ece"] == pytest.approx(0.25, rel=1e-12)
    # with 15 bins the two are in bins of their own too: the same gaps
    assert soft_metrics(probs, np.array([1, 0]), np.eye(3)[[1, 0]])["ece"] == pytest.approx(0.25, rel=1e-12)


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("probs, y, votes, words", [
    (P3[0], Y3, V3, r"probabilities must have shape \(N, C\), got \(3,\)"),
    (P3, Y3[:2], V3, r"y_true must have shape \(N,\) = \(3,\)"),
    (P3, Y3, V3[:2], r"votes must have shape \(3, 3\), got \(2, 3\)"),
    (P3, Y3, np.hstack([V3, np.zeros((3, 1))]), r"votes must have shape \(3, 3\), got \(3, 4\)"),
    (P3, Y3, V3 * 0.9, r"rows of votes must sum to 1 within 1e-06; row 0"),
    (P3 * 2, Y3, V3, r"rows of probabilities must sum to 1"),
    (-P3, Y3, V3, r"probabilities holds negative values"),
    (np.where(P3 > 0.6, np.nan, P3), Y3, V3, r"probabilities holds NaN or inf values \(row 0\)"),
    (P3, np.array([0, 1, 3]), V3, r"y_true must hold class indices in \[0, 3\)"),
    (P3, Y3.astype(float), V3, r"y_true must hold class indices"),
    (np.ones((0, 3)), np.array([], dtype=int), np.ones((0, 3)), r"probabilities must have shape \(N, C\) with N >= 1"),
])
def test_bad_input_is_named(probs, y, votes, words):
    with pytest.raises(ValueError, match=words):
        soft_metrics(probs, y, votes)


def test_bad_bins_are_named():
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        soft_metrics(P3, Y3, V3, n_bins=0)
    with pytest.raises(ValueError, match=r"correct must have shape \(2,\)"):
        expected_calibration_error([0.1, 0.2], [True])
    with pytest.raises(ValueError, match=r"confidence must hold values in \[0, 1\]"):
        confidence_bins([1.5])


# -- from a predictions table and a store ----------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return load_corpus(str(demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


def test_soft_metrics_of_a_predictions_table(corpus):
    store = corpus.store
    rows = store.split_indices("test")
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(store.classes)), size=len(rows))
    frame = predictions_frame(store, probs, rows)
    got = soft_metrics_of(frame.iloc[::-1], store)  # rows found by utt_id, not by position
    expected = soft_metrics(frame.filter(like="p_").to_numpy(), store.consensus_indices()[rows],
                            store.label_distributions()[rows])
    assert got == pytest.approx(expected, rel=1e-12)
    stranger = frame.copy()
    stranger.loc[3, "utt_id"] = "no_such_utterance"
    with pytest.raises(ValueError, match="utt_id 'no_such_utterance' is not in the store"):
        soft_metrics_of(stranger, store)
    with pytest.raises(ValueError, match=f"lacks column\\(s\\) p_{store.classes[1]}"):
        soft_metrics_of(frame.drop(columns=f"p_{store.classes[1]}"), store)


# -- in every run of a sweep -----------------------------------------------------------------------
def _no_training(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(training, "train_model", boom)


def test_fresh_and_cached_runs_have_the_same_soft_metrics(corpus, tmp_path, monkeypatch):
    from pddslib.cli.run import _write_outputs

    spec = RunSpec.build("cltnet", strategy="none", seed=0, max_epochs=1, model_overrides=SMALL)
    fresh = run_specs([spec], corpus, cache_dir=tmp_path / "runs", device="cpu", progress=False, log=None)
    _no_training(monkeypatch)
    cached = run_specs([spec], corpus, cache_dir=tmp_path / "runs", device="cpu", progress=False, log=None)
    a, b = fresh.runs.iloc[0], cached.runs.iloc[0]
    assert (a["cached"], b["cached"]) == (False, True)
    assert a["key"] == b["key"] == run_key(spec, corpus)
    cols = list(fresh.runs.columns)
    assert cols[cols.index("ua") + 1: cols.index("ua") + 5] == SOFT == RUN_COLUMNS[RUN_COLUMNS.index("ua") + 1:][:4]
    assert list(cached.runs.columns) == cols
    for k in SOFT:
        assert a[k] == b[k] and np.isfinite(a[k]), k
    assert a["nll"] > 0 and 0 <= a["brier"] <= 2 and 0 <= a["ece"] <= 1 and a["kl_votes"] >= 0
    assert dict(a[SOFT]) == pytest.approx(soft_metrics_of(fresh.predictions[a["key"]], corpus.store), rel=1e-12)
    # and runs.csv of `pdds run` holds them
    written = pd.read_csv(_write_outputs(tmp_path / "out", cached))
    assert written[SOFT].iloc[0].to_numpy() == pytest.approx(b[SOFT].to_numpy(dtype=float), rel=1e-12)


def test_runs_cached_before_the_soft_metrics_gain_them_without_training(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "runs"
    shutil.copytree(RUNS_BEFORE_THE_MOVE, cache)
    _no_training(monkeypatch)
    specs = [RunSpec.build("cltnet", s, 0, max_epochs=1, model_overrides=SMALL) for s in ("none", "pdds")]
    res = run_specs(specs, corpus, cache_dir=cache, device="cpu", progress=False, log=None)
    assert res.runs["key"].tolist() == ["cfd8bbe100a8626b", "eddb1da563aab4a6"] and res.runs["cached"].all()
    for _, rec in res.runs.iterrows():
        saved = pd.read_csv(RUNS_BEFORE_THE_MOVE / rec["key"] / "predictions.csv")
        assert dict(rec[SOFT]) == pytest.approx(soft_metrics_of(saved, corpus.store), rel=1e-12)


def test_pdds_run_and_pdds_evaluate_report_them(corpus, tmp_path, capsys, one_thread):
    from pddslib.cli import main

    def cli(*argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        return code, capsys.readouterr().out

    code, _ = cli("run", "--model", "cltnet_text", "--strategy", "none", "--seeds", "1", "--epochs", "1",
                  "--corpus", corpus.store.path, "--no-progress", "--device", "cpu", "--cache", tmp_path / "runs",
                  "--out", tmp_path / "out")
    assert code in (0, None)
    run = pd.read_csv(tmp_path / "out" / "runs.csv").iloc[0]
    assert not run["cached"] and run["epochs"] == 1
    assert np.isfinite(run[SOFT].to_numpy(dtype=float)).all()
    folder = tmp_path / "out" / "models" / run_name(tmp_path / "out", "cltnet_text-none-seed0")
    code, out = cli("evaluate", folder, "--device", "cpu", "--json", "--out", tmp_path / "ev")
    metrics = pd.read_json(tmp_path / "ev" / "metrics.json", typ="series")
    assert code in (0, None) and list(metrics.index[list(metrics.index).index("ua") + 1:][:4]) == SOFT
    assert metrics["same_as_run"]  # the same predictions, so the same soft metrics as runs.csv
    assert metrics[SOFT].to_numpy(dtype=float) == pytest.approx(run[SOFT].to_numpy(dtype=float), rel=1e-12)
    code, out = cli("evaluate", folder, "--device", "cpu")
    assert f"NLL {run['nll']:.3f}  Brier {run['brier']:.3f}  ECE {run['ece']:.3f}" in out
