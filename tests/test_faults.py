"""Fault injection: every malformed input ends in one error, on one line, that names the file (and,
where it applies, the row and column) and says what was expected. No traceback-only failures.

Each section is a table of :class:`Fault` rows run by one parametrized test. Sections:

* stores: a tiny store written by ``write_store``, corrupted one way, opened with ``FeatureStore.open``;
* store inputs: what ``write_store`` refuses before writing anything;
* command line: every user or data error of ``pdds`` is exit code 1 (2 for usage) and ONE line
  ``pdds <command>: error: <file>: <what was expected>`` on stderr, no traceback, nothing changed;
  ``pdds ... | head`` exits quietly;
* run cache: a damaged cached run is said (naming its folder), removed and computed again; a store
  whose labels or splits changed never gets another store's cached run;
* extraction: a rerun says "up to date" only when it is (labels re-derived without the encoders when
  only the annotations or the policy changed); a NaN/inf wav, a corrupt shard, a bad state.json;
  SIGINT and SIGKILL during shard writing and during assembly, in a child process, then a resume
  that gives the store of one uninterrupted run, bit for bit;
* races: two processes sharing a run cache, and generating the demo corpus into one fresh cache.

Everything runs on tiny inputs (a 12-utterance IEMOCAP-format tree, tiny random models, a 5% demo
store, a 16-wide CLTNet for one epoch); the expensive fixtures are module-scoped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from pddslib.features.store import FeatureStore, StoreError, write_store
from pddslib.labels import CLASSES
from test_store import DIMS, make_manifest, write


# -- helpers -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """One corruption and the error it must end in.

    ``corrupt(path)`` damages the object at ``path`` (a store folder, ...); the error must be an
    ``error`` whose message names ``file`` (relative to ``path``; None: the message starts with the
    ``prefix`` instead) and matches the regular expression ``match``.
    """

    id: str
    corrupt: Callable[[Path], None]
    file: str | None
    match: str
    error: type[BaseException] = StoreError
    prefix: str = ""


def expect_fault(fault: Fault, path: Path, action: Callable[[], object]) -> str:
    """Run ``action`` and check that it fails as ``fault`` says; returns the message."""
    with pytest.raises(fault.error) as info:
        action()
    msg = str(info.value)
    where = str(path / fault.file) if fault.file is not None else fault.prefix
    assert msg.startswith(f"{where}: "), f"the message does not start with {where!r}: {msg}"
    assert re.search(fault.match, msg), f"{fault.match!r} not in: {msg}"
    assert "\n" not in msg, f"not one line: {msg}"
    return msg


def params(table: list[Fault]) -> list:
    return [pytest.param(f, id=f.id) for f in table]


# corruptions of store files

def truncate(name: str, keep: float) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: int(len(data) * keep)])
    return f


def overwrite_bytes(name: str, data: Callable[[int], bytes]) -> Callable[[Path], None]:
    """Replace a file's bytes by ``data(size)`` (size: the current size)."""
    def f(path: Path) -> None:
        (path / name).write_bytes(data((path / name).stat().st_size))
    return f


def save_npy(name: str, convert: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        np.save(path / name, convert(np.load(path / name)))
    return f


def flip_value(name: str) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        arr = np.load(path / name, mmap_mode="r+")
        arr[1, 0] = -arr[1, 0] + 1.0
        arr.flush()
    return f


def edit_meta(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        meta = json.loads((path / "store.json").read_text())
        edit(meta)
        (path / "store.json").write_text(json.dumps(meta, indent=1))
    return f


def set_meta(text: str | bytes) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / "store.json").write_bytes(text.encode() if isinstance(text, str) else text)
    return f


def edit_manifest(edit: Callable[[pd.DataFrame], object]) -> Callable[[Path], None]:
    """Edit manifest.csv as text cells (what a spreadsheet or a script would write)."""
    def f(path: Path) -> None:
        m = pd.read_csv(path / "manifest.csv", dtype=str, keep_default_na=False)
        edit(m)
        m.to_csv(path / "manifest.csv", index=False)
    return f


def set_cell(row: int, col: str, value: str) -> Callable[[Path], None]:
    return edit_manifest(lambda m: m.__setitem__(col, m[col].where(m.index != row, value)))


def set_manifest(data: bytes) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / "manifest.csv").write_bytes(data)
    return f


def header_only(path: Path) -> None:
    (path / "manifest.csv").write_text((path / "manifest.csv").read_text().splitlines()[0] + "\n")


def extra_field(path: Path) -> None:
    lines = (path / "manifest.csv").read_text().splitlines()
    lines[3] += ",surplus"
    (path / "manifest.csv").write_text("\n".join(lines) + "\n")


def remove(name: str) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / name).unlink()
    return f


def as_version_1(corrupt: Callable[[Path], None]) -> Callable[[Path], None]:
    """The same corruption of a version-1 store (no fingerprint to compare sizes with)."""
    def f(path: Path) -> None:
        edit_meta(lambda meta: (meta.pop("fingerprint"), meta.__setitem__("version", 1)))(path)
        corrupt(path)
    return f


# -- stores --------------------------------------------------------------------------------------------

UTT3 = r"\(Ses04F_impro01_F003\)"

