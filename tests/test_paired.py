#!/usr/bin/env python3
"""analysis/paired.py on a small hand-made results file: the paired per-seed differences, their
mean and 95 % interval (Student t) per epoch, and the verdict, against values worked out here
by hand; and the refusal when the two groups share fewer than 2 seeds.

usage: test_paired.py
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PAIRED = os.path.join(HERE, "..", "analysis", "paired.py")


def write(path, runs):
    with h5py.File(path, "w") as f:
        for i, (ablation, seed, acc) in enumerate(runs):
            g = f.create_group(f"runs/run{i}")
            g.attrs["ablation"] = ablation
            g.attrs["seed"] = seed
            m = g.create_group("metrics")
            m["test_accuracy"] = np.asarray(acc, dtype=float)


def run(*args):
    return subprocess.run([sys.executable, PAIRED, *args], capture_output=True, text=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.h5")
        # A - B per seed: epoch 1: 0.03, 0.04, 0.05 (mean 4 points, sd 1 point: separated);
        # epoch 2: 0.00, 0.00, 0.00 (not separated).
        write(path, [("a", 0, [0.53, 0.60]), ("a", 1, [0.54, 0.70]), ("a", 2, [0.55, 0.80]),
                     ("b", 0, [0.50, 0.60]), ("b", 1, [0.50, 0.70]), ("b", 2, [0.50, 0.80]),
                     ("c", 7, [0.1, 0.1])])
        r = run(path, "a", "b")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        half = 4.303 * 1.0 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n), in points
        assert lines[1].startswith("epoch 1: +4.00"), lines
        assert f"[{4 - half:+.2f}, {4 + half:+.2f}] separated" in lines[1], lines
        assert lines[2].startswith("epoch 2: +0.00") and "not separated" in lines[2], lines
        assert "per seed +3.00, +4.00, +5.00" in lines[1], lines
        r = run(path, "a", "c")
        assert r.returncode != 0 and "share 0 seed(s)" in (r.stderr + r.stdout), r
    print("test_paired: ok")


if __name__ == "__main__":
    main()
