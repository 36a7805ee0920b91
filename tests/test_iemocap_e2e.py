"""IEMOCAP-format releases written from the demo corpus's votes, read back as a new user would:
`pdds stats` / `pdds plan` must give the packaged reference counts, and a release with wavs and
transcripts goes through `pdds extract`, `pdds info` and the notebooks with IEMOCAP-style
parameters (`-p corpus iemocap -p store ...`, `-p source iemocap -p iemocap_root ...`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from iemocap_fixture import tree_from_votes

from pddslib.cli import main
from pddslib.corpora import demo, iemocap
from pddslib.reference import iemocap_counts, six_class_sizes

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# the small release is not the full one: pddslib says so loudly, as it should
pytestmark = pytest.mark.filterwarnings("ignore:!!! 6-class split differs")


@pytest.fixture(scope="module")
def full_release(tmp_path_factory) -> Path:
    """All 10,039 utterances (votes, consensus, transcripts; no wavs) in the release layout."""
    return tree_from_votes(tmp_path_factory.mktemp("iemocap-full"), demo.votes(1.0, 0), seconds=None)


def test_stats_give_the_reference_counts(full_release, capsys):
    for sessions, split in (("1,2,3,4", "train"), ("5", "test")):
        assert main(["stats", "--iemocap", str(full_release), "--sessions", sessions, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == iemocap_counts(split).to_dict()


def test_plan_gives_the_papers_numbers(full_release, capsys):
    assert main(["plan", "--iemocap", str(full_release), "--sessions", "1,2,3,4", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["balanced_clear"]["hap"] == 215 and plan["new_samples"] == 7700


def test_six_class_protocol_sizes(full_release):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the sizes match: no "differs" warning
        six = iemocap.six_class_frame(full_release)
    sizes = six_class_sizes()
    for split in ("train", "test"):
        got = six[six.split == split].consensus.value_counts().to_dict()
        assert got == sizes[split]
    assert (len(six[six.split == "train"]), len(six[six.split == "test"])) == (5758, 1622)


# -- features and notebooks with IEMOCAP-style parameters (slow) ----------------------------------

@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> tuple[Path, Path]:
    """A small release (demo votes at scale 0.05, 0.3 s wavs) extracted with tiny models via the CLI."""
    from tiny_models import save_tiny_models

    root = tmp_path_factory.mktemp("iemocap-small")
    release = tree_from_votes(root / "release", demo.votes(0.05, 3), seconds=0.15, seed=3)
    models = save_tiny_models(root / "models", conv_kernel=(10, 8), conv_stride=(10, 8))
    store = root / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["extract", "--iemocap", str(release), "--out", str(store), "--audio-model",
                     str(models["audio"]), "--text-model", str(models["text"]), "--no-progress"]) == 0
    return release, store


@pytest.mark.slow
def test_extracted_store_holds_the_six_class_utterances(small_store, capsys):
    _, store = small_store
    capsys.readouterr()
    assert main(["info", str(store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    votes = demo.votes(0.05, 3)
    six = votes[votes.consensus.isin(["ang", "hap", "sad", "neu", "exc", "fru"])]
    assert info["n_utterances"] == len(six)
    assert info["split"] == {"train": int((six.session < 5).sum()), "test": int((six.session == 5).sum())}
    assert info["dims"] == {"audio": 32, "text": 32}


def _papermill(nb: str, out: Path, *params: str, env: dict | None = None) -> dict:
    r = subprocess.run([str(BIN / "papermill"), str(REPO / "notebooks" / f"{nb}.ipynb"), str(out), "-k", "python3",
                        "--log-level", "WARNING", *params], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(out.read_text())


def _html(nb: dict) -> str:
    return " ".join("".join(o.get("data", {}).get("text/html", "")) + "".join(o.get("text", ""))
                    for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))


@pytest.mark.slow
def test_notebooks_run_with_iemocap_style_parameters(small_store, tmp_path):
    import os

    release, store = small_store
    env = dict(os.environ, PDDS_CACHE=str(tmp_path / "cache"))
    dd = _papermill("data_distribution", tmp_path / "dd.ipynb", "-p", "source", "iemocap", "-p", "iemocap_root",
                    str(release), env=env)
    text = _html(dd)
    assert "IEMOCAP sessions 1,2,3,4" in text and "Synthetic demo data" not in text
    # the real model sizes (no demo shrinking on real data): two of the six models keep this quick
    t1 = _papermill("table1", tmp_path / "t1.ipynb", "-p", "corpus", "iemocap", "-p", "store", str(store),
                    "-p", "quick", "True", "-p", "models", "cltnet_text,cltnet", env=env)
    text = _html(t1)
    assert "Synthetic demo data" not in text and "These results come from" in text
    # 2 models x 2 x 2 seeds, one line each as it finishes (concurrent runs finish in any order)
    assert re.search(r"\[8/8\] ", text) and not re.search(r"\[9/", text)
    assert re.search(r"\[\d/8\] cltnet pdds\(sigma=1, normalize=none, p=0.8\) seed 1", text)
