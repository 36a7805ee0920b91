"""Faults of the run cache: a damaged cached run is said (naming its folder), removed and computed again;
a store whose labels or splits changed never gets another store's cached run; two processes share
one run cache, and generate the demo corpus into one fresh cache, without corrupting or mixing it.
"""


from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from faults_common import *  # noqa: F403  (the Fault rows, fixtures and helpers)

from pddslib.pdds.labels import CLASSES

# == run cache: a damaged record is said, removed and computed again =========================================

def _tiny_spec():
    from pddslib.config import RunSpec

    return RunSpec.build("cltnet", "none", 0, model_overrides=SMALL, max_epochs=1)


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    pytest.importorskip("torch")
    from pddslib.features import demo_stores
    from pddslib.runs.corpus import load_corpus

    return load_corpus(str(demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


@pytest.fixture(scope="module")
def cached_run(demo_corpus, tmp_path_factory):
    """One tiny run, computed once: (cache folder, record, predictions)."""
    from pddslib.runs.one import run_one

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
    from pddslib.runs.cache import RECORD_KEYS
    from pddslib.runs.one import run_one

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
    import pddslib.runs as runner
    from pddslib.runs import one

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

    monkeypatch.setattr(one, "_train_and_predict", no_training)
    spec = _tiny_spec()
    assert (runner.run_key(spec, corpus) == ref["key"]) is reused
    if reused:
        record, _ = runner.run_one(spec, corpus, cache_dir=cache, device="cpu")
        assert record["cached"] and record["key"] == ref["key"]
    else:
        with pytest.raises(Recomputed):  # the cached record of the original store is not returned
            runner.run_one(spec, corpus, cache_dir=cache, device="cpu")
    assert sorted(p.name for p in cache.iterdir()) == [ref["key"]]


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
    from pddslib.runs import load_corpus, run_one

    base, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    spec = RunSpec.build("cltnet", "none", 0, model_overrides=''' + repr(SMALL) + ''', max_epochs=1)


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
''')

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
    """Both succeed every round with identical records, one trains and one reads; one folder per run, nothing temporary left."""
    from pddslib.runs.cache import RECORD_KEYS

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
    # the training lock holds: in every round exactly one of the two trained, the other read its entry
    assert all(ra["cached"] != rb["cached"] for ra, rb in zip(a, b)), [(x["cached"], y["cached"])
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
