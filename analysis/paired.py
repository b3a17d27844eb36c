#!/usr/bin/env python3
"""Paired per-seed comparison of two ablations of one results file, at every epoch.

    analysis/paired.py RESULTS.h5 ABLATION_A ABLATION_B [--metric test_accuracy]

Prints per epoch the mean of A - B over the seeds both ran, with the 95 % confidence interval
of that mean (Student t), and whether the interval excludes 0. Used by results/REPRODUCTION.md's
claims table (issue 15) to decide "faster" (early epochs) and "better" (last epoch).
"""
import argparse
import math
import sys

import h5py
import numpy as np

# Two-sided 95 % Student t quantiles for 1..10 degrees of freedom.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def by_seed(f, ablation, metric):
    out = {}
    for rid in f["runs"]:
        g = f["runs"][rid]
        a = g.attrs.get("ablation")
        if isinstance(a, bytes):
            a = a.decode()
        if a == ablation and "metrics" in g:
            out[int(g.attrs["seed"])] = np.asarray(g["metrics"][metric][()], dtype=float)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--metric", default="test_accuracy")
    args = p.parse_args()
    with h5py.File(args.results, "r") as f:
        A, B = by_seed(f, args.a, args.metric), by_seed(f, args.b, args.metric)
    seeds = sorted(set(A) & set(B))
    if len(seeds) < 2:
        sys.exit(f"paired.py: {args.a} and {args.b} share {len(seeds)} seed(s); need 2")
    epochs = min(min(len(A[s]) for s in seeds), min(len(B[s]) for s in seeds))
    scale = 100.0 if args.metric.endswith("accuracy") else 1.0
    print(f"{args.a} - {args.b}, {args.metric}, seeds {seeds}")
    for e in range(epochs):
        d = np.array([A[s][e] - B[s][e] for s in seeds]) * scale
        m, sd = d.mean(), d.std(ddof=1)
        half = T95[len(d) - 2] * sd / math.sqrt(len(d))
        verdict = "separated" if abs(m) > half else "not separated"
        print(f"epoch {e + 1}: {m:+.2f} [{m - half:+.2f}, {m + half:+.2f}] {verdict};"
              f" per seed {', '.join(f'{x:+.2f}' for x in d)}")


if __name__ == "__main__":
    main()
