"""The companion's colours, shared by the matplotlib figures and the interactive Fig. 2 (paper's Fig. 2)."""

CLEAR = "#7b4fa0"      # purple: clear samples
AMBIGUOUS = "#f28e2b"  # orange: ambiguous samples
PAPER = "#555555"      # the paper's numbers
UNIFORM = "#8c8c8c"    # grey: the uniform ablation
