"""The helpers that keep the notebooks thin: parameter resolution and result formatting."""

import numpy as np
import pandas as pd
import pytest

from pddslib.config import DEMO_EPOCHS, DEMO_MODEL_OVERRIDES
from pddslib.corpora.demo import DEFAULT_SCALE
from pddslib.paper.parameters import QUICK, setup, uniform_level
from pddslib.paper.views import table1_view
from pddslib.util.formats import pm


def test_pm_formats_mean_and_spread():
    assert pm(55.94, 1.23) == "55.9 ± 1.2"
    assert pm(2.5, 0.44, sign=True) == "+2.5 ± 0.4"
    assert pm(55.9, np.nan) == "55.9"  # one seed: no spread
    assert pm(np.nan, 1.0) == "–"


def test_uniform_level_scales_on_the_demo_only():
    assert uniform_level(None, synthetic=False, demo_scale=0.05) == 400
    assert uniform_level(None, synthetic=True, demo_scale=0.05) == 20
    assert uniform_level(123, synthetic=True, demo_scale=0.05) == 123


def test_setup_defaults_and_quick(monkeypatch, tmp_path):
    monkeypatch.setenv("PDDS_CACHE", str(tmp_path))
    run = setup()
    assert run.synthetic and run.max_epochs == DEMO_EPOCHS and run.n_seeds == 3
    assert run.level == round(400 * DEFAULT_SCALE)  # the uniform level scales with the demo corpus
    assert run.model_overrides("mat") == DEMO_MODEL_OVERRIDES["mat"] and run.model_overrides("cltnet")
    quick = setup(quick=True, seeds=5)
    assert quick.n_seeds == QUICK["seeds"] and quick.max_epochs == QUICK["epochs"]
    explicit = setup(seeds=2, epochs=7, level=55)
    assert (explicit.n_seeds, explicit.max_epochs, explicit.level) == (2, 7, 55)
    with pytest.raises(FileNotFoundError, match="pdds extract"):
        setup(corpus="iemocap", store=str(tmp_path / "nowhere"))


def test_table1_view_puts_the_paper_in_brackets():
    summary = pd.DataFrame([{
        "model": "cltnet", "label": "CLTNet", "wa_without": 50.0, "wa_without_std": 1.0, "wa_with": 53.0,
        "wa_with_std": 2.0, "d_wa": 3.0, "d_wa_std": 0.5, "paper_wa_without": 55.9, "paper_wa_with": 60.7,
        "paper_d_wa": 4.8}])
    view = table1_view(summary, "WA")
    assert list(view.iloc[0]) == ["CLTNet", "50.0 ± 1.0  (55.9)", "53.0 ± 2.0  (60.7)", "+3.0 ± 0.5  (+4.8)"]
