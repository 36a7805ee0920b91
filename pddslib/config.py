"""The run configuration, declared once (needs neither torch nor matplotlib).

Every setting of a training run has exactly one default, written in one place:

==========================  ============================================================
sampler parameters          the sampler classes' constructors (:mod:`pddslib.pdds.resample`),
                            read through :func:`sampler_defaults`; what each may be: the
                            samplers' ``_parameter_constraints``
training settings           :class:`TrainConfig` (the paper's Section 3.2) and what each may
                            be (``TrainConfig._parameter_constraints``)
corpus-dependent defaults   :func:`corpus_defaults` (the demo corpus trains fewer epochs,
                            scales the uniform level, narrows MAT)
model names and recipes     :data:`pddslib.models.registry.MODELS` (read here as :data:`MODEL_NAMES`,
                            :data:`MODEL_INPUTS`, :data:`ORIGINAL_RECIPES`, :data:`DEMO_MODEL_OVERRIDES`)
corpus sizes and rules      :data:`DEFAULT_SCALE` (demo), :data:`DEFAULT_AGREEMENT` (CREMA-D)
==========================  ============================================================

:class:`RunSpec` is one run, fully resolved; :class:`RunSettings` is what a user chose for a
sweep (``None`` everywhere means "the default"), and turns into specs for a given corpus. The
command line (``pdds run``), the notebooks (:func:`pddslib.paper.parameters.setup`) and every experiment
go through :class:`RunSettings`, so the same choices on the same corpus give the same specs and
hit the same cache entries. Every value is checked against its declared constraints
(:mod:`pddslib.util.constraints`) when a :class:`RunSpec` or :class:`RunSettings` is made, before
any run key is computed, so ``RunSpec.build("cltnet", "pdds", sigma=-1)`` raises::

    InvalidParameterError: The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import Any, ClassVar

from .models.registry import MODELS
from .util.constraints import Interval, Options, validate

#: The models (declared once, in :mod:`pddslib.models.registry`; these views are read from it).
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)

#: The feature-store modalities each model reads (an audio-only store trains only ``cltnet_audio``).
MODEL_INPUTS: dict[str, tuple[str, ...]] = {n: e.inputs for n, e in MODELS.items()}


def check_model_fits(model: str, modalities: Sequence[str], store: str = "the store") -> None:
    """A ValueError (one line naming the store) when ``model`` needs a modality the store lacks."""
    need = MODELS[model].inputs if model in MODELS else ()
    missing = [m for m in need if m not in modalities]
    if missing:
        fits = [m for m, e in MODELS.items() if set(e.inputs) <= set(modalities)]
        raise ValueError(f"{store}: holds only {', '.join(modalities)} features; model {model!r} needs "
                         f"{' and '.join(need)}. Use --model {' or '.join(fits) or 'cltnet_audio'} "
                         f"(the audio-only CLTNet of Table 1)")


#: Training settings of the original papers where they differ from :class:`TrainConfig`'s (each
#: model's ``original_recipe`` in :mod:`pddslib.models.registry`).
ORIGINAL_RECIPES: dict[str, dict[str, float | int]] = {n: dict(e.original_recipe) for n, e in MODELS.items()
                                                       if e.original_recipe}

#: Default size of the demo corpus (fraction of IEMOCAP): about 740 six-class utterances (160 in
#: the test session). At 0.05 (81 test utterances, one is 1.2 points of WA) the spread over seeds
#: hid the changes the demo is meant to show; 0.1 with narrow models still trains every notebook on
#: a 2-core CPU within the demo's three minutes. (Read as ``pddslib.corpora.demo.DEFAULT_SCALE``.)
DEFAULT_SCALE = 0.1
#: CREMA-D's clear-sample rule: the top emotion holds at least this share of the votes (see the
#: Decisions page). (Read as ``pddslib.corpora.crema_d.DEFAULT_AGREEMENT``.)
DEFAULT_AGREEMENT = 0.8
#: Number of seeds of a sweep (``pdds run --seeds``, the notebooks' ``seeds``).
DEFAULT_SEEDS = 3
#: On the demo corpus: at most this many epochs (measured on a 2-core CPU, 2026-11-27: see the
#: Decisions page, "Demo defaults"). With 4 epochs the baseline is still learning, so a strategy
#: that adds rows "wins" by its extra gradient steps; at 5 the narrow models below have learnt what
#: the demo corpus teaches them and the whole demo trains within its three minutes.
DEMO_EPOCHS = 5
#: On the demo corpus only, every model runs narrow (each model's ``demo_overrides`` in
#: :mod:`pddslib.models.registry`, where the reasons are written).
DEMO_MODEL_OVERRIDES: dict[str, dict[str, Any]] = {n: dict(e.demo_overrides) for n, e in MODELS.items()}

#: Constructor arguments of a sampler that are not run settings.
_NOT_SETTINGS = ("classes", "random_state")

#: Choices of :attr:`TrainConfig.targets` and :attr:`TrainConfig.class_weight` (defaults: the first).
TARGETS: tuple[str, ...] = ("votes", "onehot")
CLASS_WEIGHTS: tuple[str, ...] = ("none", "balanced")
_AT_LEAST_ONE = [Interval(Integral, 1, None, closed="left")]


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (defaults: the paper's Section 3.2)."""

    lr: float = 1e-3               # Adam learning rate
    weight_decay: float = 1e-5     # Adam weight decay (L2, as torch.optim.Adam applies it)
    batch_size: int = 64
    max_epochs: int = 30           # "or at most 30 epochs"
    patience: int = 10             # "stops if the loss does not decrease for 10 consecutive epochs"
    amp: bool = False              # mixed precision (bf16/fp16) on CUDA; ignored on CPU
    bucket: bool = True            # batches of similar audio length (less padding)
    eval_batch_size: int = 256     # prediction only; does not change results
    # Early stopping on a validation split instead (0: none, the paper's rule). A fraction of the
    # training rows, drawn at random with the run's seed within each consensus class, is held out
    # of training and of resampling; training stops when its loss has not decreased for
    # ``patience`` epochs and the model of its best epoch is restored (see pddslib.runs.splits).
    val_fraction: float = 0.0
    targets: str = "votes"         # original rows' targets: vote distributions, or "onehot" of the consensus
    class_weight: str = "none"     # "balanced": each sample's KL term weighted by inverse class frequency

    #: What each field may be (:mod:`pddslib.util.constraints`; ``pdds run``'s options read it too).
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": _AT_LEAST_ONE, "max_epochs": _AT_LEAST_ONE, "patience": _AT_LEAST_ONE,
        "eval_batch_size": _AT_LEAST_ONE,
        "amp": ["boolean"], "bucket": ["boolean"],
        "val_fraction": [Interval(Real, 0, 1, closed="left")],
        "targets": [Options(str, TARGETS)],
        "class_weight": [Options(str, CLASS_WEIGHTS)],
    }

    def __post_init__(self) -> None:
        """Check every field (an :class:`~pddslib.util.constraints.InvalidParameterError`, a ValueError)."""
        validate(self._parameter_constraints, asdict(self), type(self).__name__)


