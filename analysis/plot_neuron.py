"""The plots of one neuron in analysis/plot.py: a probe trajectory of a run, its phase portrait,
and the single-neuron stability map of a `wuxing stability` file. Each returns the PNG path or
raises Skip."""
from plot_common import plotting_modules
from plot_figure import Skip, label_axes, new_figure, save

h5py, matplotlib, plt, np = plotting_modules("plot.py")
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

REGIMES = ["propagator", "oscillator", "unstable", "undetermined"]  # docs/stability.md codes
REGIME_COLOURS = ["#4c9be8", "#f0a030", "#d0343a", "#bbbbbb"]


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


def neuron_trajectory(res, args):
    """(row, trajectory name, values [time, neuron, element], time) of --neuron in the
    requested or first run with probes."""
    i, g, name = find_trajectory(res, args)
    values, time = g["values"][:], g["time"][:]
    if values.ndim != 3 or values.shape[0] < 2:
        raise Skip(f"trajectory {name} of run {res.table['run_id'][i]} has fewer than 2 rows")
    if not 0 <= args.neuron < values.shape[1]:
        raise Skip(f"--neuron {args.neuron} outside the {values.shape[1]} recorded neurons")
    return i, name, values, time


def plot_trajectory(res, args):
    i, name, values, time = neuron_trajectory(res, args)
    fig, ax = new_figure("trajectory")
    colours = plt.cm.tab10(np.arange(values.shape[2]) % 10)
    for e in range(values.shape[2]):
        ax.plot(time, values[:, args.neuron, e], color=colours[e], label=f"element {e}")
    label_axes(ax, "time", "element value",
               f"run {res.table['run_id'][i]}, {name}, neuron {args.neuron}", title_size=10,
               fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "trajectory")


def plot_phase(res, args):
    i, name, values, time = neuron_trajectory(res, args)
    a, b = args.phase
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

