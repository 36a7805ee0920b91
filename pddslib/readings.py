"""Which reading? The open readings of the paper and the controls, run side by side.

The paper leaves several choices open; each is an option of the library, and this module runs
them all on one corpus so that their effect can be read beside the noise of the test set:

====================  ==============================================================================
kernel (Eq. 1)        not normalised (weights 0.607, 1, 0.607; the default) or ``normalize="sum"``
uniform pairs         Table 2's uniform balancing raises each ordered cell i>j (default) or each
                      unordered pair {i, j} to 400 (``pairs="unordered"``)
targets               the original samples' targets: vote distributions (default) or the one-hot
                      consensus label (``targets="onehot"``; the paper's Fig. 1a, the baselines' own)
batching              batches of similar length (default) or random minibatches (``bucket=False``)
alignment             mixup of sequences of different lengths: pad (default), crop, interp
recipe                the shared training settings (default) or each model's original recipe
controls              as much new data as PDDS without PDDS's distribution (``oversample``,
                      ``mixup``, ``flat``), and the class-weighted loss on the original data
====================  ==============================================================================

:func:`reading_sizes` tabulates, from vote counts alone (the packaged IEMOCAP counts), how many
samples PDDS and uniform balancing add under each (kernel, pairs) reading and which readings are
consistent with the paper's own statements. :func:`readings` trains every row
(:data:`READINGS`) over seeds; :func:`readings_tests` runs the paired tests
(:mod:`pddslib.significance`) of :data:`COMPARISONS`; :func:`conclusion` words the result from
the numbers. The book's chapter "Which reading?" (``notebooks/readings.py``) shows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .config import ORIGINAL_RECIPES, RunSettings
from .counts import CountTable
from .resample import plan_for
from .runner import Corpus, ExperimentResult, run_specs_with
from .smoothing import kernel_weights

#: The models of the chapter on real data (CLTNet and its unimodal variants, Table 1's last rows).
READINGS_MODELS: tuple[str, ...] = ("cltnet", "cltnet_text", "cltnet_audio")
#: On the synthetic demo corpus (and in quick mode) only CLTNet: the demo's CPU budget.
READINGS_DEMO_MODELS: tuple[str, ...] = ("cltnet",)
#: Models run under their original recipe as well (real data only; CLTNet's recipe is the default).
RECIPE_MODELS: tuple[str, ...] = tuple(ORIGINAL_RECIPES)
#: The rows of a model that only enters the recipe comparison.
RECIPE_ROWS: tuple[str, ...] = ("none", "pdds", "none original recipe", "pdds original recipe")


@dataclass(frozen=True)
class Reading:
    """One row of the chapter: a strategy with the settings of one reading.

    Attributes
    ----------
    name : str
        The row's name (``normalize=sum``); the Decisions page refers to rows by it.
    strategy : str
    params : dict
        Flat run settings (sampler parameters, :class:`~pddslib.config.TrainConfig` fields).
    group : str
        Which open choice it belongs to.
    what : str
        One line for the table.
    original_recipe : bool
        Train with the model's :data:`~pddslib.config.ORIGINAL_RECIPES` (rows skipped for models
        that have none: their runs would be the default rows').
    """

    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    what: str = ""
    original_recipe: bool = False

    def applies_to(self, model: str) -> bool:
        return not self.original_recipe or model in ORIGINAL_RECIPES


READINGS: tuple[Reading, ...] = (
    Reading("pdds", "pdds", {}, "default", "PDDS as this companion reads the paper (the reference row)"),
    Reading("none", "none", {}, "default", "the original training data (Table 1's 'without PDDS')"),
    Reading("normalize=sum", "pdds", {"normalize": "sum"}, "kernel",
            "PDDS with the kernel of Eq. (1) divided by its sum"),
    Reading("uniform pairs=ordered", "uniform", {"pairs": "ordered"}, "uniform pairs",
            "uniform balancing, each ordered cell i>j below the level raised to it (Table 2's row)"),
    Reading("uniform pairs=unordered", "uniform", {"pairs": "unordered"}, "uniform pairs",
            "uniform balancing, each unordered pair {i, j} below the level raised to it"),
    Reading("none targets=onehot", "none", {"targets": "onehot"}, "targets",
            "the original data with one-hot consensus targets (Fig. 1a; the baselines' own papers)"),
    Reading("pdds targets=onehot", "pdds", {"targets": "onehot"}, "targets",
            "PDDS, its original samples with one-hot consensus targets (mixes keep Eq. 3's labels)"),
    Reading("none bucket=off", "none", {"bucket": False}, "batching",
            "the original data in random minibatches (no length buckets)"),
    Reading("pdds bucket=off", "pdds", {"bucket": False}, "batching",
            "PDDS in random minibatches (no length buckets)"),
    Reading("align=crop", "pdds", {"align": "crop"}, "alignment", "PDDS, mixes cut to the shorter sequence"),
    Reading("align=interp", "pdds", {"align": "interp"}, "alignment",
            "PDDS, the shorter sequence stretched linearly in time"),
    Reading("none original recipe", "none", {}, "recipe", "the original data, the model's original recipe",
            original_recipe=True),
    Reading("pdds original recipe", "pdds", {}, "recipe", "PDDS, the model's original recipe",
            original_recipe=True),
    Reading("oversample", "oversample", {}, "controls", "PDDS's number of new rows as copies of random originals"),
    Reading("mixup", "mixup", {}, "controls", "PDDS's number of new rows as plain mixup of random clear samples"),
    Reading("flat", "flat", {}, "controls", "PDDS's new ambiguous samples spread evenly over the pairs"),
    Reading("none class_weight=balanced", "none", {"class_weight": "balanced"}, "controls",
            "the original data, KL loss weighted by inverse class frequency"),
)

#: The paired tests: (condition A, condition B, group, question); the change reported is B - A.
COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    ("none", "pdds", "default", "PDDS vs the original data (Table 1)"),
    ("pdds", "normalize=sum", "kernel", "sum-normalised vs unnormalised kernel, PDDS"),
    ("none", "normalize=sum", "kernel", "PDDS (sum-normalised) vs the original data"),
    ("uniform pairs=ordered", "pdds", "uniform pairs", "PDDS vs uniform balancing, ordered pairs (Table 2)"),
    ("uniform pairs=unordered", "pdds", "uniform pairs", "PDDS vs uniform balancing, unordered pairs"),
    ("uniform pairs=ordered", "normalize=sum", "uniform pairs", "PDDS (sum-normalised) vs uniform, ordered pairs"),
    ("uniform pairs=unordered", "normalize=sum", "uniform pairs",
     "PDDS (sum-normalised) vs uniform, unordered pairs"),
    ("none targets=onehot", "pdds targets=onehot", "targets", "PDDS vs the original data, one-hot targets on both"),
    ("none targets=onehot", "pdds", "targets", "PDDS (vote targets) vs the original data with one-hot targets"),
    ("pdds", "pdds targets=onehot", "targets", "one-hot vs vote targets, PDDS"),
    ("pdds", "pdds bucket=off", "batching", "random minibatches vs length buckets, PDDS"),
    ("none bucket=off", "pdds bucket=off", "batching", "PDDS vs the original data, random minibatches on both"),
    ("pdds", "align=crop", "alignment", "crop vs pad, PDDS"),
    ("pdds", "align=interp", "alignment", "interp vs pad, PDDS"),
    ("none original recipe", "pdds original recipe", "recipe", "PDDS vs the original data, the original recipe"),
    ("none", "none original recipe", "recipe", "original vs shared recipe, the original data"),
    ("pdds", "pdds original recipe", "recipe", "original vs shared recipe, PDDS"),
    ("oversample", "pdds", "controls", "PDDS vs random oversampling (as much new data)"),
    ("mixup", "pdds", "controls", "PDDS vs plain mixup (as much new data)"),
    ("flat", "pdds", "controls", "PDDS vs a flat distribution of its new ambiguous samples"),
    ("none class_weight=balanced", "pdds", "controls", "PDDS vs the class-weighted loss on the original data"),
)

_BY_NAME = {r.name: r for r in READINGS}


def reading(name: str) -> Reading:
    """The row called ``name`` (see :data:`READINGS`)."""
    if name not in _BY_NAME:
        raise ValueError(f"unknown reading {name!r}; expected one of {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def _names(models: str | Sequence[str]) -> list[str]:
    if isinstance(models, str):
        return [m.strip() for m in models.split(",") if m.strip()]
    return list(models)


def readings_models(models: str | Sequence[str] | None = None, *, synthetic: bool, quick: bool = False) -> list[str]:
    """The chapter's models: ``models`` (a list or ``"a,b"``) or the default for the corpus.

    Default: :data:`READINGS_MODELS` on real data; :data:`READINGS_DEMO_MODELS` on the demo
    corpus and in quick mode.
    """
    if models is None:
        return list(READINGS_DEMO_MODELS if synthetic or quick else READINGS_MODELS)
    return _names(models)


def recipe_models(models: str | Sequence[str] | None = None, *, synthetic: bool, quick: bool = False) -> list[str]:
    """The models also run under their original recipe (:data:`RECIPE_ROWS` only), or the default:
    :data:`RECIPE_MODELS` on real data, none on the demo corpus and in quick mode (SpeechText and
    MAT would add a quarter of the demo's CPU time for rows that say nothing about IEMOCAP)."""
    if models is None:
        return [] if synthetic or quick else list(RECIPE_MODELS)
    return _names(models)


def row_names(rows: str | Sequence[str] | None = None) -> list[str] | None:
    """``"pdds,none"`` -> ``["pdds", "none"]`` (checked against :data:`READINGS`); None: every row."""
    if rows is None:
        return None
    names = _names(rows)
    for n in names:
        reading(n)
    return names


# -- the training-set sizes of each reading ---------------------------------------------------------
def reading_sizes(counts: CountTable, *, n_train: int | None = None, level: int | None = None,
                  sigma: float | None = None) -> pd.DataFrame:
    """How many samples PDDS and uniform balancing add under each (kernel, pairs) reading.

    The kernel's normalisation changes PDDS's plan only, the pairs' reading uniform balancing's
    only; the four combinations are checked against three statements of the paper:

    * ``clause_applies``: "to avoid undersampling, we use the original data when the original
      quantity of ambiguous samples has met or exceeded the smooth distribution" (Section 2.1.2)
      applies to at least one cell (``clause_cells``: cells whose original count is at least the
      smoothed one);
    * ``uniform_largest``: "Uniform balancing has the largest training dataset" (Section 3.4):
      uniform adds more samples than PDDS and than happiness balancing;
    * ``most_below``: "most of them are less than 400" (Section 3.4): most of the cells that
      uniform balancing raises (clear classes and ordered cells, or unordered pairs) are below
      the level.

    Parameters
    ----------
    counts : CountTable
        E.g. :func:`pddslib.reference.iemocap_counts` ("train": sessions 1-4).
    n_train : int, optional
        The training set before resampling (default: the clear and ambiguous samples of
        ``counts``); the sizes after are ``n_train`` plus the new samples.
    level, sigma : optional
        Uniform level and kernel width (default: the samplers').

    Returns
    -------
    pandas.DataFrame
        One row per (normalize, pairs).
    """
    base = int(counts.n_clear + counts.n_ambiguous) if n_train is None else int(n_train)
    kw_u = {} if level is None else {"level": int(level)}
    kw_p = {} if sigma is None else {"sigma": float(sigma)}
    happiness = plan_for("happiness", counts).new_samples
    c = len(counts.classes)
    off = ~np.eye(c, dtype=bool)
    rows = []
    for normalize in ("none", "sum"):
        pdds = plan_for("pdds", counts, normalize=normalize, **kw_p)
        w = kernel_weights(pdds.params["sigma"] if sigma is None else sigma, normalize)
        clause = int((counts.ambiguous[off] >= pdds.smoothed[off]).sum())
        for pairs in ("ordered", "unordered"):
            uni = plan_for("uniform", counts, pairs=pairs, **kw_u)
            lvl = int(uni.params["level"])
            amb = counts.ambiguous
            if pairs == "ordered":
                cells = amb[off]
            else:
                cells = np.array([amb[i, j] + amb[j, i] for i in range(c) for j in range(i + 1, c)])
            below = int((counts.clear < lvl).sum() + (cells < lvl).sum())
            n_cells = c + len(cells)
            row = {
                "normalize": normalize, "pairs": pairs,
                "kernel": f"{w[0]:.3f}, {w[1]:.3f}, {w[2]:.3f}",
                "pdds_new": pdds.new_samples, "pdds_new_clear": int(pdds.new_clear.sum()),
                "pdds_new_ambiguous": int(pdds.new_ambiguous.sum()), "pdds_ambiguous": int(pdds.targets.sum()),
                "uniform_new": uni.new_samples, "uniform_new_clear": int(uni.new_clear.sum()),
                "uniform_new_ambiguous": int(uni.new_ambiguous.sum()), "happiness_new": int(happiness),
                "n_train": base, "pdds_train": base + pdds.new_samples, "uniform_train": base + uni.new_samples,
                "clause_cells": clause, "n_ambiguous_cells": int(off.sum()),
                "below_level": below, "n_level_cells": n_cells, "level": lvl,
            }
            row["clause_applies"] = clause > 0
            row["uniform_largest"] = uni.new_samples > max(pdds.new_samples, happiness)
            row["most_below"] = 2 * below > n_cells
            row["consistent"] = row["clause_applies"] and row["uniform_largest"] and row["most_below"]
            rows.append(row)
    return pd.DataFrame(rows)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def sizes_view(sizes: pd.DataFrame) -> pd.DataFrame:
    """The size table for reading."""
    return pd.DataFrame({
        "kernel (Eq. 1)": [f"{'not normalised' if n == 'none' else 'sum-normalised'} ({k})"
                           for n, k in zip(sizes["normalize"], sizes["kernel"])],
        "uniform pairs": sizes["pairs"],
        "PDDS adds (ambiguous)": [f"{a:,} ({b:,})" for a, b in zip(sizes["pdds_new"], sizes["pdds_new_ambiguous"])],
        "uniform adds (ambiguous)": [f"{a:,} ({b:,})" for a, b in zip(sizes["uniform_new"],
                                                                       sizes["uniform_new_ambiguous"])],
        "training set: PDDS / uniform": [f"{a:,} / {b:,}" for a, b in zip(sizes["pdds_train"], sizes["uniform_train"])],
        "'use the original data' applies": [f"{_yes(f)} ({n} of {m} cells)" for f, n, m in
                                            zip(sizes["clause_applies"], sizes["clause_cells"],
                                                sizes["n_ambiguous_cells"])],
        "uniform largest": [_yes(f) for f in sizes["uniform_largest"]],
        "most below the level": [f"{_yes(f)} ({n} of {m})" for f, n, m in
                                 zip(sizes["most_below"], sizes["below_level"], sizes["n_level_cells"])],
        "consistent with the paper": [_yes(f) for f in sizes["consistent"]],
    })


def sizes_words(sizes: pd.DataFrame) -> str:
    """What the size table says, in a few sentences (generated from its numbers)."""
    s = sizes.set_index(["normalize", "pairs"])
    good = [f"{'unnormalised' if n == 'none' else 'sum-normalised'} kernel with {p} pairs"
            for (n, p), r in s.iterrows() if r["consistent"]]
    out = []
    for n, label in (("none", "not normalised"), ("sum", "sum-normalised")):
        r = s.loc[(n, "ordered")]
        out.append(f"With the kernel {label}, PDDS adds {r.pdds_new:,} samples ({r.pdds_new_ambiguous:,} ambiguous; "
                   f"{r.pdds_ambiguous:,} ambiguous samples after, from {r.pdds_ambiguous - r.pdds_new_ambiguous:,}) "
                   f"and the 'use the original data' clause applies to {r.clause_cells} of "
                   f"{r.n_ambiguous_cells} cells.")
    for p in ("ordered", "unordered"):
        r = s.loc[("none", p)]
        out.append(f"Uniform balancing with {p} pairs adds {r.uniform_new:,} samples.")
    broken = [f"{'unnormalised' if n == 'none' else 'sum-normalised'} kernel with {p} pairs "
              f"(PDDS {r.pdds_new:,} > uniform {r.uniform_new:,})"
              for (n, p), r in s.iterrows() if not r["uniform_largest"]]
    if broken:
        out.append("'Uniform balancing has the largest training dataset' fails for: " + "; ".join(broken) + ".")
    out.append("Consistent with all three statements: " + (", ".join(good) if good else "no combination") + ".")
    return " ".join(out)


def glue_sizes(sizes: pd.DataFrame) -> None:
    """Glue every number of the size table as ``rs_<normalize>_<pairs>_<column>`` (and the summary)."""
    from .notebook import glue_number, glue_text

    for r in sizes.itertuples():
        prefix = f"rs_{r.normalize}_{r.pairs}"
        for col in ("pdds_new", "pdds_new_ambiguous", "pdds_ambiguous", "uniform_new", "pdds_train", "uniform_train",
                    "clause_cells", "below_level", "n_level_cells"):
            glue_number(f"{prefix}_{col}", getattr(r, col), "{:,.0f}")
        for col in ("clause_applies", "uniform_largest", "consistent"):
            glue_text(f"{prefix}_{col}", _yes(getattr(r, col)))
    glue_text("rs_summary", sizes_words(sizes))


# -- the runs --------------------------------------------------------------------------------------
def reading_specs(corpus: Corpus, settings: RunSettings, models: Sequence[str],
                  rows: Sequence[str] | None = None, recipe: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """``(row name, RunSpec)`` of every (model, row, seed): every row (or ``rows``) for ``models``,
    :data:`RECIPE_ROWS` for the models of ``recipe`` not among them; rows that do not apply to a
    model (an original recipe it does not have) are skipped."""
    chosen = [reading(n) for n in rows] if rows is not None else list(READINGS)
    plan = [(m, chosen) for m in models] + [(m, [reading(n) for n in RECIPE_ROWS]) for m in recipe if m not in models]
    out = []
    for model, mine in plan:
        for r in mine:
            if not r.applies_to(model):
                continue
            s = dataclasses.replace(settings, original_recipe=True) if r.original_recipe else settings
            for seed in settings.seed_values:
                out.append((r.name, corpus.spec(s, model, r.strategy, seed, **r.params)))
    return out


def readings(corpus: Corpus, settings: RunSettings, models: str | Sequence[str] | None = None,
             rows: Sequence[str] | None = None, recipe: str | Sequence[str] | None = None,
             log: Callable[[str], Any] | None = print) -> ExperimentResult:
    """Train (or load) every row of :data:`READINGS` for each model over the settings' seeds.

    Parameters
    ----------
    models : optional
        Default: :func:`readings_models` for the corpus.
    rows : optional
        Names of :data:`READINGS` (default: all).
    recipe : optional
        Models run with :data:`RECIPE_ROWS` only (default: :func:`recipe_models` for the corpus).

    Returns
    -------
    ExperimentResult
        Its ``runs`` carry a ``reading`` column (the row's name).
    """
    models = readings_models(models, synthetic=corpus.synthetic)
    recipe = recipe_models(recipe, synthetic=corpus.synthetic)
    named = reading_specs(corpus, settings, models, rows, recipe)
    res = run_specs_with(settings, [s for _, s in named], corpus, log)
    res.runs.insert(0, "reading", [n for n, _ in named])
    return res


def readings_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model and row: group, description, training-set size, WA/UA mean and std (percent), seeds."""
    g = runs.groupby(["model", "reading"], sort=False)
    out = pd.DataFrame({
        "wa_mean": 100 * g["wa"].mean(), "wa_std": 100 * g["wa"].std(ddof=1),
        "ua_mean": 100 * g["ua"].mean(), "ua_std": 100 * g["ua"].std(ddof=1),
        "n_train": g["n_train"].first(), "n_seeds": g["seed"].nunique(),
    }).reset_index()
    out.insert(2, "group", [reading(n).group for n in out["reading"]])
    out.insert(3, "what", [reading(n).what for n in out["reading"]])
    return out


def readings_tests(result: ExperimentResult, classes: Sequence[str], *, n_boot: int = 2000,
                   comparisons: Sequence[tuple[str, str, str, str]] = COMPARISONS) -> pd.DataFrame:
    """The paired tests of :data:`COMPARISONS` for every model (those whose rows were run).

    Returns
    -------
    pandas.DataFrame
        One row per (model, comparison): ``model, a, b, group, question``, the fields of
        :class:`pddslib.significance.Comparison` (percentage points), ``significant``, ``words``.
    """
    from .significance import compare_predictions

    runs = result.runs
    rows = []
    for model in dict.fromkeys(runs["model"]):
        mine = runs[runs.model == model]
        have = set(mine["reading"])
        for a, b, group, question in comparisons:
            if a not in have or b not in have:
                continue
            sides = []
            for name in (a, b):
                sel = mine[mine.reading == name].drop_duplicates("seed").sort_values("seed")
                sides.append((sel["seed"].tolist(), [result.predictions[k] for k in sel["key"]]))
            (seeds_a, preds_a), (seeds_b, preds_b) = sides
            if seeds_a != seeds_b:
                raise ValueError(f"{model}: {a} and {b} were not run with the same seeds ({seeds_a} vs {seeds_b})")
            c = compare_predictions(preds_a, preds_b, classes, n_boot=n_boot)
            rows.append({"model": model, "a": a, "b": b, "group": group, "question": question, **vars(c),
                         "significant": c.significant, "words": c.words(f"{model}: {question}")})
    return pd.DataFrame(rows)


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The results for reading: one row per (model, row), "mean ± std" in percent."""
    from .notebook import pm

    return pd.DataFrame({
        "model": summary["model"], "open choice": summary["group"], "row": summary["reading"],
        "training data": summary["what"], "samples": [f"{int(n):,}" for n in summary["n_train"]],
        "WA": [pm(m, s) for m, s in zip(summary.wa_mean, summary.wa_std)],
        "UA": [pm(m, s) for m, s in zip(summary.ua_mean, summary.ua_std)],
        "seeds": summary["n_seeds"].astype(int),
    })


def tests_view(tests: pd.DataFrame) -> pd.DataFrame:
    """The paired tests for reading: B - A with 95% intervals, p-values and a verdict."""
    def ci(m: float, lo: float, hi: float) -> str:
        return f"{m:+.1f} [{lo:+.1f}, {hi:+.1f}]" if np.isfinite(lo) else f"{m:+.1f}"

    def p(x: float) -> str:
        return "< 0.001" if x < 0.001 else f"{x:.3f}"

    rows = list(tests.itertuples())
    return pd.DataFrame({
        "model": [r.model for r in rows], "open choice": [r.group for r in rows],
        "B vs A": [f"{r.b} vs {r.a}" for r in rows],
        "Δ WA (95%, seeds)": [ci(r.seed_d_wa, r.seed_wa_low, r.seed_wa_high) for r in rows],
        "Δ WA (95%, bootstrap)": [ci(r.d_wa, r.wa_low, r.wa_high) for r in rows],
        "Δ UA (95%, bootstrap)": [ci(r.d_ua, r.ua_low, r.ua_high) for r in rows],
        "p boot.": [p(r.p_wa) for r in rows], "p McNemar": [p(r.p_mcnemar) for r in rows],
        "verdict": ["significant" if r.significant else "within noise" for r in rows],
    })


# -- the conclusion --------------------------------------------------------------------------------
def _verdict(r: Any) -> str:
    return "significant" if r.significant else "within noise"


def _line(r: Any) -> str:
    return f"{r.question}: {r.d_wa:+.1f} WA, {r.d_ua:+.1f} UA points ({_verdict(r)})"


def conclusion(summary: pd.DataFrame, tests: pd.DataFrame, *, synthetic: bool, corpus_name: str = "") -> str:
    """A short conclusion generated from the numbers: per open choice, each test significant or
    within noise; which readings change PDDS's own result; which comparisons PDDS wins. On the demo
    corpus it says that the result describes the synthetic generator."""
    lines = []
    if synthetic:
        lines.append(f"These numbers come from the synthetic demo corpus ({corpus_name}). They describe the demo "
                     "generator (pddslib.corpora.demo, whose features follow each utterance's vote distribution "
                     "by construction), not IEMOCAP and not the paper's claims; run the chapter with -p corpus "
                     "iemocap for real evidence.")
    if tests.empty:
        return "\n".join(lines + ["No comparison could be made (each needs both of its rows)."])
    for model in dict.fromkeys(tests["model"]):
        t = tests[tests.model == model]
        n_sig = int(t["significant"].sum())
        lines.append(f"{model}: {n_sig} of {len(t)} comparisons are larger than the noise of the test set "
                     f"(paired bootstrap and McNemar, p < 0.05).")
        for group in dict.fromkeys(t["group"]):
            lines.append(f"- {group}: " + "; ".join(_line(r) for r in t[t.group == group].itertuples()) + ".")
        own = t[(t.a == "pdds") & (t.b != "pdds")]
        changed = [r.b for r in own.itertuples() if r.significant]
        if len(own):
            lines.append("  Readings that change PDDS's own result beyond noise: "
                         + (", ".join(changed) if changed else "none") + f" (of {len(own)} tested).")
        wins = t[t.b.isin(["pdds", "normalize=sum", "pdds targets=onehot", "pdds bucket=off", "pdds original recipe"])
                 & ~t.a.isin(["pdds"])]
        better = [f"{r.b} over {r.a}" for r in wins.itertuples() if r.significant and r.d_wa > 0]
        worse = [f"{r.b} below {r.a}" for r in wins.itertuples() if r.significant and r.d_wa < 0]
        if len(wins):
            lines.append(f"  PDDS significantly better in {len(better)} of {len(wins)} comparisons with other training "
                         "data" + (f" ({', '.join(better)})" if better else "")
                         + (f"; significantly worse in {len(worse)} ({', '.join(worse)})" if worse else "") + ".")
    return "\n".join(lines)


def plot_tests(tests: pd.DataFrame, title: str = "") -> Any:
    """The paired tests as a forest plot: B - A in WA points with the bootstrap's 95% interval."""
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(tests["model"]))
    n = max(len(tests[tests.model == m]) for m in models)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models) + 2.8, 0.32 * n + 1.3), sharey=True,
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        t = tests[tests.model == model].reset_index(drop=True)
        y = np.arange(len(t))[::-1]
        colour = np.where(t["significant"], "#e15759", "#4e79a7")
        ax.errorbar(t["d_wa"], y, xerr=[t["d_wa"] - t["wa_low"], t["wa_high"] - t["d_wa"]], fmt="none",
                    ecolor="#999999", capsize=2)
        ax.scatter(t["d_wa"], y, c=colour, zorder=3, s=22)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, [f"{b} vs {a}" for a, b in zip(t["a"], t["b"])], fontsize=7)
        ax.set_xlabel("Δ WA (points, B − A)")
        ax.set_title(model, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title or "Paired tests (red: significant; bars: 95% bootstrap interval)", fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["COMPARISONS", "READINGS", "READINGS_DEMO_MODELS", "READINGS_MODELS", "RECIPE_MODELS", "RECIPE_ROWS",
           "Reading", "conclusion", "glue_sizes", "plot_tests", "reading", "reading_sizes", "reading_specs", "readings",
           "readings_models", "readings_summary", "readings_tests", "recipe_models", "row_names", "sizes_view",
           "sizes_words", "summary_view", "tests_view"]
