"""Faults of extraction: a rerun says "up to date" only when it is; a NaN/inf wav, a corrupt shard, a
bad state.json; SIGINT and SIGKILL during shard writing and assembly, in a child process, then a
resume that gives the store of one uninterrupted run, bit for bit.
"""


from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from faults_common import *  # noqa: F403  (the Fault rows, fixtures and helpers)

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


