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
# # Which reading? Sensitivity and controls
#
# **Question.** The paper leaves several choices open, and this companion had to pick one
# reading of each (the {doc}`Decisions <../decisions>` page). Do the results depend on the
# reading picked? And does PDDS beat training sets that add as much data without its
# distribution?
#
# ## Overview
# Each open choice is an option of the library (`pdds run`, `PDDS(...)`, these parameters), and
# every row below trains CLTNet with one of them changed:
#
# | open choice | rows | option |
# | --- | --- | --- |
# | kernel of Eq. (1) | `pdds` (not normalised), `normalize=sum` | `--normalize sum` |
# | Table 2's uniform pairs | `uniform pairs=ordered`, `uniform pairs=unordered` | `--pairs unordered` |
# | targets of the original samples | `none targets=onehot`, `pdds targets=onehot` | `--targets onehot` |
# | batching | `none bucket=off`, `pdds bucket=off` | `--no-bucket` |
# | mixup of sequences | `align=crop`, `align=interp` | `--align crop` |
# | the baselines' recipe | `none original recipe`, `pdds original recipe` (SpeechText, MAT) | `--original-recipe` |
# | controls | `oversample`, `mixup`, `flat`, `none class_weight=balanced` | `--strategy flat`, `--class-weight balanced` |
#
# First, without training anything, the training-set sizes that each (kernel, pairs) reading
# gives on IEMOCAP's real counts, checked against the paper's own statements. Then WA and UA of
# every row (mean ± std over seeds), and tests of each comparison that count both the seeds and
# the test utterances, corrected over the chapter (Benjamini-Hochberg: the chapter is exploratory).
#
# ## Prerequisites
# Table 1 and Table 2 (their CLTNet runs, `pdds`, `none` and `uniform pairs=ordered`, are
# reused from the cache).

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
quick: bool = False  # CI smoke run: tiny demo corpus, 2 seeds, 2 epochs, CLTNet only
models: Optional[str] = None  # models, comma-separated (None: cltnet,cltnet_text,cltnet_audio on IEMOCAP; cltnet on the demo corpus and in quick mode)
recipe_models: Optional[str] = None  # models also run under their original recipe, comma-separated (None: speechtext,mat on IEMOCAP; none on the demo corpus)
rows: Optional[str] = None  # rows to run, comma-separated names as in the tables below, e.g. "pdds,none" (None: every row)

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import display
from myst_nb import glue

import pddslib.paper.readings as rd
import pddslib.paper.readings_views as rv
from pddslib.paper.parameters import banner, setup
from pddslib.paper.views import glue_text, show_table
from pddslib.reference import iemocap_counts, six_class_sizes

# %%
run = setup(corpus=corpus, iemocap_root=iemocap_root, store=store, seeds=seeds, epochs=epochs, device=device,
            amp=amp, demo_scale=demo_scale, cache_dir=cache_dir, quick=quick, jobs=jobs,
            scheduler=scheduler)
chosen = rd.readings_models(models, synthetic=run.synthetic, quick=run.quick)
recipe = rd.recipe_models(recipe_models, synthetic=run.synthetic, quick=run.quick)
display(banner(run.corpus, what=f"{run.n_seeds} seeds, at most {run.max_epochs} epochs; models: {', '.join(chosen)}"
                                + (f"; original recipe also for {', '.join(recipe)}." if recipe else ".")))

# %% [markdown]
# ## The readings in numbers: training-set sizes
# From IEMOCAP's real vote counts of sessions 1-4 (packaged aggregate counts; no training, so
# these numbers are the same on every corpus). The kernel's normalisation changes what PDDS
# adds; the reading of "each emotion-pair" changes what uniform balancing adds. Training set:
# the 5,758 six-class training utterances plus the new samples. Three statements of the paper
# are checked: Section 2.1.2's "we use the original data when the original quantity of
# ambiguous samples has met or exceeded the smooth distribution" (does it apply to any cell?),
# Section 3.4's "Uniform balancing has the largest training dataset", and its "most of them are
# less than 400".

# %%
counts = iemocap_counts("train")
sizes = rd.reading_sizes(counts, n_train=sum(six_class_sizes()["train"].values()))
rv.glue_sizes(sizes)
display(show_table(rv.sizes_view(sizes), "Training-set sizes of each (kernel, pairs) reading, IEMOCAP sessions 1-4 "
                                         "(packaged counts); PDDS with sigma = 1, uniform level 400"))
