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
from pddslib.paper.views import compare_significance, compare_table1, show_table, significance_view, table1_view

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
# ## Is the change more than noise?
# Each model's change with PDDS, with a 95% interval over seeds (a t-interval of the per-seed
# changes) and over test utterances (a paired bootstrap: the same resample of the test utterances
# for both conditions and every seed), and two paired tests on the test utterances: the
# bootstrap's p-value and McNemar's exact test per seed, combined over seeds with Fisher's method.
# The paper reports single runs, so its differences carry no such test.

# %%
tests = table1_significance(result, run.corpus.store.classes)
display(show_table(significance_view(tests, dict(zip(summary["model"], summary["label"]))),
                   f"Table 1, with against without PDDS ({run.corpus.name}): changes in points"))
print(compare_significance(tests, "t1"))

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
# The table above puts every model's mean ± std beside the paper's single run. A change smaller
# than its spread over seeds is not evidence either way; the paper reports one run per cell, so
# its differences have no error bars.
#
# ## References
# {cite}`liang2023pdds`, {cite}`atmaja2019speechtext`, {cite}`delbrouck2020mat`, {cite}`sun2021mcsan`.
