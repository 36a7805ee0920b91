"""Audio: reading the sentence wavs and the data2vec-audio feature encoder.

Features (paper, Sec. 3.2): the output of data2vec-audio's convolutional feature encoder, 512-d,
one frame per 20 ms (receptive field 25 ms = 400 samples, stride 320 samples at 16 kHz). It is
what ``transformers`` returns as ``model(wave).extract_features``: the conv stack's output
``model.feature_extractor(wave)``, transposed to ``(T, 512)``, through the feature projection's
LayerNorm (a per-frame normalisation with learned scale and shift; models without that LayerNorm
give the raw conv output), before the projection to the transformer width and the transformer. ``layer=i`` takes the
transformer's ``hidden_states[i]`` (768-d for the base model) instead. Any wav2vec2-family
checkpoint (Wav2Vec2, HuBERT, Data2VecAudio), by hub name or local folder, goes through the same
code.

Waves are read with soundfile, averaged to mono, and resampled to 16 kHz with
``scipy.signal.resample_poly`` when the file has another rate (the caller counts them). When the
checkpoint's feature extractor says ``do_normalize`` (data2vec-audio-base does), each utterance is
normalised to zero mean and unit variance over its own samples, as ``Wav2Vec2FeatureExtractor``
does, before any padding.

Padding and batching. The conv layers have no padding, so output frame ``t`` depends only on input
samples ``[t*S, t*S + R)`` (``S`` = product of strides, ``R`` = receptive field); the number of
valid frames is the model's ``_get_feat_extract_output_lengths``. Data2VecAudio (and Wav2Vec2/HuBERT
with ``feat_extract_norm="layer"``) normalise each conv layer with a LayerNorm over channels at each
time step, so zero padding at the end changes none of the valid frames: batches may mix lengths.
Wav2Vec2/HuBERT *base* use ``feat_extract_norm="group"``: a GroupNorm over time in the first layer,
whose statistics padding would change, so those models are run one utterance at a time. The same
holds for data2vec-audio's *transformer* layers (``layer=i``): its five stacked positional
convolutions carry the padding into the last frames. Whether padding is safe is checked on a
random input when the encoder is built (:attr:`AudioEncoder.pads_safely`).

Speed. For layer-norm models the conv stack is computed here in a channels-last layout (each
conv is a strided view and one matrix product, the LayerNorm is over the contiguous last axis),
in time chunks (exact, because of the finite receptive field), with the checkpoint's own weights.
On a CPU with one torch thread this was about 1.4x faster than the module's ``(B, C, T)``
convolutions (``benchmarks/bench_extraction.py --ablation``), and it keeps memory flat for long
utterances. It is checked against the module on a random input when the encoder is
built; a checkpoint whose conv layers are built differently uses the module itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..util.errors import PddsError
from .hub import load_pretrained

SAMPLE_RATE = 16_000
#: Input seconds per step of the fast conv path, by device type (see AudioEncoder).
CHUNK_SECONDS = {"cpu": 2.0, "cuda": 10.0}


class AudioFileError(ValueError, PddsError):
    """A wav file cannot be read or is unusable (the message names the file)."""


# -- reading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WavInfo:
    """Header of a wav file: frames (samples per channel), sample rate, channels."""

    path: Path
    frames: int
    sample_rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def samples_at(self, rate: int = SAMPLE_RATE) -> int:
        """Number of samples after resampling to ``rate`` (what :func:`read_wav` returns)."""
        if self.sample_rate == rate:
            return self.frames
        up, down = _ratio(self.sample_rate, rate)
        return int(math.ceil(self.frames * up / down))


def wav_info(path: str | Path) -> WavInfo:
    """Read a wav header (cheap); an unreadable file raises :class:`AudioFileError`."""
    import soundfile as sf

    path = Path(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise AudioFileError(f"{path}: cannot read audio header ({err})") from None
    return WavInfo(path, int(info.frames), int(info.samplerate), int(info.channels))


def _ratio(orig: int, target: int) -> tuple[int, int]:
    g = math.gcd(int(orig), int(target))
    return int(target) // g, int(orig) // g


def resample(wave: np.ndarray, orig_rate: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) from ``orig_rate`` to ``rate``."""
    from scipy.signal import resample_poly

    if orig_rate == rate:
        return wave
    up, down = _ratio(orig_rate, rate)
    return resample_poly(wave, up, down).astype(np.float32)


