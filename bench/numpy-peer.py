#!/usr/bin/env python3
"""A plain NumPy/OpenBLAS evaluator: the peer that bench/full-eval.ts prints next to ours (path "numpy").

    python3 bench/numpy-peer.py DIR [--threads N] [--windows W] [--window-s S] [--check K]

What a straightforward NumPy implementation of the GA's fitness does, with nothing of our evaluator's
tricks: per mask and layer, the Float32 weights times the 0/1 mask (elementwise), one Float32 matmul of
the whole training split (OpenBLAS sgemm), the bias, ReLU after every hidden layer; then argmax accuracy
(first index on ties) and the mean softmax cross-entropy (natural log, stable log-sum-exp, in float64 like
src/core/evaluate.ts). Masks are unpacked to Float32 0/1 arrays before timing, as a NumPy GA would hold
them; everything from the masking multiply to the metrics is timed.

DIR is written by bench/full-eval.ts (writePeerInput):
    meta.json   {"arch": [...], "n": rows, "features": F, "masks": M, "genome_length": L, "mask_bytes": B}
    x.f32       n x F float32, row-major (the training split)      y.i32   n int32 labels
    w<l>.f32    layer l's weights [outputs][inputs] row-major      b<l>.f32 its biases
    masks.u8    M masks of B = ceil(L/8) bytes each (the project's wire order: genome bit i is bit i%8
                of byte i//8)
Output: JSON lines on stdout. The first K masks' metrics ({"kind": "metrics", ...}, so the caller can
compare them with its own), then one figure ({"kind": "figure", ...}): evaluations per second over
timed windows that cycle through the masks (best window, and the median), ms per evaluation, the NumPy
version, the BLAS library NumPy was built with, and the BLAS threads (N sets OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS before NumPy is imported; the count the loaded library reports is printed too).
"""

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's)")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--window-s", type=float, default=2.0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--check", type=int, default=0, help="print the metrics of the first K masks")
    return p.parse_args()


ARGS = parse_args()
if ARGS.threads is not None:
    # must be set before NumPy loads OpenBLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402


def load(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    n, feats, arch = meta["n"], meta["features"], meta["arch"]
    x = np.fromfile(os.path.join(d, "x.f32"), dtype="<f4").reshape(n, feats)
    y = np.fromfile(os.path.join(d, "y.i32"), dtype="<i4")
    weights, biases = [], []
    for l in range(len(arch) - 1):
        weights.append(np.fromfile(os.path.join(d, f"w{l}.f32"), dtype="<f4").reshape(arch[l + 1], arch[l]))
        biases.append(np.fromfile(os.path.join(d, f"b{l}.f32"), dtype="<f4"))
    packed = np.fromfile(os.path.join(d, "masks.u8"), dtype=np.uint8).reshape(meta["masks"], meta["mask_bytes"])
    return meta, x, y, weights, biases, packed


def unpack(packed_row, weights):
    """One mask as per-layer Float32 0/1 arrays shaped like the weights."""
    bits = np.unpackbits(packed_row, bitorder="little")
    out, offset = [], 0
    for w in weights:
        out.append(bits[offset : offset + w.size].reshape(w.shape).astype(np.float32))
        offset += w.size
    return out


def evaluate(x, y, weights, biases, mask):
    a = x
    last = len(weights) - 1
    for l, (w, b, m) in enumerate(zip(weights, biases, mask)):
        z = a @ (w * m).T
        z += b
        a = np.maximum(z, 0, out=z) if l < last else z
    accuracy = float(np.mean(a.argmax(axis=1) == y))
    logits = a.astype(np.float64)
    top = logits.max(axis=1)
    lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    loss = float(np.mean(lse - logits[np.arange(len(y)), y]))
    return accuracy, loss


def blas_info():
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return {
            "name": blas.get("name"),
            "version": blas.get("version"),
            "config": blas.get("openblas configuration"),
        }
    except Exception as e:  # older NumPy: no dict mode
        return {"name": "unknown", "error": str(e).split("\n")[0]}


def blas_threads():
    """The thread count the loaded OpenBLAS reports (what threadpoolctl would say), or None."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for lib in sorted(libs):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                fn = getattr(handle, f"{prefix}openblas_get_num_threads{suffix}", None)
                if fn is not None:
                    fn.restype = ctypes.c_int
                    return int(fn())
    return None


def time_windows(x, y, weights, biases, masks):
    for k in range(ARGS.warmup):
        evaluate(x, y, weights, biases, masks[k % len(masks)])
    rates, k = [], 0
    for _ in range(ARGS.windows):
        count, t0 = 0, time.perf_counter()
        while True:
            evaluate(x, y, weights, biases, masks[k % len(masks)])
            k += 1
            count += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= ARGS.window_s:
                break
        rates.append(count / elapsed)
    return rates


def main():
    meta, x, y, weights, biases, packed = load(ARGS.dir)
    masks = [unpack(packed[i], weights) for i in range(meta["masks"])]
    check = min(ARGS.check, len(masks))
    metrics = [evaluate(x, y, weights, biases, masks[i]) for i in range(check)]
    print(json.dumps({"kind": "metrics", "metrics": [[a, l] for a, l in metrics]}), flush=True)
    rates = time_windows(x, y, weights, biases, masks)
    best = max(rates)
    print(
        json.dumps(
            {
                "kind": "figure",
                "evals_per_s": best,
                "evals_per_s_median": statistics.median(rates),
                "ms_per_eval": 1000 / best,
                "masks": len(masks),
                "numpy": np.__version__,
                "python": platform.python_version(),
                "blas": blas_info(),
                "threads": ARGS.threads,
                "blas_threads": blas_threads(),
                "windows": ARGS.windows,
                "window_s": ARGS.window_s,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the caller, never a traceback
        print(f"numpy-peer: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
