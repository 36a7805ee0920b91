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
# # Data distribution (Fig. 1 and Fig. 2)
#
# **Claim tested.** IEMOCAP's clear and ambiguous samples are very unevenly distributed over
# emotions and emotion pairs (paper, Fig. 1), and PDDS's Gaussian smoothing turns this into a
# smoother distribution pair by pair (Fig. 2), adding about 7,700 mixup samples.
#
# ## Overview
# The vote statistics come, by default, from the aggregate IEMOCAP counts packaged with
# `pddslib` (sessions 1-4, the training sessions, under the default vote policy). With
# parameters they come from your own IEMOCAP release, from CREMA-D's real crowd votes, or
# from the synthetic demo corpus. Nothing is trained here.
#
# ## Prerequisites
# The method page (Eq. 1 and the clear-ambiguous-clear chain).

# %% tags=["parameters"]
from typing import Optional  # None: the default for the corpus

source: str = "reference"  # where the votes come from: "reference" (packaged IEMOCAP counts), "iemocap", "crema-d" or "demo"
iemocap_root: str = ""  # IEMOCAP release folder (holds Session1..Session5) (with source iemocap)
sessions: str = "1,2,3,4"  # IEMOCAP sessions to count (the training sessions by default)
policy: str = "default"  # vote policy: "default", "self", "strict" or "drop-evaluator"
crema_d: str = "download"  # CREMA-D tabulatedVotes.csv, its folder, or "download" (cached) (with source crema-d)
demo_scale: Optional[float] = None  # size of the demo corpus (fraction of IEMOCAP) (with source demo) (None: pddslib's default, corpora.demo.DEFAULT_SCALE)
sigma: Optional[float] = None  # Gaussian kernel width of Eq. (1) (None: the sampler's default, the paper's 1)
normalize: Optional[str] = None  # kernel normalisation: "none" (Eq. 1 literally, the default) or "sum"
level: Optional[int] = None  # uniform balancing level (None: the paper's 400; with source demo, 400 x demo_scale as in Table 2)
quick: bool = False  # CI smoke run (this notebook is fast anyway; kept for a uniform interface)

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import HTML, display

from pddslib.paper import plots
from pddslib.paper.experiments import distribution, vote_counts
from pddslib.paper.explorer import fig2_frames
from pddslib.paper.explorer_page import fig2_explorer_html
from pddslib.paper.parameters import banner, uniform_level
from pddslib.paper.views import compare_distribution, show_table
from pddslib.pdds.resample import PDDS
from pddslib.pdds.smoothing import kernel_weights

# %% [markdown]
# ## The votes

# %%
counts, one_hot, label = vote_counts(source, iemocap_root=iemocap_root, sessions=sessions, policy=policy,
                                     crema_d=crema_d, demo_scale=demo_scale)
display(banner(synthetic=source == "demo", what=f"Votes: {label}."))
print(counts.format())

# %% [markdown]
# ## Fig. 1(a): one-hot labels
# Utterances per consensus label, the view of most SER papers.

# %% mystnb={"figure": {"caption": "Fig. 1(a): utterances per one-hot (consensus) label, stacked by split.", "name": "fig-one-hot"}}
fig = plots.one_hot_distribution(one_hot, title=f"One-hot (consensus) labels: {label}")
plt.show()

# %% [markdown]
# ## Fig. 1(b): clear and ambiguous samples
# The diagonal holds the clear samples of each emotion (the paper's bold vertex numbers); the
# cell in row *i*, column *j* counts the ambiguous samples with major emotion *i* and minor
# emotion *j* (the paper's directed edge from *i* to *j*).

# %% mystnb={"figure": {"caption": "Fig. 1(b): clear samples per emotion (diagonal) and ambiguous samples per ordered pair (row: major emotion, column: minor emotion).", "name": "fig-pairs"}}
fig = plots.pair_counts_heatmap(counts, title=f"Clear (diagonal) and ambiguous samples: {label}")
plt.show()

# %% [markdown]
# ## Fig. 2: before and after smoothing
# Each panel is one emotion pair's chain $[I, I_j, J_i, J]$: clear *i*, ambiguous with
# major *i*, ambiguous with major *j*, clear *j*. Light bars: the original counts; dark bars:
# after clear balancing and Eq. (1).

# %% mystnb={"figure": {"caption": "Fig. 2: each emotion pair's chain before (light) and after (dark) clear balancing and Gaussian smoothing; purple: clear, orange: ambiguous.", "name": "fig-smoothing"}}
given = {k: v for k, v in {"sigma": sigma, "normalize": normalize}.items() if v is not None}
sampler = PDDS(classes=counts.classes, **given)  # the defaults are the sampler's own
level = uniform_level(level, synthetic=source == "demo", demo_scale=demo_scale)
tables = distribution(counts, level=level, **given)
plan = sampler.plan(counts)
fig = plots.smoothing_pairs(plan, title=f"Each emotion pair before and after PDDS (sigma = {sampler.sigma:g}): {label}",
                            ncols=3)
plt.show()

# %% [markdown]
# ## Fig. 2 you can play with
# Move $\sigma$ (0.25 to 4), switch the kernel reading of Eq. (1) (peak weight 1, as written, or
# weights that sum to 1), the pairs reading of the uniform ablation and the mixup weight *p*: the
# bars (light: original, dark: after PDDS, grey: the uniform ablation) and the table of the label
# mass each emotion gains follow. Every frame was computed by `pddslib` when this page was built
# (`pddslib.paper.explorer.fig2_frames`); the page only picks the one for the controls, works
# offline, and keeps the setting in its address (e.g. `#sigma=2&normalize=sum`) to share.

# %%
display(HTML(fig2_explorer_html(fig2_frames(counts, level=level), title=f"Each emotion pair before and after: {label}")))

# %% [markdown]
# ## The plan in numbers
# Clear balancing first (a class below half the smallest other clear class is raised by mixup
# of its own samples with *p* = 0.5), then the smoothed targets of every ordered pair.

# %%
display(show_table(tables["clear"], "Clear samples per class, before and after balancing", precision=0))

# %%
pairs = tables["pairs"].copy()
display(show_table(pairs.sort_values("new", ascending=False),
                   "Ambiguous samples per ordered pair: original, Eq. (1), target = max(original, round(smoothed))",
                   precision=1))

# %% [markdown]
# ## Training-set sizes of the four strategies of Table 2

# %%
display(show_table(tables["strategies"].drop(columns="strategy"), "Clear + ambiguous samples per strategy", 0))

# %% mystnb={"figure": {"caption": "Training-set size (clear + ambiguous samples) of the four strategies of Table 2: original samples and samples synthesised by mixup.", "name": "fig-sizes"}}
fig = plots.strategy_sizes(tables["strategies"], title=f"Training-set size per strategy: {label}")
plt.show()

# %% [markdown]
# ## Comparison with the paper
# The paper reports 43 clear happiness samples raised to 215 (Section 3.2) and draws the pairs of
# Fig. 2; the worked example below is quoted on the method page.

# %%
print(compare_distribution(tables, counts, plan, label, kernel_weights(sampler.sigma, sampler.normalize)))

# %% [markdown]
# ## Summary
# * Ambiguous samples are concentrated on a few pairs (anger-frustration, neutral-frustration)
#   while others are almost empty, and clear happiness is rare.
# * PDDS raises every ambiguous cell towards its neighbours on the chain and never removes an
#   original utterance; uniform balancing adds far more samples.
#
# ## References
# See the book's references page: {cite}`liang2023pdds`, {cite}`busso2008iemocap`, {cite}`cao2014cremad`.
