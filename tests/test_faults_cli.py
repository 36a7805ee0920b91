"""Faults at the command line: every user or data error of ``pdds`` is exit code 1 (2 for usage) and ONE
line ``pdds <command>: error: <file>: <what was expected>`` on stderr, no traceback, nothing changed;
``pdds ... | head`` exits quietly.
"""


from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli
from faults_common import *  # noqa: F403  (the Fault rows, fixtures and helpers)

# == command line: one line, exit code, nothing changed ======================================================

@dataclass(frozen=True)
class CliFault:
    """One ``pdds`` invocation that must fail.

    ``setup(case, ctx)`` prepares inputs under the folder ``case`` and returns the argv and the file (or
    value) the message must name; ``match`` is searched in the message after ``pdds <command>: error: ``,
    with ``{named}`` standing for the escaped name. Code 1: stderr is that one line. Code 2 from
    argparse: the usage, then that line; from the command (``UsageError``): that one line.
    """

    id: str
    setup: Callable[[Path, Any], tuple[list[str], object]]
    match: str
    code: int = 1
    one_line: bool = True
    needs: tuple[str, ...] = ()   # "ml": the ml extra; "models", "tree": fixtures to build (the others stay cheap)


@dataclass
class CliContext:
    pristine: Path
    tmp: Path
    models: dict[str, Path] | None = None
    tree: Path | None = None


def _store_case(corrupt: Callable[[Path], None], name: str) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        path = case / "store"
        shutil.copytree(ctx.pristine, path)
        corrupt(path)
        return ["info", str(path)], path / name
    return setup


def _iemocap_text_tree(root: Path) -> Path:
    from iemocap_fixture import small_release, write_tree

    return write_tree(root, [u for u in small_release(with_wavs=False) if u.session in (1, 2)])


def _emo_case(edit: Callable[[str], str]) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        root = _iemocap_text_tree(case / "iemocap")
        f = root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
        text = f.read_text()
        new = edit(text)
        assert new != text, "the edit did not apply"
        f.write_text(new)
        return ["stats", "--iemocap", str(root), "--sessions", "1,2"], f
    return setup


def _crema_case(text: str) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        f = case / "tabulatedVotes.csv"
        f.write_text(text)
        return ["stats", "--crema-d", str(f)], f
    return setup


def _counts_case(text: str | None) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        f = case / "counts.json"
        if text is not None:
            f.write_text(text)
        return ["plan", "--counts", str(f)], f
    return setup


RUN = ["run", "--model", "cltnet", "--strategy", "none", "--seeds", "1", "--epochs", "1", "--no-progress"]


def _run_case(*extra: str, out: str = "out") -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        return RUN + ["--corpus", str(ctx.pristine), "--out", str(case / out), *extra], case / out
    return setup


def _run_out_under_a_file(case: Path, ctx: CliContext):
    (case / "a-file").write_text("not a folder")
    return RUN + ["--corpus", str(ctx.pristine), "--out", str(case / "a-file" / "results")], case / "a-file" / "results"


def _run_out_read_only(case: Path, ctx: CliContext):
    ro = case / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    if os.access(ro, os.W_OK):  # root writes anyway
        ro.chmod(0o700)
        pytest.skip("running as a user who can write into a 0o500 folder (root)")
    return RUN + ["--corpus", str(ctx.pristine), "--out", str(ro / "results")], ro / "results"


def _run_cache_is_a_file(case: Path, ctx: CliContext):
    (case / "runs").write_text("not a folder")
    # --out outside the case folder: it is checked (and created) before the cache
    return RUN + ["--corpus", str(ctx.pristine), "--out", str(ctx.tmp / "elsewhere"),
                  "--cache", str(case / "runs")], case / "runs"


def _run_corpus_corrupt(case: Path, ctx: CliContext):
    path = case / "store"
    shutil.copytree(ctx.pristine, path)
    (path / "store.json").write_text("[1, 2]")
    return RUN + ["--corpus", str(path), "--out", str(ctx.tmp / "elsewhere")], path / "store.json"


