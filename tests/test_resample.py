"""The resampling API: strategies, provenance, determinism, materialisation."""

import numpy as np
import pytest

from pddslib import PDDS, ClearBalancing, NoResampling, UniformBalancing, make_resampler, plan_for
from pddslib.pdds.labels import CLASSES, cells_from_distributions
from pddslib.pdds.mixup import mix_sequences
from pddslib.pdds.resample import AMBIGUOUS_MIX, CLEAR_MIX, counts_from_cells
from pddslib.reference import iemocap_counts


def training_set(counts, seed=0):
    """Label distributions with exactly the clear / ambiguous counts of a CountTable."""
    rows = []
    for k, n in enumerate(counts.clear):
        rows += [np.eye(len(counts.classes))[k]] * int(n)
    for i in range(len(counts.classes)):
        for j in range(len(counts.classes)):
            for _ in range(int(counts.ambiguous[i, j])):
                y = np.zeros(len(counts.classes))
                y[i], y[j] = 2 / 3, 1 / 3
                rows.append(y)
    # a few rows outside any cell (three emotions)
    rows += [np.array([1 / 3, 1 / 3, 1 / 3, 0, 0, 0])] * 5
    y = np.array(rows)
    return y[np.random.default_rng(seed).permutation(len(y))]


@pytest.fixture(scope="module")
def iemocap_like():
    return training_set(iemocap_counts("train"))


def test_pdds_on_iemocap_counts_adds_the_plan(iemocap_like):
    s = PDDS(random_state=0).fit(iemocap_like)
    plan = plan_for("pdds", iemocap_counts("train"))
    assert s.counts_.n_clear == 1561 and s.counts_.n_ambiguous == 3748
    assert len(s.sample_indices_) == len(iemocap_like) + plan.new_samples == len(iemocap_like) + 7700
    assert (s.kind_ == CLEAR_MIX).sum() == 215 - 43
    # every cell of the output holds its target
    out_counts = counts_from_cells(s.cells_, CLASSES)
    assert np.array_equal(out_counts.ambiguous, plan.targets)
    assert np.array_equal(out_counts.clear, plan.balanced_clear)


def test_provenance_is_valid(iemocap_like):
    s = PDDS(p=0.8, random_state=3).fit(iemocap_like)
    n = s.n_original_
    a, b = s.sample_indices_.T
    assert (a >= 0).all() and (a < n).all() and (b >= 0).all() and (b < n).all()
    assert np.array_equal(a[:n], np.arange(n)) and np.array_equal(b[:n], np.arange(n))
    assert (s.mix_weights_[:n] == 1).all()
    src_cells = cells_from_distributions(iemocap_like)
    amb = s.kind_ == AMBIGUOUS_MIX
    # an ambiguous i>j sample mixes a clear i (weight p) and a clear j sample
    i, j = s.cells_[amb].T
    assert np.array_equal(src_cells[a[amb], 0], i) and np.array_equal(src_cells[a[amb], 1], i)
    assert np.array_equal(src_cells[b[amb], 0], j) and np.array_equal(src_cells[b[amb], 1], j)
    assert np.allclose(s.mix_weights_[amb], 0.8)
    # new clear samples mix two distinct clear samples of the class with p = 0.5
    cl = s.kind_ == CLEAR_MIX
    assert (a[cl] != b[cl]).all() and np.allclose(s.mix_weights_[cl], 0.5)
    assert np.array_equal(src_cells[a[cl], 0], src_cells[b[cl], 0])
    # labels: p e_i + (1 - p) e_j, sums 1
    y = s.y_resampled_
    assert np.allclose(y.sum(1), 1)
    assert np.allclose(y[amb, i], 0.8) and np.allclose(y[amb, j], 0.2)
    assert np.array_equal(y[:n], iemocap_like)


def test_same_seed_same_output(iemocap_like):
    a = PDDS(random_state=7).fit(iemocap_like)
    b = PDDS(random_state=7).fit(iemocap_like)
    c = PDDS(random_state=8).fit(iemocap_like)
    assert np.array_equal(a.sample_indices_, b.sample_indices_)
    assert not np.array_equal(a.sample_indices_, c.sample_indices_)