STORE_FAULTS = [
    # arrays
    Fault("array-empty", overwrite_bytes("audio.npy", lambda n: b""), "audio.npy",
          r": 0 bytes \(empty file\), expected \d+ as recorded at assembly \(truncated or replaced\?\)"),
    Fault("array-truncated", truncate("audio.npy", 0.5), "audio.npy", r": \d+ bytes, expected \d+ as recorded at assembly"),
    Fault("array-empty-v1", as_version_1(overwrite_bytes("audio.npy", lambda n: b"")), "audio.npy",
          r"empty file \(0 bytes\), expected a \.npy array"),
    Fault("array-truncated-v1", as_version_1(truncate("audio.npy", 0.5)), "audio.npy", r"not a readable \.npy array"),
    Fault("array-garbage", overwrite_bytes("audio.npy", lambda n: b"\x07" * n), "audio.npy", r"not a readable \.npy array"),
    Fault("array-pickled-v1", as_version_1(overwrite_bytes("text.npy", lambda n: b"\x80\x04K\x01.")), "text.npy",
          r"not a readable \.npy array"),
    Fault("array-dtype-in-store-json", edit_meta(lambda m: m["modalities"]["audio"].__setitem__("dtype", "float16")),
          "audio.npy", r"dtype float32, expected float16 as store\.json says"),
    Fault("array-dtype-v1", as_version_1(save_npy("audio.npy", lambda a: a.astype(np.float64))), "audio.npy",
          r"dtype float64, expected float32 as store\.json says"),
    Fault("array-value-changed", flip_value("audio.npy"), "audio.npy",
          r"content differs from the fingerprint recorded at assembly .* write the store again"),
    Fault("array-missing", remove("text.npy"), "text.npy", r"not found \(modality 'text' is listed in store\.json\)"),
    # offsets
    Fault("offsets-empty", overwrite_bytes("text_offsets.npy", lambda n: b""), "text_offsets.npy",
          r"empty file \(0 bytes\)"),
    Fault("offsets-garbage", overwrite_bytes("text_offsets.npy", lambda n: b"\x93NUMPY garbage" * 9), "text_offsets.npy",
          r"not a readable \.npy array"),
    Fault("offsets-float", save_npy("text_offsets.npy", lambda a: a.astype(np.float64)), "text_offsets.npy",
          r"dtype float64, expected int64 offsets"),
    Fault("offsets-truncated", save_npy("text_offsets.npy", lambda a: a[:-1]), "text_offsets.npy",
          r"offsets must be 6 increasing integers starting at 0"),
    Fault("offsets-rewritten-int32", save_npy("text_offsets.npy", lambda a: a.astype(np.int32)), "text_offsets.npy",
          r"content differs from the fingerprint recorded at assembly"),
    # store.json
    Fault("meta-list", set_meta("[1, 2]"), "store.json", r"a JSON list, expected a JSON object"),
    Fault("meta-empty", set_meta(""), "store.json", r"line 1: invalid JSON"),
    Fault("meta-binary", set_meta(b"\xff\xfe\x00garbage"), "store.json", r"not a text file, expected a JSON object"),
    Fault("meta-version", edit_meta(lambda m: m.__setitem__("version", 3)), "store.json",
          r"version 3, this pddslib reads versions 1, 2"),
    Fault("meta-format", edit_meta(lambda m: m.__setitem__("format", "npz")), "store.json",
          r"format 'npz', expected 'pddslib-feature-store'"),
    Fault("meta-no-classes", edit_meta(lambda m: m.pop("classes")), "store.json", r"missing field 'classes'"),
    Fault("meta-classes-string", edit_meta(lambda m: m.__setitem__("classes", "ang,hap")), "store.json",
          r"field 'classes' is 'ang,hap', expected a list of distinct class codes"),
    Fault("meta-dim-string", edit_meta(lambda m: m["modalities"]["audio"].__setitem__("dim", "6")), "store.json",
          r"modality 'audio' is .*expected \{\"dim\": positive int"),
    Fault("meta-dtype-int", edit_meta(lambda m: m["modalities"]["text"].__setitem__("dtype", "int8")), "store.json",
          r"modality 'text' is .*a float dtype"),
    Fault("meta-n-string", edit_meta(lambda m: m.__setitem__("n_utterances", "5")), "store.json",
          r"n_utterances must be an integer"),
    Fault("meta-no-fingerprint", edit_meta(lambda m: m.pop("fingerprint")), "store.json", r"missing field 'fingerprint'"),
    Fault("meta-fingerprint-malformed", edit_meta(lambda m: m["fingerprint"]["arrays"]["audio"].pop("sha256")),
          "store.json", r"fingerprint of modality 'audio' must hold bytes, mtime_ns, sha256 and offsets_sha256"),
    Fault("meta-modality-dropped", edit_meta(lambda m: m["modalities"].pop("audio")), "store.json",
          r"modalities \['text'\] but the fingerprint recorded at assembly covers \['audio', 'text'\]"),
    Fault("meta-missing", remove("store.json"), "store.json", r"not found; .* is not a feature store"),
    # manifest.csv
    Fault("manifest-empty", set_manifest(b""), "manifest.csv", r"empty file, expected a CSV header"),
    Fault("manifest-header-only", header_only, "manifest.csv", r"no rows, expected one row per utterance"),
    Fault("manifest-binary", set_manifest(b"\xff\xfe\x00\x01" * 50), "manifest.csv", r"not a readable CSV"),
    Fault("manifest-extra-field", extra_field, "manifest.csv", r"not a readable CSV \(.*line 4"),
    Fault("dist-non-numeric", set_cell(3, "dist_sad", "abc"), "manifest.csv",
          rf"row 3 {UTT3}: column dist_sad holds 'abc', expected a number"),
    Fault("dist-empty-cell", set_cell(3, "dist_ang", ""), "manifest.csv",
          rf"row 3 {UTT3}: column dist_ang holds '', expected a number"),
    Fault("dist-column-missing", edit_manifest(lambda m: m.pop("dist_neu")), "manifest.csv",
          r"missing column\(s\) \['dist_neu'\]"),
    Fault("dist-not-a-distribution", set_cell(3, "dist_ang", "0.9"), "manifest.csv",
          rf"row 3 {UTT3}: label distribution .* is not a distribution over"),
    Fault("len-fractional", set_cell(3, "audio_len", "2.5"), "manifest.csv",
          rf"row 3 {UTT3}: column audio_len holds '2.5', expected a whole number"),
    Fault("len-zero", set_cell(3, "text_len", "0"), "manifest.csv", rf"row 3 {UTT3}: text_len is 0, expected >= 1"),
    Fault("len-disagrees-with-offsets", set_cell(1, "audio_len", "99"), "audio_offsets.npy",
          r"utterance \S+F001 has \d+ frames but manifest\.csv says audio_len = 99"),
    Fault("split-dev", set_cell(2, "split", "dev"), "manifest.csv", r"row 2 .*split 'dev', expected 'train' or 'test'"),
    Fault("consensus-unknown", set_cell(2, "consensus", "joy"), "manifest.csv",
          r"row 2 .*consensus label 'joy' is not one of"),
    Fault("utt-duplicate", set_cell(3, "utt_id", "Ses01F_impro01_F000"), "manifest.csv",
          r"utterance 'Ses01F_impro01_F000' appears more than once"),
    Fault("rows-disagree-with-store-json", edit_meta(lambda m: m.__setitem__("n_utterances", 9)), "manifest.csv",
          r"5 rows but store\.json says n_utterances = 9"),
    Fault("manifest-missing", remove("manifest.csv"), "manifest.csv", r"not found"),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("faults") / "store")[0]


