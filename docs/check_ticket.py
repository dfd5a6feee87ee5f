#!/usr/bin/env python3
"""Recompute a slt-ticket/1's accuracy with NumPy alone (no slt-islands code).

usage: python3 docs/check_ticket.py ticket.json test.csv[.gz] [--scale none|paper]

The CSV has one row per sample, the integer label in the last column, an optional header.
--scale paper maps the whole split (all features pooled) to [-0.7, 0.7] with its own min and max,
as the papers do for moons; circles are used raw.
"""
import argparse, base64, gzip, json, sys
import numpy as np

def f32(b64, shape):
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").reshape(shape)

def load_csv(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        lines = [l.strip() for l in f if l.strip()]
    try:
        float(lines[0].split(",")[0])
    except ValueError:
        lines = lines[1:]  # header
    data = np.array([[float(v) for v in l.split(",")] for l in lines])
    return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ticket"); ap.add_argument("data"); ap.add_argument("--scale", default="none")
    a = ap.parse_args()
    t = json.load(open(a.ticket))
    assert t["format"] == "slt-ticket/1"
    n_bits = t["mask"]["length"]
    packed = np.frombuffer(base64.b64decode(t["mask"]["bits"]), dtype=np.uint8)
    bits = np.unpackbits(packed, bitorder="little")[:n_bits].astype(np.float32)  # bit i = bit (i%8) of byte i//8
    x, y = load_csv(a.data)
    if a.scale == "paper":
        lo, hi = x.min(), x.max()
        x = ((x - lo) / (hi - lo) * 1.4 - 0.7).astype(np.float32)
    h, offset = x, 0
    for i, layer in enumerate(t["layers"]):
        out_n, in_n = layer["shape"]
        w = f32(layer["weight"], (out_n, in_n)) * bits[offset:offset + out_n * in_n].reshape(out_n, in_n)
        offset += out_n * in_n
        h = h.astype(np.float64) @ w.T.astype(np.float64) + f32(layer["bias"], (out_n,))
        h = h.astype(np.float32)
        if i < len(t["layers"]) - 1:
            h = np.maximum(h, 0)
    acc = float((h.argmax(axis=1) == y).mean())
    print(json.dumps({"accuracy": acc, "recordedTestAccuracy": t["metrics"].get("testAccuracy"), "samples": len(y)}))

if __name__ == "__main__":
    sys.exit(main())
