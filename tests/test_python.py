#!/usr/bin/env python3
"""The Python module `wuxing` (docs/python.md) with Debian's python3: load() against what h5py
reads, run() in-process against `build/wuxing run`, the per-epoch callback, pruning, an
exception in the callback, a grown sweep, validate() and config().

usage: test_python.py path/to/build/wuxing_fake   (ctest sets PYTHONPATH to the package and
       build/python-fake: the tests' build of the module, with the fake trainer of tests/fake/)
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import pandas as pd

SPEC = """\
name: python-test
data: {dataset: synthetic, train_size: 60, test_size: 20}
integrator: {h: 0.2, tol: 1.0e-4, backward_tol: 1.0e-4}
training: {epochs: 2, optimizer: adam, learning_rate: 0.05}
record: {probe_samples: [0], probe_layers: [0], stability: true}
sweep:
  grid: {model.K3: [0.4, 0.6]}
  seeds: [0, 1]
"""


def check_load(wuxing, path):
    res = wuxing.load(path)
    assert len(res.runs) == 4, res.runs
    assert list(res.runs.columns[:2]) == ["run_id", "status"], res.runs.columns
    assert res.swept == ["model.K3", "seed"], res.swept
    assert res.runs["model.K3"].dtype == np.float64
    with h5py.File(path, "r") as f:
        for _, row in res.runs.iterrows():
            acc = f[f"runs/{row.run_id}/metrics/test_accuracy"][:]
            assert row.final_test_accuracy == acc[-1]
            curve = res.curves("test_accuracy")
            mine = curve[curve.run_id == row.run_id].sort_values("epoch")["test_accuracy"].to_numpy()
            assert np.array_equal(mine, acc), (mine, acc)
            assert res.config(row.run_id) == f[f"runs/{row.run_id}"].attrs["config_yaml"]
    e = res.epochs
    assert {"run_id", "model.K3", "seed", "epoch", "metric", "value"} <= set(e.columns), e.columns
    metrics = sorted(e.metric.unique())
    assert "test_accuracy" in metrics and "unsettled_samples" in metrics, metrics
    assert len(e) == 4 * 2 * len(metrics)
    assert len(res.probes) == 4
    for (rid, sample, layer), p in res.probes.items():
        assert (sample, layer) == (0, 0)
        assert p["values"].ndim == 3 and p["values"].shape[0] == p["time"].shape[0]
        assert p["values"].shape[2] == 5  # elements
    assert len(res.eigenvalues) == 4 * 2
    assert all(np.iscomplexobj(v) for v in res.eigenvalues.values())
    return res


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the module is found from any directory
        import wuxing
        spec = os.path.join(tmp, "python-test.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)

        # validate / config / plan
        v = wuxing.validate(spec)
        assert v["runs"] == 4 and v["name"] == "python-test" and len(v["fingerprint"]) == 16, v
        assert wuxing.validate(spec, {"sweep.seeds": [0, 1, 2]})["runs"] == 6
        try:
            wuxing.validate(spec, ["model.K3=0.6", "model.K1=0.5"])
            raise AssertionError("expected a SpecError")
        except wuxing.SpecError as e:
            assert "K1 must be greater than K3" in str(e), str(e)
            assert isinstance(e, ValueError)
        assert "sweep:" in wuxing.config(spec)
        plan = wuxing.plan(spec)
        assert list(plan.columns) == ["index", "run_id", "model.K3", "seed"], plan.columns

        # The real trainer in-process, with the per-epoch callback.
        seen = []
        res = wuxing.run(spec, output="real.h5", on_epoch=seen.append, threads=2)
        assert res.summary["ran"] == 4 and res.summary["ok"] == 4, res.summary
        assert sorted((s["run_id"], s["epoch"]) for s in seen) == sorted(
            (rid, ep) for rid in res.runs.run_id for ep in (1, 2))
        last = {s["run_id"]: s["test_accuracy"] for s in seen if s["epoch"] == 2}
        for _, row in res.runs.iterrows():
            assert last[row.run_id] == row.final_test_accuracy
        check_load(wuxing, "real.h5")

        # In-process and `wuxing run` store the same results (the fake trainer from here on).
        os.environ["WUXING_FAKE_TRAINER"] = "0"
        subprocess.run([binary, "run", spec, "-o", "cli.h5"], check=True,
                       env=dict(os.environ, WUXING_ASSEMBLE_INTERVAL="0"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mine = wuxing.run(spec, output="py.h5")
        cli = check_load(wuxing, "cli.h5")
        cols = ["run_id", "status", "model.K3", "seed", "final_test_accuracy", "epochs_done"]
        pd.testing.assert_frame_equal(mine.runs[cols], cli.runs[cols])

        # A callback returning False prunes that run: stored with status `pruned`.
        pruned = wuxing.run(spec, output="pruned.h5",
                            on_epoch=lambda m: not (m["epoch"] == 1 and m["test_accuracy"] < 2))
        assert set(pruned.runs.status) == {"pruned"}, pruned.runs
        assert set(pruned.runs.epochs_done) == {1}

        # An exception in the callback stops the sweep and is raised here; the next run
        # finishes what is missing.
        class Boom(Exception):
            pass

        def boom(m):
            raise Boom("stop here")
        try:
            wuxing.run(spec, output="boom.h5", on_epoch=boom)
            raise AssertionError("expected Boom")
        except Boom:
            pass
        again = wuxing.run(spec, output="boom.h5")
        assert again.summary["ran"] + again.summary["skipped"] == 4
        assert list(again.runs.status) == ["ok"] * 4

        # A grown sweep runs only its new runs.
        grown = wuxing.run(spec, {"sweep.seeds": [0, 1, 2]}, output="py.h5")
        assert grown.summary["skipped"] == 4 and grown.summary["ran"] == 2, grown.summary
        assert len(grown.runs) == 6 and list(grown.runs.seed) == [0, 1, 2, 0, 1, 2]

        try:
            wuxing.load("missing.h5")
            raise AssertionError("expected FileNotFoundError")
        except FileNotFoundError:
            pass
    print("test_python: ok")


if __name__ == "__main__":
    main()
