"""Write the README's headline figure (book/_static/headline.png) from the packaged IEMOCAP counts.

Run: .venv/bin/python scripts/readme-figure.py  (no corpus needed: aggregate counts only)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from pddslib.paper import plots
from pddslib.pdds.registry import plan_for
from pddslib.reference import iemocap_counts  # noqa: E402

out = Path(__file__).resolve().parents[1] / "book" / "_static" / "headline.png"
plan = plan_for("pdds", iemocap_counts("train"))
fig = plots.smoothing_pairs(plan, title="IEMOCAP sessions 1-4: every emotion pair before and after PDDS (sigma = 1)")
fig.savefig(out, dpi=90, bbox_inches="tight")
print(out)
