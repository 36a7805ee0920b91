"""IEMOCAP evaluation parsing, vote policies, CREMA-D votes, and the stats/plan CLI."""

import json

import numpy as np
import pytest
from iemocap_fixture import Utt, small_release, write_tree

from pddslib.cli import main
from pddslib.corpora import crema_d, iemocap
from pddslib.corpora.errors import CorpusFormatError
from pddslib.pdds.labels import VotePolicy, categorize, tally_votes


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_tree(tmp_path_factory.mktemp("iemocap"), small_release(with_wavs=False))


def test_categorize():
    assert categorize([3, 0, 0]) == ("clear", 0, 0)
    assert categorize([1, 0, 2]) == ("ambiguous", 2, 0)
    assert categorize([2, 2, 0]) == ("tie", None, None)
    assert categorize([1, 1, 1]) == ("other", None, None)
    assert categorize([0, 0, 0]) == ("excluded", None, None)


def test_default_policy_on_written_release(release):
    counts = iemocap.stats(release, (1, 2, 3, 4))
    # four training sessions, each: clear hap, clear sad, ang>fru, exc>hap, one tie, one other, one excluded
    assert counts.n_utterances == 28
    assert counts.to_dict()["clear"] == {"ang": 0, "hap": 4, "sad": 4, "neu": 0, "exc": 0, "fru": 0}
    assert counts.to_dict()["ambiguous"]["ang"]["fru"] == 4
    assert counts.to_dict()["ambiguous"]["exc"]["hap"] == 4
    assert (counts.ties, counts.other, counts.excluded) == (4, 4, 4)
    assert counts.excluded_reasons == {"C-E3 names none of the classes": 4}


def test_policies_change_what_counts(release):
    frame = iemocap.votes(release, (1,), VotePolicy(self_evaluations=True))
    row = frame.set_index("utt_id").loc["Ses01F_impro01_F000"]
    assert (row.category, row.major, row.minor) == ("ambiguous", "hap", "exc")  # the actor said exc
    strict = iemocap.votes(release, (1,), VotePolicy(strict=True)).set_index("utt_id")
    assert strict.loc["Ses01F_impro01_M002", "category"] == "excluded"  # "Excited; Surprise"
    drop = iemocap.votes(release, (1,), VotePolicy(empty_evaluator="drop")).set_index("utt_id")
    assert drop.loc["Ses01F_impro01_F002", "category"] == "clear"  # the Surprise-only evaluator is dropped
    assert drop.loc["Ses01F_impro01_F002", "n_evaluators"] == 2


def test_distribution_and_ids(release):
    f = iemocap.votes(release, (2,)).set_index("utt_id")
    r = f.loc["Ses02F_impro01_M002"]  # Excited+Surprise, Excited, Happiness -> exc 2, hap 1
    assert (r.dist_exc, r.dist_hap) == pytest.approx((2 / 3, 1 / 3))
    assert (r.session, r.dialog, r.speaker, r.gender) == (2, "Ses02F_impro01", "Ses02M", "M")
    assert f.loc["Ses02F_impro01_F000", "dist_hap"] == 1.0


def test_six_class_frame_splits(release):
    with pytest.warns(UserWarning, match="6-class split differs"):
        six = iemocap.six_class_frame(release)
    assert set(six.consensus) <= {"ang", "hap", "sad", "neu", "exc", "fru"}
    assert (six.split == "test").sum() == 6 and (six.split == "train").sum() == 24
    assert six.attrs["not_six_class"] == 5
    assert np.allclose(six[[c for c in six.columns if c.startswith("dist_")]].sum(axis=1), 1)


def _write(tmp_path, text, name="Ses01F_impro01.txt", raw=False):
    folder = tmp_path / "Session1" / "dialog" / "EmoEvaluation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text if raw else text.encode())
    return folder / name


GOOD = ("% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
        "C-E2:\tNeutral state;\t()\n"
        "C-E3:\tNeutral;\t()\n"
        "C-E4:\tNeutral; Other:nervous;\t(a bit (tense))\n"
        "C-F1:\tAnger;\t()\n"
        "A-E3:\tval 3; act 2; dom  2;\t()\n\n"
        "[10.0100 - 11.3925]\tSes01F_impro01_M000\tfru\t[2.5000, 3.5000, 3.0000]\n"
        "C-E1:\tFrustration; Anger;\t(annoyed)\n"
        "C-E2:\tFrustration;\t()\n"
        "C-E3:\tFrustration;\t()\n")


