"""CREMA-D end to end: the agreement rule (and the numbers the Decisions page states, computed from the
real votes in shared/data/crema-d/), `pdds stats --crema-d` with both rules, `pdds extract --crema-d` on
a CREMA-D-layout tree built here from real vote rows and generated audio, the fixed speaker-independent
split, `pdds run` with the audio-only CLTNet, the notebook's set-up, and the demo.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_name

from pddslib.cli import main
from pddslib.corpora import crema_d, open_votes
from pddslib.corpora.votes import table_counts
from pddslib.pdds.labels import agreement_cells, categorize, check_agreement

REPO = Path(__file__).resolve().parents[1]
ACTORS = (1004, 1006, 1028, 1091)  # the quick demo's: three train actors, one test actor


# -- the rule -----------------------------------------------------------------------------------------

def test_agreement_one_is_the_unanimous_rule():
    rng = np.random.default_rng(0)
    votes = rng.integers(0, 4, size=(3000, 6)) * (rng.random((3000, 6)) < 0.4)
    cells = agreement_cells(votes, 1.0)
    for k, v in enumerate(votes):
        cat, a, b = categorize(v)
        assert cells.category[k] == cat, v
        if cat in ("clear", "ambiguous"):
            assert (cells.major[k], cells.minor[k]) == (a, b)
        if v.sum():
            np.testing.assert_allclose(cells.distribution[k], v / v.sum())  # nothing cleaned at 1


@pytest.mark.parametrize("votes,a,cat,major,minor,dist", [
    ((8, 2, 0, 0), 0.8, "clear", 0, 0, (1, 0, 0, 0)),          # 80 %: clear, one-hot
    ((7, 2, 1, 0), 0.8, "ambiguous", 0, 1, (7 / 9, 2 / 9, 0, 0)),  # top two 90 %: the two, renormalised
    ((7, 1, 1, 1), 0.8, "other", -1, -1, (0.7, 0.1, 0.1, 0.1)),   # second place shared
    ((4, 4, 2, 0), 0.8, "tie", -1, -1, (0.4, 0.4, 0.2, 0)),
    ((5, 2, 2, 1), 0.8, "other", -1, -1, (0.5, 0.2, 0.2, 0.1)),   # top two 70 %
    ((0, 0, 0, 0), 0.8, "excluded", -1, -1, (0, 0, 0, 0)),
    ((0, 9, 1, 0), 0.9, "clear", 1, 1, (0, 1, 0, 0)),
])
def test_agreement_cells(votes, a, cat, major, minor, dist):
    c = agreement_cells(np.array([votes]), a)
    assert (c.category[0], c.major[0], c.minor[0]) == (cat, major, minor)
    np.testing.assert_allclose(c.distribution[0], dist)
    assert (c.reason[0] == "") == (cat in ("clear", "ambiguous"))
    with pytest.raises(ValueError, match=r"agreement must lie in \(0.5, 1\]"):
        check_agreement(0.5)


# -- the Decisions page's numbers are what the code computes --------------------------------------------

def _n(x: int) -> str:
    return f"{x:,}"


def test_the_decisions_page_states_the_computed_numbers(crema_d_votes):
    from pddslib.paper.experiments import crema_d_rules
    from pddslib.pdds.registry import plan_for

    page = (REPO / "book" / "decisions.md").read_text().replace("**", "")
    rules = crema_d_rules(str(crema_d_votes), (1.0, 0.9, 0.8, 0.7))
    for r in rules.to_dict("records"):
        a = r["agreement"]
        name = {1.0: "1 (every rater agrees)", 0.8: "0.8 (default)"}.get(a, f"{a:g}")
        row = (f"| {name} | {_n(r['clear'])} ({100 * r['clear_share']:.1f} %) | "
               + " | ".join(_n(r[f"clear_{c}"]) for c in crema_d.CLASSES)
               + f" | {_n(r['ambiguous'])} | {_n(r['ties'])} | {_n(r['other'])} |")
        assert row in page, row
    assert crema_d.DEFAULT_AGREEMENT == 0.8
    # IEMOCAP's clear share under the paper's rule, the comparison the page draws
    ref = open_votes("reference").counts()
    assert f"{_n(ref.n_clear)} of the {_n(ref.n_utterances)} utterances of sessions 1-4, " \
           f"{100 * ref.n_clear / ref.n_utterances:.1f} %" in " ".join(page.split())
    # the split and the training actors' counts
    table = crema_d.split_table(crema_d_votes)
    stored = table[table["consensus"].isin(crema_d.CLASSES)]
    train = stored[stored["split"] == "train"]
    counts = table_counts(train, crema_d.CLASSES)
    text = " ".join(page.split())
    assert f"the {_n(len(table) - len(stored))} clips whose top emotions tie" in text
    assert f"holds {_n(len(stored))} clips: {_n(len(train))} train and {_n(len(stored) - len(train))} test" in text
    names = dict(zip(crema_d.CLASSES, ("anger", "disgust", "fear", "happy", "neutral", "sad")))
    clear = ", ".join(f"{names[c]} {n}" for c, n in counts.to_dict()["clear"].items())
    assert f"{_n(counts.n_clear)} clear clips ({clear}) and {_n(counts.n_ambiguous)} ambiguous" in text
    assert f"PDDS adds {_n(plan_for('pdds', counts).new_samples)} samples" in text
    assert f"level 400: {_n(plan_for('uniform', counts).new_samples)})" in text
    assert train["speaker"].nunique() == 64 and stored["speaker"].nunique() == 91


def test_the_split_is_fixed_and_speaker_independent(crema_d_votes):
    assert [crema_d.split_of_actor(a) for a in (1001, 1064, 1065, 1091)] == ["train", "train", "test", "test"]
    with pytest.raises(ValueError, match="1000"):
        crema_d.split_of_actor(1000)
    t = crema_d.split_table(crema_d_votes)
    assert (t.groupby("speaker")["split"].nunique() == 1).all()
    assert (t["split"] == "test").mean() == pytest.approx(0.30, abs=0.02)
    assert set(t["intended"]) == {"ang", "dis", "fea", "hap", "neu", "sad"}
    with pytest.raises(ValueError, match="not a CREMA-D clip name"):
        crema_d.parse_file_name("1001_IEO_NEU")


def test_stats_shows_both_rules_and_keeps_the_json_contract(crema_d_votes, capsys):
    assert main(["stats", "--crema-d", str(crema_d_votes)]) == 0
    out = capsys.readouterr().out
    assert "clear: ang 334, dis 36, fea 118, hap 78, neu 1150, sad 29" in out   # the default rule's table
    assert re.search(r"top emotion >= 80% of the votes \(default\)\s+1745 ", out)
    assert re.search(r"every rater agrees \(agreement 1\)\s+383\s+90\s+2\s+23\s+17\s+242\s+9\s+1955\s+88\s+5016", out)
    assert main(["stats", "--crema-d", str(crema_d_votes), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(got) == {"n_utterances", "clear", "ambiguous", "ties", "other", "excluded"}
    assert got == open_votes("crema-d", path=crema_d_votes).counts().to_dict() and got["clear"]["sad"] == 29
    assert main(["stats", "--crema-d", str(crema_d_votes), "--agreement", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["clear"] == {"ang": 90, "dis": 2, "fea": 23, "hap": 17, "neu": 242,
                                                            "sad": 9}
    with pytest.raises(SystemExit) as exit_:   # a usage error
        main(["stats", "--crema-d", str(crema_d_votes), "--agreement", "0.4"])
    assert exit_.value.code == 2 and "expected a number in (0.5, 1]" in capsys.readouterr().err


# -- a CREMA-D-layout tree: real vote rows, generated audio --------------------------------------------

@pytest.fixture(scope="module")
def tree(crema_d_votes, tmp_path_factory) -> Path:
    pytest.importorskip("soundfile")
    from pddslib.corpora import crema_d_demo

    return crema_d_demo.write_tree(tmp_path_factory.mktemp("crema") / "CREMA-D", votes=crema_d_votes, actors=ACTORS)


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from pddslib.corpora.crema_d_demo import write_audio_model

    return write_audio_model(tmp_path_factory.mktemp("enc") / "audio")


@pytest.fixture(scope="module")
def store(tree, audio_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store") / "crema-d"
    assert main(["extract", "--crema-d", str(tree), "--out", str(out), "--audio-model", str(audio_model),
                 "--no-progress"]) == 0
    return out


def test_the_tree_has_the_release_layout(tree, crema_d_votes):
    import soundfile as sf

    rows = pd.read_csv(tree / "processedResults" / "tabulatedVotes.csv")
    assert set(rows["fileName"].str[:4].astype(int)) == set(ACTORS)
    real = pd.read_csv(crema_d_votes)
    real = real[real.iloc[:, 0] // 100000 == 1].set_index("fileName")   # the voice-only rows
    assert (rows[list(crema_d.COLUMNS)].to_numpy() == real.loc[rows["fileName"], list(crema_d.COLUMNS)].to_numpy()).all()
    wavs = sorted(p.stem for p in (tree / "AudioWAV").glob("*.wav"))
    assert wavs == sorted(rows["fileName"]) and sf.info(str(tree / "AudioWAV" / f"{wavs[0]}.wav")).samplerate == 16000
    assert "SYNTHETIC AUDIO" in (tree / "README.txt").read_text()


def test_extract_crema_d_writes_an_audio_only_store(store, tree):
    from pddslib.features.store import FeatureStore

    st = FeatureStore.open(store)
    votes = crema_d.split_table(tree / "processedResults")
    kept = votes[votes["consensus"].isin(crema_d.CLASSES)]
    assert st.modalities == ("audio",) and st.classes == crema_d.CLASSES and st.corpus == "crema-d"
    assert not st.synthetic and st.meta["config"]["policy"]["agreement"] == 0.8
    assert st.manifest["utt_id"].tolist() == kept["utt_id"].tolist()
    assert st.info()["split"] == {"train": int((kept["split"] == "train").sum()), "test": int((kept["split"] == "test").sum())}
    m = st.manifest
    assert set(m.loc[m["split"] == "test", "speaker"].astype(str)) == {"1091"}
    assert (m["consensus"] == kept["consensus"].to_numpy()).all() and (m["dialog"] == kept["dialog"].to_numpy()).all()
    assert {"intended", "n_votes", "votes_sad"} <= set(m.columns)
    np.testing.assert_allclose(st.label_distributions(), kept[[f"dist_{c}" for c in crema_d.CLASSES]].to_numpy())
    # clear clips train one-hot: the minority votes of a clip above the threshold are rater noise
    clear = (m["category"] == "clear").to_numpy()
    assert clear.any() and (st.label_distributions()[clear].max(1) == 1).all()


@pytest.mark.usefixtures("one_thread")
def test_pdds_run_on_the_crema_d_store(store, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", "--corpus", "crema-d", "--store", str(store), "--model", "cltnet_audio", "--strategy", "pdds",
                 "--seeds", "1", "--epochs", "1", "--out", str(out), "--no-progress", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["corpus"] == "CREMA-D" and res["n_train"] > 150
    preds = pd.read_csv(out / "predictions" / f"{run_name(out, 'cltnet_audio-pdds-seed0')}.csv")
    assert list(preds.columns[3:]) == [f"p_{c}" for c in crema_d.CLASSES]
    assert set(preds["consensus"]) <= set(crema_d.CLASSES)
    assert main(["run", "--corpus", str(store), "--model", "mcsan", "--seeds", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds only audio features; model 'mcsan' needs audio and text" in err[0], err


def test_another_agreement_relabels_and_inputs_are_checked(store, tree, audio_model, tmp_path, capsys):
    from pddslib.features.store import FeatureStore

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    argv = ["extract", "--crema-d", str(tree), "--out", str(copy), "--audio-model", str(audio_model), "--no-progress"]
    assert main(argv) == 0 and "up to date" in capsys.readouterr().out
    assert main(argv + ["--agreement", "1"]) == 0
    assert "labels re-derived" in capsys.readouterr().out
    st = FeatureStore.open(copy)
    assert st.meta["config"]["policy"]["agreement"] == 1.0
    votes = crema_d.split_table(tree / "processedResults", agreement=1.0)
    kept = votes[votes["consensus"].isin(crema_d.CLASSES)]
    assert (st.manifest["category"] == kept["category"].to_numpy()).all()
    np.testing.assert_array_equal(np.asarray(st.arrays["audio"]), np.asarray(FeatureStore.open(store).arrays["audio"]))
    # a missing wav, and a Git LFS pointer in place of audio, are named
    broken = tmp_path / "tree"
    shutil.copytree(tree, broken)
    first = sorted((broken / "AudioWAV").glob("*.wav"))[0]
    first.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 72862\n")
    assert main(["extract", "--crema-d", str(broken), "--out", str(tmp_path / "s2"), "--audio-model",
                 str(audio_model)]) == 1
    assert "a Git LFS pointer, not audio; fetch the audio with `git lfs pull`" in capsys.readouterr().err
    first.unlink()
    assert main(["extract", "--crema-d", str(broken), "--out", str(tmp_path / "s2"), "--audio-model",
                 str(audio_model)]) == 1
    assert f"{first}" in capsys.readouterr().err
    assert main(["extract", "--crema-d", str(broken), "--out", str(tmp_path / "s2"), "--audio-model",
                 str(audio_model), "--exclude", first.stem, "--no-progress"]) == 0
    assert first.stem not in set(FeatureStore.open(tmp_path / "s2").manifest["utt_id"])


# -- the notebook's set-up and the demo ---------------------------------------------------------------

def _parameters(notebook: str) -> dict[str, object]:
    import ast

    text = (REPO / "notebooks" / f"{notebook}.py").read_text()
    cell = text.split('# %% tags=["parameters"]', 1)[1].split("# %%", 1)[0]
    return {n.target.id: ast.literal_eval(n.value) for n in ast.parse(cell).body if isinstance(n, ast.AnnAssign)}


def test_the_crema_d_notebook_parameters_match_setup():
    import inspect

    from pddslib.paper.parameters import setup

    sig = inspect.signature(setup).parameters
    params = _parameters("crema_d")
    assert params["corpus"] == "crema-d"   # its own corpus; every other shared default is setup()'s
    shared = [n for n in params if n in sig and n != "corpus"]
    assert {"crema_d_root", "store", "agreement", "seeds", "epochs", "quick", "device", "cache_dir"} <= set(shared)
    text = (REPO / "notebooks" / "crema_d.py").read_text()
    call = text.split("run = setup(", 1)[1].split(")\n", 1)[0]
    for name in shared + ["corpus"]:
        assert name == "corpus" or params[name] == sig[name].default, name
        assert f"{name}={name}" in call, name


@pytest.mark.usefixtures("one_thread")
def test_setup_runs_a_release_a_store_and_the_demo(store, tree, audio_model, tmp_path, monkeypatch, capsys):
    import functools

    import pddslib.features.extract as fx
    from pddslib.paper.experiments import table2
    from pddslib.paper.parameters import banner, setup

    # crema_d_root: extracted into `store` first (the real extraction, here with the small encoder)
    monkeypatch.setattr(fx, "extract_crema_d", functools.partial(fx.extract_crema_d, audio_model=audio_model,
                                                                 progress=False))
    run = setup(corpus="crema-d", crema_d_root=str(tree), store=str(tmp_path / "s"), quick=True)
    assert run.corpus.name == "CREMA-D" and run.corpus.store.path == tmp_path / "s"
    assert setup(corpus="crema-d", crema_d_root=str(tree), store=str(tmp_path / "s"), agreement=1.0,
                 quick=True).corpus.store.meta["config"]["policy"]["agreement"] == 1.0
    # a store
    assert setup(corpus="crema-d", store=str(store)).corpus.key == run.corpus.key
    # neither: the demo (real votes, generated audio), as the book builds it
    demo = setup(corpus="crema-d", quick=True, epochs=1, seeds=1)
    assert demo.synthetic and demo.corpus.name == "CREMA-D (synthetic audio)" and demo.max_epochs == 1
    assert set(demo.corpus.store.manifest["speaker"].astype(str)) == {str(a) for a in ACTORS}
    assert "synthetic audio" in banner(demo.corpus).data
    res = table2(demo.corpus, demo.settings, strategies=("none", "pdds"), model="cltnet_audio", log=None)
    assert set(res.runs["strategy"]) == {"none", "pdds"} and (res.runs["n_train"].iloc[1] > res.runs["n_train"].iloc[0])
    # `pdds demo --crema-d` writes the same demo store where it is told
    assert main(["demo", "--crema-d", "--quick", "--out", str(tmp_path / "demo")]) == 0
    assert "SYNTHETIC audio with real CREMA-D votes" in capsys.readouterr().out
    from pddslib.features.store import FeatureStore

    assert FeatureStore.open(tmp_path / "demo").fingerprint == demo.corpus.key


@pytest.mark.slow
def test_the_crema_d_notebook_runs_under_papermill(tmp_path):
    """The book's page in quick mode (papermill, a fresh cache): the demo, with its banner and tables."""
    import os

    out = tmp_path / "crema_d.ipynb"
    env = dict(os.environ, PDDS_CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    r = subprocess.run([str(Path(sys.executable).parent / "papermill"), str(REPO / "notebooks" / "crema_d.ipynb"),
                        str(out), "-k", "python3", "-p", "quick", "True", "--log-level", "WARNING"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    cells = json.loads(out.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    html = " ".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    text = " ".join("".join(o.get("text", "")) for o in outputs)
    assert "Synthetic demo data" in html and "synthetic audio" in html
    assert "top emotion ≥ 80% (default)" in html and "every rater agrees" in html
    assert "cltnet_audio pdds" in text and "PDDS vs the original data" in text
    assert not [o for o in outputs if o.get("output_type") == "error"]
