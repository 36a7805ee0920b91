"""The run configuration declared once: sampler defaults from the samplers, corpus defaults in one
place, the CLI and the notebooks resolving the same choices to the same runs, and a core install
that works without torch."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pddslib.config import (
    DEMO_EPOCHS,
    DEMO_MODEL_OVERRIDES,
    RunSettings,
    RunSpec,
    TrainConfig,
    corpus_defaults,
    default_of,
    sampler_defaults,
)
from pddslib.corpora.demo import DEFAULT_SCALE
from pddslib.pdds.registry import make_resampler
from pddslib.pdds.resample import PDDS, UniformBalancing

REPO = Path(__file__).resolve().parents[1]
TRAINING_NOTEBOOKS = ("table1", "table2", "fig5", "fig6", "readings")


def test_sampler_defaults_are_the_samplers_own():
    assert default_of("pdds", "sigma") == PDDS().sigma
    assert default_of("pdds", "p") == PDDS().p
    assert default_of("uniform", "level") == UniformBalancing().level
    for strategy in ("none", "happiness", "uniform", "pdds"):
        params = make_resampler(strategy).get_params()
        assert set(sampler_defaults(strategy)) == set(params) - {"classes", "random_state"}


def test_runspec_resolves_validates_and_canonicalises():
    spec = RunSpec.build("cltnet", "pdds", sigma=2.0, max_epochs=5)
    assert spec.sampler_params["sigma"] == 2.0 and spec.sampler_params["p"] == default_of("pdds", "p")
    assert spec.train == TrainConfig(max_epochs=5)
    # a parameter the strategy does not take is left out; an unknown name is an error
    assert "sigma" not in RunSpec.build("cltnet", "none", sigma=2.0).sampler_params
    with pytest.raises(ValueError, match="unknown run setting.*sigmaa"):
        RunSpec.build("cltnet", "pdds", sigmaa=2.0)
    with pytest.raises(ValueError, match="takes no parameter level"):
        RunSpec("cltnet", "pdds", sampler=(("level", 3),))
    # equal settings spelled differently are one spec
    assert RunSpec.build("cltnet", "pdds", normalize=None) == RunSpec.build("cltnet", "pdds", normalize="none")
    assert RunSpec.build("cltnet", "pdds", p=0.8) == RunSpec.build("cltnet", "pdds")
    with pytest.raises(ValueError, match="batch_size"):
        RunSpec.build("cltnet", "pdds", batch_size=0)


def test_corpus_defaults_live_in_one_place():
    real = corpus_defaults(synthetic=False)
    assert real == {"params": {}, "model_overrides": {}}
    demo = corpus_defaults(synthetic=True, scale=0.05)
    assert demo["params"] == {"max_epochs": DEMO_EPOCHS, "level": round(default_of("uniform", "level") * 0.05)}
    assert demo["model_overrides"] == DEMO_MODEL_OVERRIDES
    s = RunSettings(seeds=2, params={"level": 7})
    spec = s.spec("mat", "uniform", 1, synthetic=True, scale=0.05)
    assert spec.sampler_params["level"] == 7 and spec.train.max_epochs == DEMO_EPOCHS
    assert dict(spec.model_overrides) == DEMO_MODEL_OVERRIDES["mat"]
    assert s.spec("mat", "uniform", 1, synthetic=False).train.max_epochs == TrainConfig().max_epochs
    recipe = RunSettings(original_recipe=True).spec("mat", "none", 0, synthetic=False)
    assert (recipe.train.lr, recipe.train.batch_size) == (1e-4, 32)
    mine = RunSettings(original_recipe=True, params={"lr": 3e-4}).spec("mat", "none", 0, synthetic=False)
    assert mine.train.lr == 3e-4  # what the user gives wins over the recipe


def _parameters(notebook: str) -> dict[str, object]:
    """The papermill parameter cell of notebooks/NAME.py: {name: default}."""
    text = (REPO / "notebooks" / f"{notebook}.py").read_text()
    cell = text.split('# %% tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    out = {}
    for node in ast.parse(cell).body:
        if isinstance(node, ast.AnnAssign):
            out[node.target.id] = ast.literal_eval(node.value)
    return out


@pytest.mark.parametrize("notebook", TRAINING_NOTEBOOKS)
def test_notebook_parameters_match_setup(notebook):
    from pddslib.paper.parameters import setup

    sig = inspect.signature(setup).parameters
    params = _parameters(notebook)
    shared = [n for n in params if n in sig]
    assert {"corpus", "seeds", "epochs", "demo_scale", "device", "quick", "cache_dir"} <= set(shared)
    for name in shared:
        assert params[name] == sig[name].default, (notebook, name)
    # and each shared parameter is passed on to setup() by name
    text = (REPO / "notebooks" / f"{notebook}.py").read_text()
    call = text.split("run = setup(", 1)[1].split(")\n", 1)[0]
    for name in shared:
        assert f"{name}={name}" in call, (notebook, name)


def test_cli_and_notebook_resolve_to_the_same_runs(tmp_path, monkeypatch):
    from pddslib.cli import build_parser
    from pddslib.cli.run import settings_from_args
    from pddslib.paper.parameters import setup
    from pddslib.runs.cache import run_key
    from pddslib.runs.corpus import load_corpus

    monkeypatch.setenv("PDDS_CACHE", str(tmp_path))
    args = build_parser().parse_args(["run", "--model", "cltnet", "--strategy", "uniform", "--out", str(tmp_path / "o")])
    corpus = load_corpus(args.corpus, demo_scale=args.demo_scale)
    cli = settings_from_args(args)
    nb = setup()
    assert nb.corpus.key == corpus.key
    for seed in range(3):
        a = corpus.spec(cli, "cltnet", "uniform", seed)
        b = nb.corpus.spec(nb.settings, "cltnet", "uniform", seed)
        assert a == b and run_key(a, corpus) == run_key(b, nb.corpus)
    assert nb.max_epochs == DEMO_EPOCHS and nb.level == corpus_defaults(synthetic=True, scale=DEFAULT_SCALE)["params"]["level"]


CORE_ONLY = """
import sys
for name in ("torch", "transformers", "soundfile", "matplotlib", "scipy"):
    sys.modules[name] = None  # importing it now fails, as in the core install
