#!/usr/bin/env python3
"""Reads a results file written by build/wuxing the way users do (h5py), following
docs/results-format.md. Uses the test-only fake trainer (WUXING_FAKE_TRAINER), so it
checks the file format, not the numerics.

usage: test_h5py.py path/to/build/wuxing_fake   (the tests' build of the command line,
       whose trainer is the fake one when WUXING_FAKE_TRAINER is set: tests/fake/)
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

SPEC = """\
name: h5py-test
description: read back with h5py
data: {dataset: synthetic, train_size: 100, test_size: 20}
training: {epochs: 3}
record: {probe_samples: [0, 2], probe_layers: [0], stability: true}
sweep:
  grid: {model.K3: [0.2, 0.4], training.rule: [connection, bptt]}
  seeds: {repeat: 3}
"""


def main():
    wuxing = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "h5py-test.yaml")
        out = os.path.join(tmp, "out.h5")
        with open(spec, "w") as f:
            f.write(SPEC)
        env = dict(os.environ, WUXING_FAKE_TRAINER="0")
        subprocess.run([wuxing, "run", spec, "-o", out, "--threads", "2"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        with h5py.File(out, "r") as f:
            assert f.attrs["format"] == "wuxing-results", f.attrs["format"]
            assert f.attrs["format_version"] == 1
            assert f.attrs["spec_name"] == "h5py-test"
            assert len(f.attrs["spec_fingerprint"]) == 16

            index = f["index"]
            columns = [str(c) for c in index.attrs["columns"]]
            assert columns[:2] == ["run_id", "status"], columns
            for c in ["model.K3", "training.rule", "seed", "final_test_accuracy", "wall_seconds"]:
                assert c in columns, (c, columns)
            # One dict of numpy arrays: pandas.DataFrame(table) works as is.
            table = {c: (index[c].asstr()[:] if index[c].dtype.kind == "O" else index[c][:])
                     for c in columns}
            n = len(table["run_id"])
            assert n == 12, n
            assert all(len(v) == n for v in table.values())
            assert list(table["status"]) == ["ok"] * 12
            assert table["model.K3"].dtype == np.float64
            assert sorted(set(table["model.K3"])) == [0.2, 0.4]
            assert set(table["training.rule"]) == {"connection", "bptt"}
            assert list(table["seed"][:3]) == [0, 1, 2]
            assert np.all((table["final_test_accuracy"] > 0) & (table["final_test_accuracy"] <= 1))

            run_id = table["run_id"][5]
            run = f["runs"][run_id]
            assert run.attrs["status"] == "ok"
            assert "K3:" in run.attrs["config_yaml"]
            assert len(run.attrs["git_commit"]) >= 7
            acc = run["metrics/test_accuracy"][:]
            assert list(run["metrics/epoch"][:]) == [1, 2, 3]
            assert acc[-1] == table["final_test_accuracy"][5]
            traj = run["trajectories/sample_2_layer_0/values"]
            assert traj.ndim == 3 and traj.shape[2] == 5, traj.shape
            assert [str(d) for d in traj.attrs["dims"]] == ["time", "neuron", "element"]
            assert traj.compression == "gzip" and traj.chunks is not None
            assert run["trajectories/sample_2_layer_0/time"].shape[0] == traj.shape[0]
            assert run["stability/epoch_3/real"].shape == run["stability/epoch_3/imag"].shape
            assert "K3" in run["parameters/layer_0"]
    print("h5py read of /index and /runs: ok")


if __name__ == "__main__":
    main()
