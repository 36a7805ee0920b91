# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
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
corpus: str = "demo"  # "demo" (synthetic, the default), "iemocap" (extracted features; see store, iemocap_root) or a feature-store folder
iemocap_root: str = ""  # IEMOCAP release folder; with corpus="iemocap", features are extracted from it first if the store does not exist
store: str = ""  # IEMOCAP feature store (default: $PDDS_CACHE/iemocap-features, written by `pdds extract`)
seeds: int = 3  # number of seeds (0 .. seeds-1); every number is a mean ± std over seeds
epochs: int = 0  # at most this many epochs; 0 = the paper's 30 on IEMOCAP, 5 on the demo corpus (to stay within minutes on a CPU)
device: str = "auto"  # "auto" (CUDA when present, else CPU), "cpu" or "cuda"
amp: bool = False  # mixed precision (bf16/fp16) on CUDA
demo_scale: float = 0.05  # size of the demo corpus as a fraction of IEMOCAP's
cache_dir: str = ""  # where finished runs are cached (default: $PDDS_CACHE/runs); re-running reuses them
quick: bool = False  # CI smoke run: tiny demo corpus, 2 seeds, 2 epochs

# %% [markdown]
# ## Imports

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from pddslib import plots
from pddslib.experiments import table1, table1_summary
from pddslib.models import build_model, count_parameters
from myst_nb import glue

from pddslib.notebook import banner, glue_number, glue_text, setup, show_table

# %%
run = setup(corpus=corpus, iemocap_root=iemocap_root, store=store, seeds=seeds, epochs=epochs, device=device,
            amp=amp, demo_scale=demo_scale, cache_dir=cache_dir, quick=quick)
display(banner(run.corpus, what=f"{run.settings.seeds} seeds, at most {run.settings.max_epochs} epochs."))

# %% [markdown]
# ## Run the experiment
# One line per finished run (cached runs are loaded, not retrained).

# %%
result = table1(run.corpus, run.settings)

# %% [markdown]
# ## Table 1

# %%
summary = table1_summary(result.runs)
view = summary[["label", "wa_without", "wa_without_std", "ua_without", "ua_without_std", "wa_with", "wa_with_std",
                "ua_with", "ua_with_std", "d_wa", "d_ua", "paper_wa_without", "paper_ua_without", "paper_wa_with",
                "paper_ua_with"]]
view.columns = ["model", "WA w/o", "±", "UA w/o", "± ", "WA w/", " ±", "UA w/", " ± ", "ΔWA", "ΔUA",
                "paper WA w/o", "paper UA w/o", "paper WA w/", "paper UA w/"]
display(show_table(view, f"WA and UA (%) on session 5, mean and std over {run.settings.seeds} seeds; "
                         "Δ = with PDDS minus without (same seed); paper: one run"))

# %%
fig = plots.table1_comparison(summary, title=f"Table 1 ({run.corpus.name}): ours (mean ± std) and the paper's")
glue("t1_fig", fig, display=False)
plt.show()

# %% [markdown]
# ## Model sizes
# Parameters of each model at this corpus's input dimensions.

# %%
dims = run.corpus.store.dims
sizes = {label: count_parameters(build_model(m, audio_dim=dims["audio"], text_dim=dims["text"]))
         for m, label in zip(summary["model"], summary["label"])}
print("\n".join(f"{k:<22} {v:>12,}" for k, v in sizes.items()))

# %% [markdown]
# ## Comparison with the paper

# %%
improved_wa = int((summary["d_wa"] > 0).sum())
improved_ua = int((summary["d_ua"] > 0).sum())
cl = summary.set_index("model").loc["cltnet"]
glue_number("t1_improved_wa", improved_wa, "{:.0f}")
glue_number("t1_improved_ua", improved_ua, "{:.0f}")
glue_number("t1_n_models", len(summary), "{:.0f}")
glue_number("t1_cltnet_wa_without", cl.wa_without)
glue_number("t1_cltnet_wa_with", cl.wa_with)
glue_number("t1_cltnet_ua_without", cl.ua_without)
glue_number("t1_cltnet_ua_with", cl.ua_with)
glue_number("t1_cltnet_d_wa", cl.d_wa, "{:+.1f}")
glue_number("t1_cltnet_d_ua", cl.d_ua, "{:+.1f}")
glue_number("t1_cltnet_d_wa_std", cl.d_wa_std)
glue_number("t1_cltnet_d_ua_std", cl.d_ua_std)
glue_number("t1_seeds", run.settings.seeds, "{:.0f}")
glue_number("t1_epochs", run.settings.max_epochs, "{:.0f}")
for col in ("wa_without", "wa_with", "ua_without", "ua_with"):
    glue_number(f"t1_paper_cltnet_{col}", cl[f"paper_{col}"])
for metric in ("wa", "ua"):
    glue_number(f"t1_paper_d{metric}_min", summary[f"paper_d_{metric}"].min())
    glue_number(f"t1_paper_d{metric}_max", summary[f"paper_d_{metric}"].max())
glue_text("t1_corpus", run.corpus.name)
glue_text("t1_data_note", "synthetic demo data: these numbers are not IEMOCAP's and not comparable to the paper's"
          if run.synthetic else "IEMOCAP, sessions 1-4 train, session 5 test")
print(f"PDDS raises mean WA for {improved_wa} of {len(summary)} models and mean UA for {improved_ua} "
      f"(paper: all {len(summary)} on both).")
print(f"CLTNet: WA {cl.wa_without:.1f} -> {cl.wa_with:.1f} ({cl.d_wa:+.1f} ± {cl.d_wa_std:.1f}), "
      f"UA {cl.ua_without:.1f} -> {cl.ua_with:.1f} ({cl.d_ua:+.1f} ± {cl.d_ua_std:.1f}); "
      f"paper: WA {cl.paper_wa_without} -> {cl.paper_wa_with}, UA {cl.paper_ua_without} -> {cl.paper_ua_with}.")

# %% [markdown]
# ## Summary
# The table above puts every model's mean ± std beside the paper's single run. A change smaller
# than its spread over seeds is not evidence either way; the paper reports one run per cell, so
# its differences have no error bars.
#
# ## References
# {cite}`liang2023pdds`, {cite}`atmaja2019speechtext`, {cite}`delbrouck2020mat`, {cite}`sun2021mcsan`.
