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

Needs Debian's python3-matplotlib and python3-h5py (run with /usr/bin/python3; another python3
first on PATH without them makes this script re-run itself under /usr/bin/python3).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_common import plotting_modules  # noqa: E402

h5py, matplotlib, plt, np = plotting_modules("plot.py")
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

DPI = 100
SIZES = {  # inches; the PNG is SIZES[name] * DPI pixels (no tight bbox, so sizes are fixed)
    "accuracy_vs_epoch": (8, 5),
    "heatmap": (7, 5.5),
    "trajectory": (8, 5),
    "phase_portrait": (6, 6),
    "stability_map": (12, 5),
    "rules": (8, 5),
    "stability_training": (11, 4.5),
}
PLOTS = list(SIZES)
REGIMES = ["propagator", "oscillator", "unstable", "undetermined"]  # docs/stability.md codes
REGIME_COLOURS = ["#4c9be8", "#f0a030", "#d0343a", "#bbbbbb"]


class Skip(Exception):
    """The file does not hold this plot's data (the message says what is missing)."""


# ---------------------------------------------------------------------------------------------
# Reading

def short(key):
    """`model.K3` -> `K3`, `training.rule` -> `rule` (for labels)."""
    return key.rsplit(".", 1)[-1]


def fmt_value(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


def unquote(text):
    """A YAML scalar's text without its quotes (the canonical config quotes strings)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)  # YAML double-quoted escapes are a superset of JSON's
        except ValueError:
            return text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def config_value(config_yaml, dotted):
    """Value text of `a.b` in a canonical config (nested two-space-indented mappings)."""
    parts = dotted.split(".")
    depth = 0
    for line in config_yaml.splitlines():
        indent = (len(line) - len(line.lstrip(" "))) // 2
        name, _, value = line.strip().partition(":")
        if indent < depth:
            return None  # left the mapping we were in
        if indent == depth and name == parts[depth]:
            if depth == len(parts) - 1:
                return unquote(value.strip())
            depth += 1
    return None


class Results:
    """One results file: /index as columns, and lazy access to /runs."""

    def __init__(self, path):
        self.path = path
        self.f = h5py.File(path, "r")
        self.has_index = "index" in self.f and self.f.attrs.get("format") == "wuxing-results"
        self.table, self.swept = {}, []
        if self.has_index:
            idx = self.f["index"]
            cols = [str(c) for c in idx.attrs["columns"]]
            self.table = {c: (idx[c].asstr()[:] if idx[c].dtype.kind == "O" else idx[c][:])
                          for c in cols}
            self.swept = [str(c) for c in self.f.attrs.get("swept_columns", [])]
        self.rows = len(self.table.get("run_id", []))

    def ok_rows(self):
        return [i for i in range(self.rows) if self.table["status"][i] == "ok"]

    def run(self, i):
        return self.f["runs"][self.table["run_id"][i]]

    def metric(self, i, name):
        m = self.run(i).get("metrics")
        if m is None or name not in m:
            return None
        return m[name][:]

    def config(self, i, dotted):
        return config_value(self.run(i).attrs["config_yaml"], dotted)

    def close(self):
        self.f.close()


def group_columns(res, by):
    if by:
        for c in by:
            if c not in res.swept:
                raise SystemExit(f"plot.py: {res.path}: cannot group by '{c}': not a swept column "
                                 f"(swept: {', '.join(res.swept) or 'none'})")
        return by
    return [c for c in res.swept if c != "seed"]


def groups_of(res, rows, cols):
    """Ordered {key tuple: [row, ...]} in order of first appearance (the sweep order)."""
    groups = {}
    for i in rows:
        groups.setdefault(tuple(res.table[c][i] for c in cols), []).append(i)
    return groups


def label_of(cols, key):
    if not cols:
        return "all runs"
    return ", ".join(f"{short(c)}={fmt_value(v)}" for c, v in zip(cols, key))


def curves(res, rows, metric):
    """Mean and std per epoch over the runs in `rows` that recorded `metric`."""
    series = [s for s in (res.metric(i, metric) for i in rows) if s is not None and len(s)]
    if not series:
        return None
    length = max(len(s) for s in series)
    stacked = np.full((len(series), length), np.nan)
    for r, s in enumerate(series):
        stacked[r, :len(s)] = s
    mean, std = np.full(length, np.nan), np.zeros(length)
    for e in range(length):
        col = stacked[:, e][np.isfinite(stacked[:, e])]
        if len(col):
            mean[e] = col.mean()
        if len(col) > 1:
            std[e] = col.std(ddof=1)
    return np.arange(1, length + 1), mean, std, len(series)


def group_styles(count):
    """(colour, marker, linestyle) per group: categorical colours, and markers and dashes that
    differ too, so that groups with identical curves (e.g. connection and bptt) stay visible."""
    colours = (plt.cm.tab10(np.arange(count) % 10) if count <= 10
               else plt.cm.viridis(np.linspace(0, 0.95, count)))
    markers, dashes = "osD^vP*X", ["-", "--", "-.", ":"]
    return [(colours[i], markers[i % len(markers)], dashes[(i // 2) % len(dashes)])
            for i in range(count)]


def new_figure(name, ncols=1):
    fig, axes = plt.subplots(1, ncols, figsize=SIZES[name], dpi=DPI)
    return fig, axes


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name + ".png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------
# Plots (each returns the PNG path or raises Skip)

def plot_accuracy(res, args):
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    ok = res.ok_rows()
    if not ok:
        raise Skip("no run with status ok")
    cols = group_columns(res, args.by)
    groups = groups_of(res, ok, cols)
    fig, ax = new_figure("accuracy_vs_epoch")
    drawn = 0
    for (colour, marker, dash), (key, rows) in zip(group_styles(len(groups)), groups.items()):
        c = curves(res, rows, "test_accuracy")
        if c is None:
            continue
        epochs, mean, std, n = c
        ax.plot(epochs, 100 * mean, marker=marker, linestyle=dash, color=colour,
                markersize=7 - 0.3 * (drawn % 10), label=f"{label_of(cols, key)} (n={n})")
        ax.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), color=colour, alpha=0.2)
        drawn += 1
    if not drawn:
        plt.close(fig)
        raise Skip("no run recorded metrics/test_accuracy")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{res.f.attrs.get('spec_name', '')}: test accuracy, mean ± std over ok runs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small" if drawn <= 8 else "x-small", ncol=1 if drawn <= 10 else 2)
    fig.tight_layout()
    return save(fig, args.out, "accuracy_vs_epoch")


def axis_values(res, col, rows):
    vals = [res.table[col][i] for i in rows]
    uniq = list(dict.fromkeys(vals))
    if all(isinstance(v, (float, np.floating, int, np.integer)) for v in uniq):
        uniq = sorted(uniq)
    return uniq


def plot_heatmap(res, args):
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    candidates = [c for c in res.swept if c != "seed"]
    if args.heatmap:
        x, y = args.heatmap
        for c in (x, y):
            if c not in res.swept:
                raise Skip(f"--heatmap column '{c}' is not swept in this file "
                           f"(swept: {', '.join(res.swept) or 'none'})")
    elif len(candidates) >= 2:
        x, y = candidates[0], candidates[1]
    else:
        raise Skip(f"fewer than two swept parameters besides the seed "
                   f"(swept: {', '.join(res.swept) or 'none'}); --heatmap x,y to choose")
    ok = res.ok_rows()
    if not ok:
        raise Skip("no run with status ok")
    xs, ys = axis_values(res, x, ok), axis_values(res, y, ok)
    grid = np.full((len(ys), len(xs)), np.nan)
    count = np.zeros_like(grid, dtype=int)
    for (xv, yv), rows in groups_of(res, ok, [x, y]).items():
        acc = np.array([res.table["final_test_accuracy"][i] for i in rows], dtype=float)
        acc = acc[np.isfinite(acc)]
        if len(acc):
            grid[ys.index(yv), xs.index(xv)] = acc.mean()
            count[ys.index(yv), xs.index(xv)] = len(acc)
    if not np.isfinite(grid).any():
        raise Skip("no finite final test accuracy")
    fig, ax = new_figure("heatmap")
    cmap = plt.cm.viridis.copy()
    cmap.set_bad("#dddddd")
    im = ax.imshow(100 * np.ma.masked_invalid(grid), origin="lower", aspect="auto", cmap=cmap)
    fig.colorbar(im, ax=ax, label="mean final test accuracy (%)")
    ax.set_xticks(range(len(xs)), [fmt_value(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
    ax.set_yticks(range(len(ys)), [fmt_value(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = grid[np.isfinite(grid)]
    mid = 100 * (finite.min() + finite.max()) / 2
    for r in range(len(ys)):
        for c in range(len(xs)):
            if np.isfinite(grid[r, c]) and len(xs) * len(ys) <= 100:
                v = 100 * grid[r, c]
                ax.text(c, r, f"{v:.1f}\n(n={count[r, c]})", ha="center", va="center",
                        fontsize=7, color="black" if v > mid else "white")
    others = [c for c in res.swept if c not in (x, y)]
    ax.set_title("mean final test accuracy" + (f" (averaged over {', '.join(map(short, others))})"
                                               if others else ""), fontsize=10)
    fig.tight_layout()
    return save(fig, args.out, "heatmap")


def find_trajectory(res, args):
    """(row, trajectory group, its name) of the requested or first run with probes."""
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    rows = range(res.rows)
    if args.run:
        rows = [i for i in rows if res.table["run_id"][i] == args.run]
        if not rows:
            raise Skip(f"no run {args.run} in the file")
    for i in rows:
        traj = res.run(i).get("trajectories")
        if traj is not None and len(traj):
            name = sorted(traj.keys())[0]
            return i, traj[name], name
    raise Skip("no run recorded probe trajectories (record.probe_samples / probe_layers)")


def plot_trajectory(res, args):
    i, g, name = find_trajectory(res, args)
    values, time = g["values"][:], g["time"][:]
    if values.ndim != 3 or values.shape[0] < 2:
        raise Skip(f"trajectory {name} of run {res.table['run_id'][i]} has fewer than 2 rows")
    if not 0 <= args.neuron < values.shape[1]:
        raise Skip(f"--neuron {args.neuron} outside the {values.shape[1]} recorded neurons")
    fig, ax = new_figure("trajectory")
    colours = plt.cm.tab10(np.arange(values.shape[2]) % 10)
    for e in range(values.shape[2]):
        ax.plot(time, values[:, args.neuron, e], color=colours[e], label=f"element {e}")
    ax.set_xlabel("time")
    ax.set_ylabel("element value")
    ax.set_title(f"run {res.table['run_id'][i]}, {name}, neuron {args.neuron}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "trajectory")


def plot_phase(res, args):
    i, g, name = find_trajectory(res, args)
    values, time = g["values"][:], g["time"][:]
    a, b = args.phase
    if values.ndim != 3 or values.shape[0] < 2:
        raise Skip(f"trajectory {name} has fewer than 2 rows")
    if not 0 <= args.neuron < values.shape[1]:
        raise Skip(f"--neuron {args.neuron} outside the {values.shape[1]} recorded neurons")
    if max(a, b) >= values.shape[2] or min(a, b) < 0 or a == b:
        raise Skip(f"--phase {a},{b}: need two different elements of 0..{values.shape[2] - 1}")
    xa, xb = values[:, args.neuron, a], values[:, args.neuron, b]
    fig, ax = new_figure("phase_portrait")
    ax.plot(xa, xb, color="0.6", lw=0.8, zorder=1)
    sc = ax.scatter(xa, xb, c=time, cmap="plasma", s=10, zorder=2)
    ax.plot(xa[0], xb[0], "go", ms=8, label="start")
    ax.plot(xa[-1], xb[-1], "k*", ms=12, label="end")
    fig.colorbar(sc, ax=ax, label="time")
    ax.set_xlabel(f"element {a}")
    ax.set_ylabel(f"element {b}")
    ax.set_title(f"phase portrait: run {res.table['run_id'][i]}, {name}, neuron {args.neuron}",
                 fontsize=9)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "phase_portrait")


def plot_stability_map(res, args):
    if "stability/map" not in res.f:
        raise Skip("no /stability/map (write one with `build/wuxing stability SPEC -o FILE.h5`)")
    m = res.f["stability/map"]
    ns, ratio = m["n"][:], m["ratio"][:]
    regime, max_re = m["regime"][:], m["max_real_eigenvalue"][:]
    if len(ns) == 0 or len(ratio) < 2:
        raise Skip("the stability map is empty")
    # Cell edges: midpoints between the sampled ratios, and one row per n.
    edges = np.concatenate([[ratio[0] - (ratio[1] - ratio[0]) / 2],
                            (ratio[:-1] + ratio[1:]) / 2,
                            [ratio[-1] + (ratio[-1] - ratio[-2]) / 2]])
    rows = np.arange(len(ns) + 1) - 0.5
    fig, (ax, ax2) = new_figure("stability_map", ncols=2)
    cmap = ListedColormap(REGIME_COLOURS)
    ax.pcolormesh(edges, rows, regime, cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, 4.5), 4))
    lim = np.nanmax(np.abs(max_re))
    mesh = ax2.pcolormesh(edges, rows, max_re, cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.colorbar(mesh, ax=ax2, label="max Re λ (closed form)")
    handles = [Patch(color=REGIME_COLOURS[c], label=REGIMES[c]) for c in np.unique(regime)
               if 0 <= c < 4]
    scan = res.f.get("stability/scan")
    if scan is not None and "analytic_boundary" in scan:
        sn, bound = scan["n"][:], scan["analytic_boundary"][:]
        sim = scan["simulated_boundary"][:] if "simulated_boundary" in scan else None
        first = True
        for r, n in enumerate(ns):
            hit = np.nonzero(sn == n)[0]
            if not len(hit) or not np.isfinite(bound[hit[0]]):
                continue
            for a in (ax, ax2):
                a.plot([bound[hit[0]]] * 2, [r - 0.5, r + 0.5], "k-", lw=2.5,
                       label="analytic Hopf boundary" if first and a is ax else None)
                if sim is not None and np.isfinite(sim[hit[0]]):
                    a.plot(sim[hit[0]], r, "wx", ms=8, mew=2,
                           label="simulated boundary" if first and a is ax else None)
            first = False
        if first:
            handles.append(Patch(color="white", label="no Hopf boundary in range"))
    else:
        handles.append(Patch(color="white", label="(no /stability/scan: boundary not drawn)"))
    line_handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + line_handles, fontsize="small", loc="upper right")
    attrs = res.f["stability"].attrs
    for a in (ax, ax2):
        a.set_yticks(range(len(ns)), [str(n) for n in ns])
        a.set_xlabel("K3 / K1")
        a.set_ylabel("elements n")
    ax.set_title(f"predicted regime (g = {attrs.get('g', '?')}, k = {attrs.get('k', '?')})")
    ax2.set_title("max Re λ at the fixed point")
    fig.tight_layout()
    return save(fig, args.out, "stability_map")


def plot_rules(res, args):
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    ok = res.ok_rows()
    by_rule = {}
    for i in ok:
        by_rule.setdefault(res.config(i, "training.rule") or "?", []).append(i)
    if len(by_rule) < 2:
        raise Skip(f"the ok runs use one training.rule only ({', '.join(by_rule) or 'none'})")
    fig, ax = new_figure("rules")
    colours = {"connection": "tab:blue", "fixed_point": "tab:cyan", "pid": "tab:purple",
               "bptt": "tab:orange", "mlp_backprop": "tab:red"}
    for rule, rows in by_rule.items():
        colour = colours.get(rule, "tab:gray")
        for metric, style, suffix in (("test_accuracy", "o-", "test"),
                                      ("train_accuracy", "--", "train")):
            c = curves(res, rows, metric)
            if c is None:
                continue
            epochs, mean, std, n = c
            ax.plot(epochs, 100 * mean, style, color=colour, label=f"{rule} {suffix} (n={n})")
            if suffix == "test":
                ax.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), color=colour,
                                alpha=0.2)
    others = [c for c in res.swept if c not in ("seed", "training.rule", "ablation")]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)")
    ax.set_title("learning curves by training rule, mean ± std over ok runs" +
                 (f"\n(pooled over {', '.join(map(short, others))})" if others else ""),
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "rules")


def plot_stability_training(res, args):
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    ok = res.ok_rows()
    cols = group_columns(res, args.by)
    groups = groups_of(res, ok, cols)
    have = [i for i in ok if "stability" in res.run(i) and len(res.run(i)["stability"])]
    if not have:
        raise Skip("no run recorded operating-point eigenvalues (record.stability: true)")
    fig, (ax, ax2) = new_figure("stability_training", ncols=2)
    for (colour, marker, dash), (key, rows) in zip(group_styles(len(groups)), groups.items()):
        c = curves(res, [i for i in rows if i in have], "max_re_lambda")
        if c is None:
            continue
        epochs, mean, std, n = c
        ax.errorbar(epochs, mean, yerr=std, marker=marker, linestyle=dash, color=colour,
                    capsize=3, label=f"{label_of(cols, key)} (n={n})")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("max Re λ of the operating point")
    ax.set_title("stability across training", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small")
    i = have[0]
    st = res.run(i)["stability"]
    epochs = sorted(int(k.split("_")[1]) for k in st.keys())
    for e, marker, colour in ((epochs[0], "o", "tab:blue"), (epochs[-1], "x", "tab:red")):
        g = st[f"epoch_{e}"]
        ax2.scatter(g["real"][:], g["imag"][:], marker=marker, s=14, color=colour,
                    label=f"after epoch {e}")
        if e == epochs[-1] and len(epochs) == 1:
            break
    ax2.axvline(0, color="k", lw=0.8)
    ax2.set_xlabel("Re λ")
    ax2.set_ylabel("Im λ")
    ax2.set_title(f"eigenvalues, run {res.table['run_id'][i]}", fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "stability_training")


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
