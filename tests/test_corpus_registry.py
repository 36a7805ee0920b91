"""A corpus is one object: a toy corpus registered here alone (votes from a small CSV, a store of
random features) runs through ``pdds stats``, ``pdds extract`` and ``pdds run`` with no other
change; and no module of runs/, paper/ or cli/ compares a string to a corpus's name."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli

from pddslib.features import corpus_kinds
from pddslib.features.corpus_kinds import CorpusKind, Flag, kind_of_store

PACKAGE = Path(__file__).resolve().parents[1] / "pddslib"
CLASSES = ("ang", "hap", "sad")
#: The built-in corpora's names, as the runs, paper and cli wings must never compare them.
NAMES = {"demo", "iemocap", "crema-d", "manifest"}


def write_toy_csv(path: Path, n: int = 60) -> Path:
    """A votes CSV (the manifest's columns; the wavs are never read): three raters per utterance,
    unanimous (clear) for three in four, split 2-1 (ambiguous) for the fourth."""
    rows = []
    for i in range(n):
        votes = [0] * len(CLASSES)
        top, second = i % len(CLASSES), (i + 1) % len(CLASSES)
        votes[top] += 3 if i % 4 else 2
        votes[second] += 0 if i % 4 else 1
        rows.append({"path": f"wav/{i}.wav", "utt_id": f"toy{i}", "speaker": f"s{i % 5}",
                     "split": "test" if i % 5 == 4 else "train",
                     **{f"votes_{c}": v for c, v in zip(CLASSES, votes)}})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


class ToyCorpus(CorpusKind):
    """Three emotions, five raters; its "extraction" writes random 8-d audio features."""

    name, display, order = "toy", "Toy", 50
    split_rule = "the CSV's split column"
    vote_flag = Flag("--toy", "CSV", "the toy corpus's votes CSV")
    extract_flag = Flag("--toy", "CSV", "the toy corpus's CSV (random features)")
    root_parameter, store_dir = "toy_root", "toy-features"

    def votes(self, value: str, options: Any):
        from pddslib.corpora import open_votes

        return open_votes("manifest", path=value, split=options.split)

    def extract(self, value: str, out, options: Any, common: Mapping[str, Any]) -> Path:
        from pddslib.corpora import manifest
        from pddslib.features.store import MANIFEST_COLUMNS, write_store

        table = manifest.read(value, check_audio=False).table
        rows = table[table["consensus"].isin(CLASSES)].reset_index(drop=True)
        frame = rows[list(MANIFEST_COLUMNS) + [f"dist_{c}" for c in CLASSES]].copy()
        for col in ("major", "minor"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        rng = np.random.default_rng(0)
        audio = [rng.normal(size=(int(rng.integers(4, 9)), 8)).astype(np.float32) for _ in range(len(frame))]
        frame["audio_len"] = [len(a) for a in audio]
        return write_store(out, frame, {"audio": iter(audio)}, classes=CLASSES, dims={"audio": 8},
                           config={"toy": 1}, corpus=self.name, dtype="float32", overwrite=common["overwrite"])


@pytest.fixture
def toy():
    kind = corpus_kinds.register(ToyCorpus())
    try:
        yield kind
    finally:
        corpus_kinds.unregister(kind.name)
    assert corpus_kinds.find("toy") is None


@pytest.mark.usefixtures("one_thread")   # a private PDDS_CACHE
def test_a_registered_corpus_runs_through_stats_extract_and_run(toy, tmp_path, capsys):
    pytest.importorskip("torch")
    csv = write_toy_csv(tmp_path / "toy.csv")
    code, out, err = run_cli(["stats", "--toy", csv, "--json"], capsys)
    assert code == 0, err
    counts = json.loads(out)
    assert set(counts["clear"]) == set(CLASSES) and sum(counts["clear"].values()) > 10
    code, out, err = run_cli(["stats", "--toy", csv], capsys)
    assert code == 0 and "clear" in out, err
    code, _, err = run_cli(["stats"], capsys)   # its flag is among those the message lists
    assert code == 2 and "--toy CSV" in err

    store = toy.store_path()   # $PDDS_CACHE/toy-features: what --corpus toy opens by default
    code, out, err = run_cli(["extract", "--toy", csv, "--out", store, "--no-progress", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out.strip().splitlines()[-1])
    assert info["corpus"] == "toy" and info["dims"] == {"audio": 8} and info["split"]["test"] > 0

    runs = tmp_path / "runs"
    code, out, err = run_cli(["run", "--corpus", "toy", "--model", "cltnet_audio", "--strategy", "pdds",
                              "--seeds", "1", "--epochs", "1", "--device", "cpu", "--jobs", "1",
                              "--cache", tmp_path / "run-cache", "--out", runs, "--no-progress", "--json"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["corpus"] == "toy" and res["n_train"] > 0
    assert (runs / "runs.csv").is_file()
    from pddslib.features.store import FeatureStore

    assert kind_of_store(FeatureStore.open(store)) is toy


def test_a_registered_corpus_is_a_choice_everywhere(toy, tmp_path, capsys):
    code, out, _ = run_cli(["run", "--help"], capsys)
    assert code == 0 and "'toy'" in out
    code, out, _ = run_cli(["extract", "--help"], capsys)
    assert code == 0 and "--toy CSV" in out
    from pddslib.runs.corpus import load_corpus

    with pytest.raises(FileNotFoundError, match=r"no Toy feature store\. Run `pdds extract --toy CSV"):
        load_corpus("toy", store=tmp_path / "absent")


def test_the_built_in_corpora_are_registered_in_order():
    names = [k.name for k in corpus_kinds.kinds()]
    assert names[:5] == ["demo", "iemocap", "crema-d", "manifest", "crema-d-demo"]
    assert [k.vote_flag.usage for k in corpus_kinds.kinds() if k.vote_flag] == \
        ["--iemocap ROOT", "--crema-d PATH", "--manifest CSV"]
    assert corpus_kinds.get("iemocap").root_parameter == "iemocap_root"
    assert corpus_kinds.get("crema-d").root_parameter == "crema_d_root"
    assert [k.name for k in corpus_kinds.kinds() if k.synthetic] == ["demo", "crema-d-demo"]
    with pytest.raises(ValueError, match="registered already"):
        corpus_kinds.register(type(corpus_kinds.get("demo"))())   # a second demo object
    with pytest.raises(ValueError, match="unknown corpus 'nope'"):
        corpus_kinds.get("nope")


def _comparisons_with_corpus_names(path: Path) -> list[str]:
    """``x == "iemocap"``, ``"demo" != y``, ``s in ("crema-d", ...)``, ``case "demo":`` in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            parts, line = (node.left, *node.comparators), ast.unparse(node)
        elif isinstance(node, ast.match_case):
            parts, line = (node.pattern,), f"case {ast.unparse(node.pattern)}"
        else:
            continue
        if any(isinstance(c, ast.Constant) and c.value in NAMES for part in parts for c in ast.walk(part)):
            found.append(f"{path}:{node.lineno if hasattr(node, 'lineno') else node.pattern.lineno}: {line}")
    return found


def test_no_module_of_runs_paper_or_cli_compares_a_corpus_name():
    registry = PACKAGE / "features" / "corpus_kinds.py"   # (not in these wings; allowed all the same)
    found = [hit for wing in ("runs", "paper", "cli") for f in sorted((PACKAGE / wing).rglob("*.py"))
             if f != registry for hit in _comparisons_with_corpus_names(f)]
    assert not found, "ask the corpus object (pddslib.features.corpus_kinds) instead:\n" + "\n".join(found)


def test_the_scan_finds_comparisons(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('def f(c):\n    if c == "crema-d" or c in ("demo",):\n        return 1\n'
                     '    match c:\n        case "iemocap":\n            return 2\n    return c != "other"\n')
    assert len(_comparisons_with_corpus_names(probe)) == 3
