"""pddslib: Pairwise-emotion Data Distribution Smoothing (PDDS) and the experiments of
Liang, Jiang, Xu, Zhou, "Gaussian-smoothed imbalance data improves speech emotion recognition",
ICASSP 2023.

The algorithmic core (vote parsing, Eq. 1 smoothing, Eqs. 2-3 mixup, the resampling API) needs
only numpy and pandas; feature extraction, models and training need the ``ml`` extra (torch,
transformers).
"""

from .counts import CountTable
from .labels import CLASSES, VotePolicy
from .resample import PDDS, ClearBalancing, NoResampling, UniformBalancing, make_resampler, plan_for
from .smoothing import Plan, pdds_plan

__version__ = "0.1.0"

__all__ = [
    "CLASSES", "ClearBalancing", "CountTable", "NoResampling", "PDDS", "Plan", "UniformBalancing",
    "VotePolicy", "make_resampler", "pdds_plan", "plan_for", "__version__",
]
