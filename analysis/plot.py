#!/usr/bin/env python3
"""Plots of a wuxing results file (docs/results-format.md) or stability file (docs/stability.md).

usage: analysis/plot.py FILE.h5 [FILE.h5 ...] --out DIR [--by k1,k2] [--heatmap x,y]
                        [--run RUN_ID] [--neuron I] [--phase a,b] [--only name,...]

Writes PNGs into DIR (fixed sizes at 100 dpi, see SIZES):
  accuracy_vs_epoch.png   test accuracy (mean +- std over the ok runs of each group) vs epoch;
                          groups as in `wuxing report` (every swept column but the seed, or --by)
  heatmap.png             mean final test accuracy over two swept parameters (the first two
                          besides the seed, or --heatmap x,y)
  trajectory.png          probe trajectory: every element of one neuron vs time
  phase_portrait.png      the same neuron, element a against element b (--phase, default 0,1)
  stability_map.png       single-neuron regimes over K3/K1 x n with the analytic Hopf boundary,
                          and max Re lambda (from `wuxing stability`, /stability)
  rules.png               learning curves per training.rule (local rules vs bptt vs mlp_backprop)
  stability_training.png  operating-point max Re lambda across training, and the eigenvalues of
                          the first and last recorded epoch (record.stability: true)
A plot whose data the file does not hold is skipped with a printed reason.

The plots live in plot_training.py and plot_neuron.py, over plot_results.py (reading the file)
and plot_figure.py (sizes, styles, saving).

Needs Debian's python3-matplotlib and python3-h5py (run with /usr/bin/python3; another python3
first on PATH without them makes this script re-run itself under /usr/bin/python3).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_common import plotting_modules  # noqa: E402

plotting_modules("plot.py")  # first: re-runs this under /usr/bin/python3 if they are missing
from plot_figure import DPI, PLOTS, SIZES, Skip  # noqa: E402
from plot_neuron import plot_phase, plot_stability_map, plot_trajectory  # noqa: E402
from plot_training import (plot_accuracy, plot_heatmap, plot_rules,  # noqa: E402
                           plot_stability_training)
from plot_results import Results  # noqa: E402

__all__ = ["DPI", "SIZES", "PLOT_FUNCTIONS", "main"]  # tests/test_plot.py reads SIZES and DPI

PLOT_FUNCTIONS = {
    "accuracy_vs_epoch": plot_accuracy,
    "heatmap": plot_heatmap,
    "trajectory": plot_trajectory,
    "phase_portrait": plot_phase,
    "stability_map": plot_stability_map,
    "rules": plot_rules,
    "stability_training": plot_stability_training,
}


def pair(text, convert=str):
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two comma-separated values, got '{text}'")
    return [convert(p.strip()) for p in parts]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="results or stability files (HDF5)")
    p.add_argument("--out", required=True, help="directory for the PNGs (created)")
    p.add_argument("--by", type=lambda s: [c.strip() for c in s.split(",") if c.strip()],
                   default=None, help="group runs by these swept columns")
    p.add_argument("--heatmap", type=pair, help="x,y: the two swept columns of the heatmap")
    p.add_argument("--run", help="run ID for the trajectory plots (default: first with probes)")
    p.add_argument("--neuron", type=int, default=0, help="neuron of the trajectory plots")
    p.add_argument("--phase", type=lambda s: pair(s, int), default=[0, 1],
                   help="a,b: elements of the phase portrait (default 0,1)")
    p.add_argument("--only", type=lambda s: [c.strip() for c in s.split(",")], default=PLOTS,
                   help=f"comma-separated subset of {','.join(PLOTS)}")
    args = p.parse_args(argv)
    for name in args.only:
        if name not in PLOT_FUNCTIONS:
            p.error(f"--only: unknown plot '{name}' (known: {', '.join(PLOTS)})")
    os.makedirs(args.out, exist_ok=True)
    # Several files: later files' plots of the same name would overwrite, so give each its
    # own subdirectory.
    for path in args.files:
        out = args.out if len(args.files) == 1 else os.path.join(
            args.out, os.path.splitext(os.path.basename(path))[0])
        os.makedirs(out, exist_ok=True)
        try:
            res = Results(path)
        except OSError as e:
            sys.exit(f"plot.py: cannot read {path}: {e}")
        file_args = argparse.Namespace(**{**vars(args), "out": out})
        try:
            for name in args.only:
                try:
                    print(f"wrote {PLOT_FUNCTIONS[name](res, file_args)}")
                except Skip as why:
                    print(f"skipped {name} ({path}): {why}")
        finally:
            res.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
