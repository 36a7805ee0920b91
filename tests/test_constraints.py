"""Parameter constraints declared once (pddslib.util.constraints) and checked before any run key is
made: by the samplers' fit/fit_resample/plan, by RunSpec/RunSettings (so a notebook fails at its set-up
cell) and by the command line's options; every sampler declares every constructor parameter; the
run keys do not change."""

from __future__ import annotations

import argparse
import math
from numbers import Integral, Real

import numpy as np
import pytest
from cli_helpers import run_cli

from pddslib import PDDS
from pddslib.config import TRAIN_FIELDS, RunSettings, RunSpec, TrainConfig, sampler_defaults, strategies
from pddslib.pdds.counts import CountTable
from pddslib.pdds.registry import all_strategies, make_resampler, parameter_owners, plan_for, sampler_class
from pddslib.reference import iemocap_counts
from pddslib.util.constraints import (
    Interval,
    InvalidParameterError,
    Options,
    describe,
    from_text,
    options_of,
    validate,
)

# -- the module ----------------------------------------------------------------------------------


def test_the_message_is_scikit_learns():
    constraints = {"sigma": [Interval(Real, 0, None, closed="left")]}
    validate(constraints, {"sigma": 1.0, "other": "not declared, not checked"}, "PDDS")
    with pytest.raises(InvalidParameterError) as err:
        validate(constraints, {"sigma": -1.0}, "PDDS")
    assert str(err.value) == "The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1.0 instead."
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)


@pytest.mark.parametrize("constraints, text", [
    ([Interval(Real, 0, None, closed="left")], "a float in the range [0, inf)"),
    ([Interval(Real, 0, 1, closed="both")], "a float in the range [0, 1]"),
    ([Interval(Real, 0, None, closed="neither")], "a float in the range (0, inf)"),
    ([Interval(float, 0, 1, closed="left")], "a float in the range [0, 1)"),
    ([Interval(Integral, 1, None, closed="left")], "an int in the range [1, inf)"),
    ([Interval(int, None, 0, closed="right")], "an int in the range (-inf, 0]"),
    ([Interval(Real, 1e-5, 0.5, closed="right")], "a float in the range (1e-05, 0.5]"),
    ([Options(str, ("none", "sum")), None], "a str among {'none', 'sum'} or None"),
    ([Options(str, {"b", "a"})], "a str among {'a', 'b'}"),  # a set is sorted: messages do not depend on hashing
    (["boolean"], "a bool"),
    (["array-like", None], "an array-like or None"),
    ([Interval(Integral, 0, None, closed="left"), np.random.Generator, None],
     "an int in the range [0, inf), an instance of 'numpy.random.Generator' or None"),
])
def test_describe(constraints, text):
    assert describe(constraints) == text


@pytest.mark.parametrize("constraints, good, bad", [
    ([Interval(Real, 0, None, closed="left")], [0, 0.0, 2, 1e300, np.float32(0.5), np.int64(3)],
     [-1, -1e-12, math.inf, math.nan, True, "1", None, [1.0]]),
    ([Interval(Real, 0, None, closed="both")], [math.inf], [-math.inf, math.nan]),
    ([Interval(Real, 0, 1, closed="left")], [0, 0.999], [1, 1.0, -0.0001]),
    ([Interval(Integral, 1, None, closed="left")], [1, 400, np.int64(12)], [0, 1.5, 2.0, True, np.float64(3)]),
    ([Options(str, ("none", "sum")), None], ["none", "sum", None, np.str_("sum")], ["max", "", 0, "None"]),
    (["boolean"], [True, False, np.bool_(True)], [0, 1, "True", None]),
    (["array-like"], [("a", "b"), ["a"], np.array(["a"])], ["ab", {"a": 1}, 3, None]),
])
def test_what_each_constraint_accepts(constraints, good, bad):
    for value in good:
        validate({"x": constraints}, {"x": value}, "T")
    for value in bad:
        with pytest.raises(InvalidParameterError, match=r"The 'x' parameter of T must be .* Got .* instead\."):
            validate({"x": constraints}, {"x": value}, "T")


