"""The book's glue: each paper artifact computed (experiments, readings, significance, the interactive
Fig. 2's frames) and shown (plots, views, the interactive Fig. 2's page, the notebooks' setup).
Compute modules never import the presentation ones."""

from ..util.lazy import exports as _exports

_MODULES = {
    "experiments": ["TABLE1_MODELS", "STRATEGY_LABELS", "distribution", "table1", "table1_summary", "table2",
                    "table2_summary", "significance", "table1_significance", "table2_pairs", "table2_significance",
                    "fig5", "confusion_by_strategy", "recall_change", "fig5_significance", "fig6", "fig6_summary",
                    "fig6_significance", "vote_counts", "crema_d_rules"],
    "significance": ["ALPHA", "ChangeTest", "change_test", "metric_weights", "variance_parts", "fiducial_p",
                     "half_widths", "critical_half_width"],
    "conditional": ["paired_bootstrap", "mcnemar", "former_verdict", "resample_counts"],
    "comparisons": ["FAMILIES", "Family", "Condition", "condition", "compare", "contrast_test", "correct",
                    "slope_test", "scores", "pair_tests"],
    "multiple": ["holm", "benjamini_hochberg", "adjust"],
    "power": ["power", "seeds_needed", "floor_effect", "seed_sd_interval", "power_table"],
    "simulate": ["Scenario", "SCENARIOS", "calibrate", "replicate_tests", "true_change", "with_effect",
                 "session5_truth"],
    "stats_views": ["significance_view", "compare_significance", "glue_tests", "summary_sentence", "noise_view",
                    "correction_phrase"],
    "readings": ["READINGS", "COMPARISONS", "Reading", "reading", "reading_sizes", "reading_specs", "readings",
                 "readings_summary", "readings_tests"],
    "readings_views": ["sizes_view", "sizes_words", "glue_sizes", "summary_view", "tests_view", "conclusion",
                       "plot_tests"],
    "explorer": ["fig2_frames"],
    "explorer_page": ["fig2_explorer_html"],
    "parameters": ["QUICK", "Setup", "setup", "uniform_level", "banner"],
    "views": ["glue_number", "glue_text", "show_table", "table1_view", "table2_view", "recall_view", "p_view",
              "compare_table1", "compare_table2", "compare_fig5", "compare_fig6", "compare_distribution", "rules_view",
              "compare_crema_d"],
}
__getattr__, __dir__, __all__ = _exports(__name__, {n: m for m, names in _MODULES.items() for n in names})
