"""pddslib: Pairwise-emotion Data Distribution Smoothing (PDDS) and the experiments of
Liang, Jiang, Xu, Zhou, "Gaussian-smoothed imbalance data improves speech emotion recognition",
ICASSP 2023.

Where the paper's equations live (each in one small function):

=========  ==========================================================================
Eq. (1)    :func:`pddslib.smoothing.smooth_pairs` (kernel: :func:`~pddslib.smoothing.kernel_weights`)
Eq. (2)    :func:`pddslib.mixup.mix_sequences` (batched on a device: :func:`~pddslib.mixup.mix_padded`)
Eq. (3)    :func:`pddslib.mixup.mix_labels`
Eq. (6)    :func:`pddslib.training.kl_loss`
WA, UA     :func:`pddslib.metrics.weighted_accuracy`, :func:`~pddslib.metrics.unweighted_accuracy`
=========  ==========================================================================

Run settings and their defaults are declared once, in :mod:`pddslib.config`.

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
