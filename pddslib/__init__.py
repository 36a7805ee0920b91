"""pddslib: Pairwise-emotion Data Distribution Smoothing (PDDS) and the experiments of
Liang, Jiang, Xu, Zhou, "Gaussian-smoothed imbalance data improves speech emotion recognition",
ICASSP 2023.

Where the paper's equations live (each in one small function):

=========  ==========================================================================
Eq. (1)    :func:`pddslib.pdds.smoothing.smooth_pairs` (kernel: :func:`~pddslib.pdds.smoothing.kernel_weights`)
Eq. (2)    :func:`pddslib.pdds.mixup.mix_sequences` (batched on a device: :func:`~pddslib.pdds.mixup.mix_padded`)
Eq. (3)    :func:`pddslib.pdds.mixup.mix_labels`
Eq. (6)    :func:`pddslib.runs.training.kl_loss`
WA, UA     :func:`pddslib.runs.metrics.weighted_accuracy`, :func:`~pddslib.runs.metrics.unweighted_accuracy`
=========  ==========================================================================

The package is in wings by layer (each imports only those below it):

===========  ======================================================  =====================================
wing         holds                                                   may import
===========  ======================================================  =====================================
``util``     atomic files, hashing, JSON files, device, cache place  the standard library, numpy
``pdds``     the method: labels, counts, Eq. 1, Eqs. 2-3, samplers   util
``corpora``  vote tables of IEMOCAP, CREMA-D, the demo; manifests    pdds, util, reference, config
``features`` data2vec + BERT extraction, the store, the demos' stores  pdds, corpora, util
``models``   the model registry; CLTNet and the three baselines      util
``runs``     corpus, run cache, one run, sweeps, training, kept runs  all of the above, config
``paper``    the artifacts' computations and their views             runs and above, config, reference
``cli``      the ``pdds`` command                                    everything
===========  ======================================================  =====================================

Every error the package raises on purpose is a :class:`pddslib.PddsError` (each keeps its
built-in base too, e.g. ``ValueError``); :mod:`pddslib.util.errors` lists them.

Run settings and their defaults are declared once, in :mod:`pddslib.config`; models and
strategies once each, in :mod:`pddslib.models.registry` and :mod:`pddslib.pdds.registry`. The algorithmic core
(``pddslib.pdds``, vote parsing, the resampling API) needs only numpy and pandas; feature
extraction, models and training need the ``ml`` extra (torch, transformers).
"""

from .pdds import (
                   CLASSES,
                   PDDS,
                   ClearBalancing,
                   CountTable,
                   NoResampling,
                   Plan,
                   UniformBalancing,
                   VotePolicy,
                   make_resampler,
                   pdds_plan,
                   plan_for,
)
from .util.errors import PddsError

__version__ = "0.1.0"

__all__ = [
    "CLASSES", "ClearBalancing", "CountTable", "NoResampling", "PDDS", "PddsError", "Plan", "UniformBalancing",
    "VotePolicy", "make_resampler", "pdds_plan", "plan_for", "__version__",
]