def test_bad_declarations_are_refused():
    with pytest.raises(TypeError):
        Interval(str, 0, 1, closed="left")
    with pytest.raises(TypeError):
        Interval(Integral, 0.5, None, closed="left")
    with pytest.raises(ValueError):
        Interval(Real, 0, 1, closed="open")
    with pytest.raises(ValueError):
        Interval(Real, 1, 0, closed="both")
    with pytest.raises(ValueError):
        Options(str, ("a", 1))


def test_from_text_reads_the_declared_type():
    assert from_text([Interval(Real, 0, None, closed="left")], "2") == 2.0
    assert from_text([Interval(Integral, 1, None, closed="left")], "400") == 400
    assert from_text([Options(str, ("none", "sum")), None], "sum") == "sum"
    for constraints, text, message in [
        ([Interval(Real, 0, None, closed="left")], "-1", "expected a float in the range [0, inf), got -1"),
        ([Interval(Real, 0, None, closed="left")], "abc", "expected a float in the range [0, inf), got 'abc'"),
        ([Interval(Real, 0, None, closed="left")], "nan", "expected a float in the range [0, inf), got nan"),
        ([Interval(Integral, 1, None, closed="left")], "1.5", "expected an int in the range [1, inf), got 1.5"),
        ([Options(str, ("none", "sum")), None], "max", "expected a str among {'none', 'sum'}, got 'max'"),
    ]:
        with pytest.raises(ValueError) as err:
            from_text(constraints, text)
        assert str(err.value) == message


# -- every sampler declares every parameter --------------------------------------------------------
#: The sampler parameters that entered every run key before ``_keyed_always`` was declared beside the
#: samplers (config's former _SAMPLER_KEYED_ALWAYS): each sampler's declaration must be exactly these.
OLD_SAMPLER_KEYED_ALWAYS = frozenset({"sigma", "normalize", "balance_ratio", "p", "clear_p", "level", "align", "alpha"})


@pytest.mark.parametrize("strategy", all_strategies())
def test_every_sampler_declares_every_constructor_parameter(strategy):
    cls = sampler_class(strategy)
    params = cls._param_names()
    assert set(cls._parameter_constraints) == set(params), (
        f"{cls.__name__}: constraints for {sorted(cls._parameter_constraints)}, constructor takes {sorted(params)}")
    cls.check_params(make_resampler(strategy).get_params())  # the defaults satisfy their own constraints
    assert cls._keyed_always == set(params) & OLD_SAMPLER_KEYED_ALWAYS
    for name, spelling in cls._none_means.items():
        assert name in params and spelling in options_of(cls._parameter_constraints[name])


def test_a_parameter_means_the_same_wherever_it_is_taken():
    """Each parameter's constraints and default are those of its first sampler (the CLI's option)."""
    owners = parameter_owners()
    for strategy in all_strategies():
        cls = sampler_class(strategy)
        defaults = make_resampler(strategy).get_params()
        for name in cls._param_names():
            owner = owners[name]
            assert describe(cls._parameter_constraints[name]) == describe(owner._parameter_constraints[name]), \
                (strategy, name)
            if name != "classes":
                assert defaults[name] == owner().get_params()[name], (strategy, name)


def test_train_config_declares_every_field():
    assert set(TrainConfig._parameter_constraints) == set(TRAIN_FIELDS)
    assert "_parameter_constraints" not in TRAIN_FIELDS  # a class attribute, not a field


def _old_canonical(name, value):
    """config._canonical as it was before the samplers declared their spellings."""
    if name == "normalize":
        return "none" if value is None else str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


@pytest.mark.parametrize("strategy", all_strategies())
def test_the_canonical_spellings_are_the_old_ones(strategy):
    cls = sampler_class(strategy)
    values = [None, "none", "sum", np.str_("sum"), 1, 2.0, np.float64(0.5), np.int64(3), True, "pad"]
    for name in cls._param_names():
        for value in values:
            got, want = cls.canonical(name, value), _old_canonical(name, value)
            assert got == want and type(got) is type(want), (name, value)


