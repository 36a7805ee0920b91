"""Simulated designs: does each test keep its level, and what power does it have?

A replicate is what the book does once: procedures A and B trained with S seeds and scored on a
freshly drawn test set of N utterances (the class mix of IEMOCAP's session 5). Whether model
(X, s) gets utterance n right is a coin with

``logit P(right) = theta_n + u_Xn + g_Xs + delta [X = B]``

* ``theta_n ~ N(class offset, difficulty_sd^2)``: how hard the utterance is (shared by A and B);
* ``u_Xn ~ N(0, system_sd^2)``: the procedure's own affinity to the utterance (system by utterance:
  the part of a change that is a property of the test set and does not average out over seeds);
* ``g_Xs ~ N(0, seed_sd^2)``: the seed's shift of the whole model (training randomness);
* the coin itself: per-utterance flips between seeds.

Under the null (``delta = 0``) A and B are exchangeable, so the true change is exactly 0 for WA,
UA and every other statistic. :data:`SCENARIOS` are the four null scenarios of the calibration
(flips only, system-by-utterance effects, seed shifts of about a point, both); :func:`calibrate`
measures each test's rejection rate at 0.05:

* ``new``: the two-source fiducial test of :mod:`pddslib.paper.significance` (the book's test);
* ``satterthwaite``: the same variance with Satterthwaite's degrees of freedom (what a mixed
  model with seed and utterance effects and lmerTest-style inference gives);
* ``former``: the book's former verdict (WA only; :func:`pddslib.paper.conditional.former_verdict`).

Everything is numpy with a fixed generator: the same arguments give the same table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .significance import ALPHA, fiducial_p, metric_weights, variance_parts

#: Offsets of the classes' logits (ang, hap, exc, fru, neu, sad: happiness hard, sadness easy), so UA
#: differs from WA.
CLASS_OFFSETS = np.array([0.3, -0.8, 0.0, -0.2, 0.1, 0.6])


@dataclass(frozen=True)
class Scenario:
    """One simulated design (logit scale; see the module's text)."""

    name: str
    system_sd: float = 0.0
    seed_sd: float = 0.0
    delta: float = 0.0
    difficulty_sd: float = 2.0
    mean: float = 0.3


#: The null scenarios of the calibration. 0.08 on the logit scale shifts a model's WA by about one
#: point (the size real runs show); 1.5 gives a test-set floor like session 5's.
SCENARIOS: dict[str, Scenario] = {
    "flips": Scenario("flips"),
    "system": Scenario("system", system_sd=1.5),
    "seed": Scenario("seed", seed_sd=0.08),
    "both": Scenario("both", system_sd=1.5, seed_sd=0.08),
}


def session5_truth(scale: float = 1.0) -> np.ndarray:
    """Class indices with the six-class mix of IEMOCAP's session 5 (``scale``: a fraction of its size)."""
    from ..reference import six_class_sizes

    sizes = six_class_sizes()["test"]
    counts = [max(2, int(round(scale * n))) for n in sizes.values()]
    return np.repeat(np.arange(len(counts)), counts)


def draw(sc: Scenario, truth: np.ndarray, n_seeds: int, n_reps: int, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray]:
    """``(R, S, N)`` correctness of A and B for ``n_reps`` replicates (new test set each)."""
    n = len(truth)
    theta = CLASS_OFFSETS[truth][None, :] + sc.mean + sc.difficulty_sd * rng.standard_normal((n_reps, n))
    out = []
    for shift in (0.0, sc.delta):
        u = sc.system_sd * rng.standard_normal((n_reps, 1, n))
        g = sc.seed_sd * rng.standard_normal((n_reps, n_seeds, 1))
        logit = theta[:, None, :] + u + g + shift                  # (R, S, N)
        out.append(rng.random(logit.shape) < 1 / (1 + np.exp(-logit)))
    return out[0], out[1]


def _satterthwaite_df(seed_var: np.ndarray, floor_var: np.ndarray, s: int) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of ``seed_var + floor_var`` (the floor known): at most 1e9."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = np.where(seed_var > 0, (seed_var + floor_var) ** 2 / (seed_var ** 2 / (s - 1)), 1e9)
    return np.minimum(nu, 1e9)


def _satterthwaite_p(est: np.ndarray, seed_var: np.ndarray, floor_var: np.ndarray, s: int) -> np.ndarray:
    from scipy import stats

    total = seed_var + floor_var
    nu = _satterthwaite_df(seed_var, floor_var, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(est) / np.sqrt(total)
    return np.where(total > 0, 2 * stats.t.sf(t, nu), np.where(est == 0, 1.0, 0.0))


def _chunks(n_reps: int, size: int) -> Iterator[int]:
    done = 0
    while done < n_reps:
        yield min(size, n_reps - done)
        done += size


def replicate_tests(sc: Scenario, n_seeds: int, n_reps: int, truth: np.ndarray, seed: int = 0,
                    former: bool = True, chunk: int = 100) -> pd.DataFrame:
    """Every replicate's tests: one row per replicate with the estimate, the parts and the p-values.

    Columns per metric m in (wa, ua): ``est_m, seed_var_m, floor_var_m, p_new_m, p_satt_m``, and
    ``former_wa`` (the former verdict, True = "significant").
    """
    from .conditional import former_verdict, resample_counts

    rng = np.random.default_rng(seed)
    parts = {m: metric_weights(truth, len(CLASS_OFFSETS), m) for m in ("wa", "ua")}
    boot = resample_counts(len(truth), 1000, seed) if former else None
    frames = []
    for size in _chunks(n_reps, chunk):
        a, b = draw(sc, truth, n_seeds, size, rng)
        diff = b.astype(float) - a.astype(float)
        cols: dict[str, np.ndarray] = {}
        for m, (w, strata) in parts.items():
            est, sv, fv = variance_parts(diff, w, strata)
            cols |= {f"est_{m}": est, f"seed_var_{m}": sv, f"floor_var_{m}": fv,
                     f"p_new_{m}": fiducial_p(est, sv, fv, n_seeds),
                     f"p_satt_{m}": _satterthwaite_p(est, sv, fv, n_seeds)}
        if former:
            cols["former_wa"] = former_verdict(a, b, boot)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def true_change(sc: Scenario, truth: np.ndarray, n: int = 400_000, seed: int = 1) -> dict[str, float]:
    """The scenario's true change B - A of WA and UA (a large Monte-Carlo over utterances and models)."""
    if sc.delta == 0:
        return {"wa": 0.0, "ua": 0.0}
    rng = np.random.default_rng(seed)
    per_class = []
    for k in range(len(CLASS_OFFSETS)):
        theta = CLASS_OFFSETS[k] + sc.mean + sc.difficulty_sd * rng.standard_normal(n)
        pa = 1 / (1 + np.exp(-(theta + sc.system_sd * rng.standard_normal(n) + sc.seed_sd * rng.standard_normal(n))))
        pb = 1 / (1 + np.exp(-(theta + sc.system_sd * rng.standard_normal(n) + sc.seed_sd * rng.standard_normal(n)
                                + sc.delta)))
        per_class.append(float((pb - pa).mean()))
    mix = np.bincount(truth, minlength=len(CLASS_OFFSETS)) / len(truth)
    return {"wa": float(np.dot(mix, per_class)), "ua": float(np.mean(per_class))}


def calibrate(scenarios: dict[str, Scenario] | None = None, seeds: tuple[int, ...] = (3, 5, 10), n_reps: int = 1000,
              scale: float = 0.5, seed: int = 0, former: bool = True) -> pd.DataFrame:
    """Rejection rates at 0.05 of each test, per scenario, number of seeds and metric.

    Returns
    -------
    pandas.DataFrame
        One row per (scenario, seeds, metric): ``rate_new, rate_satterthwaite, rate_former`` (WA
        only), ``mc_se`` (the Monte-Carlo standard error of a rate of 0.05), ``coverage`` (of the
        new test's 95 % interval: its rejection rate of the true change), ``true_change``,
        ``seed_sd, floor_sd`` (points: the mean measured SD of the per-seed change and the floor), and
        ``n_reps``, ``n_utterances``.
    """
    scenarios = SCENARIOS if scenarios is None else scenarios
    truth = session5_truth(scale)
    rows = []
    for j, (name, sc) in enumerate(scenarios.items()):
        true = true_change(sc, truth)
        for s in seeds:
            reps = replicate_tests(sc, s, n_reps, truth, seed=seed + 1000 * j + s, former=former)
            for m in ("wa", "ua"):
                # coverage: the interval misses the true change exactly when the test of "change = true" rejects
                miss = fiducial_p(reps[f"est_{m}"] - true[m], reps[f"seed_var_{m}"], reps[f"floor_var_{m}"], s) < ALPHA
                rows.append({
                    "scenario": name, "seeds": s, "metric": m, "delta": sc.delta,
                    "rate_new": float((reps[f"p_new_{m}"] < ALPHA).mean()),
                    "rate_satterthwaite": float((reps[f"p_satt_{m}"] < ALPHA).mean()),
                    "rate_former": float(reps["former_wa"].mean()) if former and m == "wa" else np.nan,
                    "coverage": float(1 - miss.mean()), "true_change": 100 * true[m],
                    "seed_sd": 100 * float(np.sqrt((s * reps[f"seed_var_{m}"]).mean())),
                    "floor_sd": 100 * float(np.sqrt(reps[f"floor_var_{m}"].mean())),
                    "mc_se": float(np.sqrt(ALPHA * (1 - ALPHA) / n_reps)), "n_reps": n_reps,
                    "n_utterances": len(truth)})
    return pd.DataFrame(rows)


def ideal_sizes(ratios: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0),
                seeds: tuple[int, ...] = (3, 5, 10), nodes: int = 200) -> pd.DataFrame:
    """Exact sizes at 0.05 in the idealised normal model (no simulation): the mean change is
    ``N(0, A + B)``, the seed part is estimated as ``A chi2_k / k`` and the floor ``B`` is known.

    ``ratio`` is ``B / A`` (floor over seed part). Returns one row per (seeds, ratio): ``fiducial``
    (the book's test) and ``satterthwaite`` (the same variance, t with the Welch-Satterthwaite
    degrees of freedom ``(A^ + B)^2 / (A^2 / k)``), by quadrature over chi2_k.
    """
    from scipy import special, stats

    from .significance import half_widths

    rows = []
    for s in seeds:
        k = s - 1
        q = stats.chi2.ppf((np.arange(nodes) + 0.5) / nodes, k) / k        # A^ / A at each node
        for ratio in ratios:
            total = np.sqrt(1.0 + ratio)
            h = half_widths(q, ratio, s, nodes=400, rtol=1e-7)
            nu = _satterthwaite_df(q, ratio, s)
            crit = stats.t.ppf(1 - ALPHA / 2, nu) * np.sqrt(q + ratio)
            rows.append({"seeds": s, "ratio": ratio, "fiducial": float((2 * special.ndtr(-h / total)).mean()),
                         "satterthwaite": float((2 * special.ndtr(-crit / total)).mean())})
    return pd.DataFrame(rows)


def calibration_key(**kwargs: object) -> str:
    """The cache key of a calibration: its arguments, numpy's version and the source of the code it runs."""
    import hashlib
    import json
    from pathlib import Path

    here = Path(__file__).parent
    h = hashlib.sha256(json.dumps({k: kwargs[k] for k in sorted(kwargs)}, default=str).encode())
    h.update(np.__version__.encode())
    for name in ("simulate.py", "significance.py", "conditional.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:20]


def cached_calibrate(seeds: tuple[int, ...] = (3, 5, 10), n_reps: int = 2000, scale: float = 1.0, seed: int = 0,
                     cache_dir: str | None = None, log=print) -> pd.DataFrame:
    """:func:`calibrate` of :data:`SCENARIOS`, read from ``$PDDS_CACHE/simulations/<key>/`` when it was
    computed before (keyed on the arguments and the code: :func:`calibration_key`; written once,
    atomically, so processes sharing the cache never see half a table)."""
    from pathlib import Path

    from ..util.atomic import publish_once
    from ..util.locations import cache_path

    args = {"seeds": list(seeds), "n_reps": int(n_reps), "scale": float(scale), "seed": int(seed)}
    folder = (Path(cache_dir) if cache_dir else cache_path("simulations")) / calibration_key(**args)
    if not (folder / "calibration.csv").exists() and log is not None:
        log(f"simulating {len(SCENARIOS)} null scenarios x {len(seeds)} seed counts x {n_reps} replicates ...")

    def build(tmp: Path) -> None:
        calibrate(seeds=tuple(seeds), n_reps=n_reps, scale=scale, seed=seed).to_csv(tmp / "calibration.csv",
                                                                                     index=False)

    return pd.read_csv(publish_once(folder, build) / "calibration.csv")


def with_effect(sc: Scenario, delta: float) -> Scenario:
    """The scenario with B better by ``delta`` on the logit scale (an alternative)."""
    return replace(sc, name=f"{sc.name}+{delta:g}", delta=float(delta))


__all__ = ["CLASS_OFFSETS", "SCENARIOS", "Scenario", "cached_calibrate", "calibrate", "calibration_key", "ideal_sizes",
           "draw", "replicate_tests", "session5_truth", "true_change", "with_effect"]
