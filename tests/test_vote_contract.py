"""One vote contract for every corpus: the table's columns and dtypes, counts, splits, one-hot
labels, `open_votes` for every source, and the readable errors of the readers."""

import json
from collections import Counter
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from iemocap_fixture import small_release, write_tree

from pddslib.cli import main
from pddslib.corpora import crema_d, demo, iemocap, open_votes, source_from_flags
from pddslib.corpora.errors import CorpusFormatError
from pddslib.corpora.votes import VOTE_COLUMNS, VoteTableError, check, table_columns
from pddslib.paper.experiments import vote_counts
from pddslib.pdds.labels import CLASSES
from pddslib.reference import iemocap_counts, six_class_sizes

UTTS = small_release(with_wavs=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("iemocap"), UTTS)


@pytest.fixture(scope="module")
def tables(release, crema_d_votes):
    """The votes table of each source that has rows, with its classes."""
    with pytest.warns(UserWarning, match="6-class split differs"):
        six = iemocap.six_class_frame(release)
    return {
        "iemocap": (open_votes("iemocap", root=release, sessions="1,2,3,4,5").table, CLASSES),
        "crema-d": (open_votes("crema-d", path=crema_d_votes).table, crema_d.CLASSES),
        "demo": (open_votes("demo", scale=0.05).table, CLASSES),
        "six_class_frame": (six, CLASSES),
    }


# -- the columns -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["iemocap", "crema-d", "demo", "six_class_frame"])
def test_fixed_columns_and_dtypes(tables, name):
    table, classes = tables[name]
    fixed = table_columns(classes)
    assert list(table.columns[: len(fixed)]) == fixed
    assert fixed[: len(VOTE_COLUMNS)] == ["utt_id", "split", "consensus", "category", "major", "minor", "reason"]
    for col in VOTE_COLUMNS:
        assert isinstance(table[col].dtype, pd.StringDtype), col
    assert all(table[f"dist_{c}"].dtype == np.float64 for c in classes)
    assert set(table["category"]) <= {"clear", "ambiguous", "tie", "other", "excluded"}
    cell = table["category"].isin(["clear", "ambiguous"])
    assert table.loc[cell, "major"].isin(classes).all() and table.loc[cell, "minor"].isin(classes).all()
    assert table.loc[~cell, ["major", "minor"]].isna().all().all()
    assert (table.loc[cell, "reason"] == "").all() and (table.loc[~cell, "reason"] != "").all()
    check(table, classes, source=name)  # the validator every reader uses accepts it


def test_extra_columns_follow_the_fixed_ones(tables):
    extra = {name: list(t.columns[len(table_columns(c)):]) for name, (t, c) in tables.items()}
    assert extra["iemocap"][:7] == ["session", "dialog", "speaker", "gender", "start", "end", "n_evaluators"]
    assert extra["demo"][:7] == ["session", "dialog", "speaker", "gender", "e1", "e2", "e3"]
    assert extra["crema-d"] == ["clip"] + [f"votes_{c}" for c in crema_d.CLASSES] + ["n_votes"]
    # six_class_frame keeps the columns of the IEMOCAP table (the store manifest reads them)
    assert extra["six_class_frame"] == extra["iemocap"]


def test_validator_names_source_row_and_problem(tables):
    table, classes = tables["demo"]
    broken = table.copy()
    i = int(np.flatnonzero(broken["category"] == "clear")[0])
    broken.loc[i, "minor"] = None
    with pytest.raises(VoteTableError, match=rf"^demo: row {i} \('{broken.utt_id[i]}'\): a clear or ambiguous row"):
        check(broken, classes, source="demo")
    broken = table.copy()
    broken.loc[3, "category"] = "fuzzy"
    with pytest.raises(VoteTableError, match="category 'fuzzy' is not one of"):
        check(broken, classes, source="demo")
    with pytest.raises(VoteTableError, match="the first columns are"):
        check(table.drop(columns="reason"), classes, source="demo")
    broken = table.copy()
    broken["dist_ang"] = broken["dist_ang"] + 0.5
    with pytest.raises(VoteTableError, match="dist_"):
        check(broken, classes, source="demo")