# -- the run keys do not change --------------------------------------------------------------------
#: config_hash(spec.identity()) of default specs, computed by the code before this change.
KEYS_BEFORE = {
    "none": ("991a8f90fd781ed1", "be6c87b10938e60a"), "happiness": ("b327a257b8e84cf2", "ec3f9c4e144dd427"),
    "uniform": ("94532fe7d8bebb88", "2f111cba8b9065fd"), "pdds": ("02b541f7c97ccb22", "d05dcf2433575201"),
    "oversample": ("130a9841c9bd499c", "1c6f78fb7aaa71a4"), "mixup": ("06301a15e8816acc", "fb67fd080f0c2285"),
    "flat": ("efabfab45276b894", "93f16f742f7a5a75"),
}


def test_the_keys_of_default_specs_are_unchanged():
    from pddslib.features.store import config_hash

    assert set(KEYS_BEFORE) == set(strategies())
    for strategy, (real, demo) in KEYS_BEFORE.items():
        assert config_hash(RunSpec.build("cltnet", strategy, 1).identity()) == real, strategy
        spec = RunSettings(seeds=1).spec("cltnet", strategy, 0, synthetic=True, scale=0.05)
        assert config_hash(spec.identity()) == demo, strategy


# -- bad values fail at RunSpec.build, naming the parameter, what it may be and the value -------------
# (strategy, settings, owner, allowed): one bad value each.
BAD = [
    ("pdds", {"sigma": -1.0}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"sigma": -1}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"sigma": math.inf}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"sigma": "1"}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"p": 7}, "PDDS", "a float in the range [0, 1]"),
    ("pdds", {"p": -0.1}, "PDDS", "a float in the range [0, 1]"),
    ("pdds", {"clear_p": 1.5}, "PDDS", "a float in the range [0, 1]"),
    ("pdds", {"normalize": "max"}, "PDDS", "a str among {'none', 'sum'} or None"),
    ("pdds", {"balance_ratio": -0.5}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"align": "stretch"}, "PDDS", "a str among {'pad', 'crop', 'interp'}"),
    ("uniform", {"level": 0}, "UniformBalancing", "an int in the range [1, inf)"),
    ("uniform", {"level": 1.5}, "UniformBalancing", "an int in the range [1, inf)"),
    ("uniform", {"pairs": "x"}, "UniformBalancing", "a str among {'ordered', 'unordered'}"),
    ("happiness", {"clear_p": 2}, "ClearBalancing", "a float in the range [0, 1]"),
    ("mixup", {"alpha": 0}, "PlainMixup", "a float in the range (0, inf)"),
    ("oversample", {"sigma": -2}, "RandomOversampling", "a float in the range [0, inf)"),
    ("flat", {"normalize": "max"}, "FlatPDDS", "a str among {'none', 'sum'} or None"),
    # a sampler parameter this strategy does not take: checked against the sampler that takes it
    ("none", {"sigma": -1}, "PDDS", "a float in the range [0, inf)"),
    ("pdds", {"level": 0}, "UniformBalancing", "an int in the range [1, inf)"),
    ("pdds", {"alpha": -1.0}, "PlainMixup", "a float in the range (0, inf)"),
    # training settings
    ("pdds", {"lr": 0}, "TrainConfig", "a float in the range (0, inf)"),
    ("pdds", {"lr": math.nan}, "TrainConfig", "a float in the range (0, inf)"),
    ("none", {"weight_decay": -1e-5}, "TrainConfig", "a float in the range [0, inf)"),
    ("pdds", {"batch_size": 0}, "TrainConfig", "an int in the range [1, inf)"),
    ("pdds", {"max_epochs": 2.5}, "TrainConfig", "an int in the range [1, inf)"),
    ("pdds", {"patience": 0}, "TrainConfig", "an int in the range [1, inf)"),
    ("pdds", {"val_fraction": 1}, "TrainConfig", "a float in the range [0, 1)"),
    ("pdds", {"targets": "soft"}, "TrainConfig", "a str among {'votes', 'onehot'}"),
    ("pdds", {"class_weight": "inverse"}, "TrainConfig", "a str among {'none', 'balanced'}"),
    ("pdds", {"amp": "yes"}, "TrainConfig", "a bool"),
]


