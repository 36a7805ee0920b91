"""Eqs. (2)-(3) and sequence alignment."""

import numpy as np
import pytest
import torch

from pddslib.pdds.mixup import interp_time, mix_labels, mix_padded, mix_samples, mix_sequences


def test_pad_alignment_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([[10.0, 20.0]])
    out = mix_sequences(a, b, 0.8)
    assert out.shape == (3, 2)
    assert out[0] == pytest.approx([0.8 * 1 + 0.2 * 10, 0.8 * 2 + 0.2 * 20])
    assert out[1] == pytest.approx([0.8 * 3, 0.8 * 4])  # b is zero-padded
    # the longer may be either one
    out2 = mix_sequences(b, a, 0.8)
    assert out2[2] == pytest.approx([0.2 * 5, 0.2 * 6])


def test_crop_and_interp_alignment():
    a = np.arange(8.0).reshape(4, 2)
    b = np.ones((2, 2))
    crop = mix_sequences(a, b, 0.5, align="crop")
    assert crop.shape == (2, 2) and crop == pytest.approx(0.5 * a[:2] + 0.5)
    inter = mix_sequences(a, b, 0.5, align="interp")
    assert inter.shape == (4, 2) and inter == pytest.approx(0.5 * a + 0.5)
    # linear resampling of [0, 3] to 4 points: 0, 1, 2, 3
    assert interp_time(np.array([[0.0], [3.0]]), 4)[:, 0] == pytest.approx([0, 1, 2, 3])


def test_weights_and_label_sums():
    ya, yb = np.eye(6)[0], np.eye(6)[5]
    y = mix_labels(ya, yb, 0.8)
    assert y.sum() == pytest.approx(1.0)
    assert y[0] == pytest.approx(0.8) and y[5] == pytest.approx(0.2)
    soft = mix_labels(np.array([0.5, 0.5, 0]), np.array([0, 0.25, 0.75]), 0.3)
    assert soft.sum() == pytest.approx(1.0) and soft == pytest.approx([0.15, 0.325, 0.525])
    with pytest.raises(ValueError, match="weight"):
        mix_labels(ya, yb, 1.5)
    with pytest.raises(ValueError, match="align"):
        mix_sequences(np.ones((2, 2)), np.ones((2, 2)), 0.5, align="stretch")
    with pytest.raises(ValueError, match="same D"):
        mix_sequences(np.ones((2, 2)), np.ones((2, 3)), 0.5)


def test_multimodal_samples_share_the_weight():
    a = {"audio": np.ones((3, 2)), "text": np.zeros((2, 4))}
    b = {"audio": np.zeros((5, 2)), "text": np.ones((2, 4))}
    out = mix_samples(a, b, 0.7)
    assert out["audio"].shape == (5, 2) and out["audio"][0, 0] == pytest.approx(0.7)
    assert out["text"] == pytest.approx(np.full((2, 4), 0.3))


@pytest.mark.parametrize("align", ["pad", "crop", "interp"])
def test_torch_batch_mix_matches_numpy(align):
    rng = np.random.default_rng(0)
    la, lb = [5, 2, 7], [3, 6, 7]
    T, D = 9, 4
    xa, xb = np.zeros((3, T, D)), np.zeros((3, T, D))
    seq_a = [rng.standard_normal((n, D)) for n in la]
    seq_b = [rng.standard_normal((n, D)) for n in lb]
    for i in range(3):
        xa[i, :la[i]], xb[i, :lb[i]] = seq_a[i], seq_b[i]
    w = torch.tensor([0.8, 0.5, 0.3])
    x, lengths = mix_padded(torch.tensor(xa), torch.tensor(la), torch.tensor(xb), torch.tensor(lb), w, align)
    for i in range(3):
        ref = mix_sequences(seq_a[i], seq_b[i], float(w[i]), align)
        assert int(lengths[i]) == len(ref)
        assert x[i, :len(ref)].numpy() == pytest.approx(ref, abs=1e-6)
        assert (x[i, len(ref):] == 0).all()


def test_torch_original_rows_keep_their_length():
    xa = torch.ones(2, 4, 1)
    x, lengths = mix_padded(xa, torch.tensor([2, 4]), torch.zeros(2, 4, 1), torch.tensor([4, 1]),
                            torch.tensor([1.0, 0.5]))
    assert lengths.tolist() == [2, 4]
    assert x[0, :, 0].tolist() == [1, 1, 0, 0]
