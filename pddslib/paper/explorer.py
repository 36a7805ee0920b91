"""Every frame of the interactive Fig. 2, computed by the samplers at build time (pure data, JSON-ready).

The page (:mod:`pddslib.paper.explorer_page`) only selects among these frames: sigma, the kernel
reading and p of PDDS, the pairs reading of the uniform ablation. Nothing of Eq. (1) or Eq. (3) is
written again in JavaScript; a frame is what :func:`pddslib.pdds.registry.plan_for` and
:meth:`pddslib.pdds.smoothing.Plan.added_label_mass` return for its settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config import default_of
from ..pdds.counts import CountTable
from ..pdds.registry import plan_for
from ..pdds.smoothing import Plan, kernel_weights

#: sigma 0.25 .. 4 in steps of 0.25 (the paper uses 1).
SIGMAS: tuple[float, ...] = tuple(float(s) for s in np.arange(1, 17) / 4)
#: the kernel readings of Eq. (1): peak weight 1 (the literal equation) or weights summing to 1.
NORMALIZATIONS: tuple[str, ...] = ("none", "sum")
#: the pairs readings of the uniform ablation (``UniformBalancing(pairs=...)``).
PAIRS_READINGS: tuple[str, ...] = ("ordered", "unordered")
#: mixup weights of the major emotion (Fig. 6 sweeps 0.5 .. 0.9; the paper's best is 0.8).
P_VALUES: tuple[float, ...] = tuple(float(p) for p in np.round(np.arange(10, 21) / 20, 2))


def frame_key(*parts: Any) -> str:
    """Key of a frame: its settings joined by ``|`` (numbers as ``%g``: ``"none|1.25"``)."""
    return "|".join(f"{p:g}" if isinstance(p, float) else str(p) for p in parts)


def _plan_frame(plan: Plan) -> dict[str, Any]:
    """A plan as the page reads it: ``pdds plan --json``'s object, its clear counts as a list in class order."""
    cli = plan.to_dict()
    return {"clear": list(cli["balanced_clear"].values()), "new_clear": [int(n) for n in plan.new_clear],
            "targets": cli["targets"], "new_samples": cli["new_samples"]}


def fig2_frames(counts: CountTable, *, level: int | None = None, sigmas: Sequence[float] = SIGMAS,
                normalizations: Sequence[str] = NORMALIZATIONS, pairs: Sequence[str] = PAIRS_READINGS,
                p_values: Sequence[float] = P_VALUES) -> dict[str, Any]:
    """Plans and added label mass of PDDS and of the uniform ablation for every setting of the controls.

    Parameters
    ----------
    counts : CountTable
        Clear and ambiguous counts of a training set (e.g. ``pddslib.reference.iemocap_counts("train")``).
    level : int or None
        Level of the uniform ablation (None: the sampler's default, the paper's 400).
    sigmas, normalizations, pairs, p_values : sequences
        The settings offered by the page's controls.

    Returns
    -------
    dict
        ``classes``, ``before`` (the original counts as a plan frame), the settings lists, ``level``,
        ``kernel`` (``"norm|sigma" -> [w(-1), w(0), w(+1)]``), ``pdds`` (``"norm|sigma"`` -> plan
        frame), ``uniform`` (``pairs`` -> plan frame), ``mass_pdds`` (``"norm|sigma|p"`` -> added
        label mass per class) and ``mass_uniform`` (``"pairs|p"`` -> the same). A plan frame holds
        ``clear`` (the clear counts after balancing: ``pdds plan --json``'s ``balanced_clear``),
        ``new_clear``, ``targets`` and ``new_samples`` (as ``pdds plan --json``).
    """
    cl = counts.classes
    uniform = {"level": int(level)} if level is not None else {}
    out: dict[str, Any] = {
        "classes": list(cl),
        "before": _plan_frame(plan_for("none", counts)),  # the original counts, nothing added
        "sigmas": [float(s) for s in sigmas], "normalizations": list(normalizations), "pairs": list(pairs),
        "p_values": [float(p) for p in p_values],
        "level": int(level) if level is not None else int(default_of("uniform", "level")),
        "kernel": {}, "pdds": {}, "uniform": {}, "mass_pdds": {}, "mass_uniform": {},
    }
    for norm in normalizations:
        for sigma in sigmas:
            key = frame_key(norm, float(sigma))
            plan = plan_for("pdds", counts, sigma=float(sigma), normalize=norm)
            out["kernel"][key] = [round(float(w), 6) for w in kernel_weights(float(sigma), norm)]
            out["pdds"][key] = _plan_frame(plan)
            for p in p_values:
                out["mass_pdds"][frame_key(norm, float(sigma), float(p))] = _mass(plan, p)
    for reading in pairs:
        plan = plan_for("uniform", counts, pairs=reading, **uniform)
        out["uniform"][reading] = _plan_frame(plan)
        for p in p_values:
            out["mass_uniform"][frame_key(reading, float(p))] = _mass(plan, p)
    return out


def _mass(plan: Plan, p: float) -> list[float]:
    return [round(float(m), 2) for m in plan.added_label_mass(float(p))]