from pddslib.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("argv", [["--help"], ["stats", "--help"], ["run", "--help"], ["extract", "--help"],
                                  ["evaluate", "--help"], ["predict", "--help"],
                                  ["stats", "--reference", "train", "--json"], ["plan", "--reference", "train"]])
def test_the_core_commands_need_no_torch(argv):
    out = subprocess.run([sys.executable, "-c", CORE_ONLY, *argv], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    if "--json" in argv:
        assert json.loads(out.stdout)["clear"]["hap"] == 43


def test_a_command_that_needs_torch_says_which_extra(tmp_path):
    out = subprocess.run([sys.executable, "-c", CORE_ONLY, "run", "--model", "cltnet", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "pdds run needs the ml extra (torch is not installed): pip install 'pddslib[ml]'"]


def test_every_command_documents_its_options_and_gives_examples():
    import argparse

    from pddslib.cli import build_parser

    parser = build_parser()
    assert "``" not in parser.description and ":func:" not in parser.description  # plain text, no RST
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"stats", "plan", "download", "demo", "extract", "info", "run", "evaluate", "predict",
                                "power"}
    for name, p in sub.choices.items():
        assert p.epilog and "examples:" in p.epilog and f"pdds {name}" in p.epilog, name
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and len(action.help) > 8, (name, action.dest)


def test_a_cli_run_is_a_cache_hit_for_the_notebook(tmp_path, monkeypatch, capsys, one_thread):
    """`pdds run` then the notebook's setup() with the same choices: the notebook trains nothing."""
    from pddslib.cli import main
    from pddslib.paper.parameters import setup
    from pddslib.runs import training
    from pddslib.runs.sweep import run_settings

    monkeypatch.setenv("PDDS_CACHE", str(tmp_path / "cache"))
    assert main(["run", "--model", "cltnet_text", "--strategy", "pdds", "--seeds", "1", "--epochs", "1",
                 "--no-progress", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()

    def boom(*args, **kwargs):
        raise AssertionError("the notebook retrained a run that the CLI had cached")

    monkeypatch.setattr(training, "train_model", boom)
    run = setup(seeds=1, epochs=1)
    result = run_settings(run.settings, run.corpus, ("cltnet_text",), ("pdds",), log=None)
    assert result.runs["cached"].all()
    cli_keys = pd.read_csv(tmp_path / "out" / "runs.csv")["key"].tolist()
    assert result.runs["key"].tolist() == cli_keys
