# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,mystnb,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Fig. 5: where PDDS changes CLTNet's errors
#
# **Claim tested.** With PDDS, CLTNet classifies most emotions more accurately, and it no longer
# leans towards *frustration* (the paper's rightmost confusion-matrix column).
#
# ## Overview
# The confusion matrices of CLTNet without and with PDDS on session 5, summed over seeds and
# normalised by row (each row is one consensus label; counts in brackets), and the change in
# per-class recall with its spread over seeds. The runs are Table 1's (loaded from the cache).
#
# ## Prerequisites
# Table 1.

# %% tags=["parameters"]
from typing import Optional  # None: the default for the corpus

corpus: str = "demo"  # "demo" (synthetic, the default), "iemocap" (extracted features; see store, iemocap_root) or a feature-store folder
iemocap_root: str = ""  # IEMOCAP release folder (with corpus iemocap: features are extracted from it first when the store is missing)
store: str = ""  # IEMOCAP feature store (default: $PDDS_CACHE/iemocap-features, written by `pdds extract`)
seeds: int = 3  # number of seeds (0 .. seeds-1); every number is a mean ± std over seeds
epochs: Optional[int] = None  # at most this many epochs (None: the corpus default, the paper's 30 on IEMOCAP and 5 on the demo corpus)
device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu" or "cuda"
amp: bool = False  # mixed precision (bf16/fp16) on CUDA
jobs: Optional[int] = None  # runs trained at once (None: one per CPU on a CPU, 4 on a GPU; 1: one at a time); results do not depend on it
scheduler: Optional[str] = None  # a Dask cluster to train on (tcp://host:8786 or a scheduler file; needs pddslib[cluster]); None: this machine
demo_scale: Optional[float] = None  # size of the demo corpus as a fraction of IEMOCAP's (None: pddslib's default, corpora.demo.DEFAULT_SCALE)
cache_dir: str = ""  # where finished runs are cached (default: $PDDS_CACHE/runs); re-running reuses them
quick: bool = False  # CI smoke run: tiny demo corpus, 2 seeds, 2 epochs

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from pddslib.paper import plots
from pddslib.paper.experiments import confusion_by_strategy, fig5, fig5_significance, recall_change
from pddslib.paper.stats_views import rows_view
from pddslib.paper.parameters import banner, setup
from pddslib.paper.views import compare_fig5, recall_view, show_table

# %%
run = setup(corpus=corpus, iemocap_root=iemocap_root, store=store, seeds=seeds, epochs=epochs, device=device,
            amp=amp, demo_scale=demo_scale, cache_dir=cache_dir, quick=quick, jobs=jobs,
            scheduler=scheduler)
display(banner(run.corpus, what=f"{run.n_seeds} seeds, at most {run.max_epochs} epochs."))

# %% [markdown]
# ## Run the experiment

# %%
result = fig5(run.corpus, run.settings)
classes = run.corpus.store.classes

# %% [markdown]
# ## Fig. 5

# %% mystnb={"figure": {"caption": "Fig. 5: CLTNet's confusion matrices on session 5 without (left) and with (right) PDDS, summed over seeds; each row (consensus label) is normalised, counts in brackets.", "name": "fig-confusion"}}
cms = confusion_by_strategy(result.runs, classes)
fig = plots.confusion_pair(cms, classes, titles=["CLTNet without PDDS", "CLTNet with PDDS"],
                           suptitle=f"Session 5, summed over {run.n_seeds} seeds ({run.corpus.name})")
plt.show()

# %% [markdown]
# ## Per-class recall

# %%
change = recall_change(result.runs, classes)
display(show_table(recall_view(change), "Recall (%) per consensus class, mean ± std over seeds; "
                                        "change = with minus without, seed by seed"))

# %% mystnb={"figure": {"caption": "Change of each class's recall with PDDS (mean \u00b1 std over seeds, computed seed by seed).", "name": "fig-recall"}}
fig = plots.recall_change_bars(change, title=f"Per-class recall change with PDDS ({run.corpus.name})")
plt.show()

# %% [markdown]
# ## Which changes are more than noise?
# This page's family: each class's recall and the share of predictions that are *frustration*,
# with PDDS against without, tested with both sources of noise (the seeds and the test
# utterances; {ref}`the Decisions page <statistics>`) and Holm's correction over all of them.

# %%
tests = fig5_significance(result, classes)
display(show_table(rows_view(tests, classes, a="without PDDS", b="with PDDS"),
                   f"Fig. 5's tests ({run.corpus.name}): changes with PDDS in points"))

# %% [markdown]
# ## Comparison with the paper

# %%
print(compare_fig5(cms, change, classes, tests))

# %% [markdown]
# ## Summary
# The matrices show which confusions PDDS moves; the tests say which moves are more than the
# noise of seeds and test utterances ({glue:text}`f5_correction:s`): recall significantly up for
# {glue:text}`f5_sig_up:s` classes and down for {glue:text}`f5_sig_down:s`; the share of
# frustration predictions changes by {glue:text}`f5_lean:s`.
#
# ## References
# {cite}`liang2023pdds`.