def _extract_argv(ctx: CliContext, out: Path, audio_model: Path | None = None) -> list[str]:
    assert ctx.models is not None and ctx.tree is not None
    return ["extract", "--iemocap", str(ctx.tree), "--sessions", "1,5", "--out", str(out),
            "--audio-model", str(audio_model or ctx.models["audio"]), "--text-model", str(ctx.models["text"]),
            "--shard-size", "3", "--threads", "1", "--no-progress"]


def _extract_bert_as_audio(case: Path, ctx: CliContext):
    assert ctx.models is not None
    return _extract_argv(ctx, case / "store", audio_model=ctx.models["text"]), ctx.models["text"]


def _extract_device(case: Path, ctx: CliContext):
    return _extract_argv(ctx, case / "store") + ["--device", "bogus"], "bogus"


def _extract_state(text: str) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    def setup(case: Path, ctx: CliContext):
        (case / "store.partial").mkdir()
        (case / "store.partial" / "state.json").write_text(text)
        return _extract_argv(ctx, case / "store"), case / "store.partial" / "state.json"
    return setup


def _demo_exists(case: Path, ctx: CliContext):
    (case / "mine").mkdir()
    (case / "mine" / "notes.txt").write_text("keep me")
    return ["demo", "--out", str(case / "mine"), "--scale", "0.02"], case / "mine"


def _argv(*argv: str) -> Callable[[Path, CliContext], tuple[list[str], object]]:
    return lambda case, ctx: (list(argv), None)


CREMA_HEADER = '"","A","D","F","H","N","S","fileName","numResponses","agreement","emoVote"\n'
EXTRACT = ("ml", "models", "tree")
ML = ("ml",)

