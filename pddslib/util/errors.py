"""The one base of every error pddslib raises on purpose: :class:`PddsError`.

``except pddslib.PddsError`` catches any of them; each also keeps the built-in base it had before
(``ValueError``, ``RuntimeError`` or ``Exception``), so code that catches that base still works.
The ``pdds`` command prints any of them as one line (``pdds --debug`` or ``PDDS_DEBUG=1`` prints the
traceback before it). This module imports nothing from pddslib, so every wing may import it.

Every error class of the package (its module; its built-in base), and where it is raised:

``AudioFileError`` (:mod:`pddslib.features.audio`; ValueError)
    A wav cannot be read or is unusable: reading audio (``features.audio``) and extraction's input
    and length checks (``features.extract``, ``features.pipeline``, ``features.inputs_crema_d``).
``StoreError`` (:mod:`pddslib.features.store`; ValueError)
    A feature store is missing, incomplete or inconsistent (``features.store``, ``features.shards``,
    ``features.extract``).
``CorpusFormatError`` (:mod:`pddslib.corpora.errors`; ValueError)
    A corpus file does not have the expected format; the message starts with ``path:line:``
    (``corpora.iemocap``, ``corpora.crema_d``, ``corpora.manifest``, ``features.inputs_manifest``).
``VoteTableError`` (:mod:`pddslib.corpora.votes`; ValueError)
    A votes table breaks the contract (``corpora.votes``).
``RunCacheError`` (:mod:`pddslib.runs.cache`; ValueError)
    A run-cache or output folder cannot be used (``runs.cache``).
``SavedModelError`` (:mod:`pddslib.runs.saved_models`; ValueError)
    A saved run cannot be used (``runs.saved_models``).
``ClusterError`` (:mod:`pddslib.runs.cluster`; RuntimeError)
    The Dask scheduler cannot be reached, a worker runs more than one thread, or runs of a cluster
    sweep failed (``runs.cluster``).
``UsageError`` (:mod:`pddslib.cli._common`; Exception)
    A wrong combination of ``pdds`` arguments, exit code 2 (``cli.votes``, ``cli.power``,
    ``cli.saved``, ``cli._common``).
``InvalidParameterError`` (:mod:`pddslib.util.constraints`; ValueError and TypeError)
    A parameter's value satisfies none of its declared constraints (``util.constraints.validate``:
    the samplers' ``fit``, ``TrainConfig``, ``RunSpec.build``, the command line's options).
``MissingExtra`` (:mod:`pddslib.cli._common`; Exception)
    A ``pdds`` command needs an optional dependency that is not installed, exit code 1
    (``cli._common.needs_extra``, ``cli.run``).

A new error class subclasses :class:`PddsError` (after a built-in base where callers expect one)
and gets an entry here: ``tests/test_errors.py`` finds every error class of the package and checks
both.
"""

from __future__ import annotations

__all__ = ["PddsError"]


class PddsError(Exception):
    """The base of every error that pddslib raises on purpose (the message names the file or value)."""
