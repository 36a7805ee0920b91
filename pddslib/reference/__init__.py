"""Packaged reference data: aggregate IEMOCAP vote counts and the paper's numbers.

The IEMOCAP corpus is licensed and not shipped; these aggregate counts are facts about it (like
the numbers printed in the paper's Fig. 1b), so notebooks and the PDDS plan run without it.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import pandas as pd

from ..pdds.counts import CountTable


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


def iemocap_reference() -> dict[str, Any]:
    """The whole aggregate-facts document (counts, consensus labels, 6-class sizes)."""
    return _load("iemocap_counts.json")


def iemocap_counts(split: str = "train") -> CountTable:
    """Aggregate IEMOCAP counts under the default vote policy.

    Parameters
    ----------
    split : {"train", "test", "all"}
        Sessions 1-4, session 5, or both.
    """
    counts = _load("iemocap_counts.json")["counts"]
    if split == "all":
        return iemocap_counts("train") + iemocap_counts("test")
    if split not in counts:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return CountTable.from_dict(counts[split], source=f"iemocap_counts.json:{split}")


def six_class_sizes() -> dict[str, dict[str, int]]:
    """Utterances per consensus class in the usual 6-class split (train: 5,758, test: 1,622)."""
    return {k: dict(v) for k, v in _load("iemocap_counts.json")["six_class"].items()}


def paper_results() -> dict[str, Any]:
    """The paper's Table 1 and Table 2 (WA/UA in percent) and its best Fig. 6 weight, as published."""
    return _load("paper_results.json")


def paper_table1() -> pd.DataFrame:
    """Paper Table 1: one row per model, WA/UA (%) without and with PDDS."""
    return pd.DataFrame(paper_results()["table1"])


def paper_table2() -> pd.DataFrame:
    """Paper Table 2: one row per training-data strategy, WA/UA (%) of CLTNet."""
    return pd.DataFrame(paper_results()["table2"])