CLI_FAULTS = [
    # pdds info on corrupt stores
    CliFault("info-store-json-a-list", _store_case(set_meta("[1, 2]"), "store.json"),
             r"^{named}: a JSON list, expected a JSON object"),
    CliFault("info-audio-npy-0-bytes", _store_case(overwrite_bytes("audio.npy", lambda n: b""), "audio.npy"),
             r"^{named}: 0 bytes \(empty file\), expected \d+ as recorded at assembly"),
    CliFault("info-dist-non-numeric", _store_case(set_cell(3, "dist_sad", "abc"), "manifest.csv"),
             rf"^{{named}}: row 3 {UTT3}: column dist_sad holds 'abc', expected a number$"),
    CliFault("info-manifest-0-bytes", _store_case(set_manifest(b""), "manifest.csv"),
             r"^{named}: empty file, expected a CSV header and one row per utterance$"),
    CliFault("info-manifest-header-only", _store_case(header_only, "manifest.csv"),
             r"^{named}: no rows, expected one row per utterance$"),
    CliFault("info-not-a-store", _store_case(remove("store.json"), "store.json"),
             r"^{named}: not found; .* is not a feature store"),
    # pdds stats on bad IEMOCAP / CREMA-D inputs
    CliFault("stats-emo-evaluation-0-bytes", _emo_case(lambda t: ""),
             r"^{named}: empty file \(0 bytes\); expected blocks that start with '\[START - END\]"),
    CliFault("stats-start-after-end", _emo_case(lambda t: t.replace("[1.0000 - 2.0000]", "[3.0000 - 2.0000]", 1)),
             r"^{named}:3: start time 3\.0000 is after end time 2\.0000"),
    CliFault("stats-utt-id-with-dotdot", _emo_case(lambda t: t.replace("\tSes01F_impro01_F000\t",
                                                                        "\t../Ses01F_impro01_F000\t", 1)),
             r"^{named}:3: utterance id '\.\./Ses01F_impro01_F000' is not an IEMOCAP id: expected SesNN"),
    CliFault("stats-crema-d-header-only", _crema_case(CREMA_HEADER),
             r"^{named}:1: a header but no vote rows; expected one row per clip"),
    CliFault("stats-crema-d-0-bytes", _crema_case(""),
             r"^{named}: empty file; expected the CREMA-D tabulatedVotes\.csv header and rows$"),
    CliFault("stats-crema-d-not-a-number",
             _crema_case(CREMA_HEADER + '"100001",0,0,0,x,10,0,"1001_IEO_NEU_XX",11,1,"N"\n'),
             r"^{named}:2: column 'H': 'x' is not a non-negative integer$"),
    # pdds plan --counts
    CliFault("plan-counts-not-json", _counts_case("{"), r"^{named}: line 1: not valid JSON"),
    CliFault("plan-counts-a-list", _counts_case("[1, 2]"), r"^{named}: .*expected the `pdds stats --json` object"),
    CliFault("plan-counts-missing", _counts_case(None), r"^{named}: no such counts file$"),
    # pdds run
    CliFault("run-device-bogus", _run_case("--device", "bogus"),
             r"^device 'bogus': expected 'auto', 'cpu', 'cuda' or 'cuda:N'$", needs=ML),
    CliFault("run-out-under-a-file", _run_out_under_a_file, r"^{named}: the output folder is not writable", needs=ML),
    CliFault("run-out-read-only", _run_out_read_only, r"^{named}: the output folder is not writable \(Permission",
             needs=ML),
    CliFault("run-cache-is-a-file", _run_cache_is_a_file, r"^{named}: the run cache folder is not writable", needs=ML),
    CliFault("run-corpus-corrupt-store", _run_corpus_corrupt, r"^{named}: a JSON list, expected a JSON object",
             needs=ML),
    # pdds extract
    CliFault("extract-bert-as-audio-model", _extract_bert_as_audio,
             r"^audio model '{named}' is a 'bert' model; expected a wav2vec2-family checkpoint", needs=EXTRACT),
    CliFault("extract-device-bogus", _extract_device, r"^device '{named}': expected 'auto', 'cpu'", needs=EXTRACT),
    CliFault("extract-state-json-a-list", _extract_state("[]"),
             r"^{named}: unreadable state of an unfinished extraction \(expected an object with an integer "
             r"shard_size\); delete \S+store\.partial to start again$", needs=EXTRACT),
    CliFault("extract-state-json-garbage", _extract_state("{"),
             r"^{named}: unreadable state of an unfinished extraction .*; delete \S+store\.partial", needs=EXTRACT),
    # pdds demo
    CliFault("demo-out-exists", _demo_exists, r"^{named}: already exists; choose another --out or delete it$"),
    # usage: exit code 2
    CliFault("usage-no-vote-source", _argv("stats"), r"^give exactly one source of votes: --iemocap ROOT", code=2),
    CliFault("usage-two-vote-sources", _argv("plan", "--reference", "train", "--counts", "c.json"),
             r"^give exactly one source of votes", code=2),
    CliFault("usage-unknown-model", _argv("run", "--model", "nope", "--out", "x"),
             r"^argument --model: invalid choice: 'nope'", code=2, one_line=False),
    CliFault("usage-bad-sessions", _argv("stats", "--reference", "train", "--sessions", "1,9"),
             r"^argument --sessions: expected sessions among 1\.\.5, got '1,9'$", code=2, one_line=False),
]




@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.parametrize("fault", [pytest.param(f, id=f.id) for f in CLI_FAULTS])
def test_cli_error(fault, pristine, tmp_path, capsys, monkeypatch, request):
    monkeypatch.setenv("PDDS_CACHE", str(tmp_path / "cache"))
    ctx = CliContext(pristine, tmp_path)
    if "ml" in fault.needs:
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
    if "models" in fault.needs:
        ctx.models = request.getfixturevalue("tiny_models")
    if "tree" in fault.needs:
        ctx.tree = request.getfixturevalue("cli_tree")
    case = tmp_path / "case"
    case.mkdir()
    argv, named = fault.setup(case, ctx)
    before = snapshot(case)
    try:
        code, out, err = run_cli(argv, capsys)
        after = snapshot(case)
    finally:
        for p in case.rglob("*"):  # undo a chmod, so that pytest can clean up
            if p.is_dir() and not p.stat().st_mode & 0o200:
                p.chmod(0o700)
    assert code == fault.code, f"exit code {code}, expected {fault.code}; stderr: {err}"
    assert "Traceback" not in err, err
    lines = err.splitlines()
    prefix = f"pdds {argv[0]}: error: "
    if fault.one_line:
        assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    else:  # argparse: the usage, then the error line
        assert lines[0].startswith(f"usage: pdds {argv[0]} "), err
    line = lines[-1]
    assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
    msg = line[len(prefix):]
    pattern = fault.match.replace("{named}", re.escape(str(named)))
    assert re.search(pattern, msg), f"{pattern!r} not in {msg!r}"
    assert "error: pdds" not in line and "error: error:" not in line, line   # no doubled prefix
    assert "overwrite=True" not in err, err   # a Python-only hint the CLI cannot follow
    assert out == "", out
    assert after == before, "a failing command changed its inputs or left files behind"


