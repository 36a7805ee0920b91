"""Training: the KL loss, batch materialisation, epochs, early stopping and seeds."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pddslib.features import demo_stores
from pddslib.features.store import FeatureStore
from pddslib.models import build_model
from pddslib.pdds.mixup import mix_sequences
from pddslib.runs import training
from pddslib.runs.training import (
    SequenceBank,
    TrainConfig,
    batches,
    kl_loss,
    mixed_batch,
    predict,
    seed_everything,
    train_model,
)

CPU = torch.device("cpu")
#: A small CLTNet (same code paths, a fraction of the work) for tests that train several times.
SMALL = dict(d1=32, d2=16, d=16, n_layers=1, n_heads=2, ff_dim=32)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)
    return FeatureStore.open(path)


@pytest.fixture(scope="module")
def banks(store):
    return {m: SequenceBank(store.arrays[m], store.offsets[m], CPU) for m in ("audio", "text")}


def _originals(rows):
    rows = np.asarray(rows)
    return np.stack([rows, rows], 1), np.ones(len(rows))


# -- the loss ------------------------------------------------------------------------------
def test_kl_loss_is_soft_cross_entropy_minus_target_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 6)) * 2
    y = rng.dirichlet(np.ones(6), size=5)
    y[0] = [1, 0, 0, 0, 0, 0]              # one-hot (clear)
    y[1] = [0, 0.8, 0, 0, 0.2, 0]          # mixup label p e_i + (1 - p) e_j
    y[2] = [2 / 3, 0, 0, 0, 0, 1 / 3]      # ambiguous vote distribution
    y[3, [1, 4]] = 0
    y[3] /= y[3].sum()
    # independent, in float64: H(y, q) - H(y), with 0 log 0 = 0, averaged over the batch
    log_q = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    cross = -(y * log_q).sum(1)
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
    entropy = -ylogy.sum(1)
    expected = (cross - entropy).mean()
    got = kl_loss(torch.tensor(logits, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    assert got.ndim == 0
    assert float(got) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    # a batch mean, not a sum over rows or over entries
    assert float(got) != pytest.approx((cross - entropy).sum(), rel=1e-3)


def test_kl_loss_of_one_hot_targets_is_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(8, 6) * 3
    labels = torch.tensor([0, 1, 2, 3, 4, 5, 0, 3])
    got = kl_loss(logits, F.one_hot(labels, 6).float())
    assert float(got) == pytest.approx(float(F.cross_entropy(logits, labels)), rel=1e-5)


def test_kl_loss_vanishes_at_the_target_and_has_the_right_gradient():
    y = torch.tensor([[0.8, 0.2, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0, 0]])
    logits = torch.log(y.clamp_min(1e-12))
    assert float(kl_loss(logits, y)) == pytest.approx(0.0, abs=1e-6)
    z = torch.randn(2, 6, requires_grad=True)
    kl_loss(z, y).backward()
    # d/dz of the batch-mean KL is (softmax(z) - y) / B
    assert torch.allclose(z.grad, (torch.softmax(z.detach(), -1) - y) / 2, atol=1e-6)


# -- feature banks and mixed batches ---------------------------------------------------------
def _random_bank_data(rng, lengths, dim, dtype=np.float32):
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    frames = rng.normal(size=(offsets[-1], dim)).astype(dtype)
    return frames, offsets


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gather_returns_the_frames_and_zero_padding(dtype):
    rng = np.random.default_rng(1)
    lengths = np.array([3, 1, 7, 4, 2, 5])
    frames, offsets = _random_bank_data(rng, lengths, 4, dtype)
    bank = SequenceBank(frames, offsets, CPU)
    idx = torch.tensor([2, 0, 5, 0, 1])  # any order, repeats allowed
    x, lens = bank.gather(idx)
    assert x.dtype == torch.float32 and x.shape == (5, 7, 4)
    assert lens.tolist() == [7, 3, 5, 3, 1]
    for r, i in enumerate(idx.tolist()):
        ref = frames[offsets[i]:offsets[i + 1]].astype(np.float32)
        assert np.array_equal(x[r, :len(ref)].numpy(), ref)
        assert (x[r, len(ref):] == 0).all()
    # the padded length is the batch's longest sequence, not the bank's
    x2, _ = bank.gather(torch.tensor([1, 4]))
    assert x2.shape == (2, 2, 4)


@pytest.mark.parametrize("align", ["pad", "crop", "interp"])
def test_mixed_batch_equals_mix_sequences_row_by_row(align):
    rng = np.random.default_rng(2)
    lengths_a = np.array([5, 2, 9, 4, 6, 3, 8])
    lengths_t = np.array([2, 3, 1, 4, 2, 5, 3])
    fa, oa = _random_bank_data(rng, lengths_a, 3)
    ft, ot = _random_bank_data(rng, lengths_t, 2)
    banks = {"audio": SequenceBank(fa, oa, CPU), "text": SequenceBank(ft, ot, CPU)}
    src = np.array([[0, 2], [2, 1], [3, 3], [5, 6], [6, 6], [1, 4], [4, 0]])
    w = np.array([0.8, 0.5, 1.0, 0.7, 1.0, 0.8, 0.2])
    out = mixed_batch(banks, torch.tensor(src), torch.tensor(w, dtype=torch.float32), align)
    assert set(out) == {"audio", "text"}
    for name, (frames, off) in {"audio": (fa, oa), "text": (ft, ot)}.items():
        x, lens = out[name]
        assert x.shape[0] == len(src) and lens.shape == (len(src),)
        for r, (a, b) in enumerate(src):
            seq_a, seq_b = frames[off[a]:off[a + 1]], frames[off[b]:off[b + 1]]
            if w[r] == 1.0:  # an original row: itself, unchanged
                ref = seq_a
            else:
                ref = mix_sequences(seq_a, seq_b, w[r], align)
            assert int(lens[r]) == len(ref), (name, r)
            assert np.allclose(x[r, :len(ref)].numpy(), ref, atol=1e-5), (name, r)
            assert (x[r, len(ref):] == 0).all(), (name, r)


def test_weight_one_row_ignores_its_second_source_with_interp():
    # mix_padded's contract: weight 1 marks an original sample, "then xb is ignored"; train_model
    # gives such a row its own length. With p = 1 (or clear_p = 1) every synthesised row has weight
    # 1 and a second source of another length.
    frames = np.arange(20, dtype=np.float32).reshape(10, 2)
    offsets = np.array([0, 2, 10])  # sequence 0: 2 frames, sequence 1: 8 frames
    banks = {"audio": SequenceBank(frames, offsets, CPU)}
    for align in ("pad", "crop", "interp"):
        x, lens = mixed_batch(banks, torch.tensor([[0, 1]]), torch.tensor([1.0]), align)["audio"]
        assert int(lens[0]) == 2, align
        assert np.array_equal(x[0, :2].numpy(), frames[:2]), align  # interp gives [[0, 1], [0.29, 1.29]]


# -- epochs ----------------------------------------------------------------------------------
def _padding_cost(parts, lengths):
    return sum(int(lengths[p].max()) * len(p) for p in parts)


@pytest.mark.parametrize("bucket", [True, False])
def test_batches_cover_every_row_once(bucket):
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 300, 203)
    seen = []
    for _ in range(3):  # three epochs
        parts = batches(lengths, 16, rng, bucket=bucket)
        flat = np.concatenate(parts)
        assert np.array_equal(np.sort(flat), np.arange(203))
        sizes = sorted(len(p) for p in parts)
        assert sizes == [203 % 16] + [16] * (203 // 16)
        seen.append(flat)
    assert not np.array_equal(seen[0], seen[1])  # a new order every epoch


def test_bucketing_reduces_padding_on_lognormal_lengths():
    rng = np.random.default_rng(4)
    # IEMOCAP-like: ~4.5 s at 50 frames/s, lognormal spread
    lengths = np.maximum(1, rng.lognormal(np.log(190), 0.55, 2000).astype(int))
    bucketed = np.mean([_padding_cost(batches(lengths, 64, np.random.default_rng(s), True), lengths)
                        for s in range(3)])
    plain = np.mean([_padding_cost(batches(lengths, 64, np.random.default_rng(s), False), lengths)
                     for s in range(3)])
    # measured: bucketed ~1.16 x the real frames, plain ~3.1 x
    assert bucketed < 0.5 * plain
    assert bucketed < 1.35 * lengths.sum()
    # batches of a bucketed epoch are similar in length, yet the batch order is shuffled
    parts = batches(lengths, 64, np.random.default_rng(0), True)
    maxima = [lengths[p].max() for p in parts]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)


# -- training --------------------------------------------------------------------------------
def test_cltnet_overfits_a_tiny_batch(store, banks):
    rows = store.split_indices("train")[:16]
    y = store.label_distributions()[rows]
    src, w = _originals(rows)
    seed_everything(0)
    model = build_model("cltnet", audio_dim=store.dims["audio"], text_dim=store.dims["text"], dropout=0.0)
    res = train_model(model, banks, src, w, y, TrainConfig(batch_size=16, max_epochs=25, patience=25), seed=0)
    # measured: 1.43 -> ~0.01 after 25 epochs
    assert res.epochs == 25 and len(res.losses) == 25 and not res.stopped_early
    assert min(res.losses[-3:]) < res.losses[0] / 20
    probs = predict(model, banks, rows)
    assert probs.shape == (16, 6) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.abs(probs - y).sum(1).mean() < 0.2  # the predicted distributions match the targets
    # predict returns rows in the order asked for
    perm = np.random.default_rng(0).permutation(16)
    assert np.allclose(predict(model, banks, rows[perm]), probs[perm], atol=1e-5)


def _train_with_epoch_losses(monkeypatch, store, banks, epoch_losses, patience, max_epochs):
    rows = store.split_indices("train")[:8]
    y = store.label_distributions()[rows]
    src, w = _originals(rows)
    state = {"epoch": 0}
    monkeypatch.setattr(training, "kl_loss", lambda logits, target: logits.sum() * 0 + epoch_losses[state["epoch"]])

    def on_epoch(epoch, loss):
        assert loss == pytest.approx(epoch_losses[epoch - 1])
        state["epoch"] = epoch

    model = build_model("cltnet", audio_dim=store.dims["audio"], text_dim=store.dims["text"], **SMALL)
    cfg = TrainConfig(batch_size=4, max_epochs=max_epochs, patience=patience)
    return train_model(model, banks, src, w, y, cfg, seed=0, on_epoch=on_epoch)


def test_early_stopping_when_the_loss_rises(monkeypatch, store, banks):
    res = _train_with_epoch_losses(monkeypatch, store, banks, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], patience=1,
                                   max_epochs=6)
    assert res.stopped_early and res.epochs == 2
    assert res.losses == pytest.approx([1.0, 2.0])


def test_early_stopping_counts_epochs_without_a_new_best(monkeypatch, store, banks):
    # best at epoch 2; epochs 3-5 do not beat it (a tie is no decrease) -> stop after epoch 5
    losses = [2.0, 1.0, 1.5, 1.0, 1.2, 0.5, 0.4, 0.3]
    res = _train_with_epoch_losses(monkeypatch, store, banks, losses, patience=3, max_epochs=8)
    assert res.stopped_early and res.epochs == 5
    assert res.losses == pytest.approx(losses[:5])


def test_no_early_stop_while_the_loss_falls(monkeypatch, store, banks):
    losses = [5.0, 4.0, 4.5, 3.0, 2.0]  # one bad epoch, below patience 2
    res = _train_with_epoch_losses(monkeypatch, store, banks, losses, patience=2, max_epochs=5)
    assert not res.stopped_early and res.epochs == 5 and len(res.losses) == 5


def _train_from_scratch(store, banks, seed, epochs=2):
    rows = store.split_indices("train")[:96]
    test = store.split_indices("test")[:32]
    y = store.label_distributions()[rows]
    # some mixed rows too (as PDDS produces): pairs of training rows with weight 0.8
    rng = np.random.default_rng(5)
    a, b = rng.choice(rows, 32), rng.choice(rows, 32)
    src = np.concatenate([np.stack([rows, rows], 1), np.stack([a, b], 1)])
    w = np.concatenate([np.ones(len(rows)), np.full(32, 0.8)])
    yl = store.label_distributions()
    targets = np.concatenate([y, 0.8 * yl[a] + 0.2 * yl[b]])
    seed_everything(seed)
    model = build_model("cltnet", audio_dim=store.dims["audio"], text_dim=store.dims["text"], **SMALL)
    res = train_model(model, banks, src, w, targets, TrainConfig(batch_size=32, max_epochs=epochs), seed=seed)
    return res.losses, predict(model, banks, test)


def test_same_seed_same_losses_and_predictions(store, banks):
    l1, p1 = _train_from_scratch(store, banks, seed=3)
    l2, p2 = _train_from_scratch(store, banks, seed=3)
    assert l1 == l2
    assert np.array_equal(p1, p2)
    l3, p3 = _train_from_scratch(store, banks, seed=4)
    assert l3 != l1
    assert not np.allclose(p3, p1)


def test_train_config_checks_its_values():
    with pytest.raises(ValueError):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError):
        TrainConfig(patience=0)
    with pytest.raises(ValueError):
        TrainConfig(lr=0.0)
    cfg = TrainConfig()
    assert (cfg.lr, cfg.weight_decay, cfg.batch_size, cfg.max_epochs, cfg.patience) == (1e-3, 1e-5, 64, 30, 10)


def test_training_reads_from_the_device_once_per_epoch(monkeypatch, store, banks):
    """The training loop does not wait for the device at each step (on a GPU, a read-back per step
    idles it): the loss is summed on the device and read once per epoch, and padded lengths come from
    host arrays. (The models still copy their length vectors to the host once per forward, to check
    them and to pack LSTM inputs: that is theirs, not counted here.)"""
    import sys

    reads = {"n": 0}
    ours = ("pddslib/runs/training.py", "pddslib/pdds/mixup.py")
    for name in ("__float__", "__int__", "__bool__", "item", "tolist", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, **k):
            # reads by the training loop and mixup (torch's Adam keeps its step counts on the host)
            caller = sys._getframe(1).f_code.co_filename.replace("\\", "/")
            reads["n"] += any(part in caller for part in ours)
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    rows = store.split_indices("train")[:64]
    src, w = _originals(rows)
    model = build_model("cltnet", audio_dim=store.dims["audio"], text_dim=store.dims["text"], **SMALL)
    steps = {"n": 0}
    model.register_forward_hook(lambda *_: steps.__setitem__("n", steps["n"] + 1))
    train_model(model, banks, src, w, store.label_distributions()[rows],
                TrainConfig(batch_size=8, max_epochs=3, patience=3), seed=0)
    assert steps["n"] == 3 * 8
    assert reads["n"] == 3  # once per epoch, not once per step