TRAIN_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainConfig))
#: Evaluation protocols of ``pdds run --folds``: ``paper`` (the store's split: sessions 1-4 train,
#: 5 test on IEMOCAP) and ``loso`` (leave one session out: fold k tests on session k).
FOLD_PROTOCOLS: tuple[str, ...] = ("paper", "loso")
#: The sessions of leave-one-session-out cross-validation (IEMOCAP's five).
LOSO_SESSIONS: tuple[int, ...] = (1, 2, 3, 4, 5)

#: What a run key was made of before later settings were added: these training fields (and each
#: sampler's ``_keyed_always`` parameters) always enter :meth:`RunSpec.identity`; any other one
#: enters it only when it differs from its default, so adding a setting leaves every existing run
#: key (and cached run) unchanged.
_KEYED_ALWAYS: frozenset[str] = frozenset({"lr", "weight_decay", "batch_size", "max_epochs", "patience", "amp",
                                           "bucket"})


def strategies() -> tuple[str, ...]:
    """Names of the resampling strategies: the paper's and the controls.

    See :func:`pddslib.pdds.registry.all_strategies`.
    """
    from .pdds.registry import all_strategies

    return all_strategies()


def sampler_defaults(strategy: str) -> dict[str, Any]:
    """The parameters a strategy takes, with their defaults (from the sampler's ``get_params()``)."""
    from .pdds.registry import make_resampler

    params = make_resampler(strategy).get_params()
    return {k: v for k, v in params.items() if k not in _NOT_SETTINGS}