@pytest.mark.parametrize("fault", params(STORE_FAULTS))
def test_store_fault(fault, pristine, tmp_path):
    import shutil

    path = tmp_path / "store"
    shutil.copytree(pristine, path)
    fault.corrupt(path)
    expect_fault(fault, path, lambda: FeatureStore.open(path))


def test_the_fault_table_is_tested_on_a_sound_store(pristine):
    assert len(FeatureStore.open(pristine)) == 5
    assert len({f.id for f in STORE_FAULTS}) == len(STORE_FAULTS)


# -- store inputs: write_store refuses before writing ------------------------------------------------------

def _write_with(edit: Callable[[pd.DataFrame], object]) -> Callable[[Path], object]:
    def f(path: Path) -> object:
        manifest, seqs = make_manifest()
        manifest = manifest.astype({f"dist_{c}": object for c in CLASSES})
        edited = edit(manifest)
        manifest = manifest if edited is None else edited
        return write_store(path, manifest, seqs, classes=CLASSES, dims=DIMS, config={}, corpus="test")
    return f


INPUT_FAULTS = [
    Fault("input-empty-manifest", _write_with(lambda m: m.iloc[:0]), None,
          r"no rows, expected one row per utterance", prefix="manifest"),
    Fault("input-dist-non-numeric", _write_with(lambda m: m.__setitem__("dist_hap", m["dist_hap"].where(m.index != 2, "x"))),
          None, r"row 2 \(\S+F002\): column dist_hap holds 'x', expected a number", prefix="manifest"),
]


@pytest.mark.parametrize("fault", params(INPUT_FAULTS))
def test_store_input_fault(fault, tmp_path):
    expect_fault(fault, tmp_path, lambda: fault.corrupt(tmp_path / "store"))
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary folder left


# == shared by the sections below ==========================================================================

REPO = Path(__file__).resolve().parents[1]
SMALL = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder``: mode, and for files modification time and sha256."""
    out: dict[str, tuple] = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = ((st.st_mode, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
                                           if p.is_file() else (st.st_mode,))
    return out


def leftovers(*folders: Path) -> list[str]:
    """Temporary folders (``*.tmp``, ``*.old``) and ``.partial`` folders left in ``folders``."""
    return sorted(str(p) for f in folders if f.exists() for p in f.iterdir()
                  if p.name.endswith((".tmp", ".old", ".partial")))


def child_env(tmp_path: Path) -> dict[str, str]:
    """A child process's environment: this worktree first, a private cache, offline, one thread."""
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PDDS_CACHE=str(tmp_path / "child-cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


class single_thread:
    """One torch thread (module fixtures: the function-scoped ``one_thread`` cannot wrap them)."""

    def __enter__(self):
        import torch

        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.n)


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


@pytest.fixture(scope="module")
def cli_tree(tmp_path_factory) -> Path:
    """A 2-session IEMOCAP-format tree with short wavs (sessions 1 and 5: 12 six-class utterances)."""
    for module in ("soundfile", "torch", "transformers"):
        pytest.importorskip(module)
    from iemocap_fixture import small_release, write_tree

    return write_tree(tmp_path_factory.mktemp("iemocap"), [u for u in small_release() if u.session in (1, 5)])


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from pddslib.cli import main

    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


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


# == run cache: a damaged record is said, removed and computed again =========================================

