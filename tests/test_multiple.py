"""Holm and Benjamini-Hochberg against textbook values and statsmodels' multipletests."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from pddslib.paper.multiple import adjust, benjamini_hochberg, holm


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.03, 0.04 with m = 4: 4 x 0.01, 3 x 0.02, 2 x 0.03, 1 x 0.04, then running max
    p = np.array([0.03, 0.01, 0.04, 0.02])
    assert holm(p) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm(np.array([0.5, 0.6])) == pytest.approx([1.0, 1.0])       # capped at 1


def test_bh_by_hand():
    # Benjamini & Hochberg: p_(i) m / i, then the running min from the top
    p = np.array([0.01, 0.04, 0.03, 0.20])
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])


@pytest.mark.parametrize("method,sm", [("holm", "holm"), ("bh", "fdr_bh")])
def test_against_statsmodels(method, sm):
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = np.concatenate([rng.uniform(0, 1, 15), rng.uniform(0, 0.01, 5)])
        assert adjust(p, method) == pytest.approx(multipletests(p, method=sm)[1])


def test_nan_stays_nan_and_does_not_count_and_bad_input_is_refused():
    out = adjust(np.array([0.01, np.nan, 0.04]), "holm")
    assert np.isnan(out[1]) and out[[0, 2]] == pytest.approx([0.02, 0.04])
    with pytest.raises(ValueError, match="correction must be one of"):
        adjust(np.array([0.1]), "bonferroni")
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        adjust(np.array([1.2]), "holm")
