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
# # Table 1: PDDS with six models
#
# **Claim tested.** PDDS is model- and modality-agnostic: SpeechText, MAT, MCSAN and CLTNet
# (bimodal, audio only, text only) all improve when trained on PDDS-smoothed data, by 0.2 to 4.8
# points of WA and 1.5 to 5.9 points of UA in the paper.
#
# ## Overview
# Each model is trained without and with PDDS (σ = 1, *p* = 0.8) on sessions 1-4 and tested on
# session 5, with the paper's settings (Adam, lr 1e-3, weight decay 1e-5, batch 64, KL loss,
# early stopping on the training loss), once per seed. The table gives mean ± std over seeds
# beside the paper's single numbers, and the change PDDS brings, seed by seed.
#
# ## Prerequisites
# The method page; the models are described on the Decisions page.

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
models: str = "speechtext,mat,mcsan,cltnet_audio,cltnet_text,cltnet"  # comma-separated models (the paper's six)

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

from pddslib.models import build_model, count_parameters
from pddslib.paper import plots
from pddslib.paper.experiments import table1, table1_significance, table1_summary
from pddslib.paper.parameters import banner, setup
from pddslib.paper.stats_views import compare_significance, noise_view, significance_view
from pddslib.paper.views import compare_table1, show_table, table1_view

# %%
run = setup(corpus=corpus, iemocap_root=iemocap_root, store=store, seeds=seeds, epochs=epochs, device=device,
            amp=amp, demo_scale=demo_scale, cache_dir=cache_dir, quick=quick, jobs=jobs,
            scheduler=scheduler)
display(banner(run.corpus, what=f"{run.n_seeds} seeds, at most {run.max_epochs} epochs."))

# %% [markdown]
# ## Run the experiment
# One line per finished run (cached runs are loaded, not retrained).

# %%
result = table1(run.corpus, run.settings, models=models.split(","))

# %% [markdown]
# ## Table 1
# Each cell: our mean ± std over seeds, the paper's single run in brackets. Δ is the change PDDS
# brings, computed seed by seed.

# %%
summary = table1_summary(result.runs)
for metric in ("WA", "UA"):
    display(show_table(table1_view(summary, metric), f"{metric} (%) on session 5 ({run.corpus.name}): "
                                                     f"mean ± std over {run.n_seeds} seeds (paper)"))

# %% [markdown]
# ## Does PDDS help? The two-source test
# For each model and for WA and UA: the mean change with PDDS over seeds, its 95% interval and
# p-value from a test that counts both sources of noise (training randomness: the seeds; test-set
# sampling: the utterances of session 5), and the Holm-adjusted p over this page's family (the
# six models times WA and UA, declared as the companion's primary comparisons before any run).
# The last column is the former per-model statistic (a paired bootstrap over utterances that holds
# the trained models fixed): it says whether *these* models differ, not whether PDDS helps. The
# test is described in {ref}`the Decisions page <statistics>`; how many seeds a claim needs is on
# the page {doc}`How many seeds does it take <power>`.

# %%
tests = table1_significance(result, run.corpus.store.classes, n_boot=500 if run.quick else 2000)
display(show_table(significance_view(tests, list(summary["label"])),
                   f"Table 1, with against without PDDS ({run.corpus.name}): changes in points"))
print(compare_significance(tests, "t1", list(summary["label"])))

# %% [markdown]
# Where the noise comes from: the SD of the per-seed change (it shrinks as 1/√seeds in the mean)
# and the test set's floor (it does not shrink with seeds).

# %%
display(show_table(noise_view(tests, list(summary["label"])), "Noise of each change (points)", precision=2))

# %% mystnb={"figure": {"caption": "Table 1 as a figure: WA and UA of each model without (grey) and with (blue) PDDS; dots with bars: our mean \u00b1 std over seeds; crosses: the paper's single run.", "name": "fig-table1"}}
fig = plots.table1_comparison(summary, title=f"Table 1 ({run.corpus.name}): ours (mean ± std) and the paper's")
glue("t1_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Model sizes
# Parameters of each model at this corpus's input dimensions (on the demo corpus every model runs
# narrow; see the Decisions page).

# %%
dims = run.corpus.store.dims
sizes = {label: count_parameters(build_model(m, audio_dim=dims["audio"], text_dim=dims.get("text", 1),
                                             **run.model_overrides(m)))
         for m, label in zip(summary["model"], summary["label"])}
print("\n".join(f"{k:<22} {v:>12,}" for k, v in sizes.items()))

# %% [markdown]
# ## Comparison with the paper

# %%
print(compare_table1(summary, run))

# %% [markdown]
# ## Summary
# The table above puts every model's mean ± std beside the paper's single run; the paper reports
# one run per cell, so its differences have no error bars. Here
# {glue:text}`t1_tests_summary:s` A change that is "within noise" is not evidence that PDDS does
# nothing: with few seeds the test has little power (see "How many seeds does it take").
#
# ## References
# {cite}`liang2023pdds`, {cite}`atmaja2019speechtext`, {cite}`delbrouck2020mat`, {cite}`sun2021mcsan`.