def test_crlf_bom_trailing_spaces_are_handled(tmp_path):
    clean = iemocap.parse_evaluation_file(_write(tmp_path, GOOD))
    messy = GOOD.replace("\n", "  \r\n").encode("utf-8-sig")
    other = iemocap.parse_evaluation_file(_write(tmp_path, messy, "Ses01F_impro02.txt", raw=True))
    assert [(u.utt_id, [e.labels for e in u.evaluations]) for u in clean] == \
           [(u.utt_id, [e.labels for e in u.evaluations]) for u in other]
    assert clean[0].evaluations[0].labels == ("neu",)
    assert clean[0].evaluations[2].labels == ("neu", "oth")
    assert clean[0].evaluations[3].external is False
    s = tally_votes(clean[1].evaluations)
    assert (s.category, s.major, s.minor) == ("ambiguous", "fru", "ang")


def test_last_label_without_semicolon_is_kept(tmp_path):
    text = GOOD.replace("C-E2:\tFrustration;\t()", "C-E2:\tFrustration; Other:sarcastic\t()")
    text = text.replace("C-E3:\tFrustration;\t()", "C-E3:\tAnger (shouting)")
    utts = iemocap.parse_evaluation_file(_write(tmp_path, text))
    assert utts[1].evaluations[1].labels == ("fru", "oth")
    assert utts[1].evaluations[2].labels == ("ang",)


@pytest.mark.parametrize("bad, line, message", [
    (GOOD.replace("Frustration;\t()\nC-E3", "Frustrashun;\t()\nC-E3"), 12, "unknown label word 'Frustrashun'"),
    (GOOD + "[12.0000 - 13.5", 14, "malformed utterance header"),
    (GOOD.replace("\tfru\t", "\tzzz\t"), 10, "unknown consensus code 'zzz'"),
    (GOOD.replace("A-E3:", "B-E3:"), 8, "unexpected line"),
    (GOOD.replace("% [START", "C-E1:\tAnger;\n% [START"), 1, "outside an utterance block"),
    (GOOD.replace("Ses01F_impro01_M000", "Ses01F_impro01_F000"), 10, "already appeared"),
    (GOOD.replace("Ses01F_impro01_M000", "Ses02F_impro01_M000"), 10, "belongs to session 2"),
])
def test_malformed_input_names_file_and_line(tmp_path, bad, line, message):
    path = _write(tmp_path, bad)
    with pytest.raises(CorpusFormatError, match=message) as err:
        iemocap.parse_sessions(tmp_path, (1,))
    assert err.value.path == str(path) and err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}:")


def test_header_without_evaluators_is_excluded_and_reported(tmp_path):
    text = GOOD + "\n[12.0000 - 13.5000]\tSes01F_impro01_F001\tang\t[2.0, 3.0, 3.0]\n"
    _write(tmp_path, text)
    with pytest.warns(UserWarning, match="without categorical evaluator lines"):
        counts = iemocap.stats(tmp_path, (1,))
    assert counts.excluded == 1 and counts.n_utterances == 3
    assert counts.excluded_reasons == {"no categorical evaluator lines": 1}


def test_missing_session_is_a_clear_error(release):
    with pytest.raises(FileNotFoundError, match="Session1/Session1/dialog/EmoEvaluation: missing"):
        iemocap.stats(release / "Session1", (1,))
    with pytest.raises(FileNotFoundError, match="IEMOCAP release folder"):
        iemocap.stats(release / "Session1", (1,))


def test_hidden_files_are_skipped(tmp_path):
    _write(tmp_path, GOOD)
    _write(tmp_path, b"\x00\x05\x16\x07binary", "._Ses01F_impro01.txt", raw=True)
    assert iemocap.stats(tmp_path, (1,)).n_utterances == 2


def test_transcripts_skip_non_utterance_lines(tmp_path):
    write_tree(tmp_path, [Utt("Ses01F_impro01_F000", "neu", [["neu"]] * 3, seconds=None, text="Hello there.")])
    rep = iemocap.read_transcripts(tmp_path, (1,))
    assert rep.texts == {"Ses01F_impro01_F000": "Hello there."}
    assert rep.skipped == 3  # "M: Yeah.", "F:[LAUGHTER]", an XX id


# -- CREMA-D: the facts in shared/data/crema-d/README.md -------------------------------------

def test_crema_d_voice_votes_give_the_readme_facts(crema_d_votes):
    c = crema_d.stats(crema_d_votes, agreement=1.0)  # the README counts "all raters agree"
    assert c.to_dict()["clear"] == {"ang": 90, "dis": 2, "fea": 23, "hap": 17, "neu": 242, "sad": 9}
    assert (c.n_clear, c.n_ambiguous, c.ties, c.other, c.n_utterances) == (383, 1955, 88, 5016, 7442)
    frame = crema_d.votes(crema_d_votes)
    assert frame.n_votes.min() == 4 and frame.n_votes.max() == 12
    assert frame.n_votes.mean() == pytest.approx(9.21, abs=0.005)