def read_wav(path: str | Path, rate: int = SAMPLE_RATE) -> tuple[np.ndarray, bool]:
    """Read a wav as mono float32 at ``rate``.

    Parameters
    ----------
    path : str or Path
    rate : int
        Target sample rate; a file at another rate is resampled.

    Returns
    -------
    wave : numpy.ndarray
        ``(n,)`` float32 in [-1, 1]; channels are averaged.
    resampled : bool
        Whether the file had another sample rate.

    Raises
    ------
    AudioFileError
        Unreadable or empty file (the message names it).
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioFileError(f"{path}: cannot read audio ({err})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: no samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr != rate:
        return resample(wave, sr, rate), True
    return np.ascontiguousarray(wave), False


# -- the encoder -------------------------------------------------------------------------------

@dataclass
class _ConvSpec:
    weight: Any     # (k * C_in, C_out): rows ordered (tap, input channel)
    bias: Any
    kernel: int
    stride: int
    norm: Any       # torch.nn.LayerNorm over C_out
    activation: Any


class AudioEncoder:
    """A wav2vec2-family model that turns 16 kHz waves into frame features.

    Build it with :meth:`from_pretrained`. Call it on a list of waves (``(n_i,)`` float32 at 16 kHz,
    as :func:`read_wav` gives them); it returns one ``(T_i, dim)`` float32 array per wave, with
    ``T_i = output_lengths(n_i)``.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Wav2Vec2Model, HubertModel, Data2VecAudioModel, ... (anything with ``feature_extractor``
        and ``_get_feat_extract_output_lengths``).
    layer : "cnn" or int
        ``"cnn"``: the conv feature encoder's output. An int ``i``: ``hidden_states[i]`` of the
        transformer (0 = its input; negative counts from the end).
    normalize : bool
        Zero-mean unit-variance per utterance (the checkpoint's ``do_normalize``).
    device : str or torch.device
    chunk_seconds : float or None
        Input seconds per step of the fast conv path (bounds memory and keeps the activations in
        cache; exact). None: whole utterances.
    """

    def __init__(self, model: Any, *, layer: str | int = "cnn", normalize: bool = True,
                 device: Any = "cpu", chunk_seconds: float | None = 2.0) -> None:
        import torch

        for attr in ("feature_extractor", "_get_feat_extract_output_lengths"):
            if not hasattr(model, attr):
                raise TypeError(f"{type(model).__name__} is not a wav2vec2-family model (no {attr}); "
                                f"expected e.g. Data2VecAudioModel, Wav2Vec2Model or HubertModel")
        self.model = model.eval().to("cpu")  # the checks below run on the CPU, then the model moves
        self.config = model.config
        self.layer = _check_layer(layer, self.config)
        self.normalize = bool(normalize)
        self.device = torch.device("cpu")
        target = torch.device(device)
        self.chunk_seconds = chunk_seconds
        self.sample_rate = SAMPLE_RATE
        self.stride = int(np.prod(self.config.conv_stride))
        self.receptive_field = 1 + sum((k - 1) * int(np.prod(self.config.conv_stride[:i]))
                                       for i, k in enumerate(self.config.conv_kernel))
        #: Group norm over time in the conv stack: padding would change the features.
        self.group_norm = getattr(self.config, "feat_extract_norm", "layer") == "group"
        self._convs = self._fast_path() if self.layer == "cnn" else None
        #: The feature projection's LayerNorm: ``extract_features`` = LayerNorm(conv output), per frame.
        proj = getattr(model, "feature_projection", None)
        self._proj_norm = getattr(proj, "layer_norm", None) if self.layer == "cnn" else None
        self._pads_safely = not self.group_norm
        if self._pads_safely:
            self._pads_safely = self._padding_invariant()
        self.device = target
        self.model.to(self.device)
        if self._convs is not None:
            for c in self._convs:
                c.weight = c.weight.to(self.device)
                c.bias = None if c.bias is None else c.bias.to(self.device)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name: str | Path, *, layer: str | int = "cnn", device: Any = "auto",
                        chunk_seconds: float | None = None) -> AudioEncoder:
        """Load a checkpoint (hub name or local folder) and its feature-extractor settings.

        A folder without ``preprocessor_config.json`` gets ``Wav2Vec2FeatureExtractor``'s defaults
        (16 kHz, ``do_normalize=True``) and a warning.
        """
        from transformers import AutoFeatureExtractor, AutoModel

        from ..util.device import resolve_device

        dev = resolve_device(device)
        model = load_pretrained(AutoModel.from_pretrained, name, "audio model")
        if not hasattr(model, "feature_extractor"):
            kind = getattr(model.config, "model_type", type(model).__name__)
            raise ValueError(f"audio model {str(name)!r} is a {kind!r} model; expected a wav2vec2-family "
                             f"checkpoint (data2vec-audio, wav2vec2, HuBERT, WavLM) with a conv feature encoder")
        try:
            fe = load_pretrained(AutoFeatureExtractor.from_pretrained, name, "audio feature extractor")
            normalize = bool(getattr(fe, "do_normalize", True))
            rate = int(getattr(fe, "sampling_rate", SAMPLE_RATE))
        except (OSError, ValueError) as err:
            warnings.warn(f"audio model {str(name)!r}: no feature-extractor settings ({err}); using "
                          f"16 kHz and per-utterance normalisation (Wav2Vec2FeatureExtractor defaults)",
                          stacklevel=2)
            normalize, rate = True, SAMPLE_RATE
        if rate != SAMPLE_RATE:
            raise ValueError(f"audio model {str(name)!r} expects {rate} Hz input; this pipeline feeds 16 kHz")
        if chunk_seconds is None:
            chunk_seconds = CHUNK_SECONDS.get(dev.type, CHUNK_SECONDS["cuda"])
        return cls(model, layer=layer, normalize=normalize, device=dev, chunk_seconds=chunk_seconds)

    def _fast_path(self) -> list[_ConvSpec] | None:
        """The conv stack as channels-last matrix products, if its layers are conv -> LayerNorm -> act."""
        import torch

        specs = []
        for lay in self.model.feature_extractor.conv_layers:
            conv, norm = getattr(lay, "conv", None), getattr(lay, "layer_norm", None)
            act = getattr(lay, "activation", None)
            if not (isinstance(conv, torch.nn.Conv1d) and isinstance(norm, torch.nn.LayerNorm) and act is not None
                    and conv.padding == (0,) and conv.dilation == (1,) and conv.groups == 1
                    and tuple(norm.normalized_shape) == (conv.out_channels,)):
                return None
            w = conv.weight.detach()  # (C_out, C_in, k)
            k = w.shape[2]
            specs.append(_ConvSpec(w.permute(2, 1, 0).reshape(k * w.shape[1], w.shape[0]).contiguous(),
                                   None if conv.bias is None else conv.bias.detach(), k, conv.stride[0], norm, act))
        # Check against the module itself on a random input (catches a layer with another order).
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(2, self.receptive_field + 7 * self.stride + 33, generator=gen)
        with torch.inference_mode():
            ref = self.model.feature_extractor(x).transpose(1, 2)
            got = _conv_stack(specs, x, chunk_frames=3, receptive_field=self.receptive_field,
                              stride=self.stride, out_frames=ref.shape[1])
        if got.shape != ref.shape or not torch.allclose(got, ref, atol=1e-4, rtol=1e-3):
            warnings.warn(f"{type(self.model).__name__}: the channels-last conv path does not match the "
                          f"module (max diff {(got - ref).abs().max().item() if got.shape == ref.shape else 'shape'}); "
                          f"using the module", stacklevel=3)
            return None
        return specs

    def _padding_invariant(self) -> bool:
        """Whether a short utterance padded in a batch gets the features it gets alone.

        True for the conv features of layer-norm models; data2vec-audio's transformer layers are
        not (its stack of positional convolutions carries the padding into the last frames), so
        there each utterance is run alone.
        """
        rng = np.random.default_rng(0)
        short = rng.standard_normal(self.receptive_field + 80 * self.stride).astype(np.float32)
        long = rng.standard_normal(len(short) + 60 * self.stride).astype(np.float32)
        self._pads_safely = True
        both = self([long, short])[1]
        alone = self([short])[0]
        scale = max(1.0, float(np.abs(alone).max()))
        return bool(np.abs(both - alone).max() <= 1e-4 * scale)

    # -- facts ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Feature dimension: the last conv layer's channels, or the transformer width."""
        return int(self.config.conv_dim[-1] if self.layer == "cnn" else self.config.hidden_size)

    @property
    def pads_safely(self) -> bool:
        """Whether utterances of different lengths may share a padded batch (else run one by one)."""
        return self._pads_safely

    @property
    def min_samples(self) -> int:
        """Shortest input that gives one frame (the receptive field, 400 samples = 25 ms for data2vec)."""
        return self.receptive_field

    def output_lengths(self, n_samples: int | Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames per input length, by the model's own ``_get_feat_extract_output_lengths``."""
        import torch

        n = torch.as_tensor(np.atleast_1d(np.asarray(n_samples, dtype=np.int64)))
        out = self.model._get_feat_extract_output_lengths(n)
        return np.maximum(np.asarray(out.cpu(), dtype=np.int64), 0)

    def describe(self) -> dict[str, Any]:
        return {"model_type": self.config.model_type, "layer": self.layer, "dim": self.dim,
                "projection_layer_norm": self._proj_norm is not None,
                "normalize": self.normalize, "group_norm": self.group_norm, "pads_safely": self.pads_safely,
                "fast_conv_path": self._convs is not None}

    # -- encoding ------------------------------------------------------------------------------
    def prepare(self, wave: np.ndarray) -> np.ndarray:
        """Per-utterance normalisation (as ``Wav2Vec2FeatureExtractor``), float32."""
        wave = np.asarray(wave, dtype=np.float32)
        if self.normalize:
            # a wav with NaN/inf samples is reported once, by name, when its shard is written
            with np.errstate(invalid="ignore", over="ignore"):
                wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        return wave.astype(np.float32, copy=False)

    def __call__(self, waves: Sequence[np.ndarray], *, prepared: bool = False) -> list[np.ndarray]:
        """Features of a batch of waves (16 kHz): one ``(T_i, dim)`` float32 array each."""
        import torch

        from ..util.device import autocast_dtype

        if not waves:
            return []
        if not prepared:
            waves = [self.prepare(w) for w in waves]
        lens = np.array([len(w) for w in waves], dtype=np.int64)
        if lens.min() < self.min_samples:
            raise ValueError(f"a wave of {lens.min()} samples is shorter than the model's receptive field "
                             f"({self.min_samples} samples = {1000 * self.min_samples / SAMPLE_RATE:.0f} ms)")
        if len(waves) > 1 and not self.pads_safely and len(set(lens.tolist())) > 1:
            return [f for w in waves for f in self([w], prepared=True)]
        frames = self.output_lengths(lens)
        batch = np.zeros((len(waves), int(lens.max())), dtype=np.float32)
        for i, w in enumerate(waves):
            batch[i, :len(w)] = w
        x = torch.from_numpy(batch).to(self.device, non_blocking=True)  # (B, n)
        amp = autocast_dtype(self.device)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=amp, enabled=amp is not None):
            if self.layer == "cnn":
                if self._convs is not None:
                    chunk = (max(1, int(self.chunk_seconds * SAMPLE_RATE) // self.stride)
                             if self.chunk_seconds else None)
                    feats = _conv_stack(self._convs, x, chunk_frames=chunk,
                                        receptive_field=self.receptive_field, stride=self.stride,
                                        out_frames=int(frames.max()))
                else:
                    feats = self.model.feature_extractor(x).transpose(1, 2)  # (B, T, C)
                if self._proj_norm is not None:
                    feats = self._proj_norm(feats)  # per frame: padding cannot reach valid frames
            else:
                kwargs = {}
                if len(set(lens.tolist())) > 1:
                    valid = torch.as_tensor(lens, device=self.device)[:, None]
                    mask = torch.arange(batch.shape[1], device=self.device)[None, :] < valid  # (B, n)
                    kwargs["attention_mask"] = mask.long()
                out = self.model(x, output_hidden_states=True, **kwargs)
                feats = out.hidden_states[self.layer]  # (B, T, H)
            feats = feats.float().cpu().numpy()
        if feats.shape[1] < frames.max():
            raise RuntimeError(f"model gave {feats.shape[1]} frames for {lens.max()} samples, "
                               f"expected {frames.max()} (_get_feat_extract_output_lengths)")
        return [np.ascontiguousarray(feats[i, :frames[i]]) for i in range(len(waves))]


def _check_layer(layer: str | int, config: Any) -> str | int:
    if layer == "cnn":
        return layer
    try:
        i = int(layer)
    except (TypeError, ValueError):
        raise ValueError(f"audio layer must be 'cnn' or an integer, got {layer!r}") from None
    n = int(config.num_hidden_layers)
    if not -(n + 1) <= i <= n:
        raise ValueError(f"audio layer {i} out of range: the model has hidden_states[0..{n}]")
    return i % (n + 1)


def _conv_stack(specs: list[_ConvSpec], x: Any, *, chunk_frames: int | None, receptive_field: int,
                stride: int, out_frames: int) -> Any:
    """The conv feature encoder on ``x`` ``(B, n)`` -> ``(B, out_frames, C)``, channels-last.

    Output frame ``t`` depends on samples ``[t*stride, t*stride + receptive_field)`` only, so the
    frames are computed ``chunk_frames`` at a time from overlapping input slices (exactly).
    """
    import torch

    step = out_frames if not chunk_frames else int(chunk_frames)
    outs = []
    for a in range(0, out_frames, step):
        b = min(out_frames, a + step)
        h = x[:, a * stride:(b - 1) * stride + receptive_field, None]  # (B, n_chunk, 1)
        for c in specs:
            bsz, t, ch = h.shape
            t_out = (t - c.kernel) // c.stride + 1
            win = h.as_strided((bsz, t_out, c.kernel * ch), (h.stride(0), c.stride * ch, 1))  # (B, T', k*C)
            y = win @ c.weight  # (B, T', C_out)
            if c.bias is not None:
                y = y + c.bias
            h = c.activation(c.norm(y)).contiguous()  # (B, T', C_out)
        if h.shape[1] < b - a:
            raise RuntimeError(f"conv stack gave {h.shape[1]} frames for a chunk of {b - a}")
        outs.append(h[:, :b - a])
    return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