def test_strategies_sizes(iemocap_like):
    n = len(iemocap_like)
    assert len(NoResampling().fit(iemocap_like).sample_indices_) == n
    hap = ClearBalancing(random_state=0).fit(iemocap_like)
    assert len(hap.sample_indices_) == n + 172
    uni = UniformBalancing(random_state=0).fit(iemocap_like)
    counts = iemocap_counts("train")
    expected = np.maximum(counts.clear, 400).sum() - counts.clear.sum()
    amb = np.maximum(counts.ambiguous, 400)
    np.fill_diagonal(amb, 0)
    expected += amb.sum() - counts.ambiguous.sum()
    assert len(uni.sample_indices_) == n + expected
    # the paper's point: uniform balancing makes a larger training set than PDDS
    assert len(uni.sample_indices_) > len(PDDS(random_state=0).fit(iemocap_like).sample_indices_)


def test_fit_resample_materialises_arrays_and_sequences():
    y = np.eye(6)[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]]
    X = np.arange(12.0)[:, None] * np.ones((1, 3))
    s = PDDS(random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    a, b = s.sample_indices_.T
    w = s.mix_weights_
    assert X_res.shape == (len(a), 3)
    assert np.allclose(X_res[:, 0], w * a + (1 - w) * b)
    seqs = [{"audio": np.full((k + 1, 2), float(k))} for k in range(12)]
    items, _ = s.fit_resample(seqs, y)
    assert type(items) is list and len(items) == len(a)  # a list in, a list out (lazily: pddslib.pdds.dataset)
    k = len(a) - 1
    assert items[k]["audio"].shape[0] == max(a[k], b[k]) + 1
    assert items[0] is seqs[0]


def test_mixed_samples_is_lazy():
    from pddslib.pdds.resample import MixedSamples

    s = PDDS(random_state=0).fit(np.eye(6)[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]])
    reads = []

    class Items:
        def __getitem__(self, i):
            reads.append(i)
            return np.full((i + 1, 2), float(i))

    view = MixedSamples(Items(), s.sample_indices_, s.mix_weights_)
    assert len(view) == len(s.sample_indices_) and reads == []
    k = len(view) - 1
    a, b = s.sample_indices_[k]
    np.testing.assert_allclose(view[k], mix_sequences(np.full((a + 1, 2), float(a)), np.full((b + 1, 2), float(b)),
                                                      s.mix_weights_[k]))
    assert sorted(reads) == sorted([a, b])


def test_cells_override_distributions():
    # an utterance whose votes look clear but that the vote policy excluded: not a clear sample
    y = np.eye(6)[[1, 1, 0, 0, 2]]
    cells = cells_from_distributions(y)
    cells[0] = -1
    s = ClearBalancing(random_state=0).fit(y, cells=cells)
    assert s.counts_.clear[1] == 1


def test_validation_errors():
    y = np.eye(6)[[0, 1]]
    with pytest.raises(ValueError, match="sums to"):
        PDDS().fit(y * 0.5)
    with pytest.raises(ValueError, match="shape"):
        PDDS().fit(np.ones((3, 4)) / 4)
    with pytest.raises(ValueError, match=r"'p' parameter of PDDS must be a float in the range \[0, 1\]\. Got 1\.2"):
        PDDS(p=1.2).fit(y)
    with pytest.raises(ValueError, match="no clear sample"):
        PDDS().fit(np.eye(6)[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]])  # fru has no clear sample
    one_hap = np.eye(6)[[0] * 10 + [1] + [2] * 10 + [3] * 10 + [4] * 10 + [5] * 10]
    with pytest.raises(ValueError, match="two distinct clear samples, but has 1"):
        ClearBalancing().fit(one_hap)  # 1 -> 10 needs pairs of distinct samples
    with pytest.raises(ValueError, match="unknown strategy"):
        make_resampler("smote")
    with pytest.raises(TypeError, match="sigma"):
        make_resampler("uniform", sigma=2)
    with pytest.raises(ValueError, match="X has"):
        PDDS().fit_resample(np.ones((3, 1)), y)


def test_get_params_and_repr():
    s = PDDS(sigma=2.0, p=0.7, random_state=1)
    assert s.get_params()["sigma"] == 2.0 and s.get_params()["p"] == 0.7
    assert "sigma=2.0" in repr(s)


def test_works_on_other_class_sets(crema_d_votes):
    from pddslib.corpora import crema_d

    frame = crema_d.votes(crema_d_votes, agreement=1.0)
    y = frame[[f"dist_{c}" for c in crema_d.CLASSES]].to_numpy()
    s = PDDS(classes=crema_d.CLASSES, random_state=0).fit(y)
    assert s.counts_.n_clear == 383
    assert len(s.sample_indices_) == len(y) + plan_for("pdds", crema_d.stats(crema_d_votes, agreement=1.0)).new_samples