def _tiny_spec():
    from pddslib.config import RunSpec

    return RunSpec.build("cltnet", "none", 0, model_overrides=SMALL, max_epochs=1)


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    pytest.importorskip("torch")
    from pddslib.corpora import demo
    from pddslib.runner import load_corpus

    return load_corpus(str(demo.write_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


@pytest.fixture(scope="module")
def cached_run(demo_corpus, tmp_path_factory):
    """One tiny run, computed once: (cache folder, record, predictions)."""
    from pddslib.runner import run_one

    cache = tmp_path_factory.mktemp("runs")
    with single_thread():
        record, preds = run_one(_tiny_spec(), demo_corpus, cache_dir=cache, device="cpu")
    assert not record["cached"]
    return cache, record, preds


def _edit_record(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def f(folder: Path) -> None:
        record = json.loads((folder / "run.json").read_text())
        edit(record)
        (folder / "run.json").write_text(json.dumps(record))
    return f


def _write(name: str, data: bytes | Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def f(folder: Path) -> None:
        old = (folder / name).read_bytes()
        (folder / name).write_bytes(data(old) if callable(data) else data)
    return f


def _drop_last_rows(n: int) -> Callable[[bytes], bytes]:
    return lambda b: b"".join(b.splitlines(keepends=True)[:-n])


@dataclass(frozen=True)
class CacheFault:
    id: str
    corrupt: Callable[[Path], None]
    says: str   # what the warning says is wrong (regex)


CACHE_FAULTS = [
    CacheFault("run-json-garbage", _write("run.json", b"{\"model\": \"cltnet\", "), r"Expecting|delimiter"),
    CacheFault("run-json-0-bytes", _write("run.json", b""), r"Expecting value"),
    CacheFault("run-json-a-list", _write("run.json", b"[1, 2]"), r"not a JSON object"),
    CacheFault("run-json-missing-field", _edit_record(lambda r: r.pop("wa")), r"missing field\(s\) wa"),
    CacheFault("run-json-other-key", _edit_record(lambda r: r.__setitem__("key", "0" * 16)), r"key '0{16}', expected"),
    CacheFault("run-json-missing", remove("run.json"), r"No such file|run\.json"),
    CacheFault("predictions-truncated-mid-row", _write("predictions.csv", lambda b: b[:-10]),
               r"predictions\.csv: truncated"),
    CacheFault("predictions-rows-dropped", _write("predictions.csv", _drop_last_rows(3)),
               r"predictions\.csv: not the predictions of this run"),
    CacheFault("predictions-0-bytes", _write("predictions.csv", b""), r"predictions\.csv: truncated|No columns"),
    CacheFault("predictions-missing", remove("predictions.csv"), r"No such file|predictions\.csv"),
    CacheFault("model-weights-truncated", _write("model.safetensors", lambda b: b[:-100]),
               r"model\.safetensors: \d+ bytes, model\.json says \d+"),
    CacheFault("model-weights-missing", remove("model.safetensors"), r"model\.safetensors: missing"),
    CacheFault("model-json-missing", remove("model.json"), r"model\.safetensors without model\.json"),
    CacheFault("model-json-garbage", _write("model.json", b"{"), r"model\.json: unreadable"),
]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("fault", [pytest.param(f, id=f.id) for f in CACHE_FAULTS])
def test_a_damaged_cached_run_is_computed_again(fault, demo_corpus, cached_run, tmp_path):
    from pddslib.runner import RECORD_KEYS, run_one

    ref_cache, ref, ref_preds = cached_run
    cache = tmp_path / "runs"
    shutil.copytree(ref_cache, cache)
    folder = cache / ref["key"]
    fault.corrupt(folder)
    with pytest.warns(UserWarning, match=re.escape(f"{folder}: damaged cached run (") + f".*(?:{fault.says})"
                                         r".*\); it is removed and the run computed again"):
        record, preds = run_one(_tiny_spec(), demo_corpus, cache_dir=cache, device="cpu")
    assert not record["cached"], "the damaged record was returned"
    for k in ("wa", "ua", "confusion", "losses", "n_train", "n_test", "epochs", "key", "store_fingerprint"):
        assert record[k] == ref[k], k
    pd.testing.assert_frame_equal(preds, ref_preds)
    # the new record is valid: read back from the cache, without a warning
    assert sorted(p.name for p in cache.iterdir()) == [ref["key"]]
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.safetensors", "predictions.csv",
                                                         "run.json"]
    written = json.loads((folder / "run.json").read_text())
    assert set(RECORD_KEYS) <= set(written) and written["key"] == ref["key"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, again_preds = run_one(_tiny_spec(), demo_corpus, cache_dir=cache, device="cpu")
    assert again["cached"] and again["wa"] == ref["wa"]
    pd.testing.assert_frame_equal(again_preds, ref_preds, check_dtype=False)  # read back from CSV: float64


# content keys: a store whose labels or splits changed never gets the cached run of the original

def _relabel_row(m: pd.DataFrame) -> None:
    i = int(np.flatnonzero(m["split"].to_numpy() == "train")[0])
    new = "sad" if m.loc[i, "consensus"] != "sad" else "ang"
    for c in CLASSES:
        m.loc[i, f"dist_{c}"] = "1.0" if c == new else "0.0"
    m.loc[i, ["consensus", "category", "major", "minor"]] = [new, "clear", new, new]


def _all_train(m: pd.DataFrame) -> None:
    m["split"] = "train"


def _copy_only(m: pd.DataFrame) -> None:
    pass


CONTENT_KEY_ROWS = [
    pytest.param(_copy_only, True, id="unchanged-copy-reuses-the-run"),
    pytest.param(_relabel_row, False, id="one-row-relabelled"),
    pytest.param(_all_train, False, id="every-split-set-to-train"),
]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:.*labels, splits or classes changed after assembly")
@pytest.mark.parametrize("edit,reused", CONTENT_KEY_ROWS)
def test_the_run_key_follows_the_store_content(edit, reused, demo_corpus, cached_run, tmp_path, monkeypatch):
    import pddslib.runner as runner

    ref_cache, ref, _ = cached_run
    cache = tmp_path / "runs"
    shutil.copytree(ref_cache, cache)
    copy = tmp_path / "store"
    shutil.copytree(demo_corpus.store.path, copy)
    edit_manifest(edit)(copy)
    corpus = runner.load_corpus(str(copy))

    class Recomputed(Exception):
        pass

    def no_training(*args, **kwargs):
        raise Recomputed

    monkeypatch.setattr(runner, "_train_and_predict", no_training)
    spec = _tiny_spec()
    assert (runner.run_key(spec, corpus) == ref["key"]) is reused
    if reused:
        record, _ = runner.run_one(spec, corpus, cache_dir=cache, device="cpu")
        assert record["cached"] and record["key"] == ref["key"]
    else:
        with pytest.raises(Recomputed):  # the cached record of the original store is not returned
            runner.run_one(spec, corpus, cache_dir=cache, device="cpu")
    assert sorted(p.name for p in cache.iterdir()) == [ref["key"]]


# == extraction: up to date only when it is; NaN wavs; corrupt shards; interruptions ==========================

N_SHARDS = 4  # 12 utterances, shards of 3


def _extract(tree: Path, out: Path, models: dict[str, Path], **kw: Any) -> list[str]:
    """``extract`` of sessions 1 and 5 in shards of 3 on one thread; returns what it said."""
    from pddslib.features.extract import extract

    said: list[str] = []
    kw = {"sessions": (1, 5), "shard_size": 3, "threads": 1, "progress": False, **kw}
    extract(tree, out, audio_model=models["audio"], text_model=models["text"], log=said.append, **kw)
    return said


def store_content(path: Path) -> dict[str, Any]:
    """What a store holds, byte for byte (the arrays' modification times left out of store.json)."""
    meta = json.loads((path / "store.json").read_text())
    for rec in meta.get("fingerprint", {}).get("arrays", {}).values():
        rec.pop("mtime_ns", None)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir())
             if p.name != "store.json"}
    return {"store.json": meta, **files}


def differing(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


@dataclass
class Extraction:
    tree: Path          # sessions 1 and 5, with wavs
    store: Path         # one uninterrupted extraction of it (the reference)
    partial: Path       # the <out>.partial of a run interrupted after 2 of 4 shards
    models: dict[str, Path]
    content: dict[str, Any]


@pytest.fixture(scope="module")
def ex(cli_tree, tiny_models, tmp_path_factory) -> Extraction:
    import warnings

    from pddslib.features.shards import ShardSet

    base = tmp_path_factory.mktemp("extraction")
    real = ShardSet.write
    written: list[int] = []

    def write_twice_then_interrupt(self, k, *args, **kw):
        out = real(self, k, *args, **kw)
        written.append(k)
        if len(written) == 2:
            raise KeyboardInterrupt
        return out

    with single_thread(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "!!! 6-class split differs")
        _extract(cli_tree, base / "ref", tiny_models)
        ShardSet.write = write_twice_then_interrupt
        try:
            with pytest.raises(KeyboardInterrupt):
                _extract(cli_tree, base / "cut", tiny_models)
        finally:
            ShardSet.write = real
    partial = base / "cut.partial"
    assert sorted(p.name for p in partial.iterdir()) == ["shard_00000", "shard_00001", "state.json"]
    return Extraction(cli_tree, base / "ref", partial, tiny_models, store_content(base / "ref"))


@pytest.fixture
def encoder_calls(monkeypatch) -> list[str]:
    """Every call of the audio and text encoders (they still run)."""
    from pddslib.features.audio import AudioEncoder
    from pddslib.features.text import TextEncoder

    calls: list[str] = []
    real_audio, real_text = AudioEncoder.__call__, TextEncoder.encode

    def audio(self, *a, **k):
        calls.append("audio")
        return real_audio(self, *a, **k)

    def text(self, *a, **k):
        calls.append("text")
        return real_text(self, *a, **k)

    monkeypatch.setattr(AudioEncoder, "__call__", audio)
    monkeypatch.setattr(TextEncoder, "encode", text)
    return calls


# (a) a rerun on a finished store

def _block(tree: Path, utt: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the EmoEvaluation block of ``utt``."""
    f = tree / f"Session{int(utt[3:5])}" / "dialog" / "EmoEvaluation" / f"{utt.rsplit('_', 1)[0]}.txt"
    blocks = f.read_text().split("\n\n")
    i = next(k for k, b in enumerate(blocks) if f"\t{utt}\t" in b)
    assert old in blocks[i]
    blocks[i] = blocks[i].replace(old, new, 1)
    f.write_text("\n\n".join(blocks))


def _retone(utt: str) -> Callable[[Path, Path], None]:
    def edit(tree: Path, store: Path) -> None:
        import soundfile as sf

        from pddslib.corpora import iemocap

        wav = iemocap.wav_path(tree, utt)
        n = sf.info(str(wav)).frames
        t = np.arange(n) / 16000
        sf.write(wav, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, subtype="PCM_16")
    return edit


def _retext(tree: Path, store: Path) -> None:
    f = tree / "Session1" / "dialog" / "transcriptions" / "Ses01F_impro01.txt"
    text = f.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("Ses01F_impro01_F000 "))
    f.write_text(text.replace(line, line.split("]: ")[0] + "]: Where on earth is the problem, then?"))


def _other_tree(tree: Path, store: Path) -> None:
    from iemocap_fixture import small_release, write_tree

    shutil.rmtree(tree)
    write_tree(tree, [u for u in small_release() if u.session in (1, 5)], tone_seed=1)


def _in_store(corrupt: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    return lambda tree, store: corrupt(store)


def _nothing(tree: Path, store: Path) -> None:
    pass


UP_TO_DATE = r"up to date \(config \w+, inputs unchanged\); nothing to do"
RELABELLED = r"labels re-derived from the annotations"
INPUTS_CHANGED = r"the wavs, transcripts or utterance list changed since extraction; extracting again"
DAMAGED = r"the existing store is damaged \(.*\); extracting again"
SAYINGS = (UP_TO_DATE, RELABELLED, INPUTS_CHANGED, DAMAGED)


@dataclass(frozen=True)
class Rerun:
    """A finished store and its tree, ``edit`` ed, then the same extraction again."""

    id: str
    edit: Callable[[Path, Path], None]     # (tree, store)
    says: str                              # one of SAYINGS
    encoders: bool                         # whether the encoders run
    differs: frozenset[str]                # the store's files whose content differs from the reference after
    kwargs: tuple[tuple[str, Any], ...] = ()


RERUNS = [
    Rerun("same-inputs", _nothing, UP_TO_DATE, False, frozenset()),
    Rerun("emo-evaluation-label-edited", lambda tree, store: _block(tree, "Ses01F_impro01_F003", "C-E3:\tSadness;",
                                                                    "C-E3:\tNeutral state;"),
          RELABELLED, False, frozenset({"manifest.csv", "store.json"})),
    Rerun("other-policy", _nothing, RELABELLED, False, frozenset({"manifest.csv", "store.json"}),
          kwargs=(("policy", "self"),)),
    Rerun("a-wav-changed", _retone("Ses01F_impro01_M000"), INPUTS_CHANGED, True,
          frozenset({"audio.npy", "store.json"})),
    Rerun("a-transcript-changed", _retext, INPUTS_CHANGED, True,
          frozenset({"text.npy", "text_offsets.npy", "manifest.csv", "store.json"})),
    Rerun("another-iemocap-tree", _other_tree, INPUTS_CHANGED, True, frozenset({"audio.npy", "store.json"})),
    Rerun("store-audio-npy-deleted", _in_store(remove("audio.npy")), DAMAGED, True, frozenset()),
    Rerun("store-audio-npy-truncated", _in_store(truncate("audio.npy", 0.5)), DAMAGED, True, frozenset()),
    Rerun("store-audio-npy-0-bytes", _in_store(overwrite_bytes("audio.npy", lambda n: b"")), DAMAGED, True,
          frozenset()),
    Rerun("store-audio-value-changed", _in_store(flip_value("audio.npy")), DAMAGED, True, frozenset()),
    Rerun("store-manifest-deleted", _in_store(remove("manifest.csv")), DAMAGED, True, frozenset()),
]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in RERUNS])
def test_a_rerun_is_up_to_date_only_when_it_is(row, ex, tmp_path, encoder_calls):
    tree, store = tmp_path / "iemocap", tmp_path / "store"
    shutil.copytree(ex.tree, tree)
    shutil.copytree(ex.store, store)
    row.edit(tree, store)
    before = snapshot(store)
    said = " | ".join(_extract(tree, store, ex.models, **dict(row.kwargs)))
    for saying in SAYINGS:
        assert bool(re.search(saying, said)) == (saying == row.says), f"{saying!r} vs what it said: {said}"
    assert bool(encoder_calls) == row.encoders, encoder_calls
    if row.encoders:
        assert {"audio", "text"} <= set(encoder_calls)
    content = store_content(store)
    assert differing(content, ex.content) == set(row.differs)
    if row.says == UP_TO_DATE:
        assert snapshot(store) == before, "an up-to-date rerun changed a file"
    else:  # the store is what a fresh extraction of these inputs gives
        encoder_calls.clear()
        _extract(tree, tmp_path / "fresh", ex.models, **dict(row.kwargs))
        assert differing(content, store_content(tmp_path / "fresh")) == set()
    assert leftovers(tmp_path) == []


# (b) a wav whose samples are not finite

def _nan_wav(wav: Path) -> None:
    import soundfile as sf

    x, rate = sf.read(str(wav), dtype="float32")
    sf.write(wav, np.full_like(x, np.nan), rate, subtype="FLOAT")


def _one_inf_sample(wav: Path) -> None:
    import soundfile as sf

    x, rate = sf.read(str(wav), dtype="float32")
    x[len(x) // 2] = np.inf
    sf.write(wav, x, rate, subtype="FLOAT")


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy, normalising an inf
@pytest.mark.parametrize("spoil", [pytest.param(_nan_wav, id="wav-all-nan"),
                                   pytest.param(_one_inf_sample, id="wav-one-inf-sample")])
def test_a_wav_with_non_finite_samples(spoil, ex, tmp_path):
    from pddslib.corpora import iemocap
    from pddslib.features.store import StoreError

    utt = "Ses05F_impro01_F000"   # the 7th utterance: shard 2 of 4
    tree, out = tmp_path / "iemocap", tmp_path / "store"
    shutil.copytree(ex.tree, tree)
    wav = iemocap.wav_path(tree, utt)
    good = wav.read_bytes()
    spoil(wav)
    with pytest.raises(StoreError) as err:
        _extract(tree, out, ex.models)
    msg = str(err.value)
    assert msg.startswith(f"{wav}: the audio features of utterance {utt} contain NaN or inf"), msg
    assert "\n" not in msg
    partial = tmp_path / "store.partial"
    assert not out.exists()
    assert sorted(p.name for p in partial.iterdir()) == ["shard_00000", "shard_00001", "state.json"]
    for d in partial.glob("shard_*"):
        assert utt not in json.loads((d / "meta.json").read_text())["utt_ids"]
    # fixed: the unfinished work of the spoilt input is dropped (said), the rerun completes
    wav.write_bytes(good)
    with pytest.warns(UserWarning, match=re.escape(f"{partial}: an unfinished extraction of other input files")):
        _extract(tree, out, ex.models)
    assert store_content(out) == ex.content
    assert leftovers(tmp_path) == []


# (c) a corrupt finished shard in <out>.partial; (d) its state.json

def _in_shard(k: int, corrupt: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda partial: corrupt(partial / f"shard_{k:05d}")


def _other_utterances(shard: Path) -> None:
    meta = json.loads((shard / "meta.json").read_text())
    meta["utt_ids"] = meta["utt_ids"][::-1]
    (shard / "meta.json").write_text(json.dumps(meta))


SHARD_FAULTS = [
    pytest.param(_in_shard(0, truncate("audio.npy", 0.5)), id="audio-npy-truncated"),
    pytest.param(_in_shard(0, overwrite_bytes("text_offsets.npy", lambda n: b"")), id="text-offsets-0-bytes"),
    pytest.param(_in_shard(0, overwrite_bytes("audio_offsets.npy", lambda n: b"\x93NUMPY" + b"\x00" * n)),
                 id="audio-offsets-garbage"),
    pytest.param(_in_shard(0, lambda d: (d / "meta.json").write_text("{")), id="meta-json-garbage"),
    pytest.param(_in_shard(0, _other_utterances), id="meta-json-other-utterances"),
]


def _copy_partial(ex: Extraction, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "store"
    partial = tmp_path / "store.partial"
    shutil.copytree(ex.partial, partial)
    return out, partial


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.parametrize("corrupt", SHARD_FAULTS)
def test_a_corrupt_shard_is_said_and_extracted_again(corrupt, ex, tmp_path, encoder_calls):
    out, partial = _copy_partial(ex, tmp_path)
    corrupt(partial)
    shard = partial / "shard_00000"
    with pytest.warns(UserWarning, match=re.escape(f"{shard}: corrupt shard (") + r".*\); it will be extracted again"):
        said = _extract(ex.tree, out, ex.models)
    assert "(resumed: 1 of 4 shards were done)" in said[-1], said   # shard 1 kept, 0, 2 and 3 extracted
    assert encoder_calls
    assert store_content(out) == ex.content
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
def test_labels_edited_during_an_unfinished_extraction_resume_it(ex, tmp_path, encoder_calls):
    """The shards hold features only: an edited EmoEvaluation label does not discard them."""
    tree = tmp_path / "iemocap"
    shutil.copytree(ex.tree, tree)
    out, partial = _copy_partial(ex, tmp_path)
    _block(tree, "Ses01F_impro01_F003", "C-E3:\tSadness;", "C-E3:\tNeutral state;")
    said = _extract(tree, out, ex.models)
    assert "(resumed: 2 of 4 shards were done)" in said[-1], said
    _extract(tree, tmp_path / "fresh", ex.models)
    content = store_content(out)
    assert content == store_content(tmp_path / "fresh")
    assert differing(content, ex.content) == {"manifest.csv", "store.json"}
    assert leftovers(tmp_path) == []


STATE_FAULTS = [
    pytest.param("[]", r"expected an object with an integer shard_size", id="a-list"),
    pytest.param("{", r"Expecting property name", id="garbage"),
    pytest.param('{"shard_size": "3"}', r"expected an object with an integer shard_size", id="shard-size-a-string"),
    pytest.param("", r"Expecting value", id="0-bytes"),
]


@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.parametrize("text,says", STATE_FAULTS)
def test_a_bad_state_json_is_one_line_naming_it(text, says, ex, tmp_path, encoder_calls):
    from pddslib.features.store import StoreError

    out, partial = _copy_partial(ex, tmp_path)
    (partial / "state.json").write_text(text)
    before = snapshot(partial)
    with pytest.raises(StoreError) as err:
        _extract(ex.tree, out, ex.models)
    msg = str(err.value)
    assert msg.startswith(f"{partial / 'state.json'}: unreadable state of an unfinished extraction ("), msg
    assert re.search(says, msg) and msg.endswith(f"; delete {partial} to start again") and "\n" not in msg, msg
    assert snapshot(partial) == before and not out.exists() and not encoder_calls


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
def test_a_partial_without_state_json_is_swept_and_the_run_completes(ex, tmp_path):
    out, partial = _copy_partial(ex, tmp_path)
    (partial / "state.json").unlink()
    with pytest.warns(UserWarning, match=re.escape(f"{partial}: a half-deleted unfinished extraction")):
        said = _extract(ex.tree, out, ex.models)
    assert "resumed" not in said[-1]
    assert store_content(out) == ex.content and leftovers(tmp_path) == []


# (e) SIGINT and SIGKILL in a child `pdds extract`, then a resume

INTERRUPTED_CHILD = textwrap.dedent('''
    """`pdds extract ARGS` that sends itself SIGNAL at POINT: python child.py POINT SIGNAL ARGS..."""
    import os
    import signal
    import sys

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from pddslib.cli import main
    from pddslib.features import shards

    point, signame, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    # Ctrl-C as in a terminal: a process started in the background (CI, `cmd &`) inherits SIGINT
    # ignored, and Python then never turns it into KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)


    def die():
        os.kill(os.getpid(), getattr(signal, signame))


    if point == "between-shards":       # right after the first shard was renamed into place
        real_write = shards.ShardSet.write

        def write(self, *args, **kwargs):
            out = real_write(self, *args, **kwargs)
            die()
            return out

        shards.ShardSet.write = write
    elif point == "inside-a-shard":     # half-way through np.save of the second shard's first array
        real_save = np.save
        saved = []

        def save(file, arr, *args, **kwargs):
            if ".partial" in str(file):
                saved.append(file)
                if len(saved) == 5:     # 4 arrays per shard
                    real_save(file, arr, *args, **kwargs)
                    with open(file, "r+b") as f:
                        f.truncate(os.path.getsize(file) // 2)
                    die()
            return real_save(file, arr, *args, **kwargs)

        np.save = save
    elif point == "assembly":           # after 5 audio sequences were streamed into the store
        real_sequences = shards.ShardSet.sequences

        def sequences(self, n_shards, mod):
            for i, seq in enumerate(real_sequences(self, n_shards, mod)):
                if i == 5:
                    die()
                yield seq

        shards.ShardSet.sequences = sequences
    else:
        raise SystemExit(f"unknown point {point}")
    sys.exit(main(["extract", *argv]))
''')


@dataclass(frozen=True)
class Interruption:
    id: str
    point: str
    signal: str
    done: int            # finished shards in <out>.partial after the child
    temp: str | None     # a temporary folder the child leaves: "store" (beside it) or "shard" (in .partial)


INTERRUPTIONS = [
    Interruption("sigint-inside-a-shard", "inside-a-shard", "SIGINT", 1, None),
    Interruption("sigkill-inside-a-shard", "inside-a-shard", "SIGKILL", 1, "shard"),
    Interruption("sigkill-between-shards", "between-shards", "SIGKILL", 1, None),
    Interruption("sigint-during-assembly", "assembly", "SIGINT", N_SHARDS, None),
    Interruption("sigkill-during-assembly", "assembly", "SIGKILL", N_SHARDS, "store"),
]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.filterwarnings("ignore:!!! 6-class split differs")
@pytest.mark.parametrize("cut", [pytest.param(c, id=c.id) for c in INTERRUPTIONS])
def test_an_interrupted_extraction_resumes_to_the_same_store(cut, ex, tmp_path, encoder_calls):
    import warnings

    out, partial = tmp_path / "store", tmp_path / "store.partial"
    script = tmp_path / "child.py"
    script.write_text(INTERRUPTED_CHILD)
    argv = ["--iemocap", str(ex.tree), "--sessions", "1,5", "--out", str(out), "--audio-model",
            str(ex.models["audio"]), "--text-model", str(ex.models["text"]), "--shard-size", "3", "--threads", "1",
            "--no-progress"]
    child = subprocess.run([sys.executable, str(script), cut.point, cut.signal, *argv], env=child_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    if cut.signal == "SIGKILL":
        assert child.returncode == -signal.SIGKILL, (child.returncode, child.stderr[-2000:])
    else:  # KeyboardInterrupt: the CLI's exit code 130 and its one line
        assert child.returncode == 130, (child.returncode, child.stderr[-2000:])
        assert "pdds extract: interrupted (finished work is kept; run the same command again to resume)" \
            in child.stderr.splitlines(), child.stderr[-2000:]
    assert "Traceback" not in child.stderr, child.stderr[-2000:]
    # where the child stopped
    assert not out.exists()
    assert sorted(p.name for p in partial.glob("shard_*")) == [f"shard_{k:05d}" for k in range(cut.done)]
    temps = {"store": [p.name for p in tmp_path.iterdir() if p.name.startswith(".store.") and p.name.endswith(".tmp")],
             "shard": [p.name for p in partial.iterdir() if p.name.startswith(".shard_00001.")]}
    for kind, found in temps.items():
        assert len(found) == (1 if cut.temp == kind else 0), (kind, found)
    # the resume: finished shards kept, nothing left behind, the store of one uninterrupted run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        said = _extract(ex.tree, out, ex.models)
    swept = [str(w.message) for w in caught if "orphaned temporary folder" in str(w.message)]
    assert len(swept) == (1 if cut.temp else 0), swept
    assert f"(resumed: {cut.done} of {N_SHARDS} shards were done)" in said[-1], said
    assert bool(encoder_calls) == (cut.done < N_SHARDS)
    assert store_content(out) == ex.content
    assert leftovers(tmp_path) == []


# == races: two processes at once ==============================================================================

RACER = textwrap.dedent('''
    """One of two racers: python racer.py BASE NAME ROUNDS. Each round, after a barrier with the other
    racer: open the demo corpus through a fresh shared PDDS_CACHE; after another barrier: the same tiny
    run into a shared run cache. One JSON line per round."""
    import json
    import os
    import sys
    import time
    from pathlib import Path

    import torch

    torch.set_num_threads(1)
    from pddslib.config import RunSpec
    from pddslib.runner import load_corpus, run_one

    base, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    spec = RunSpec.build("cltnet", "none", 0, model_overrides=%r, max_epochs=1)


    def barrier(name):
        (base / f"{name}.{me}").touch()
        deadline = time.monotonic() + 60
        while len(list(base.glob(f"{name}.*"))) < 2:
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: the other racer never came")
            time.sleep(0.0005)


    for r in range(rounds):
        os.environ["PDDS_CACHE"] = str(base / f"cache{r}")
        barrier(f"demo{r}")
        corpus = load_corpus("demo", demo_scale=0.02)
        barrier(f"run{r}")
        record, preds = run_one(spec, corpus, cache_dir=base / f"runs{r}", device="cpu")
        print(json.dumps({"round": r, "fingerprint": corpus.key, "store": str(corpus.store.path),
                          "key": record["key"], "cached": record["cached"], "wa": record["wa"], "ua": record["ua"],
                          "confusion": record["confusion"], "losses": record["losses"],
                          "predictions": preds.round(5).to_csv(index=False)}), flush=True)
''' % (SMALL,))

ROUNDS = 12


@pytest.fixture(scope="module")
def race(tmp_path_factory) -> tuple[Path, list[list[dict]]]:
    """Two racers, ROUNDS rounds; returns the base folder and each racer's records."""
    pytest.importorskip("torch")
    base = tmp_path_factory.mktemp("race")
    (base / "racer.py").write_text(RACER)
    env = child_env(base)
    procs = [subprocess.Popen([sys.executable, str(base / "racer.py"), str(base), name, str(ROUNDS)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        results.append([json.loads(line) for line in out.splitlines()])
    return base, results


def test_two_processes_share_a_run_cache(race):
    """Both succeed every round with identical records; one folder per run, no temporary folder left."""
    from pddslib.runner import RECORD_KEYS

    base, (a, b) = race
    assert [r["round"] for r in a] == [r["round"] for r in b] == list(range(ROUNDS))
    for ra, rb in zip(a, b):
        for k in ("key", "wa", "ua", "confusion", "losses", "predictions"):
            assert ra[k] == rb[k], (ra["round"], k)
        runs = base / f"runs{ra['round']}"
        assert sorted(p.name for p in runs.iterdir()) == [ra["key"]]   # no .tmp / .old left
        assert sorted(p.name for p in (runs / ra["key"]).iterdir()) == ["model.json", "model.safetensors",
                                                                      "predictions.csv", "run.json"]
        assert set(RECORD_KEYS) <= set(json.loads((runs / ra["key"] / "run.json").read_text()))
    # the race did happen: in some round both computed the run and one copy was discarded
    assert any(not ra["cached"] and not rb["cached"] for ra, rb in zip(a, b)), [(x["cached"], y["cached"])
                                                                                for x, y in zip(a, b)]
    assert len({r["key"] for r in a}) == 1   # the same demo store and spec every round


def test_two_processes_generate_the_demo_corpus_into_one_cache(race):
    """Both open the same store (same folder, same fingerprint); the cache holds it and nothing else."""
    base, (a, b) = race
    for ra, rb in zip(a, b):
        assert ra["fingerprint"] == rb["fingerprint"] and ra["store"] == rb["store"]
        demo = base / f"cache{ra['round']}" / "demo"
        assert sorted(p.name for p in demo.iterdir()) == [Path(ra["store"]).name]   # no .tmp / .old left
        assert (Path(ra["store"]) / "store.json").is_file()
    assert len({r["fingerprint"] for r in a}) == 1