def test_crema_d_modalities_and_bad_file(crema_d_votes, tmp_path):
    assert len(crema_d.votes(crema_d_votes, "face")) == 7442
    bad = tmp_path / "tabulatedVotes.csv"
    lines = crema_d_votes.read_text().splitlines()
    lines[3] = lines[3].replace(",0,0,0,", ",x,0,0,", 1)
    bad.write_text("\n".join(lines))
    with pytest.raises(CorpusFormatError, match=r"tabulatedVotes.csv:4: column"):
        crema_d.votes(bad)
    with pytest.raises(FileNotFoundError, match="download"):
        crema_d.votes(tmp_path / "nowhere")


def test_crema_d_download_uses_the_cache(crema_d_votes, tmp_path):
    cached = tmp_path / "crema-d" / "tabulatedVotes.csv"
    cached.parent.mkdir()
    cached.write_bytes(crema_d_votes.read_bytes())
    # a cached file with the right checksum is returned without any network access
    assert crema_d.download(tmp_path, url="http://127.0.0.1:9/unreachable") == cached
    cached.write_text("tampered")
    with pytest.raises(OSError):
        crema_d.download(tmp_path, url="http://127.0.0.1:9/unreachable")
    assert cached.read_text() == "tampered"  # a failed download leaves no partial file behind
    assert not list(cached.parent.glob("*.part"))


# -- the CLI contract --------------------------------------------------------------------------

def test_cli_stats_json_contract(release, capsys):
    assert main(["stats", "--iemocap", str(release), "--sessions", "1,2,3,4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"n_utterances", "clear", "ambiguous", "ties", "other", "excluded"}
    assert list(out["clear"]) == ["ang", "hap", "sad", "neu", "exc", "fru"]
    assert sum(len(v) for v in out["ambiguous"].values()) == 30
    assert out["n_utterances"] == 28 and out["ambiguous"]["ang"]["fru"] == 4


def test_cli_plan_from_stats_file(release, tmp_path, capsys):
    main(["stats", "--reference", "train", "--json"])
    f = tmp_path / "counts.json"
    f.write_text(capsys.readouterr().out)
    assert main(["plan", "--counts", str(f), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["balanced_clear"]["hap"] == 215 and plan["new_samples"] == 7700
    assert len(plan["targets"]) == 30 and "ang>fru" in plan["targets"]
    assert main(["plan", "--counts", str(f), "--json", "--normalize", "sum", "--sigma", "0.5"]) == 0
    assert json.loads(capsys.readouterr().out)["new_samples"] < 7700
    assert main(["plan", "--iemocap", str(release), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["balanced_clear"]["hap"] == 4


def test_cli_errors_are_readable(tmp_path, capsys):
    bad = tmp_path / "c.json"
    bad.write_text('{"clear": {"ang": 3, "hap": -1}, "ambiguous": {}}')
    assert main(["plan", "--counts", str(bad)]) == 1  # a data error (exit code 2 is for usage errors)
    assert "clear.hap: expected a non-negative integer" in capsys.readouterr().err
    assert main(["stats", "--iemocap", str(tmp_path)]) == 1  # a data error (exit code 2 is for usage errors)
    assert "Session1/dialog/EmoEvaluation: missing" in capsys.readouterr().err
    assert main(["stats", "--reference", "train"]) == 0
    assert "clear: ang 304, hap 43" in capsys.readouterr().out


def test_plan_defaults_to_the_packaged_counts_and_says_its_settings(capsys):
    from cli_helpers import run_cli

    code, out, _ = run_cli(["plan", "--json"], capsys)
    default = json.loads(out)
    code2, out2, _ = run_cli(["plan", "--reference", "train", "--json"], capsys)
    assert code == code2 == 0 and default == json.loads(out2)
    assert default["strategy"] == "pdds" and default["params"] == {"sigma": 1.0, "normalize": "none"}
    code, out, _ = run_cli(["plan", "--strategy", "uniform", "--pairs", "unordered", "--json"], capsys)
    assert json.loads(out)["params"] == {"level": 400, "pairs": "unordered"}
    code, out, err = run_cli(["plan", "--strategy", "uniform", "--sigma", "2"], capsys)
    assert code == 2 and "strategy uniform takes no --sigma (its options: --level, --pairs)" in err
