"""Tests of pddslib.models: shapes, masking, batch independence, learning, registry, CLTNet.

Small input sizes keep the file fast; the models themselves use their default configurations.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from pddslib.models import (  # noqa: E402
    MODEL_NAMES,
    ORIGINAL_RECIPES,
    build_model,
    common,  # noqa: E402
    count_parameters,
    model_config,
)
from pddslib.models.common import BiLSTM, last_valid, run_lstm, same_padding  # noqa: E402
from pddslib.models.mcsan import pooled_lengths  # noqa: E402
from pddslib.models.speechtext import pool_valid_frames  # noqa: E402

AUDIO_DIM, TEXT_DIM, N_CLASSES = 24, 16, 6
ATOL = 1e-5

_MODELS: dict[str, torch.nn.Module] = {}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a small shared machine several
    processes each spinning two OpenMP threads slow down by orders of magnitude."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def get_model(name: str) -> torch.nn.Module:
    """One eval-mode model per name for the whole file (building MAT is the slow part)."""
    if name not in _MODELS:
        torch.manual_seed(0)
        _MODELS[name] = build_model(
            name, audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, n_classes=N_CLASSES
        ).eval()
    return _MODELS[name]


def make_batch(audio_lengths, text_lengths, *, ta=None, tt=None, seed=0):
    """Random zero-padded batch with the given lengths (padded to ta / tt, default: max)."""
    g = torch.Generator().manual_seed(seed)
    la = torch.tensor(audio_lengths)
    lt = torch.tensor(text_lengths)
    ta = int(la.max()) if ta is None else ta
    tt = int(lt.max()) if tt is None else tt
    audio = torch.randn(len(la), ta, AUDIO_DIM, generator=g)
    text = torch.randn(len(lt), tt, TEXT_DIM, generator=g)
    audio *= (torch.arange(ta)[None, :] < la[:, None]).unsqueeze(-1)
    text *= (torch.arange(tt)[None, :] < lt[:, None]).unsqueeze(-1)
    return audio, la, text, lt


def repad(x: torch.Tensor, lengths: torch.Tensor, new_t: int, *, fill: str, seed: int = 1):
    """Same sequences padded to ``new_t`` steps; padding zeros or random values."""
    g = torch.Generator().manual_seed(seed)
    b, t, d = x.shape
    out = torch.zeros(b, new_t, d)
    out[:, : min(t, new_t)] = x[:, : min(t, new_t)]
    if fill == "random":
        noise = 10 * torch.randn(b, new_t, d, generator=g)
        pad = torch.arange(new_t)[None, :] >= lengths[:, None]  # (B, T)
        out[pad] = noise[pad]
    return out


@torch.no_grad()
def logits_of(name, audio, la, text, lt):
    return get_model(name)(audio, la, text, lt)


# --------------------------------------------------------------------------------------------
# Shapes, masking, batch independence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("ta,tt", [(1, 1), (1, 6), (7, 1), (2, 3), (40, 9)])
def test_output_shape(name, ta, tt):
    la = [ta, max(1, ta - 1), 1]
    lt = [1, tt, max(1, tt // 2)]
    out = logits_of(name, *make_batch(la, lt))
    assert out.shape == (3, N_CLASSES)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape_in_training_mode_and_other_class_count(name):
    torch.manual_seed(0)
    model = build_model(name, audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, n_classes=4).train()
    out = model(*make_batch([5, 1], [1, 3]))
    assert out.shape == (2, 4)
    out.sum().backward()  # gradients flow through every path, padding included


AUDIO_LENGTHS = [23, 1, 8, 15]  # includes 1 frame and the kernel-5 corner (< 5 frames)
TEXT_LENGTHS = [4, 9, 1, 6]


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("fill", ["zeros", "random"])
def test_padding_invariance(name, fill):
    audio, la, text, lt = make_batch(AUDIO_LENGTHS, TEXT_LENGTHS)
    ref = logits_of(name, audio, la, text, lt)
    # more padding, zero or random; same lengths
    audio2 = repad(audio, la, audio.size(1) + 11, fill=fill)
    text2 = repad(text, lt, text.size(1) + 5, fill=fill)
    out = logits_of(name, audio2, la, text2, lt)
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    if fill == "random":
        # random values in the batch's own padding too, without extra length
        out = logits_of(
            name, repad(audio, la, audio.size(1), fill=fill, seed=5), la,
            repad(text, lt, text.size(1), fill=fill, seed=6), lt,
        )
        torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_changing_a_valid_value_changes_the_logits(name):
    """Counterpart of the invariance test: the last valid step of each modality does count."""
    audio, la, text, lt = make_batch(AUDIO_LENGTHS, TEXT_LENGTHS)
    ref = logits_of(name, audio, la, text, lt)
    if name != "cltnet_text":
        a2 = audio.clone()
        a2[0, la[0] - 1] += 3.0
        assert not torch.allclose(logits_of(name, a2, la, text, lt)[0], ref[0], atol=1e-4)
    if name != "cltnet_audio":
        t2 = text.clone()
        t2[1, lt[1] - 1] += 3.0
        assert not torch.allclose(logits_of(name, audio, la, t2, lt)[1], ref[1], atol=1e-4)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_batch_independence(name):
    audio, la, text, lt = make_batch(AUDIO_LENGTHS, TEXT_LENGTHS)
    full = logits_of(name, audio, la, text, lt)
    for i in range(len(la)):
        alone = logits_of(
            name, audio[i : i + 1, : la[i]], la[i : i + 1], text[i : i + 1, : lt[i]], lt[i : i + 1]
        )
        torch.testing.assert_close(alone[0], full[i], atol=ATOL, rtol=0)
    # another companion sample changes nothing either
    perm = torch.tensor([2, 0, 3, 1])
    out = logits_of(name, audio[perm], la[perm], text[perm], lt[perm])
    torch.testing.assert_close(out, full[perm], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["cltnet", "mcsan"])
def test_bad_lengths_are_errors(name):
    audio, la, text, lt = make_batch([3, 2], [2, 2])
    with pytest.raises(ValueError, match="audio_lengths"):
        logits_of(name, audio, torch.tensor([3, 0]), text, lt)
    with pytest.raises(ValueError, match="text_lengths"):
        logits_of(name, audio, la, text, torch.tensor([2, 5]))


# --------------------------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_overfits_a_tiny_batch(name):
    torch.manual_seed(1)
    model = build_model(name, audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, n_classes=N_CLASSES)
    audio, la, text, lt = make_batch([12, 5, 20, 9, 16, 3, 7, 14], [5, 3, 8, 2, 6, 4, 7, 1], seed=3)
    targets = torch.eye(N_CLASSES)[[0, 1, 2, 3, 4, 5, 0, 3]]
    targets[6] = 0.8 * targets[6] + 0.2 * torch.eye(N_CLASSES)[5]  # soft label distributions
    targets[7] = 0.6 * targets[7] + 0.4 * torch.eye(N_CLASSES)[1]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def kl() -> torch.Tensor:
        return F.kl_div(F.log_softmax(model(audio, la, text, lt), -1), targets,
                        reduction="batchmean")

    for step in range(400):
        model.train()
        opt.zero_grad()
        kl().backward()
        opt.step()
        if step % 25 == 24:
            model.eval()
            with torch.no_grad():
                if kl().item() < 0.02:
                    break
    model.eval()
    with torch.no_grad():
        final = kl().item()
        pred = model(audio, la, text, lt).argmax(-1)
    assert final < 0.05, f"{name}: KL {final:.4f} after {step + 1} steps"
    assert torch.equal(pred, targets.argmax(-1))


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def test_model_names_are_registered():
    assert MODEL_NAMES == ("cltnet", "cltnet_audio", "cltnet_text", "speechtext", "mat", "mcsan")
    for name in MODEL_NAMES:
        model_config(name)  # no error


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown model 'cltnett'") as err:
        build_model("cltnett", audio_dim=4, text_dim=4)
    for name in MODEL_NAMES:
        assert name in str(err.value)


def test_unknown_override_lists_valid_fields():
    with pytest.raises(ValueError, match="unknown override") as err:
        build_model("mat", audio_dim=4, text_dim=4, dropuot=0.1)
    assert "dropout" in str(err.value) and "n_heads" in str(err.value)


def test_fixed_field_cannot_be_overridden():
    with pytest.raises(ValueError, match="modalities"):
        build_model("cltnet_audio", audio_dim=4, text_dim=4, modalities=("text",))


def test_overrides_reach_the_model():
    small = build_model("cltnet", audio_dim=AUDIO_DIM, text_dim=TEXT_DIM, d1=16)
    assert small.config.d1 == 16
    assert small.audio.lstm.hidden_size == 16
    assert count_parameters(small) < count_parameters(get_model("cltnet"))
    assert build_model("mcsan", audio_dim=4, text_dim=4, dropout=0.3).config.dropout == 0.3


def test_bad_dims_are_errors():
    with pytest.raises(ValueError, match="audio_dim"):
        build_model("speechtext", audio_dim=0, text_dim=4)
    with pytest.raises(ValueError, match="n_classes"):
        build_model("cltnet", audio_dim=4, text_dim=4, n_classes=1.5)


def test_unimodal_cltnet_ignores_the_other_modality():
    audio, la, text, lt = make_batch(AUDIO_LENGTHS, TEXT_LENGTHS)
    other_audio, other_la, other_text, other_lt = make_batch([2, 30, 5, 1], [7, 1, 3, 12], seed=9)
    for name, changed in [
        ("cltnet_audio", (audio, la, other_text, other_lt)),
        ("cltnet_text", (other_audio, other_la, text, lt)),
    ]:
        ref = logits_of(name, audio, la, text, lt)
        torch.testing.assert_close(logits_of(name, *changed), ref, atol=0, rtol=0)
    # ... whereas the bimodal CLTNet does use both
    ref = logits_of("cltnet", audio, la, text, lt)
    assert not torch.allclose(logits_of("cltnet", audio, la, other_text, other_lt), ref)
    assert not torch.allclose(logits_of("cltnet", other_audio, other_la, text, lt), ref)


def test_parameter_counts():
    counts = {name: count_parameters(get_model(name)) for name in MODEL_NAMES}
    assert all(c > 0 for c in counts.values())
    assert counts["cltnet_audio"] < counts["cltnet"]
    assert counts["cltnet_text"] < counts["cltnet"]
    # trainable parameters only
    lin = torch.nn.Linear(3, 2)
    assert count_parameters(lin) == 3 * 2 + 2
    lin.bias.requires_grad_(False)
    assert count_parameters(lin) == 3 * 2


def test_original_recipes_are_plain_data():
    assert set(ORIGINAL_RECIPES) <= set(MODEL_NAMES)
    assert ORIGINAL_RECIPES["mat"]["lr"] == 1e-4 and ORIGINAL_RECIPES["mat"]["batch_size"] == 32
    for recipe in ORIGINAL_RECIPES.values():
        assert set(recipe) <= {"lr", "batch_size", "weight_decay"}


# --------------------------------------------------------------------------------------------
# CLTNet against an independent reference (plain tensor operations, the module's weights)
# --------------------------------------------------------------------------------------------


def cltnet_reference(model, audio, text):
    """Eqs. (4), (5) and the fusion head for ONE unpadded sample: audio (Ta, Da), text (Tt, Dt)."""
    parts = []
    if model.audio is not None:
        br = model.audio
        pooled = []
        for conv in br.convs:
            k = conv.weight.shape[-1]
            left, right = (k - 1) // 2, k // 2  # "same": the extra zero on the right
            assert (left, right) == same_padding(k)
            d_a = audio.size(1)
            x = torch.cat([torch.zeros(left, d_a), audio, torch.zeros(right, d_a)])  # (Ta+k-1, Da)
            # Conv1D by hand: out[t, c] = b[c] + sum_{j, d} W[c, d, j] x[t + j, d]
            windows = torch.stack([x[t : t + k] for t in range(audio.size(0))])  # (Ta, k, Da)
            y = torch.einsum("tjd,cdj->tc", windows, conv.weight) + conv.bias  # (Ta, d1)
            pooled.append(torch.relu(y).max(dim=0).values)  # ConvBlock = MaxPool(ReLU(Conv1D))
        lstm_out, _ = br.lstm(audio.unsqueeze(0))  # unpadded sample: no packing needed
        pooled.append(lstm_out[0].max(dim=0).values)  # LSTMBlock = MaxPool(LSTM)
        h_a = torch.cat(pooled) @ br.proj.weight.T + br.proj.bias  # Eq. (4)
        parts.append(h_a)
    if model.text is not None:
        br = model.text
        z = text @ br.proj_in.weight.T + br.proj_in.bias  # (Tt, d2)
        for layer in br.encoder.layers:  # unpadded sample: no mask needed
            z = layer(z.unsqueeze(0))[0]
        w_z, b_z = br.pool.score.weight, br.pool.score.bias  # (1, d2), (1,)
        a_fuse = torch.softmax(z @ w_z.T + b_z, dim=0)  # (Tt, 1), Eq. (5)
        h_t = (a_fuse.T @ z)[0] @ br.proj.weight.T + br.proj.bias  # (d,)
        parts.append(h_t)
    h = torch.cat(parts) @ model.fuse.weight.T + model.fuse.bias
    inner = torch.relu(h @ model.hidden.weight.T + model.hidden.bias)
    return (h + inner) @ model.classifier.weight.T + model.classifier.bias


@pytest.mark.parametrize("name", ["cltnet", "cltnet_audio", "cltnet_text"])
def test_cltnet_matches_reference(name):
    model = get_model(name)
    audio, la, text, lt = make_batch([1, 9, 4], [6, 2, 1], ta=12, tt=8, seed=4)
    with torch.no_grad():
        out = model(audio, la, text, lt)
        for i in range(3):
            ref = cltnet_reference(model, audio[i, : la[i]], text[i, : lt[i]])
            torch.testing.assert_close(out[i], ref, atol=ATOL, rtol=0)


def test_cltnet_paper_sizes():
    model = build_model("cltnet", audio_dim=512, text_dim=768)
    assert [c.kernel_size[0] for c in model.audio.convs] == [3, 4, 5]
    assert all(c.out_channels == 300 for c in model.audio.convs)
    assert model.audio.lstm.hidden_size == 300
    assert model.audio.proj.in_features == 1200 and model.audio.proj.out_features == 100
    assert model.text.proj_in.in_features == 768 and model.text.proj_in.out_features == 100
    assert len(model.text.encoder.layers) == 5
    assert model.text.encoder.layers[0].self_attn.num_heads == 5
    assert model.fuse.in_features == 200 and model.fuse.out_features == 100


# --------------------------------------------------------------------------------------------
# Pieces of the baselines
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 37, 100, 101, 250])
def test_speechtext_frame_pooling(length):
    n_out, d = 100, 5
    x = torch.randn(2, 260, d)
    lengths = torch.tensor([length, 260])
    out = pool_valid_frames(x, lengths, n_out)
    assert out.shape == (2, n_out, d)
    valid = x[0, :length]
    if length >= n_out:  # adaptive average pooling of the valid frames
        ref = F.adaptive_avg_pool1d(valid.T.unsqueeze(0), n_out)[0].T
    else:  # short: the frames themselves, then zeros
        ref = torch.cat([valid, torch.zeros(n_out - length, d)])
    torch.testing.assert_close(out[0], ref, atol=1e-6, rtol=0)
    ref1 = F.adaptive_avg_pool1d(x[1].T.unsqueeze(0), n_out)[0].T
    torch.testing.assert_close(out[1], ref1, atol=1e-6, rtol=0)


def test_mcsan_pooled_lengths():
    lengths = torch.tensor([1, 2, 3, 4, 9, 10, 28])
    assert pooled_lengths(lengths, 3, 2).tolist() == [1, 1, 1, 1, 1, 2, 4]
    model = get_model("mcsan")
    audio, la, text, lt = make_batch([28, 10], [3, 3])
    a, a_len = model._conv_blocks(audio, la)
    assert a.shape[1] == 4 and a_len.tolist() == [4, 2]


# --------------------------------------------------------------------------------------------
# LSTMs: packed and unpacked runs agree; the BiLSTM equals PyTorch's on packed sequences
# --------------------------------------------------------------------------------------------


def test_run_lstm_packed_and_unpacked_agree(monkeypatch):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, num_layers=2, batch_first=True)
    lengths = torch.tensor([6, 1, 3])
    x = torch.randn(3, 9, 5)
    outs, grads = [], []
    for pack in (True, False):
        monkeypatch.setattr(common, "PACK_SEQUENCES", pack)
        xi = x.clone().requires_grad_(True)
        out = run_lstm(lstm, xi, lengths)
        (out * torch.arange(out.numel()).view_as(out).sin()).sum().backward()
        outs.append(out.detach())
        grads.append((xi.grad, lstm.weight_hh_l0.grad.clone()))
        lstm.zero_grad()
    torch.testing.assert_close(outs[0], outs[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=0)
    # zero on the padding, and the last valid output is the packed LSTM's final state
    assert outs[1][1, 1:].abs().max() == 0
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                     enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    torch.testing.assert_close(last_valid(outs[1], lengths), h_n[-1], atol=1e-6, rtol=0)


def test_bilstm_matches_pytorch_bidirectional_on_packed_sequences():
    torch.manual_seed(0)
    ours = BiLSTM(input_size=5, hidden_size=4)
    ref = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(ours.forward_lstm, name))
            getattr(ref, name + "_reverse").copy_(getattr(ours.backward_lstm, name))
    lengths = torch.tensor([6, 1, 3])
    x = torch.randn(3, 8, 5)
    x[0, 6:] = 5.0  # garbage in the padding
    with torch.no_grad():
        fw, bw = ours(x, lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                         enforce_sorted=False)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True,
                                                        total_length=8)
    torch.testing.assert_close(torch.cat([fw, bw], -1), out, atol=1e-6, rtol=0)
    assert count_parameters(ours) == count_parameters(ref)


@pytest.mark.parametrize("name", ["cltnet", "speechtext", "mat", "mcsan"])
def test_models_agree_with_and_without_packing(name, monkeypatch):
    batch = make_batch(AUDIO_LENGTHS, TEXT_LENGTHS)
    monkeypatch.setattr(common, "PACK_SEQUENCES", True)
    packed = logits_of(name, *batch)
    monkeypatch.setattr(common, "PACK_SEQUENCES", False)
    torch.testing.assert_close(logits_of(name, *batch), packed, atol=ATOL, rtol=0)
