"""Models and strategies are declared once, in their registries, and everything reads them: a model
or a strategy registered in this file alone is accepted by the run configuration, built, offered by
the CLI and given a label."""

from __future__ import annotations

import pytest

from pddslib.config import MODEL_INPUTS, MODEL_NAMES, ORIGINAL_RECIPES, RunSpec, strategies
from pddslib.models import registry as models
from pddslib.pdds import registry as samplers
from pddslib.pdds.resample import NoResampling


class _Identity(NoResampling):
    """A toy strategy: the original data, under another name."""

    strategy = "toy"


@pytest.fixture
def toy_strategy():
    entry = samplers.register(samplers.Strategy("toy", _Identity, "A toy strategy", control=True))
    yield entry
    samplers._STRATEGIES.pop("toy")


@pytest.fixture
def toy_model():
    entry = models.register(models.ModelEntry("toy_cltnet", "pddslib.models.cltnet", "CLTNet", "CLTNetConfig",
                                              ("audio",), "A toy model", fixed={"modalities": ("audio",)}))
    yield entry
    models._MODELS.pop("toy_cltnet")


def test_the_views_of_the_model_registry_are_the_registry():
    assert MODEL_NAMES == tuple(models.MODELS) == ("cltnet", "cltnet_audio", "cltnet_text", "speechtext", "mat",
                                                    "mcsan")
    assert MODEL_INPUTS["cltnet_text"] == ("text",) and ORIGINAL_RECIPES["mat"]["lr"] == 1e-4
    from pddslib.reference import paper_table1

    paper = paper_table1().set_index("model")["label"]     # the registry's labels are the paper's names
    assert {n: e.label for n, e in models.MODELS.items()} == paper.to_dict()


def test_a_strategy_registered_once_reaches_every_reader(toy_strategy):
    from pddslib.cli import build_parser
    from pddslib.paper.experiments import STRATEGY_LABELS

    assert "toy" in strategies() and "toy" in samplers.all_strategies()
    spec = RunSpec.build("cltnet", "toy", 0)
    assert spec.strategy == "toy" and isinstance(samplers.make_resampler("toy"), _Identity)
    assert samplers.strategy_labels()["toy"] == STRATEGY_LABELS["toy"] == "A toy strategy"
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    assert "toy" in next(a for a in run._actions if a.dest == "strategy").choices
    with pytest.raises(ValueError, match="already registered"):
        samplers.register(samplers.Strategy("toy", _Identity, "again"))


def test_a_model_registered_once_is_checked_and_built(toy_model):
    from pddslib.config import check_model_fits as fits
    from pddslib.models import build_model
    from pddslib.runs.corpus import check_model_fits  # noqa: F401  (the runner's check reads the registry)

    spec = RunSpec.build("toy_cltnet", "none", 0)
    assert spec.model == "toy_cltnet"
    model = build_model("toy_cltnet", audio_dim=8, text_dim=4)
    assert model.config.modalities == ("audio",)
    fits("toy_cltnet", ("audio",))                                     # audio-only store: fits
    with pytest.raises(ValueError, match="model 'cltnet' needs audio and text"):
        fits("cltnet", ("audio",))
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        RunSpec.build("nope", "none", 0)
