"""Any corpus from a manifest CSV: parsing (votes, distributions, hard labels), one-line errors naming
the CSV, the line and the column, audio-only and audio+text stores, and `pdds stats/plan/run` on them.

Audio: generated wavs; encoders: the CREMA-D demo's small random data2vec-audio (12.5 frames/s) and
the tiny BERT of tests/tiny_models.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_name

from pddslib.cli import main
from pddslib.corpora import manifest
from pddslib.corpora.errors import CorpusFormatError
from pddslib.corpora.votes import check, table_counts

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("ang", "hap", "neu", "sad")

# (utt, speaker, split, text, votes ang hap neu sad): every class has clear training rows, so PDDS
# can mix every pair; two test rows per speaker of the test split
ROWS = [
    ("a1", "s1", "train", "I can't believe you did that.", (3, 0, 0, 0)),
    ("a2", "s1", "train", "Get out!", (2, 0, 0, 0)),
    ("h1", "s1", "train", "That's wonderful news!", (0, 3, 0, 0)),
    ("h2", "s2", "train", "Oh I'm so glad.", (0, 2, 0, 0)),
    ("n1", "s2", "train", "The meeting is at three.", (0, 0, 3, 0)),
    ("n2", "s2", "train", "It's Tuesday.", (0, 0, 2, 0)),
    ("s1", "s3", "train", "We lost everything.", (0, 0, 0, 3)),
    ("s2", "s3", "train", "I miss her.", (0, 0, 0, 2)),
    ("x1", "s3", "train", "Fine. Whatever.", (1, 0, 2, 0)),
    ("x2", "s1", "train", "Leave me alone.", (2, 0, 0, 1)),
    ("x3", "s2", "train", "It's raining again.", (0, 0, 2, 1)),
    ("x4", "s3", "train", "Well, maybe.", (1, 1, 1, 0)),
    ("t1", "s4", "test", "Stop it now!", (3, 0, 0, 0)),
    ("t2", "s4", "test", "Lovely!", (0, 2, 1, 0)),
    ("t3", "s4", "test", "See you at noon.", (0, 0, 3, 0)),
    ("t4", "s4", "test", "So sad.", (0, 0, 1, 2)),
]


def _wave(k: int, votes) -> np.ndarray:
    rate = 16000
    t = np.arange(int(rate * (0.8 + 0.05 * (k % 5)))) / rate
    pitch = {0: 210.0, 1: 270.0, 2: 120.0, 3: 95.0}
    v = np.asarray(votes, float) / sum(votes)
    w = sum(v[c] * np.sin(2 * np.pi * pitch[c] * t) for c in range(4))
    return (0.5 * w + 0.01 * np.random.default_rng(k).standard_normal(len(t))).astype(np.float32)


def write_corpus(folder: Path, labels: str = "votes", text: bool = True, rows=ROWS) -> Path:
    """wav/<utt>.wav and data.csv with ``labels`` = votes | dist | label."""
    import soundfile as sf

    (folder / "wav").mkdir(parents=True, exist_ok=True)
    recs = []
    for k, (utt, spk, split, txt, votes) in enumerate(rows):
        sf.write(folder / "wav" / f"{utt}.wav", _wave(k, votes), 16000, subtype="PCM_16")
        rec = {"path": f"wav/{utt}.wav", "speaker": spk, "split": split}
        if text:
            rec["text"] = txt
        if labels == "votes":
            rec.update({f"votes_{c}": n for c, n in zip(CLASSES, votes)})
        elif labels == "dist":
            rec.update({f"dist_{c}": round(n / sum(votes), 6) for c, n in zip(CLASSES, votes)})
        else:
            rec["label"] = CLASSES[int(np.argmax(votes))]
        recs.append(rec)
    if labels == "dist":  # make every row sum to 1 exactly
        df = pd.DataFrame(recs)
        cols = [f"dist_{c}" for c in CLASSES]
        df[cols[-1]] = (1 - df[cols[:-1]].sum(axis=1)).round(6)
        recs = df.to_dict("records")
    pd.DataFrame(recs).to_csv(folder / "data.csv", index=False)
    return folder / "data.csv"


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from pddslib.corpora.crema_d_demo import write_audio_model

    return write_audio_model(tmp_path_factory.mktemp("enc") / "audio")


@pytest.fixture(scope="module")
def votes_csv(tmp_path_factory) -> Path:
    pytest.importorskip("soundfile")
    return write_corpus(tmp_path_factory.mktemp("votes"), "votes")


# -- parsing -----------------------------------------------------------------------------------------

def test_votes_manifest_gives_categories_distributions_and_test_labels(votes_csv):
    m = manifest.read(votes_csv)
    assert m.classes == CLASSES and m.labels == "votes" and m.has_text and m.split_given
    t = m.table.set_index("utt_id")
    assert t.loc["a1", "category"] == "clear" and t.loc["a1", "major"] == "ang"
    assert (t.loc["x1", "category"], t.loc["x1", "major"], t.loc["x1", "minor"]) == ("ambiguous", "neu", "ang")
    assert t.loc["x4", "category"] == "other" and t.loc["x4", "consensus"] == "xxx"   # three-way tie: no test label
    np.testing.assert_allclose(t.loc["x1", [f"dist_{c}" for c in CLASSES]].to_numpy(float), [1 / 3, 0, 2 / 3, 0])
    assert t.loc["t2", "consensus"] == "hap" and t.loc["t2", "split"] == "test"
    assert t.loc["a1", "audio_path"] == str(votes_csv.parent / "wav" / "a1.wav")  # relative to the CSV's folder
    assert t.loc["h2", "votes_hap"] == 2
    check(m.table, CLASSES, source="manifest")      # the votes-table contract
    assert len(m.with_consensus) == len(ROWS) - 1
    # the agreement rule applies to manifests too: at 0.6, 2 of 3 votes make a clear row (one-hot)
    lax = manifest.read(votes_csv, agreement=0.6).table.set_index("utt_id")
    assert (lax.loc["x1", "category"], lax.loc["x1", "major"], lax.loc["x1", "dist_neu"]) == ("clear", "neu", 1.0)
    assert lax.loc["x4", "category"] == "tie"   # the top two have equal votes (all three do)


@pytest.mark.parametrize("labels", ["dist", "label"])
def test_distribution_and_hard_label_manifests(labels, tmp_path):
    pytest.importorskip("soundfile")
    votes = manifest.read(write_corpus(tmp_path / "v", "votes"))
    m = manifest.read(write_corpus(tmp_path / labels, labels, text=False))
    assert m.classes == CLASSES and not m.has_text
    assert m.labels == {"dist": "distribution", "label": "label"}[labels]
    t, v = m.table.set_index("utt_id"), votes.table.set_index("utt_id")
    if labels == "dist":  # the same categories as the votes they were computed from
        assert (t["category"] == v["category"]).all() and (t["consensus"] == v["consensus"]).all()
        np.testing.assert_allclose(t[[f"dist_{c}" for c in CLASSES]], v[[f"dist_{c}" for c in CLASSES]], atol=1e-5)
    else:  # a hard label is a clear sample of its class, and the test label
        assert (t["category"] == "clear").all() and (t["major"] == t["consensus"]).all()
        assert t.loc["x1", "consensus"] == "neu" and t.loc["x1", "dist_neu"] == 1.0
    check(m.table, CLASSES, source=labels)


def test_default_split_is_a_fixed_hash_of_the_speaker(tmp_path):
    pytest.importorskip("soundfile")
    rows = [(f"u{k}", f"spk{k % 10}", "train", "hi", (1, 0, 0, 0)) for k in range(60)]
    csv = write_corpus(tmp_path, "votes", rows=rows)
    df = pd.read_csv(csv).drop(columns="split")
    df.to_csv(csv, index=False)
    t = manifest.read(csv).table
    by_speaker = t.groupby("speaker")["split"].nunique()
    assert (by_speaker == 1).all()                              # speaker-independent
    assert set(t["split"]) == {"train", "test"}
    assert t["split"].tolist() == [manifest.hash_split(f"spk{k % 10}") for k in range(60)]
    assert manifest.hash_split("spk3") == manifest.hash_split("spk3")


def test_the_book_example_parses(tmp_path):
    """The ten-row example on the 'Your own corpus' page is a valid manifest with what the page says."""
    import soundfile as sf

    page = (REPO / "book" / "own_corpus.md").read_text()
    block = page.split("```text\n", 1)[1].split("```", 1)[0]
    (tmp_path / "data.csv").write_text(block)
    (tmp_path / "wav").mkdir()
    m = manifest.read(tmp_path / "data.csv", check_audio=False)
    assert len(m.table) == 10 and m.classes == ("ang", "hap", "neu", "sad") and m.has_text
    cats = dict(zip(m.table["utt_id"], m.table["category"]))
    assert cats["s01_001"] == "clear" and cats["s01_002"] == "ambiguous" and cats["s04_002"] == "ambiguous"
    assert m.table["split"].tolist() == ["train"] * 8 + ["test"] * 2
    for p in m.table["audio_path"]:
        sf.write(p, np.zeros(4000, np.float32), 16000)
    assert len(manifest.read(tmp_path / "data.csv").table) == 10


# -- errors: one line naming the CSV, the line and the column ----------------------------------------

@dataclass(frozen=True)
class Bad:
    id: str
    edit: Callable[[pd.DataFrame], pd.DataFrame]
    match: str          # after "data.csv:"


def _set(row: int, col: str, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(df):
        df = df.astype({col: object}) if col in df.columns else df
        df.loc[row, col] = value
        return df
    return edit


BAD = [
    Bad("no-path-column", lambda df: df.drop(columns="path"), r"1: column 'path': missing"),
    Bad("no-label-columns", lambda df: df.drop(columns=[f"votes_{c}" for c in CLASSES]), r"1: no label columns"),
    Bad("votes-and-dist", lambda df: df.assign(dist_ang=1.0), r"1: has both votes_<class> and dist_<class>"),
    Bad("vote-not-a-number", _set(2, "votes_hap", "two"), r"4: column 'votes_hap': 'two' is not a whole number"),
    Bad("vote-negative", _set(0, "votes_ang", -1), r"2: column 'votes_ang': '-1' is not a whole number"),
    Bad("vote-fraction", _set(5, "votes_neu", 1.5), r"7: column 'votes_neu': '1.5' is not a whole number"),
    Bad("row-without-votes", lambda df: _set(3, "votes_hap", 0)(df),
        r"5: column 'votes_ang,votes_hap,votes_neu,votes_sad': no votes"),
    Bad("bad-split", _set(1, "split", "dev"), r"3: column 'split': 'dev', expected 'train' or 'test'"),
    Bad("missing-audio", _set(3, "path", "wav/nope.wav"), r"5: column 'path': 'wav/nope.wav': no such file"),
    Bad("path-escapes", _set(4, "path", "../outside.wav"), r"6: column 'path': '../outside.wav' lies outside the "
                                                           r"CSV's folder"),
    Bad("empty-path", _set(4, "path", ""), r"6: column 'path': empty"),
    Bad("duplicate-id", _set(5, "path", "wav/a1.wav"), r"7: column 'path': utterance id 'a1' repeats line 2"),
    Bad("label-not-a-class", lambda df: df.assign(label="")
        .pipe(_set(6, "label", "joy")), r"8: column 'label': 'joy' is not one of the classes"),
    Bad("bad-class-code", lambda df: df.rename(columns={"votes_sad": "votes_sa d"}), r"1: column 'votes_sa d': a "
                                                                                     r"class code"),
]


@pytest.mark.parametrize("bad", [pytest.param(b, id=b.id) for b in BAD])
def test_a_bad_manifest_is_one_line_naming_the_row_and_column(bad, votes_csv, tmp_path, capsys):
    df = bad.edit(pd.read_csv(votes_csv))
    csv = tmp_path / "data.csv"
    (tmp_path / "wav").symlink_to(votes_csv.parent / "wav")
    df.to_csv(csv, index=False)
    with pytest.raises(CorpusFormatError, match=re.escape(f"{csv}:") + bad.match):
        manifest.read(csv)
    code = main(["stats", "--manifest", str(csv)] if "audio" not in bad.id
                else ["extract", "--manifest", str(csv), "--out", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1, err
    assert re.search(re.escape(f"{csv}:") + bad.match, err), err
    assert not (tmp_path / "store").exists()


def test_an_unreadable_wav_names_the_csv_line_and_column(votes_csv, tmp_path, audio_model, capsys):
    (tmp_path / "wav").mkdir()
    df = pd.read_csv(votes_csv)
    for p in df["path"]:
        (tmp_path / p).symlink_to(votes_csv.parent / p)
    (tmp_path / "wav" / "a1.wav").unlink()
    (tmp_path / "wav" / "a1.wav").write_text("not audio")
    df.to_csv(tmp_path / "data.csv", index=False)
    code = main(["extract", "--manifest", str(tmp_path / "data.csv"), "--out", str(tmp_path / "store"),
                 "--audio-model", str(audio_model), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1, err
    assert re.search(re.escape(f"{tmp_path / 'data.csv'}:2: column 'path': ") + ".*a1.wav: cannot read audio", err)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(CorpusFormatError, match="empty.csv: empty file"):
        manifest.read(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("path,votes_a,votes_b\n")
    with pytest.raises(CorpusFormatError, match=r"header.csv:1: a header but no rows"):
        manifest.read(tmp_path / "header.csv")
    with pytest.raises(FileNotFoundError, match="nowhere.csv: manifest not found"):
        manifest.read(tmp_path / "nowhere.csv")


# -- stores and runs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def audio_store(tmp_path_factory, audio_model) -> Path:
    """An audio-only store of the distribution manifest (``pdds extract --manifest``)."""
    folder = tmp_path_factory.mktemp("dist")
    csv = write_corpus(folder, "dist", text=False)
    assert main(["extract", "--manifest", str(csv), "--out", str(folder / "store"), "--audio-model", str(audio_model),
                 "--no-progress"]) == 0
    return folder / "store"


def test_an_audio_only_store(audio_store, capsys):
    from pddslib.features.store import FeatureStore

    st = FeatureStore.open(audio_store)
    assert st.modalities == ("audio",) and st.classes == CLASSES and st.corpus == "manifest"
    assert "text_model" not in st.meta["config"] and st.meta["config"]["policy"]["labels"] == "distribution"
    assert len(st) == len(ROWS) - 1 and st.info()["split"] == {"train": 11, "test": 4}
    assert "x4" not in set(st.manifest["utt_id"])     # no test label: left out
    assert main(["info", str(audio_store), "--json"]) == 0
    assert '"dims": {"audio": 32}' in capsys.readouterr().out


def test_stats_and_plan_read_a_store_and_a_manifest(audio_store, votes_csv, capsys):
    import json

    from pddslib.features.store import FeatureStore
    from pddslib.features.store_votes import votes_of_store

    st = FeatureStore.open(audio_store)
    train = st.manifest[st.manifest["split"] == "train"]
    expected = table_counts(train.assign(reason=""), CLASSES).to_dict()
    assert main(["stats", "--store", str(audio_store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert votes_of_store(audio_store, split="all").counts().n_utterances == len(st)
    assert main(["plan", "--store", str(audio_store), "--json"]) == 0
    assert "new_samples" in json.loads(capsys.readouterr().out)
    assert main(["stats", "--manifest", str(votes_csv), "--split", "all", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got == table_counts(manifest.read(votes_csv).table, CLASSES).to_dict()
    assert got["clear"] == {"ang": 3, "hap": 2, "neu": 3, "sad": 2} and got["other"] == 1


@pytest.mark.usefixtures("one_thread")
def test_pdds_run_on_an_audio_only_manifest_store(audio_store, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", "--corpus", str(audio_store), "--model", "cltnet_audio", "--strategy", "pdds", "--seeds", "1",
                 "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert runs["n_train"].iloc[0] > 11 and 0 <= runs["wa"].iloc[0] <= 1
    preds = pd.read_csv(out / "predictions" / f"{run_name(out, 'cltnet_audio-pdds-seed0')}.csv")
    assert list(preds.columns) == ["utt_id", "consensus", "pred", *[f"p_{c}" for c in CLASSES]]
    assert set(preds["utt_id"]) == {"t1", "t2", "t3", "t4"}
    capsys.readouterr()
    # a model that reads text refuses the store, in one line, before any training
    assert main(["run", "--corpus", str(audio_store), "--model", "cltnet", "--seeds", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(audio_store) in err[0] and "--model cltnet_audio" in err[0], err


@pytest.mark.usefixtures("one_thread")
def test_a_manifest_with_text_trains_the_bimodal_model(votes_csv, audio_model, tiny_models, tmp_path, capsys):
    from pddslib.features.store import FeatureStore

    store = tmp_path / "store"
    argv = ["extract", "--manifest", str(votes_csv), "--out", str(store), "--audio-model", str(audio_model),
            "--text-model", str(tiny_models["text"]), "--no-progress"]
    assert main(argv) == 0
    st = FeatureStore.open(store)
    assert st.modalities == ("audio", "text") and st.dims == {"audio": 32, "text": 32}
    assert main(argv) == 0
    assert "up to date" in capsys.readouterr().out
    # another agreement rule: the labels are re-derived, the features kept
    assert main(argv + ["--agreement", "0.6"]) == 0
    assert "labels re-derived" in capsys.readouterr().out
    assert FeatureStore.open(store).manifest.set_index("utt_id").loc["x1", "category"] == "clear"
    assert main(["run", "--corpus", str(store), "--model", "cltnet", "--strategy", "none", "--seeds", "1",
                 "--epochs", "1", "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert main(["extract", "--manifest", str(votes_csv), "--out", str(tmp_path / "audio"), "--no-text",
                 "--audio-model", str(audio_model), "--no-progress"]) == 0
    assert FeatureStore.open(tmp_path / "audio").modalities == ("audio",)


@pytest.mark.usefixtures("one_thread")
def test_the_notebooks_take_a_manifest_store(audio_store):
    """What `papermill notebooks/table1.ipynb -p corpus STORE -p models cltnet_audio` runs."""
    from pddslib.paper.experiments import table1, table1_summary
    from pddslib.paper.parameters import setup

    run = setup(corpus=str(audio_store), seeds=1, epochs=1)
    assert not run.synthetic and run.corpus.name == "manifest" and run.max_epochs == 1
    res = table1(run.corpus, run.settings, models=("cltnet_audio",), log=None)
    assert set(res.runs["strategy"]) == {"none", "pdds"}
    assert {f"recall_{c}" for c in CLASSES} <= set(res.runs.columns)
    summary = table1_summary(res.runs, paper=False)
    assert summary["paper_wa_with"].isna().all() and np.isfinite(summary["wa_with"]).all()
    with pytest.raises(ValueError, match="model 'speechtext' needs audio and text"):
        table1(run.corpus, run.settings, models=("speechtext",), log=None)
