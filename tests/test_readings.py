"""The open readings as options: uniform's unordered pairs, the size table, one-hot targets, the
class-weighted loss, run keys that do not move for defaults, the CLI options and the chapter's
rows (pddslib.paper.readings)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from pddslib.config import RunSettings, RunSpec, TrainConfig, sampler_defaults, strategies
from pddslib.pdds.counts import CountTable
from pddslib.pdds.registry import make_resampler, plan_for
from pddslib.pdds.resample import LEVEL, PAIRS, UniformBalancing, unordered_targets
from pddslib.pdds.smoothing import balance_clear
from pddslib.reference import iemocap_counts

ABC = ("a", "b", "c")


def _counts(clear, ambiguous, classes=ABC) -> CountTable:
    return CountTable(classes, np.array(clear, dtype=np.int64), np.array(ambiguous, dtype=np.int64))


# -- uniform balancing: ordered or unordered pairs --------------------------------------------------
def test_uniform_pairs_default_is_declared_once_and_ordered():
    assert PAIRS == "ordered" and UniformBalancing().pairs == PAIRS
    assert sampler_defaults("uniform")["pairs"] == PAIRS


def test_unordered_pairs_on_hand_made_counts():
    # a>b 1, b>a 5 (total 6); a>c 0, c>a 0 (total 0); b>c 1, c>b 0 (total 1); level 7
    counts = _counts([10, 3, 8], [[0, 1, 0], [5, 0, 1], [0, 0, 0]])
    plan = plan_for("uniform", counts, level=7, pairs="unordered")
    # by hand, filling the smaller cell first:
    #   {a, b}: b>a holds 5 >= 7 / 2, so a>b gets 7 - 5 = 2 and b>a keeps 5
    #   {a, c}: 0 and 0, a tie: a>c (major first) gets the first and the odd one: 4, c>a 3
    #   {b, c}: c>b (0) is smaller: 1 to reach b>c's 1, then alternately from c>b: c>b 4, b>c 3
    assert plan.targets.tolist() == [[0, 2, 4], [5, 0, 3], [3, 4, 0]]
    assert plan.balanced_clear.tolist() == [10, 7, 8]
    assert plan.params == {"level": 7, "pairs": "unordered"}
    ordered = plan_for("uniform", counts, level=7, pairs="ordered")
    assert ordered.targets.tolist() == [[0, 7, 7], [7, 0, 7], [7, 7, 0]]
    # a pair already at the level keeps its cells, even when one of them is below it
    big = plan_for("uniform", _counts([9, 9, 9], [[0, 6, 0], [2, 0, 0], [0, 0, 0]]), level=7, pairs="unordered")
    assert big.targets[0, 1] == 6 and big.targets[1, 0] == 2
    with pytest.raises(ValueError, match=r"The 'pairs' parameter of UniformBalancing must be a str among "
                                         r"\{'ordered', 'unordered'\}\. Got 'both' instead"):
        plan_for("uniform", counts, pairs="both")


def _one_by_one(a_ij: int, a_ji: int, level: int) -> tuple[int, int]:
    """The documented rule, simulated: each new sample to the cell that holds fewer; ties to the
    smaller original, then to i>j."""
    t = [a_ij, a_ji]
    while sum(t) < level:
        if t[0] != t[1]:
            k = 0 if t[0] < t[1] else 1
        else:
            k = 0 if a_ij <= a_ji else 1
        t[k] += 1
    return t[0], t[1]


def test_unordered_targets_match_the_one_by_one_rule():
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = int(rng.integers(2, 6))
        amb = rng.integers(0, 30, size=(c, c)) * (rng.random((c, c)) < 0.7)
        np.fill_diagonal(amb, 0)
        level = int(rng.integers(0, 50))
        got = unordered_targets(amb, level)
        for i, j in itertools.combinations(range(c), 2):
            if amb[i, j] + amb[j, i] >= level:
                assert (got[i, j], got[j, i]) == (amb[i, j], amb[j, i])
            else:
                assert (got[i, j], got[j, i]) == _one_by_one(int(amb[i, j]), int(amb[j, i]), level)


def test_unordered_uniform_draws_its_plan():
    rng = np.random.default_rng(1)
    y = np.eye(3)[rng.integers(0, 3, 40)]
    y[:4] = [2 / 3, 1 / 3, 0]  # four ambiguous a>b samples
    sampler = make_resampler("uniform", level=12, pairs="unordered", classes=ABC, random_state=0).fit(y)
    s = sampler.sampling_strategy_
    assert s["a>b"][1] + s["b>a"][1] == 12 and s["a>c"][1] + s["c>a"][1] == 12
    assert len(sampler.sample_indices_) == 40 + sum(b - a for a, b in s.values())


# -- the size table ------------------------------------------------------------------------------
def test_size_table_against_hand_computation_from_the_packaged_counts():
    from pddslib.paper.readings import reading_sizes

    counts = iemocap_counts("train")
    sizes = reading_sizes(counts, n_train=5758).set_index(["normalize", "pairs"])
    clear, amb = counts.clear, counts.ambiguous
    c = len(clear)
    # uniform, unordered pairs, by hand: clear classes and unordered pair totals below 400 -> 400
    new_clear = sum(LEVEL - n for n in clear if n < LEVEL)
    totals = [amb[i, j] + amb[j, i] for i in range(c) for j in range(i + 1, c)]
    new_pairs = sum(LEVEL - t for t in totals if t < LEVEL)
    assert (new_clear, new_pairs) == (839, 3428)
    assert sizes.loc[("sum", "unordered"), "uniform_new"] == new_clear + new_pairs == 4267
    assert sizes.loc[("sum", "unordered"), "uniform_train"] == 5758 + 4267
    # uniform, ordered cells
    new_cells = sum(LEVEL - amb[i, j] for i in range(c) for j in range(c) if i != j and amb[i, j] < LEVEL)
    assert sizes.loc[("none", "ordered"), "uniform_new"] == new_clear + new_cells
    # PDDS, sum-normalised kernel: Eq. (1) on the balanced clear counts, by hand
    w = math.exp(-0.5)
    side, centre = w / (1 + 2 * w), 1 / (1 + 2 * w)
    bal = balance_clear(clear)
    assert bal.tolist()[1] == 215  # happiness 43 -> 215
    met, new_amb = 0, 0
    for i in range(c):
        for j in range(c):
            if i != j:
                smooth = side * bal[i] + centre * amb[i, j] + side * amb[j, i]
                met += amb[i, j] >= smooth
                new_amb += max(0, math.floor(smooth + 0.5) - amb[i, j])
    assert sizes.loc[("sum", "ordered"), "clause_cells"] == met == 5
    assert sizes.loc[("sum", "ordered"), "pdds_new_ambiguous"] == new_amb
    assert sizes.loc[("sum", "ordered"), "pdds_new"] == new_amb + 172
    # unnormalised: the clause never applies; ang>fru 481 doubles
    assert sizes.loc[("none", "ordered"), "clause_cells"] == 0
    assert plan_for("pdds", counts).targets[0, 5] == 962
    assert sizes.loc[("none", "ordered"), "pdds_ambiguous"] == 11276 and counts.n_ambiguous == 3748


def test_size_table_flags_the_readings_consistent_with_the_paper():
    from pddslib.paper.readings import reading_sizes
    from pddslib.paper.readings_views import sizes_view, sizes_words

    sizes = reading_sizes(iemocap_counts("train")).set_index(["normalize", "pairs"])
    assert sizes["consistent"].to_dict() == {("none", "ordered"): False, ("none", "unordered"): False,
                                             ("sum", "ordered"): True, ("sum", "unordered"): True}
    assert not sizes.loc[("none", "unordered"), "uniform_largest"]  # PDDS 7,700 > uniform 4,267
    assert sizes.loc[("none", "unordered"), "pdds_new"] > sizes.loc[("none", "unordered"), "uniform_new"]
    assert sizes["uniform_largest"].sum() == 3 and sizes["most_below"].all()
    assert list(sizes["clause_applies"]) == [False, False, True, True]
    words = sizes_words(sizes.reset_index())
    assert "fails for: unnormalised kernel with unordered pairs" in words
    assert "Consistent with all three statements: sum-normalised kernel with ordered pairs, sum-normalised" in words
    assert list(sizes_view(sizes.reset_index())["consistent with the paper"]) == ["no", "no", "yes", "yes"]


# -- targets = onehot ------------------------------------------------------------------------------
def test_onehot_targets_change_only_the_original_rows():
    from pddslib.runs.one import training_targets

    y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1],
                  [2 / 3, 1 / 3, 0], [1 / 3, 0, 2 / 3], [0.5, 0.5, 0.0]])
    consensus = np.array([0, 0, 1, 1, 2, 2, 0, 2, 1])  # the tie's consensus is b
    for strategy, params in (("pdds", {}), ("oversample", {}), ("uniform", {"level": 4})):
        sampler = make_resampler(strategy, classes=ABC, random_state=0, **params).fit(y)
        votes = training_targets(sampler, consensus, "votes")
        assert votes is sampler.y_resampled_
        onehot = training_targets(sampler, consensus, "onehot")
        src, w = sampler.sample_indices_, sampler.mix_weights_
        original = (src[:, 0] == src[:, 1]) & (w == 1)
        assert original[:len(y)].all() and (~original).any() == (strategy != "oversample")
        assert np.array_equal(onehot[original], np.eye(3)[consensus[src[original, 0]]])
        assert np.array_equal(onehot[~original], sampler.y_resampled_[~original])  # mixes keep Eq. (3)
        assert not np.array_equal(onehot, votes)  # the ambiguous originals did change
        assert np.array_equal(sampler.y_resampled_[:len(y)], y)  # the sampler itself is untouched
    with pytest.raises(ValueError, match="targets"):
        training_targets(sampler, consensus, "hard")


# -- class_weight = balanced ------------------------------------------------------------------------
def test_balanced_class_weights_are_inverse_class_frequencies():
    from pddslib.runs.training import sample_weights

    y = np.array([[1, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]])
    # masses: a 2.5, b 1.5, c 0 -> weights N / (C m): 4 / 7.5, 4 / 4.5, 0 (absent)
    wa, wb = 4 / 7.5, 4 / 4.5
    assert np.allclose(sample_weights(y, "balanced"), [wa, wa, 0.5 * wa + 0.5 * wb, wb])
    assert sample_weights(y, "none") is None
    onehot = np.eye(2)[[0, 0, 0, 1]]
    assert np.allclose(sample_weights(onehot, "balanced"), [4 / 6, 4 / 6, 4 / 6, 2.0])
    with pytest.raises(ValueError, match="class_weight"):
        sample_weights(y, "inverse")
    with pytest.raises(ValueError, match="class_weight"):
        TrainConfig(class_weight="inverse")


def test_weighted_kl_loss_and_an_unchanged_default():
    import torch
    import torch.nn.functional as F

    from pddslib.runs.training import kl_loss

    torch.manual_seed(0)
    logits, target = torch.randn(5, 3), torch.softmax(torch.randn(5, 3), -1)
    plain = kl_loss(logits, target)
    assert torch.equal(plain, F.kl_div(F.log_softmax(logits.float(), -1), target.float(), reduction="batchmean"))
    w = torch.tensor([1.0, 2.0, 0.5, 0.0, 1.5])
    per = (target * (target.log() - F.log_softmax(logits, -1))).sum(-1)
    assert torch.allclose(kl_loss(logits, target, w), (w * per).sum() / 5, atol=1e-6)
    assert torch.allclose(kl_loss(logits, target, torch.ones(5)), plain, atol=1e-6)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("class_weight", ["none", "balanced"])
def test_train_model_passes_weights_only_when_asked(monkeypatch, class_weight):
    import torch

    from pddslib.features import demo_stores
    from pddslib.features.store import FeatureStore
    from pddslib.models import build_model
    from pddslib.runs import training

    store = FeatureStore.open(demo_stores.ensure_demo_store(0.05, 0))
    cpu = torch.device("cpu")
    banks = {m: training.SequenceBank(store.arrays[m], store.offsets[m], cpu) for m in ("audio", "text")}
    rows = store.split_indices("train")[:12]
    y = store.label_distributions()[rows]
    calls = []
    real = training.kl_loss

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(training, "kl_loss", spy)
    model = build_model("cltnet_text", audio_dim=store.dims["audio"], text_dim=store.dims["text"], d2=16, d=16,
                        n_layers=1, n_heads=2, ff_dim=32)
    training.train_model(model, banks, np.stack([rows, rows], 1), np.ones(12), y,
                         TrainConfig(batch_size=12, max_epochs=1, bucket=False, class_weight=class_weight), seed=0)
    (args,) = calls
    if class_weight == "none":
        assert len(args) == 2  # the default path calls Eq. (6) exactly as before
    else:
        assert len(args) == 3
        order = np.random.default_rng([0, 1]).permutation(12)  # the epoch's one batch, as train_model draws it
        expected = training.sample_weights(y, "balanced")[order]
        assert np.allclose(args[2].numpy(), expected, atol=1e-6)


# -- run keys: unchanged for defaults ----------------------------------------------------------------
#: What RunSpec.identity() held before targets, class_weight, pairs and replacement existed.
_OLD_TRAIN = ("lr", "weight_decay", "batch_size", "max_epochs", "patience", "amp", "bucket")
_NEW_SAMPLER = ("pairs", "replacement")


def _old_identity(spec: RunSpec) -> dict:
    train = {k: getattr(spec.train, k) for k in _OLD_TRAIN}
    sampler = {k: v for k, v in spec.sampler_params.items() if k not in _NEW_SAMPLER}
    return {"model": spec.model, "strategy": spec.strategy, "seed": spec.seed, "sampler": sampler, "train": train,
            "model_overrides": dict(spec.model_overrides)}


def test_run_keys_of_default_specs_are_unchanged():
    from pddslib.features.store import config_hash

    for strategy in strategies():
        for spec in (RunSpec.build("cltnet", strategy), RunSpec.build("mat", strategy, 2, max_epochs=4, lr=1e-4),
                     RunSettings(seeds=1).spec("cltnet", strategy, 0, synthetic=True, scale=0.05)):
            assert spec.identity() == _old_identity(spec), strategy
            assert config_hash(spec.identity()) == config_hash(_old_identity(spec))
    # a new setting enters the key only when it is not its default
    base = RunSpec.build("cltnet", "uniform")
    for params in ({"targets": "onehot"}, {"class_weight": "balanced"}, {"pairs": "unordered"},
                   {"replacement": True}):
        other = RunSpec.build("cltnet", "uniform", **params)
        ident = other.identity()
        assert ident != base.identity()
        (name, value), = params.items()
        assert (ident["train"] if name in ("targets", "class_weight") else ident["sampler"])[name] == value
    # spelled out at its default, a new setting changes nothing
    assert RunSpec.build("cltnet", "uniform", pairs="ordered", targets="votes", class_weight="none",
                         replacement=False).identity() == base.identity()


# -- the command line --------------------------------------------------------------------------------
def test_cli_options_reach_the_run_spec(tmp_path):
    from pddslib.cli import build_parser
    from pddslib.cli.run import settings_from_args

    args = build_parser().parse_args(["run", "--model", "cltnet", "--strategy", "uniform", "--pairs", "unordered",
                                      "--targets", "onehot", "--class-weight", "balanced", "--out", str(tmp_path)])
    spec = settings_from_args(args).spec("cltnet", "uniform", 0, synthetic=False)
    assert spec.sampler_params["pairs"] == "unordered"
    assert (spec.train.targets, spec.train.class_weight) == ("onehot", "balanced")
    plain = settings_from_args(build_parser().parse_args(["run", "--model", "cltnet", "--out", str(tmp_path)]))
    spec = plain.spec("cltnet", "uniform", 0, synthetic=False)
    assert (spec.sampler_params["pairs"], spec.train.targets, spec.train.class_weight) == ("ordered", "votes", "none")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--model", "cltnet", "--targets", "hard", "--out", str(tmp_path)])


def test_pdds_plan_takes_pairs(capsys):
    from pddslib.cli import main

    assert main(["plan", "--reference", "train", "--strategy", "uniform", "--pairs", "unordered", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == plan_for("uniform", iemocap_counts("train"), pairs="unordered").to_dict()
    assert got["new_samples"] == 4267


# -- the chapter's rows ------------------------------------------------------------------------------
def test_chapter_rows_reuse_table_runs_and_skip_recipes_a_model_lacks(tmp_path, monkeypatch):
    from pddslib.config import ORIGINAL_RECIPES
    from pddslib.paper.parameters import setup
    from pddslib.paper.readings import READINGS, reading_specs, readings_models, recipe_models, row_names
    from pddslib.runs.cache import run_key

    monkeypatch.setenv("PDDS_CACHE", str(tmp_path))
    run = setup(seeds=2)
    named = reading_specs(run.corpus, run.settings, ["cltnet"], recipe=["mat"])
    cl = [(n, s) for n, s in named if s.model == "cltnet"]
    assert {n for n, _ in cl} == {r.name for r in READINGS if not r.original_recipe}
    keys = {n: run_key(s, run.corpus) for n, s in cl if s.seed == 0}
    # the default rows are Table 1's and Table 2's runs (same keys: cached by the table notebooks)
    for name, strategy in (("pdds", "pdds"), ("none", "none"), ("uniform pairs=ordered", "uniform")):
        assert keys[name] == run_key(run.corpus.spec(run.settings, "cltnet", strategy, 0), run.corpus)
    assert len(set(keys.values())) == len(keys)  # every row is a different run
    mat = [(n, s) for n, s in named if s.model == "mat"]
    assert sorted({n for n, _ in mat}) == sorted(["none", "pdds", "none original recipe", "pdds original recipe"])
    recipe = next(s for n, s in mat if n == "pdds original recipe")
    assert recipe.train.lr == ORIGINAL_RECIPES["mat"]["lr"]
    assert readings_models(None, synthetic=True) == ["cltnet"]
    assert readings_models(None, synthetic=False) == ["cltnet", "cltnet_text", "cltnet_audio"]
    assert readings_models(None, synthetic=False, quick=True) == ["cltnet"]
    assert readings_models("cltnet, mat", synthetic=True) == ["cltnet", "mat"]
    assert recipe_models(None, synthetic=False) == ["speechtext", "mat"] and recipe_models(None, synthetic=True) == []
    assert row_names("pdds, normalize=sum") == ["pdds", "normalize=sum"] and row_names(None) is None
    with pytest.raises(ValueError, match="unknown reading"):
        row_names("pdds,normalise=sum")
    # any notebook can run under another reading: setup() passes the settings on
    other = setup(seeds=1, targets="onehot", pairs="unordered")
    spec = other.corpus.spec(other.settings, "cltnet", "uniform", 0)
    assert (spec.train.targets, spec.sampler_params["pairs"]) == ("onehot", "unordered")


def _fake_tests(significant: dict[tuple[str, str], bool]) -> pd.DataFrame:
    """A long test table (one row per comparison and metric) as readings_tests returns it."""
    rows = []
    for (a, b), sig in significant.items():
        d = 5.0 if sig else 0.5
        for metric in ("wa", "ua"):
            rows.append({"family": "readings", "model": "cltnet", "a": a, "b": b, "group": "g",
                         "question": f"{b} vs {a}", "metric": metric, "estimate": d, "low": d - 1, "high": d + 1,
                         "p": 0.001 if sig else 0.5, "direction": "B", "seed_sd": 1.0, "floor_sd": 0.5,
                         "n_seeds": 3, "n_utterances": 80, "p_models": 0.01, "p_adj": 0.003 if sig else 0.6,
                         "significant": sig, "m": 2 * len(significant), "correction": "bh"})
    return pd.DataFrame(rows)


def test_conclusion_is_generated_from_the_numbers_and_flags_synthetic_data():
    from pddslib.paper.readings_views import conclusion, tests_view

    tests = _fake_tests({("none", "pdds"): True, ("pdds", "normalize=sum"): False, ("flat", "pdds"): False})
    text = conclusion(pd.DataFrame(), tests, synthetic=True, corpus_name="demo (synthetic, scale 0.05)")
    assert "synthetic demo corpus" in text and "describe the demo generator" in text
    assert "after Benjamini-Hochberg correction over 6 comparisons" in text
    assert "1 of 3 WA changes and 1 of 3 UA changes are significant" in text
    assert "pdds vs none: +5.0 WA, +5.0 UA points (significant, WA significant, UA significant)" in text
    assert "normalize=sum vs pdds: +0.5 WA, +0.5 UA points (within noise)" in text
    assert "Readings that change PDDS's own result beyond noise: none (of 1 tested)" in text
    real = conclusion(pd.DataFrame(), _fake_tests({("pdds", "normalize=sum"): True}), synthetic=False)
    assert "synthetic" not in real and "normalize=sum (of 1 tested)" in real
    view = tests_view(tests)
    assert list(view["verdict"]) == ["WA B higher; UA B higher", "WA within noise; UA within noise",
                                     "WA within noise; UA within noise"]
    assert list(view["p WA (BH)"]) == ["0.003", "0.600", "0.600"]