def test_the_cli_fault_table_has_unique_ids():
    assert len({f.id for f in CLI_FAULTS}) == len(CLI_FAULTS)


def _missing_extra():
    from pddslib.cli._common import MissingExtra

    return MissingExtra("pdds stats needs the ml extra (torch is not installed): pip install 'pddslib[ml]'")


def _usage_error():
    from pddslib.cli._common import UsageError

    return UsageError("give exactly one source of votes")


# What main() makes of what a command raises: (raised, exit code, the one stderr line).
CLI_EXITS = [
    pytest.param(lambda: ValueError("pdds: c.json: bad"), 1, "pdds stats: error: c.json: bad",
                 id="pdds-prefix-stripped"),
    pytest.param(lambda: ValueError("pdds: pdds: c.json: bad"), 1, "pdds stats: error: c.json: bad",
                 id="doubled-pdds-prefix-stripped"),
    pytest.param(lambda: ValueError("pdds: error: c.json: bad"), 1, "pdds stats: error: c.json: bad",
                 id="whole-prefix-stripped"),
    pytest.param(lambda: ValueError("error: c.json: bad"), 1, "pdds stats: error: c.json: bad",
                 id="error-prefix-stripped"),
    pytest.param(lambda: FileNotFoundError("c.json: not found"), 1, "pdds stats: error: c.json: not found",
                 id="oserror"),
    pytest.param(lambda: FloatingPointError("c.json: overflow"), 1, "pdds stats: error: c.json: overflow",
                 id="floating-point"),
    pytest.param(_missing_extra, 1, "pdds stats needs the ml extra (torch is not installed): pip install 'pddslib[ml]'",
                 id="missing-extra"),
    pytest.param(_usage_error, 2, "pdds stats: error: give exactly one source of votes", id="usage-error"),
    pytest.param(KeyboardInterrupt, 130, "pdds stats: interrupted (finished work is kept; run the same command again "
                                         "to resume)", id="interrupted"),
]


@pytest.mark.parametrize("raised,code,line", CLI_EXITS)
def test_cli_exit_codes_and_one_line(raised, code, line, monkeypatch, capsys):
    import pddslib.cli.votes as votes_cli

    def cmd(args):
        raise raised()

    monkeypatch.setattr(votes_cli, "cmd_stats", cmd)
    got, out, err = run_cli(["stats", "--reference", "train"], capsys)
    assert (got, out, err) == (code, "", line + "\n")


@pytest.mark.parametrize("reader", ["head -1", "head -n 0", "true"])
def test_a_closed_pipe_exits_quietly(reader, tmp_path):
    """`pdds stats | head`: the reader leaves early; pdds exits 0 without 'Broken pipe' or a traceback.
    ``head -n 0`` and ``true`` close the pipe before pdds writes, so its write does fail."""
    cmd = f"set -o pipefail; {sys.executable} -m pddslib stats --reference train 2>{tmp_path / 'err'} | {reader}"
    res = subprocess.run(["bash", "-c", cmd], env=child_env(tmp_path), capture_output=True, text=True, timeout=60)
    err = (tmp_path / "err").read_text()
    assert res.returncode == 0, (res.returncode, err)
    assert "Broken pipe" not in err and "BrokenPipeError" not in err and "Traceback" not in err, err
    assert err == "", err
    if reader == "head -1":
        assert res.stdout.startswith("utterances "), res.stdout


