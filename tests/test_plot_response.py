#!/usr/bin/env python3
"""`build/wuxing response` read the way users read it: runs the command on a small spec (both
value ranges), checks the HDF5 layout of docs/stability.md with h5py (the fold of the default
range, a zero eigenvalue there, the branches and their kinds), renders analysis/plot_response.py
and checks each PNG: the promised size, not blank, and drawn data. A few seconds.

usage: test_plot_response.py path/to/build/wuxing
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from png_support import check_png, load_module

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.join(HERE, "..", "analysis", "plot_response.py")

SPEC = """\
name: response-test
model: {variant: jiang-r1, K1: 1.0, K2: 0.5, K3: 0.5}
network: {hidden: [10], connectivity: fixed, input_element: 1, output_element: 2,
          x_min: 0.0, x_max: 4.0}
integrator: {method: heun, h: 0.2, t_max: 100, tol: 1.0e-4}
"""


def load_plot_module():
    return load_module(PLOT, "wuxing_plot_response")


def main():
    wuxing = sys.argv[1]
    module = load_plot_module()
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "response-test.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)
        files = {}
        for name, overrides in [("default", []), ("band", ["network.x_min=0.5", "network.x_max=1.5"])]:
            path = os.path.join(tmp, name + ".h5")
            r = subprocess.run([wuxing, "response", spec, *overrides, "--u-min", "-1.2", "--u-max",
                                "2.5", "--du", "0.02", "-o", path], capture_output=True, text=True)
            assert r.returncode == 0, (r.stdout, r.stderr)
            assert "stable branch ends" in r.stdout, r.stdout
            files[name] = path

        with h5py.File(files["default"], "r") as f:
            r = f["/response"]
            left, right = r.attrs["stable_branch_end_u"]
            assert list(r.attrs["stable_branch_end_crossing"]) == [1, 0]  # fold, none
            assert -0.8 < left < -0.65 and np.isinf(right), (left, right)
            sp = r["special"]
            fold = (sp["branch"][:] == 0) & (sp["crossing"][:] == 1)
            assert fold.sum() == 1
            assert abs(sp["u"][fold][0] - left) == 0.0
            assert sp["min_abs_eigenvalue"][fold][0] < 1e-6
            kinds = list(r["branches/kind"][:])
            assert kinds[:2] == [0, 1] and all(k == 2 for k in kinds[2:]), kinds
            p = r["points"]
            n = len(p["u"])
            for name in ["branch", "u", "s", "gain", "max_real", "stable", "in_range", "end"]:
                assert p[name].shape == (n,), name
            for name in ["x", "clamp", "eigenvalue_real", "eigenvalue_imag"]:
                assert p[name].shape == (n, 5), name
            # The stable branch is stable, and the integration below the fold collapses to s = -x*.
            assert (p["stable"][:][p["branch"][:] == 0] == 1).all()
            i = r["integrated"]
            below = i["u"][:] < left - 0.05
            assert below.any() and np.allclose(i["s"][:][below], -1.0)

        with h5py.File(files["band"], "r") as f:
            r = f["/response"]
            assert list(r.attrs["stable_branch_end_crossing"]) == [0, 0]
            s = r["points/s"][:][r["points/branch"][:] == 0]
            assert s.min() == -0.5 and s.max() == 0.5, (s.min(), s.max())

        out = os.path.join(tmp, "png")
        r = subprocess.run([sys.executable, PLOT, files["default"], files["band"], "--out", out],
                           capture_output=True, text=True)
        assert r.returncode == 0, (r.stdout, r.stderr)
        for name in files:
            check_png(os.path.join(out, name + ".png"), module.SIZE, module.DPI)
        # A file without /response is refused with a reason.
        other = os.path.join(tmp, "other.h5")
        with h5py.File(other, "w") as f:
            f.create_group("stability")
        r = subprocess.run([sys.executable, PLOT, other, "--out", out], capture_output=True,
                           text=True)
        assert r.returncode != 0 and "no /response group" in r.stderr, (r.stdout, r.stderr)
    print("wuxing response: HDF5 layout checked; plot_response.py rendered both ranges")


if __name__ == "__main__":
    main()
