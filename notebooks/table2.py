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
# # Table 2: is it the distribution or the amount of data?
#
# **Claim tested.** PDDS beats uniform balancing although uniform balancing makes the larger
# training set: the gain comes from a reasonable data distribution, not from more data.
#
# ## Overview
# CLTNet is trained on four training sets: the original data; only clear happiness balanced
# (mixup, *p* = 0.5); uniform balancing (every clear class and every ambiguous ordered pair below
# 400 raised to 400 by mixup); and PDDS. The size of each training set is shown beside WA and UA.
#
# ## Prerequisites
# Table 1 (its CLTNet runs are reused from the cache) and the data-distribution page.

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
level: Optional[int] = None  # uniform balancing level (None: the corpus default, the paper's 400 on IEMOCAP and 400 x demo_scale on the demo corpus)

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from pddslib.paper import plots
from pddslib.paper.experiments import STRATEGY_LABELS, table2, table2_significance, table2_summary
from pddslib.paper.parameters import banner, setup
from pddslib.paper.stats_views import compare_significance, pair_names, significance_view
from pddslib.paper.views import compare_table2, show_table, table2_view

# %%
run = setup(corpus=corpus, iemocap_root=iemocap_root, store=store, seeds=seeds, epochs=epochs, device=device,
            amp=amp, demo_scale=demo_scale, cache_dir=cache_dir, quick=quick, level=level, jobs=jobs,
            scheduler=scheduler)
display(banner(run.corpus, what=f"{run.n_seeds} seeds, at most {run.max_epochs} epochs; "
                                f"uniform level {run.level}."))

# %% [markdown]
# ## Run the experiment

# %%
result = table2(run.corpus, run.settings)

# %% [markdown]
# ## Table 2
# Each cell: our mean ± std over seeds, the paper's single run in brackets.

# %%
summary = table2_summary(result.runs)
display(show_table(table2_view(summary), f"CLTNet, WA and UA (%) on session 5 ({run.corpus.name}), "
                                        f"mean ± std over {run.n_seeds} seeds (paper)"))

# %% [markdown]
# ## Is it more than noise? The two-source test
# This page's family: each ablation against the original data and against PDDS, and PDDS against
# the original data, on WA and UA, with Holm's correction over all of them. Each row: the mean
# change over seeds with its 95% interval from the test that counts both the seeds and the test
# utterances ({ref}`the Decisions page <statistics>`), the Holm-adjusted p-value, and the former
# per-model statistic ("these models differ", which holds the trained models fixed).

# %%
tests = table2_significance(result, run.corpus.store.classes, n_boot=500 if run.quick else 2000)
names = pair_names(tests, STRATEGY_LABELS)
display(show_table(significance_view(tests, names),
                   f"Table 2, CLTNet ({run.corpus.name}): changes B − A in points"))
print(compare_significance(tests, "t2", names))

# %% mystnb={"figure": {"caption": "Table 2 as a figure: CLTNet's WA and UA (mean \u00b1 std over seeds) for each training set, with its size; crosses: the paper's numbers.", "name": "fig-table2"}}
fig = plots.strategy_accuracy(summary, title=f"Table 2 ({run.corpus.name}): training data and accuracy")
plt.show()

# %% [markdown]
# ## Comparison with the paper

# %%
print(compare_table2(summary, run))

# %% [markdown]
# ## Summary
# The paper's ablation reads: original < happiness only < uniform < PDDS, with PDDS using fewer
# samples than uniform balancing. The tables show where these runs ({glue:text}`t2_corpus:s`) agree,
# with the spread over seeds that the paper does not give; {glue:text}`t2_tests_summary:s`
#
# ## References
# {cite}`liang2023pdds`, {cite}`zhang2018mixup`.