# -- counts equal the known counts -------------------------------------------------------------
def _expected(utts, sessions):
    """`pdds stats --json` of fixture utterances under the default policy, from what was written."""
    clear = dict.fromkeys(CLASSES, 0)
    amb = {a: {b: 0 for b in CLASSES if b != a} for a in CLASSES}
    rest = Counter()
    for u in utts:
        if u.session not in sessions:
            continue
        if any(not set(ev) & set(CLASSES) for ev in u.external):
            rest["excluded"] += 1
            continue
        votes = Counter(c for ev in u.external for c in set(ev) if c in CLASSES).most_common()
        if len(votes) == 1:
            clear[votes[0][0]] += 1
        elif len(votes) == 2 and votes[0][1] > votes[1][1]:
            amb[votes[0][0]][votes[1][0]] += 1
        else:
            rest["tie" if len(votes) == 2 else "other"] += 1
    n = sum(u.session in sessions for u in utts)
    return {"n_utterances": n, "clear": clear, "ambiguous": amb, "ties": rest["tie"], "other": rest["other"],
            "excluded": rest["excluded"]}


def test_iemocap_counts_per_split(release):
    v = open_votes("iemocap", root=release, sessions=(1, 2, 3, 4, 5))
    assert v.counts("train").to_dict() == _expected(UTTS, {1, 2, 3, 4})
    assert v.counts("test").to_dict() == _expected(UTTS, {5})
    assert v.counts().to_dict() == _expected(UTTS, {1, 2, 3, 4, 5}) == v.counts("all").to_dict()
    assert open_votes("iemocap", root=release).counts().to_dict() == _expected(UTTS, {1, 2, 3, 4})


def test_reference_counts_are_the_packaged_file():
    data = json.loads(resources.files("pddslib.reference").joinpath("iemocap_counts.json").read_text())
    for split in ("train", "test"):
        assert open_votes("reference", split=split).counts().to_dict() == data["counts"][split]
    both = open_votes("reference", split="all")
    assert both.splits == ("train", "test")
    assert both.counts().to_dict() == (iemocap_counts("train") + iemocap_counts("test")).to_dict()
    assert both.counts("test").to_dict() == data["counts"]["test"]
    assert open_votes("reference").label == "IEMOCAP sessions 1,2,3,4 (packaged counts)"


