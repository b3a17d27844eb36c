#!/usr/bin/env python3
"""Renders every plot of analysis/plot.py from small files this test makes itself (a real
`build/wuxing run` of a tiny synthetic-data sweep over K3 x training.rule x seeds, with probes
and operating-point eigenvalues recorded, and `build/wuxing stability` on a reduced spec), then
checks each PNG: the size plot.py promises, not blank (pixel variance > 0, more than one colour)
and drawn data (a share of coloured pixels; axes, labels and text are grey). Also checks that
plots whose data a file lacks are skipped with a reason, not drawn empty. About 10-20 s.

usage: test_plot.py path/to/build/wuxing
"""
import os
import subprocess
import sys
import tempfile

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
from png_support import check_png, load_module  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.join(HERE, "..", "analysis", "plot.py")

RUN_SPEC = """\
name: plot-test
data: {dataset: synthetic, train_size: 120, test_size: 60, synthetic_features: 20,
       synthetic_classes: 10}
network: {hidden: [], connectivity: fixed}
integrator: {method: heun, h: 0.2, t_max: 60, tol: 1.0e-4, backward_t_max: 60,
             backward_tol: 1.0e-4}
training: {epochs: 3, learning_rate: 0.1, batch_size: 20}
# Runs this small may end unsettled or at chance level (numerical_trouble by default); the
# plots of every run are what is tested here, so every run counts as ok.
status: {max_unsettled_fraction: 1, min_above_chance: -1}
record: {probe_samples: [0], probe_layers: [0], trajectory_stride: 2, stability: true,
         stability_samples: 1}
sweep:
  grid: {model.K3: [0.3, 0.5], training.rule: [connection, bptt, mlp_backprop]}
  seeds: [0, 1]
"""

# n = 5 and 9 have a Hopf boundary (oscillator below it), n = 4 has none.
STABILITY_SPEC = """\
stability:
  equation: jiang-r1
  n: [4, 5, 9]
  g: 1
  k: 2
  K1: 1.0
  fixed_point: 1.0
  ratio_range: [0.01, 0.99]
  bisection_tol: 1.0e-4
  stepper: rk4
  h: 0.05
  perturbation: 1.0e-6
  rate_t_skip: 20
  rate_t_end: 60
  classify: {perturbation: 1.0e-3, stepper: dopri5, t_max: 300, divergence_factor: 1000}
  map: {ratio_points: 40, simulate: false}
"""

RUN_PLOTS = ["accuracy_vs_epoch", "heatmap", "trajectory", "phase_portrait", "rules",
             "stability_training"]


def load_plot_module():
    return load_module(PLOT, "wuxing_plot")


def plot(*args):
    r = subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def main():
    wuxing = sys.argv[1]
    plot_module = load_plot_module()
    sizes, dpi = plot_module.SIZES, plot_module.DPI
    with tempfile.TemporaryDirectory() as tmp:
        run_spec = os.path.join(tmp, "plot-test.yaml")
        stab_spec = os.path.join(tmp, "stab.yaml")
        with open(run_spec, "w") as f:
            f.write(RUN_SPEC)
        with open(stab_spec, "w") as f:
            f.write(STABILITY_SPEC)
        runs = os.path.join(tmp, "runs.h5")
        stab = os.path.join(tmp, "stab.h5")
        env = {k: v for k, v in os.environ.items() if k != "WUXING_FAKE_TRAINER"}
        subprocess.run([wuxing, "run", run_spec, "-o", runs, "--threads", "2"], check=True,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([wuxing, "stability", stab_spec, "-o", stab], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        out_runs = os.path.join(tmp, "png-runs")
        log = plot(runs, "--out", out_runs)
        for name in RUN_PLOTS:
            assert f"wrote {os.path.join(out_runs, name)}.png" in log, (name, log)
            check_png(os.path.join(out_runs, name + ".png"), sizes[name], dpi)
        assert "skipped stability_map" in log and "no /stability/map" in log, log
        assert not os.path.exists(os.path.join(out_runs, "stability_map.png"))

        out_stab = os.path.join(tmp, "png-stab")
        log = plot(stab, "--out", out_stab)
        check_png(os.path.join(out_stab, "stability_map.png"), sizes["stability_map"], dpi)
        for name in RUN_PLOTS:
            assert f"skipped {name}" in log, (name, log)
        assert os.listdir(out_stab) == ["stability_map.png"], os.listdir(out_stab)

        # Choosing the plots' data: another neuron and element pair, an explicit heatmap, one
        # grouping column; and skips for what the file cannot give.
        out_opt = os.path.join(tmp, "png-options")
        log = plot(runs, "--out", out_opt, "--neuron", "3", "--phase", "2,4", "--heatmap",
                   "training.rule,model.K3", "--by", "training.rule",
                   "--only", "trajectory,phase_portrait,heatmap,accuracy_vs_epoch")
        for name in ["trajectory", "phase_portrait", "heatmap", "accuracy_vs_epoch"]:
            check_png(os.path.join(out_opt, name + ".png"), sizes[name], dpi)
        # A different neuron gives a different picture.
        a = mpimg.imread(os.path.join(out_runs, "trajectory.png"))
        b = mpimg.imread(os.path.join(out_opt, "trajectory.png"))
        assert not np.array_equal(a, b)
        log = plot(runs, "--out", os.path.join(tmp, "png-skip"), "--neuron", "99",
                   "--heatmap", "model.K3,model.K9", "--only", "trajectory,heatmap")
        assert "skipped trajectory" in log and "--neuron 99" in log, log
        assert "skipped heatmap" in log and "model.K9" in log, log

    print("plot.py: every plot rendered and checked, skips reported")


if __name__ == "__main__":
    main()