def _message(settings, owner, allowed):
    (name, value), = settings.items()
    return f"The {name!r} parameter of {owner} must be {allowed}. Got {value!r} instead."


def _ids(table):
    return [f"{row[0]}-{'-'.join(f'{k}={v}' for k, v in row[1].items())}" for row in table]


@pytest.mark.parametrize("strategy, settings, owner, allowed", BAD, ids=_ids(BAD))
def test_a_bad_value_fails_at_runspec_build(strategy, settings, owner, allowed):
    with pytest.raises(InvalidParameterError) as err:
        RunSpec.build("cltnet", strategy, **settings)
    assert str(err.value) == _message(settings, owner, allowed)
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("strategy, settings, owner, allowed", BAD, ids=_ids(BAD))
def test_a_bad_value_fails_when_the_settings_are_made(strategy, settings, owner, allowed):
    """RunSettings (what pdds run and the notebooks make first) checks every value, whatever the strategy
    (a sampler parameter against PDDS's declaration, or the first sampler's that takes it)."""
    with pytest.raises(InvalidParameterError) as err:
        RunSettings(params=settings)
    (name, value), = settings.items()
    assert str(err.value).startswith(f"The {name!r} parameter of ")
    assert str(err.value).endswith(f" must be {allowed}. Got {value!r} instead.")


def test_runspec_checks_what_its_constructor_is_given():
    with pytest.raises(InvalidParameterError, match=r"The 'sigma' parameter of PDDS .* Got -1 instead\."):
        RunSpec("cltnet", "pdds", sampler=(("sigma", -1),))
    with pytest.raises(InvalidParameterError, match=r"The 'lr' parameter of TrainConfig .* Got -0\.1 instead\."):
        TrainConfig(lr=-0.1)
    # names are still checked first, as before
    with pytest.raises(ValueError, match="unknown run setting.*sigmaa"):
        RunSpec.build("cltnet", "pdds", sigmaa=-1)


def test_no_key_is_made_for_a_bad_value(monkeypatch, tmp_path):
    """The check comes before a spec exists: the run cache is never asked for a key."""
    from pddslib.runs import cache

    def no_key(*args, **kwargs):
        raise AssertionError("a run key was made for a bad value")

    monkeypatch.setattr(cache, "run_key", no_key)
    settings = RunSettings(seeds=1)
    with pytest.raises(InvalidParameterError, match="'sigma'"):
        settings.spec("cltnet", "pdds", 0, synthetic=True, scale=0.05, sigma=-1)


# (strategy, settings): values that build, and what they were accepted as before the declarations.
GOOD = [
    ("pdds", {"sigma": 0}), ("pdds", {"sigma": 2}), ("pdds", {"sigma": np.float64(0.5)}), ("pdds", {"sigma": 1e3}),
    ("pdds", {"p": 0}), ("pdds", {"p": 1}), ("pdds", {"p": 0.2}),  # p < 0.5 was accepted and still is
    ("pdds", {"normalize": None}), ("pdds", {"normalize": "sum"}), ("pdds", {"balance_ratio": 0}),
    ("uniform", {"level": 1}), ("uniform", {"level": np.int64(12)}), ("uniform", {"pairs": "unordered"}),
    ("mixup", {"alpha": 0.4}), ("happiness", {"align": "interp"}),
    ("pdds", {"lr": 1e-4, "weight_decay": 0, "batch_size": 1, "val_fraction": 0.0, "targets": "onehot",
              "class_weight": "balanced", "amp": True, "bucket": False, "max_epochs": 1, "patience": 1}),
    ("none", {"sigma": 3.0, "level": 5}),  # valid values of parameters the strategy does not take: left out
]