def test_crema_d_counts_and_tie_rule(crema_d_votes):
    v = open_votes("crema-d", path=crema_d_votes, agreement=1.0)
    c = v.counts()
    # the facts in shared/data/crema-d/README.md (every rater agrees: agreement 1)
    assert c.to_dict()["clear"] == {"ang": 90, "dis": 2, "fea": 23, "hap": 17, "neu": 242, "sad": 9}
    assert (c.n_clear, c.n_ambiguous, c.ties, c.other, c.n_utterances) == (383, 1955, 88, 5016, 7442)
    assert v.splits == ("all",) and v.label == "CREMA-D voice-only crowd votes, agreement 1"
    assert open_votes("crema-d", path=crema_d_votes).label == "CREMA-D voice-only crowd votes"
    # the one-hot label is CREMA-D's own majority vote (emoVote), "xxx" where it lists a tie
    raw = pd.read_csv(crema_d_votes)
    raw = raw[raw.iloc[:, 0] // 100000 == 1]
    code = dict(zip(crema_d.COLUMNS, crema_d.CLASSES))
    assert v.table["consensus"].tolist() == [code.get(e, "xxx") for e in raw["emoVote"]]
    assert v.table["utt_id"].tolist() == raw["fileName"].tolist()
    assert v.one_hot() == {c: int((raw["emoVote"] == k).sum()) for k, c in code.items()}


def test_demo_at_scale_one_is_the_reference():
    v = open_votes("demo")
    assert v.synthetic and v.splits == ("train", "test")
    for split in ("train", "test"):
        assert v.counts(split).to_dict() == iemocap_counts(split).to_dict()
        assert v.one_hot(split) == six_class_sizes()[split]
    part = open_votes("demo", scale=0.05, seed=2, sessions="1,2")
    assert set(part.table["session"]) == {1, 2} and part.splits == ("train",)
    whole = demo.votes(0.05, 2)
    assert part.table["utt_id"].tolist() == whole.loc[whole["session"] <= 2, "utt_id"].tolist()


def test_counts_file_source(tmp_path):
    f = tmp_path / "counts.json"
    f.write_text(json.dumps(iemocap_counts("test").to_dict()))
    v = open_votes("counts", path=f)
    assert v.table is None and v.counts().to_dict() == iemocap_counts("test").to_dict()
    with pytest.raises(ValueError, match="holds no consensus"):
        v.one_hot()


# -- the split map and one-hot labels ----------------------------------------------------------
def test_session_to_split_map(tables):
    assert [iemocap.split_of(s) for s in (1, 2, 3, 4, 5)] == ["train"] * 4 + ["test"]
    assert iemocap.sessions_of("all") == (1, 2, 3, 4, 5)
    assert iemocap.split_of_sessions([4, 3, 2, 1]) == "train" and iemocap.split_of_sessions([1, 2]) is None
    for name in ("iemocap", "demo"):
        t = tables[name][0]
        assert (t["split"] == t["session"].map(iemocap.split_of)).all()
    assert (tables["crema-d"][0]["split"] == "all").all()
    with pytest.raises(ValueError, match="session 6"):
        iemocap.split_of(6)


def test_one_hot_per_split(release):
    v = open_votes("iemocap", root=release, sessions="1,2,3,4,5")
    written = {s: Counter(u.consensus for u in UTTS if iemocap.split_of(u.session) == s) for s in ("train", "test")}
    for split in ("train", "test"):
        assert v.one_hot(split) == {c: written[split][c] for c in CLASSES}
    assert v.one_hot() == {c: written["train"][c] + written["test"][c] for c in CLASSES}
    ref = open_votes("reference", split="all")
    assert {s: ref.one_hot(s) for s in ref.splits} == six_class_sizes()
    with pytest.raises(ValueError, match=r"no 'test' split here \(splits: \['train'\]"):
        open_votes("reference").one_hot("test")


def test_vote_counts_goes_through_open_votes(release):
    counts, one_hot, label = vote_counts("reference")
    assert counts.to_dict() == iemocap_counts("train").to_dict() and one_hot == six_class_sizes()
    counts, one_hot, label = vote_counts("iemocap", iemocap_root=str(release))
    assert counts.to_dict() == _expected(UTTS, {1, 2, 3, 4}) and list(one_hot) == ["train"]
    counts, one_hot, label = vote_counts("demo", demo_scale=0.05, sessions="5")
    assert counts.to_dict() == open_votes("demo", scale=0.05).counts("test").to_dict()
    assert list(one_hot) == ["train", "test"]  # Fig. 1(a) shows the whole corpus
    with pytest.raises(ValueError, match="packaged counts cover sessions 1-4, 5 or all"):
        vote_counts("reference", sessions="1,2")


# -- open_votes and the CLI flags --------------------------------------------------------------
def test_open_votes_rejects_unknown_sources_and_options(release):
    with pytest.raises(ValueError, match="unknown source of votes 'msp'"):
        open_votes("msp")
    with pytest.raises(ValueError, match=r"source 'demo': .*'sessoins'.*its options: \['scale', 'seed', 'sessions'\]"):
        open_votes("demo", sessoins="1")
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all'"):
        open_votes("reference", split="dev")
    with pytest.raises(ValueError, match="sessions must name IEMOCAP sessions"):
        open_votes("iemocap", root=release, sessions="1,7")


def test_source_from_flags():
    assert source_from_flags(reference="test") == ("reference", {"split": "test"})
    assert source_from_flags(iemocap="/data", sessions=(5,), policy="self") == \
        ("iemocap", {"root": "/data", "sessions": (5,), "policy": "self"})
    assert source_from_flags(crema_d="download", modality="face") == ("crema-d", {"path": "download", "modality": "face"})
    for flags in ({}, {"iemocap": "/data", "reference": "train"}):
        with pytest.raises(ValueError, match="give exactly one source of votes"):
            source_from_flags(**flags)


@pytest.mark.parametrize("flags", [
    ["--reference", "train"], ["--reference", "all"], ["--iemocap", "RELEASE", "--sessions", "1,2,3,4,5", "--policy", "self"],
    ["--crema-d", "CREMA"], ["--crema-d", "CREMA", "--modality", "face"],
])
def test_stats_json_is_open_votes_counts(release, crema_d_votes, capsys, flags):
    flags = [{"RELEASE": str(release), "CREMA": str(crema_d_votes)}.get(f, f) for f in flags]
    assert main(["stats", *flags, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    get = dict(zip(flags[::2], flags[1::2])).get
    source, options = source_from_flags(
        iemocap=get("--iemocap"), crema_d=get("--crema-d"), reference=get("--reference"),
        sessions=tuple(int(s) for s in get("--sessions", "1,2,3,4").split(",")),
        policy=get("--policy", "default"), modality=get("--modality", "voice"))
    assert open_votes(source, **options).counts().to_dict() == printed


# -- utterance ids and the readers' errors -----------------------------------------------------
def test_parse_utt_id():
    ids = iemocap.parse_utt_id("Ses03M_script01_1b_F012")
    assert ids == ("Ses03M_script01_1b_F012", 3, "Ses03M_script01_1b", "Ses03F", "F")
    assert ids.dialog == "Ses03M_script01_1b" and ids.speaker == "Ses03F"
    for bad in ("Ses01F_../../etc_F000", "Ses01F_impro01_F000/../x", "Ses01F_impro01_X000", "Ses01F_impro01_MXX0",
                "ses01F_impro01_F000", "Ses01F_impro01_F000\n", "", "Ses01F__F000", "Ses0\u0661F_impro01_F000"):
        with pytest.raises(ValueError, match="is not an IEMOCAP id"):
            iemocap.parse_utt_id(bad)
    with pytest.raises(ValueError, match="is not an IEMOCAP id"):
        iemocap.wav_path("/data", "Ses01F_impro01/../../../secret_F000")
    assert str(iemocap.wav_path("/data", "Ses01F_impro01_F000")) == \
        "/data/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav"


def _evaluation_file(root, text, name="Ses01F_impro01.txt"):
    folder = root / "Session1" / "dialog" / "EmoEvaluation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
BLOCK = "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\nC-E2:\tNeutral state;\t()\n"


@pytest.mark.parametrize("text, line, message", [
    ("", None, r"empty file \(0 bytes\); expected blocks"),
    (HEADER, None, "no utterance block; expected blocks"),
    (HEADER + BLOCK.replace("6.2901 - 8.2357", "8.2357 - 6.2901"), 3, "start time 8.2357 is after end time 6.2901"),
    (HEADER + BLOCK.replace("Ses01F_impro01_F000", "Ses01F_../../../tmp/x_F000"), 3, "is not an IEMOCAP id"),
])
def test_iemocap_errors_name_the_file_and_line(tmp_path, text, line, message):
    _evaluation_file(tmp_path, HEADER + BLOCK.replace("impro01", "impro00"), "Ses01F_impro00.txt")  # read first
    path = _evaluation_file(tmp_path, text)
    with pytest.raises(CorpusFormatError, match=message) as err:
        open_votes("iemocap", root=tmp_path, sessions="1")
    assert (err.value.path, err.value.line) == (str(path), line)
    where = f"{path}:{line}:" if line else f"{path}:"
    assert str(err.value).startswith(where) and "\n" not in str(err.value)


def test_iemocap_error_reaches_the_cli_as_one_line(tmp_path, capsys):
    path = _evaluation_file(tmp_path, "")
    assert main(["stats", "--iemocap", str(tmp_path), "--sessions", "1"]) == 1  # a data error (2: usage)
    err = capsys.readouterr().err
    assert err == f"pdds stats: error: {path}: empty file (0 bytes); expected blocks that start with " \
                  f"'[START - END]<TAB>UTT_ID<TAB>CONSENSUS<TAB>[V, A, D]'\n"


def test_crema_d_header_only_and_other_bad_tables(crema_d_votes, tmp_path, capsys):
    lines = crema_d_votes.read_text().splitlines()
    bad = tmp_path / "tabulatedVotes.csv"
    bad.write_text(lines[0] + "\n")
    with pytest.raises(CorpusFormatError, match=r"tabulatedVotes.csv:1: a header but no vote rows") as err:
        open_votes("crema-d", path=bad)
    assert err.value.path == str(bad)
    assert main(["stats", "--crema-d", str(bad)]) == 1  # a data error (exit code 2 is for usage errors)
    assert capsys.readouterr().err.startswith(f"pdds stats: error: {bad}:1: a header but no vote rows")
    bad.write_text("")
    with pytest.raises(CorpusFormatError, match=r"tabulatedVotes.csv: empty file"):
        crema_d.votes(bad)
    bad.write_text("\n".join([lines[0], lines[1], lines[2], lines[1]]) + "\n")
    with pytest.raises(CorpusFormatError, match=r"tabulatedVotes.csv:4: row_id 100001 repeats line 2"):
        crema_d.votes(bad)
    bad.write_text("\n".join([lines[0], lines[1], lines[2], lines[1].replace('"100001"', '"100009"')]) + "\n")
    with pytest.raises(CorpusFormatError, match=r"tabulatedVotes.csv:4: fileName '1001_IEO_NEU_XX' repeats line 2"):
        crema_d.votes(bad)
    bad.write_text("\n".join([lines[0], lines[1], lines[2]]) + "\n")
    with pytest.raises(CorpusFormatError, match=r"no row of modality 'face'"):
        crema_d.votes(bad, "face")