def default_of(strategy: str, name: str) -> Any:
    """One sampler parameter's default, e.g. ``default_of("pdds", "sigma")`` (for help texts)."""
    return sampler_defaults(strategy)[name]


def sampler_parameter_names() -> tuple[str, ...]:
    """Every parameter any strategy takes."""
    names: dict[str, None] = {}
    for s in strategies():
        names.update(dict.fromkeys(sampler_defaults(s)))
    return tuple(names)


def _sampler_class(strategy: str) -> Any:
    from .pdds.registry import sampler_class

    return sampler_class(strategy)


@dataclass(frozen=True)
class RunSpec:
    """One training run, fully resolved: what determines its result.

    Build one with :meth:`build` (flat keywords, defaults filled in) or through
    :class:`RunSettings`.

    Attributes
    ----------
    model : str
        One of :data:`MODEL_NAMES`.
    strategy : str
        ``none``, ``happiness``, ``uniform``, ``pdds``.
    seed : int
    sampler : tuple of (name, value)
        Every parameter the strategy's sampler takes (and only those), resolved.
    train : TrainConfig
    model_overrides : tuple of (name, value)
        Architecture overrides (see :func:`pddslib.models.model_config`).
    fold : int or None
        ``None``: the store's own split (the paper's: test on session 5). ``k``: fold ``k`` of
        leave-one-session-out cross-validation (test on session ``k``, train on the others; see
        :func:`pddslib.runs.splits.run_split`). Part of the run's identity only when given.
    """

    model: str
    strategy: str = "none"
    seed: int = 0
    sampler: tuple[tuple[str, Any], ...] = ()
    train: TrainConfig = field(default_factory=TrainConfig)
    model_overrides: tuple[tuple[str, Any], ...] = ()
    fold: int | None = None

    def __post_init__(self) -> None:
        if self.fold is not None and (isinstance(self.fold, bool) or not isinstance(self.fold, int) or self.fold < 1):
            raise ValueError(f"fold must be a session number >= 1 or None, got {self.fold!r}")
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.strategy not in strategies():
            raise ValueError(f"unknown strategy {self.strategy!r}; expected one of {', '.join(strategies())}")
        defaults = sampler_defaults(self.strategy)
        given = dict(self.sampler)
        unknown = sorted(set(given) - set(defaults))
        if unknown:
            raise ValueError(f"strategy {self.strategy!r} takes no parameter {', '.join(unknown)}; "
                             f"its parameters: {', '.join(defaults)}")
        sampler = _sampler_class(self.strategy)
        sampler.check_params(given)  # before any key is made (InvalidParameterError)
        resolved = tuple((k, sampler.canonical(k, given.get(k, v))) for k, v in defaults.items())
        object.__setattr__(self, "sampler", resolved)
        object.__setattr__(self, "model_overrides", tuple(sorted(dict(self.model_overrides).items())))

    @classmethod
    def build(cls, model: str, strategy: str = "none", seed: int = 0, *,
              model_overrides: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
              fold: int | None = None, **params: Any) -> RunSpec:
        """A spec from flat keywords: sampler parameters and :class:`TrainConfig` fields.

        A sampler parameter that this strategy does not take (``sigma`` for ``none``) is left
        out; a name that is neither a sampler parameter nor a training setting is an error.
        ``None`` means the default. ``fold``: a leave-one-session-out fold (None: the store's split).
        Every value is checked first against its declared constraints (a sampler parameter that
        this strategy does not take, against those of the samplers that do), e.g.
        ``The 'sigma' parameter of PDDS must be a float in the range [0, inf). Got -1 instead.``
        (an :class:`~pddslib.util.constraints.InvalidParameterError`, a ValueError).
        """
        params = {k: v for k, v in params.items() if v is not None}
        sampler_names = sampler_parameter_names()
        unknown = sorted(k for k in params if k not in sampler_names and k not in TRAIN_FIELDS)
        if unknown:
            raise ValueError(f"unknown run setting(s) {', '.join(unknown)}; sampler parameters: "
                             f"{', '.join(sampler_names)}; training settings: {', '.join(TRAIN_FIELDS)}")
        takes = sampler_defaults(strategy) if strategy in strategies() else {}
        if strategy in strategies():
            from .pdds.registry import check_sampler_params

            check_sampler_params(strategy, {k: v for k, v in params.items() if k in sampler_names})
        sampler = tuple((k, v) for k, v in params.items() if k in takes)
        train = TrainConfig(**{k: v for k, v in params.items() if k in TRAIN_FIELDS})
        return cls(model, strategy, int(seed), sampler, train, tuple(sorted(dict(model_overrides or {}).items())),
                   None if fold is None else int(fold))

    @property
    def sampler_params(self) -> dict[str, Any]:
        """Keyword arguments of :func:`pddslib.pdds.registry.make_resampler` for this strategy."""
        return dict(self.sampler)

    def identity(self) -> dict[str, Any]:
        """What defines the result (hashed into the run cache key).

        Training fields outside ``_KEYED_ALWAYS``, sampler parameters outside the sampler's
        ``_keyed_always`` (settings added later, e.g. ``pairs``) and ``fold`` appear only when they
        differ from their defaults, so a run that uses none of them keeps the key it had before they existed.
        """
        defaults = asdict(TrainConfig())
        train = {k: v for k, v in asdict(self.train).items()
                 if k != "eval_batch_size" and (k in _KEYED_ALWAYS or v != defaults[k])}
        sampler_default = sampler_defaults(self.strategy)
        cls = _sampler_class(self.strategy)
        sampler = {k: v for k, v in self.sampler_params.items()
                   if k in cls._keyed_always or v != cls.canonical(k, sampler_default[k])}
        out = {"model": self.model, "strategy": self.strategy, "seed": self.seed, "sampler": sampler,
               "train": train, "model_overrides": dict(self.model_overrides)}
        if self.fold is not None:  # leave-one-session-out runs only
            out["fold"] = self.fold
        return out

    def describe(self) -> str:
        """``cltnet pdds(sigma=1, p=0.8, ...) seed 0``: for log lines."""
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.sampler
                           if k not in ("align", "clear_p", "balance_ratio", "replacement")
                           or (k in ("align", "replacement") and v != sampler_defaults(self.strategy)[k]))
        defaults = TrainConfig()
        train = "".join(f" {k}={getattr(self.train, k)}" for k in ("targets", "class_weight", "bucket")
                        if getattr(self.train, k) != getattr(defaults, k))
        fold = f" fold {self.fold}" if self.fold is not None else ""
        return f"{self.model} {self.strategy}" + (f"({params})" if params else "") + train + f"{fold} seed {self.seed}"