@pytest.mark.parametrize("strategy, settings", GOOD, ids=_ids(GOOD))
def test_good_values_still_build(strategy, settings):
    spec = RunSpec.build("cltnet", strategy, **settings)
    takes = sampler_defaults(strategy)
    for name, value in settings.items():
        if name in takes:
            assert spec.sampler_params[name] == ("none" if value is None else value)
        elif name in TRAIN_FIELDS:
            assert getattr(spec.train, name) == value
        else:
            assert name not in spec.sampler_params
    RunSettings(params=settings)


# -- the samplers themselves -----------------------------------------------------------------------
def _data():
    y = np.eye(3)[[0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]]
    return np.arange(len(y), dtype=float)[:, None], y


SAMPLER_BAD = [row for row in BAD if row[2] not in ("TrainConfig",) and row[0] != "none"
               and set(row[1]) <= set(sampler_defaults(row[0]))]


@pytest.mark.parametrize("strategy, settings, owner, allowed", SAMPLER_BAD, ids=_ids(SAMPLER_BAD))
def test_a_sampler_checks_its_parameters_before_it_fits(strategy, settings, owner, allowed):
    X, y = _data()
    message = _message(settings, owner, allowed)
    sampler = make_resampler(strategy, classes=("a", "b", "c"), random_state=0, **settings)  # stored, not checked
    for call in (lambda: sampler.fit_resample(X, y), lambda: sampler.fit(y), lambda: sampler.fit(X, y),
                 lambda: sampler.plan(CountTable(("a", "b", "c"), [5, 4, 6], np.ones((3, 3)) - np.eye(3)))):
        with pytest.raises(InvalidParameterError) as err:
            call()
        assert str(err.value) == message
    assert not hasattr(sampler, "sample_indices_")


def test_pdds_fit_resample_gives_scikit_learns_message():
    X, y = _data()
    with pytest.raises(ValueError, match=r"^The 'sigma' parameter of PDDS must be a float in the range "
                                         r"\[0, inf\)\. Got -1 instead\.$"):
        PDDS(sigma=-1, classes=("a", "b", "c")).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match=r"^The 'random_state' parameter of PDDS must be an int in "
                                                    r"the range \[0, inf\), .* or None\. Got 'seed' instead\.$"):
        PDDS(random_state="seed", classes=("a", "b", "c")).fit_resample(X, y)
    with pytest.raises(InvalidParameterError, match="'sigma' parameter of PDDS"):
        plan_for("pdds", iemocap_counts("train"), sigma=-1)
    # set_params stores, fit checks
    s = PDDS(classes=("a", "b", "c")).set_params(p=1.5)
    with pytest.raises(InvalidParameterError, match=r"'p' parameter of PDDS .* Got 1\.5 instead"):
        s.fit(y)


# -- the command line and the notebooks ------------------------------------------------------------
def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line]


@pytest.mark.parametrize("argv, line", [
    (["run", "--model", "cltnet", "--sigma", "-1"],
     "pdds run: error: argument --sigma: expected a float in the range [0, inf), got -1"),
    (["run", "--model", "cltnet", "--sigma", "abc"],
     "pdds run: error: argument --sigma: expected a float in the range [0, inf), got 'abc'"),
    (["run", "--model", "cltnet", "--p", "7"],
     "pdds run: error: argument --p: expected a float in the range [0, 1], got 7"),
    (["run", "--model", "cltnet", "--level", "0"],
     "pdds run: error: argument --level: expected an int in the range [1, inf), got 0"),
    (["run", "--model", "cltnet", "--level", "1.5"],
     "pdds run: error: argument --level: expected an int in the range [1, inf), got 1.5"),
    (["run", "--model", "cltnet", "--lr", "0"],
     "pdds run: error: argument --lr: expected a float in the range (0, inf), got 0"),
    (["run", "--model", "cltnet", "--batch-size", "0"],
     "pdds run: error: argument --batch-size: expected an int in the range [1, inf), got 0"),
    (["run", "--model", "cltnet", "--val-fraction", "1"],
     "pdds run: error: argument --val-fraction: expected a float in the range [0, 1), got 1"),
    (["run", "--model", "cltnet", "--normalize", "max"],
     "pdds run: error: argument --normalize: invalid choice: 'max' (choose from 'none', 'sum')"),
    (["run", "--model", "cltnet", "--targets", "soft"],
     "pdds run: error: argument --targets: invalid choice: 'soft' (choose from 'votes', 'onehot')"),
    (["plan", "--reference", "train", "--sigma", "-1"],
     "pdds plan: error: argument --sigma: expected a float in the range [0, inf), got -1"),
    (["plan", "--reference", "train", "--strategy", "uniform", "--level", "0"],
     "pdds plan: error: argument --level: expected an int in the range [1, inf), got 0"),
])
def test_a_bad_option_is_a_usage_error_with_one_error_line(argv, line, capsys, tmp_path):
    out_dir = tmp_path / "o"
    argv = argv + (["--out", str(out_dir)] if argv[0] == "run" else [])
    code, out, err = run_cli(argv, capsys)
    assert code == 2 and out == ""
    assert _error_lines(err) == [line] and err.splitlines()[-1] == line, err  # argparse's usage, then that line
    assert "Traceback" not in err and not out_dir.exists()


