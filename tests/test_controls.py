"""The controls: as many new samples as PDDS, without PDDS's distribution."""

import numpy as np
import pytest

from pddslib.config import RunSpec, sampler_defaults
from pddslib.pdds.controls import COPY, RANDOM_MIX, FlatPDDS, PlainMixup, RandomOversampling
from pddslib.pdds.labels import CLASSES, cells_from_distributions
from pddslib.pdds.registry import all_strategies, make_resampler
from pddslib.pdds.resample import PDDS


@pytest.fixture(scope="module")
def y():
    """Vote distributions with IEMOCAP-like imbalance: clear samples of every class plus ambiguous ones."""
    rng = np.random.default_rng(0)
    clear = np.repeat(np.arange(6), [40, 6, 30, 35, 25, 45])
    rows = [np.eye(6)[k] for k in clear]
    for _ in range(120):
        i, j = rng.choice(6, 2, replace=False)
        rows.append((2 * np.eye(6)[i] + np.eye(6)[j]) / 3)
    return np.array(rows)


def test_every_control_adds_exactly_what_pdds_adds(y):
    pdds = PDDS(random_state=0).fit(y)
    n_new = len(pdds.sample_indices_) - len(y)
    assert n_new > 0
    for cls in (RandomOversampling, PlainMixup, FlatPDDS):
        s = cls(random_state=0).fit(y)
        assert len(s.sample_indices_) - len(y) == n_new, cls.__name__
        assert s.plan_.new_samples == n_new
        assert np.allclose(s.y_resampled_[: len(y)], y) and np.allclose(s.y_resampled_.sum(1), 1)
    # with other smoothing parameters the matched size follows PDDS's
    assert len(RandomOversampling(sigma=0.5).fit(y).sample_indices_) == len(PDDS(sigma=0.5).fit(y).sample_indices_)


def test_oversampling_only_copies(y):
    s = RandomOversampling(random_state=1).fit(y)
    new = slice(len(y), None)
    a, b = s.sample_indices_[new].T
    assert (a == b).all() and (s.mix_weights_[new] == 1).all() and (s.kind_[new] == COPY).all()
    assert np.array_equal(s.y_resampled_[new], y[a])


def test_plain_mixup_mixes_random_clear_pairs_with_beta_weights(y):
    s = PlainMixup(alpha=0.4, random_state=2).fit(y)
    new = slice(len(y), None)
    a, b = s.sample_indices_[new].T
    cells = cells_from_distributions(y)
    clear = (cells[:, 0] >= 0) & (cells[:, 0] == cells[:, 1])
    assert clear[a].all() and clear[b].all() and (s.kind_[new] == RANDOM_MIX).all()
    w = s.mix_weights_[new]
    assert ((w > 0) & (w < 1)).all() and abs(w.mean() - 0.5) < 0.05   # Beta(a, a) is symmetric
    assert np.allclose(s.y_resampled_[new], w[:, None] * y[a] + (1 - w[:, None]) * y[b])
    cross = (cells[a, 0] != cells[b, 0]).mean()
    assert cross > 0.6                           # any classes, unlike PDDS's pair structure
    with pytest.raises(ValueError, match="alpha"):
        PlainMixup(alpha=0).fit(y)


def test_flat_spreads_pdds_amount_evenly_over_pairs(y):
    pdds, flat = PDDS(random_state=0).fit(y), FlatPDDS(random_state=0).fit(y)
    assert np.array_equal(flat.plan_.balanced_clear, pdds.plan_.balanced_clear)
    new_f, new_p = flat.plan_.new_ambiguous, pdds.plan_.new_ambiguous
    off = ~np.eye(6, dtype=bool)
    assert new_f.sum() == new_p.sum() and new_f[off].max() - new_f[off].min() <= 1
    assert new_p[off].max() - new_p[off].min() > 1   # PDDS itself is not flat here
    # the rows drawn follow the flat targets
    counts = np.zeros((6, 6), dtype=int)
    for i, j in flat.cells_[flat.kind_ == 2]:
        counts[i, j] += 1
    assert np.array_equal(counts, new_f)


def test_controls_are_strategies_with_declared_parameters():
    assert {"oversample", "mixup", "flat"} <= set(all_strategies())
    assert set(sampler_defaults("oversample")) == {"sigma", "normalize", "balance_ratio"}
    assert "alpha" in sampler_defaults("mixup") and "p" in sampler_defaults("flat")
    spec = RunSpec.build("cltnet", "mixup", alpha=0.3, sigma=2.0, p=0.6)   # p is not mixup's: left out
    assert spec.sampler_params["alpha"] == 0.3 and "p" not in spec.sampler_params
    assert make_resampler("flat", classes=CLASSES).strategy == "flat"


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("strategy", ["oversample", "mixup", "flat"])
def test_a_control_trains_through_the_runner(strategy, tmp_path):
    from pddslib.features import demo_stores
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    corpus = load_corpus(str(demo_stores.write_demo_store(tmp_path / "store", scale=0.05)))
    small = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))
    spec = RunSpec.build("cltnet", strategy, 0, max_epochs=1, model_overrides=small)
    rec, preds = run_one(spec, corpus, cache_dir=tmp_path / "runs", device="cpu")
    pdds = run_one(RunSpec.build("cltnet", "pdds", 0, max_epochs=1, model_overrides=small), corpus,
                   cache_dir=tmp_path / "runs", device="cpu")[0]
    assert rec["n_train"] == pdds["n_train"] and rec["strategy"] == strategy and 0 <= rec["wa"] <= 1
    assert len(preds) == rec["n_test"]