def corpus_defaults(*, synthetic: bool, scale: float | None = None) -> dict[str, Any]:
    """The defaults that depend on the corpus: the one place where they are decided.

    Real data: the paper's settings. The synthetic demo corpus (``scale``: its size as a fraction
    of IEMOCAP's): at most :data:`DEMO_EPOCHS` epochs, the uniform balancing level scaled with
    the corpus (``level x scale``, so that it means the same on a smaller corpus), and
    :data:`DEMO_MODEL_OVERRIDES`.

    Returns
    -------
    dict
        ``{"params": {...}, "model_overrides": {model: {...}}}``.
    """
    if not synthetic:
        return {"params": {}, "model_overrides": {}}
    level = default_of("uniform", "level")
    scaled = max(1, round(level * (1.0 if scale is None else float(scale))))
    return {"params": {"max_epochs": DEMO_EPOCHS, "level": scaled}, "model_overrides": DEMO_MODEL_OVERRIDES}


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``3`` -> ``[0, 1, 2]``; a list is taken as it is."""
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a number or a list, got {seeds!r}")
    if isinstance(seeds, int) or (hasattr(seeds, "__index__") and not isinstance(seeds, (str, bytes))):
        n = int(seeds)  # type: ignore[arg-type]
        if n < 1:
            raise ValueError(f"seeds must be >= 1, got {n}")
        return list(range(n))
    return [int(s) for s in seeds]


@dataclass
class RunSettings:
    """What a user chose for a sweep; ``None`` or absent means the default for the corpus.

    Parameters
    ----------
    seeds : int or sequence of int
        ``3`` means seeds 0, 1, 2.
    params : dict
        Sampler parameters and :class:`TrainConfig` fields (``sigma``, ``p``, ``level``,
        ``max_epochs``, ``lr``, ...); ``None`` values are dropped.
    original_recipe : bool
        Apply :data:`ORIGINAL_RECIPES` (each model's own lr / batch / weight decay).
    model_overrides : dict, optional
        ``{model: {field: value}}``; default: the corpus's (:func:`corpus_defaults`).
    folds : {"paper", "loso"}
        ``paper``: the store's split (IEMOCAP: sessions 1-4 train, 5 test). ``loso``: every fold
        of leave-one-session-out cross-validation (:data:`LOSO_SESSIONS`), each a run per seed.
    device, cache_dir, progress
        Where and how runs execute (not part of a run's identity).
    save_model : bool
        Keep each trained model's weights in its cache folder (``model.safetensors``); not part of
        a run's identity (its numbers do not depend on it).
    recompute : bool
        Train again even when the cache holds the run (the new run replaces the cached one).
    jobs : int, "auto" or None
        Runs trained at once (:mod:`pddslib.runs.workers`); not part of a run's identity.
    scheduler : str, distributed.Client or None
        A Dask cluster to train the runs on (an address, a scheduler file or a client;
        :mod:`pddslib.runs.cluster`); None: this machine. Not part of a run's identity.
    """

    seeds: int | Sequence[int] = DEFAULT_SEEDS
    params: dict[str, Any] = field(default_factory=dict)
    original_recipe: bool = False
    model_overrides: dict[str, dict[str, Any]] | None = None
    device: str = "auto"
    cache_dir: str | None = None
    progress: bool = False
    folds: str = "paper"
    save_model: bool = True
    recompute: bool = False
    jobs: int | str | None = 1
    scheduler: Any = None

    def __post_init__(self) -> None:
        self.params = {k: v for k, v in self.params.items() if v is not None}
        # validates the names and every value (sampler parameters and training settings), before any run
        RunSpec.build("cltnet", "pdds", **{k: v for k, v in self.params.items()})
        if self.folds not in FOLD_PROTOCOLS:
            raise ValueError(f"folds must be one of {', '.join(FOLD_PROTOCOLS)}, got {self.folds!r}")

    @property
    def seed_values(self) -> list[int]:
        return seed_list(self.seeds)

    @property
    def fold_values(self) -> list[int | None]:
        """``[None]`` (the store's split) or the leave-one-session-out folds."""
        return list(LOSO_SESSIONS) if self.folds == "loso" else [None]

    def resolved(self, model: str, *, synthetic: bool, scale: float | None = None,
                 **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The flat parameters and model overrides of ``model`` on a corpus (defaults applied)."""
        base = corpus_defaults(synthetic=synthetic, scale=scale)
        params = dict(base["params"])
        if self.original_recipe:
            params.update(ORIGINAL_RECIPES.get(model, {}))
        params.update(self.params)
        params.update({k: v for k, v in extra.items() if v is not None})
        overrides = (base["model_overrides"] if self.model_overrides is None else self.model_overrides).get(model, {})
        return params, dict(overrides)

    def spec(self, model: str, strategy: str, seed: int, *, synthetic: bool, scale: float | None = None,
             fold: int | None = None, **extra: Any) -> RunSpec:
        """The spec of one run of this sweep on a corpus (``extra``: per-run settings, e.g. ``p``)."""
        params, overrides = self.resolved(model, synthetic=synthetic, scale=scale, **extra)
        return RunSpec.build(model, strategy, seed, model_overrides=overrides, fold=fold, **params)

    def value(self, name: str, *, synthetic: bool, scale: float | None = None, strategy: str = "pdds") -> Any:
        """The value a setting takes on a corpus (for display), e.g. ``value("max_epochs", ...)``."""
        params, _ = self.resolved("cltnet", synthetic=synthetic, scale=scale)
        if name in params:
            return params[name]
        if name in TRAIN_FIELDS:
            return getattr(TrainConfig(), name)
        return default_of(strategy, name)