def _subparser(name: str) -> argparse.ArgumentParser:
    from pddslib.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(a for a in parser._actions if flag in a.option_strings)


def test_the_options_values_come_from_the_declarations():
    owners = parameter_owners()
    run, plan = _subparser("run"), _subparser("plan")
    for parser, names in ((run, ("p", "sigma", "normalize", "level", "align", "pairs")),
                          (plan, ("sigma", "normalize", "level", "pairs"))):
        for name in names:
            action = _option(parser, f"--{name}")
            declared = owners[name]._parameter_constraints[name]
            assert (action.choices and list(action.choices)) == (list(options_of(declared)) or None), name
            assert action.default is None
    for flag, field in (("--targets", "targets"), ("--class-weight", "class_weight")):
        assert list(_option(run, flag).choices) == list(options_of(TrainConfig._parameter_constraints[field]))
    # declared once: the options pdds run and pdds plan share read the same and say the same default
    for name in ("sigma", "normalize", "pairs"):
        assert _option(run, f"--{name}").help == _option(plan, f"--{name}").help
    assert "(default 1)" in _option(run, "--sigma").help and "(default none)" in _option(run, "--normalize").help
    assert _option(run, "--level").help == "uniform balancing level (default 400, scaled on the demo corpus)"
    assert _option(plan, "--level").help == "uniform balancing level (default 400)"


def test_good_options_reach_the_spec(tmp_path):
    from pddslib.cli import build_parser
    from pddslib.cli.run import settings_from_args

    args = build_parser().parse_args(["run", "--model", "cltnet", "--sigma", "0", "--p", "1", "--level", "3",
                                      "--lr", "1e-4", "--val-fraction", "0.1", "--epochs", "2", "--out", str(tmp_path)])
    spec = settings_from_args(args).spec("cltnet", "pdds", 0, synthetic=False)
    assert (spec.sampler_params["sigma"], spec.sampler_params["p"]) == (0.0, 1.0)
    assert (spec.train.lr, spec.train.val_fraction, spec.train.max_epochs) == (1e-4, 0.1, 2)
    assert settings_from_args(args).spec("cltnet", "uniform", 0, synthetic=False).sampler_params["level"] == 3


def test_a_notebook_fails_at_its_set_up_cell_before_any_corpus(monkeypatch):
    from pddslib.paper import parameters

    def no_corpus(*args, **kwargs):
        raise AssertionError("a corpus was loaded before the settings were checked")

    monkeypatch.setattr(parameters, "load_corpus", no_corpus)
    with pytest.raises(InvalidParameterError) as err:
        parameters.setup(sigma=-1)
    assert str(err.value) == "The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead."
    with pytest.raises(InvalidParameterError, match=r"The 'pairs' parameter of UniformBalancing .* Got 'x' instead"):
        parameters.setup(pairs="x")