print(rv.sizes_words(sizes))

# %% [markdown]
# Without normalisation the smoothed count of a cell is never below its original count, so the
# paper's "use the original data" clause applies to
# {glue:text}`rs_none_ordered_clause_cells:s` cells, and PDDS adds
# {glue:text}`rs_none_ordered_pdds_new:s` samples; with the sum-normalised kernel the clause
# applies to {glue:text}`rs_sum_ordered_clause_cells:s` cells and PDDS adds
# {glue:text}`rs_sum_ordered_pdds_new:s`. Uniform balancing adds
# {glue:text}`rs_none_ordered_uniform_new:s` samples with ordered pairs and
# {glue:text}`rs_none_unordered_uniform_new:s` with unordered ones. The evidence of the counts
# favours the sum-normalised kernel: only with it does the paper's clause do anything, and only
# with it is "uniform balancing has the largest training dataset" true under both readings of the
# pairs. Eq. (1) as printed, without a normalising factor, is the evidence for the unnormalised
# kernel (this companion's default). Both kernels and both pair readings are trained below.

# %% [markdown]
# ## Run the readings

# %%
result = rd.readings(run.corpus, run.settings, chosen, rows=rd.row_names(rows), recipe=recipe)

# %% [markdown]
# ## WA and UA under each reading
# Mean ± std over seeds, percent, on the test session; "samples" is the training-set size.

# %%
summary = rd.readings_summary(result.runs)
display(show_table(rv.summary_view(summary), f"WA and UA (%) under each reading and control ({run.corpus.name}), "
                                             f"mean ± std over {run.n_seeds} seeds"))

# %% [markdown]
# ## Calibration and fit to the votes
# Training uses vote distributions, so accuracy is not the whole story: per row, mean ± std over
# seeds of the test utterances' negative log-likelihood of the consensus label, Brier score,
# expected calibration error (15 equal-width confidence bins) and the mean KL divergence from each
# utterance's vote distribution to the predicted one (lower is better for all four; the
# Decisions page, S8, defines them).

# %%
display(show_table(rv.soft_view(summary), f"Calibration and fit to the votes under each reading ({run.corpus.name})"))

# %% [markdown]
# ## Tests
# Each comparison B against A on the same seeds and test utterances, on WA and UA: the change with
# its 95% interval from the test that counts both the seeds and the test utterances
# ({ref}`the Decisions page <statistics>`), and its p-value adjusted with Benjamini and Hochberg's
# procedure over the whole chapter (every comparison of every model, both metrics). The chapter is
# exploratory: it controls the expected share of false claims among its claims, not the chance
# of any. The last column is the former per-model statistic (a paired bootstrap holding the
# trained models fixed: "these models differ").

# %%
tests = rd.readings_tests(result, run.corpus.store.classes, n_boot=500 if run.quick else 2000)
display(show_table(rv.tests_view(tests), f"Tests ({run.corpus.name}): B − A in points"))

# %% mystnb={"figure": {"caption": "Each comparison's change in WA (circles) and UA (squares), B \u2212 A in points, with its 95% interval over seeds and test utterances; red: significant after Benjamini-Hochberg correction over the chapter.", "name": "fig-readings"}}
fig = rv.plot_tests(tests, title=f"Which reading? Two-source tests ({run.corpus.name})")
glue("rd_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Conclusion
# Generated from the numbers above: for each open choice, whether each change is more than the
# noise of seeds and test utterances, after Benjamini-Hochberg correction over the chapter.

# %%
text = rv.conclusion(summary, tests, synthetic=run.synthetic, corpus_name=run.corpus.name)
glue_text("rd_conclusion", text)
print(text)

# %% [markdown]
# ## What each row tests
# The {doc}`Decisions <../decisions>` page links each open choice to its row here. The
# baselines' original recipes differ from the shared settings only for SpeechText and MAT
# (CLTNet's recipe is the paper's, the default), so their rows run for those models, on IEMOCAP
# by default; on the demo corpus they are left out (they would add a quarter of the demo's CPU
# time for rows that say nothing about IEMOCAP). MAT's original truncation of every utterance to
# 15 tokens and 40 audio frames is not a row: see the Decisions page, "MAT".
#
# ## References
# {cite}`liang2023pdds`, {cite}`zhang2018mixup`.
