#!/usr/bin/env python3
"""Bifurcation diagram in u of a `wuxing response` file (/response, docs/stability.md).

usage: analysis/plot_response.py FILE.h5 [FILE.h5 ...] --out DIR [--u-range=LO,HI]

Writes DIR/<file stem>.png (11 x 4.5 in at 100 dpi) per file:
  left:  s(u) on every branch: the stable branch through x* (solid blue), the unclamped
         branch through its folds (stable parts thin grey; unstable and within the value range
         dashed red; outside the range dotted), other clamped branches (solid green where stable,
         dashed where not), folds (x) and Hopf points (o) labelled with u, the knees where an
         element of the stable branch starts being held (white diamonds), the states reached by
         integrating from x* (grey dots), and the gain ds/du of the stable branch (orange, right
         axis);
  right: settling time along the stable branch, ln(1e5) / -max Re lambda, and the time the
         integration from x* took (t_max where it did not settle).
Needs Debian's python3-matplotlib and python3-h5py (run with /usr/bin/python3).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_common import plotting_modules  # noqa: E402

h5py, matplotlib, plt, np = plotting_modules("plot_response.py")

DPI = 100
SIZE = (11, 4.5)  # inches; fixed, so the PNG is 1100 x 450
STABLE, UNCLAMPED, CLAMPED = 0, 1, 2  # branch kinds (docs/stability.md)
CROSSING = {1: ("fold", "x"), 2: ("Hopf", "o"), 3: ("border", "s")}
CLAMP_KNEE = 4


def runs(mask):
    """(start, stop) index ranges where mask is True."""
    out, start = [], None
    for i, m in enumerate(list(mask) + [False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            out.append((start, i))
            start = None
    return out


def segments(ax, u, s, mask, join=True, **style):
    """Draw u, s where mask holds, as separate pieces (one label for all). With join, each
    piece starts at the point before it, so that pieces of different styles meet."""
    label = style.pop("label", None)
    for a, b in runs(mask):
        start = max(a - 1, 0) if join else a
        ax.plot(u[start:b], s[start:b], label=label, **style)
        label = None


def plot_file(path, out_dir, u_range):
    with h5py.File(path, "r") as f:
        r = f["/response"]
        at = r.attrs
        P = {k: r["points"][k][()] for k in r["points"]}
        S = {k: r["special"][k][()] for k in r["special"]}
        I = {k: r["integrated"][k][()] for k in r["integrated"]}
        kinds = r["branches/kind"][()]
        K, (lo, hi) = at["K"], at["value_range"]
        ngk = at["n_g_k"]
        t_max = at["h_t_max_tol"][1]
        title = (f"K = ({K[0]:g}, {K[1]:g}, {K[2]:g}), n/g/k = {ngk[0]}/{ngk[1]}/{ngk[2]}, "
                 f"drive {at['drive_element']}, read {at['read_element']}, range [{lo:g}, {hi:g}]")
    fig, (ax, axt) = plt.subplots(1, 2, figsize=SIZE, dpi=DPI, gridspec_kw={"width_ratios": [1.6, 1]})
    branch, u, s = P["branch"], P["u"], P["s"]
    stable, in_range = P["stable"] == 1, P["in_range"] == 1
    for b, kind in enumerate(kinds):
        m = branch == b
        bu, bs, bst, bir = u[m], s[m], stable[m], in_range[m]
        if kind == STABLE:
            ax.plot(bu, bs, color="#1f5fbf", lw=2.2, label="stable branch through x*", zorder=3)
        elif kind == UNCLAMPED:
            segments(ax, bu, bs, bst & bir, color="#999999", lw=0.8, label="unclamped, stable")
            segments(ax, bu, bs, ~bst & bir, color="#d0343a", lw=1.4, ls="--",
                     label="unclamped, unstable (in range)")
            segments(ax, bu, bs, ~bir, color="#bbbbbb", lw=0.8, ls=":",
                     label="unclamped, outside the range")
        else:
            segments(ax, bu, bs, bst, color="#2a9d4b", lw=1.8,
                     label="other clamped states, stable" if b == list(kinds).index(CLAMPED) else None)
            segments(ax, bu, bs, ~bst, color="#2a9d4b", lw=1.2, ls="--", join=False)
    ax.plot(I["u"], I["s"], ".", color="#333333", ms=1.5, alpha=0.6, label="integrated from x*",
            zorder=4)
    seen = set()
    for i in range(len(S["u"])):
        if int(S["crossing"][i]) == CLAMP_KNEE:  # a knee of the stable branch, not an end
            ax.plot(S["u"][i], S["s"][i], "D", color="#1f5fbf", mfc="white", ms=5, zorder=5,
                    label=None if "knee" in seen else "an element starts being held")
            seen.add("knee")
            continue
        name, marker = CROSSING.get(int(S["crossing"][i]), ("end", "d"))
        key = (name, round(float(S["u"][i]), 6))
        if key in seen:
            continue
        seen.add(key)
        ax.plot(S["u"][i], S["s"][i], marker, color="black", ms=9, mew=2, zorder=5)
        ax.annotate(f"{name}\nu = {S['u'][i]:.4f}", (S["u"][i], S["s"][i]), textcoords="offset points",
                    xytext=(8, -22), fontsize=8)
    ax.set_xlabel("drive u")
    ax.set_ylabel("signal s = x_a - x*")
    if u_range:
        ax.set_xlim(*u_range)
    # The states of the clamped system (and the integrations) set the s axis; unclamped
    # states outside the value range may run far off and are clipped.
    ax.set_ylim(min(s[in_range].min(), I["s"].min()) - 0.1,
                max(s[in_range].max(), I["s"].max()) + 0.1)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    gain_ax = ax.twinx()
    g = (branch == 0) & (P["end"] == 0)
    gain_ax.plot(u[g], P["gain"][g], color="#f0a030", lw=1.2, label="gain ds/du (stable branch)")
    gain_ax.set_ylabel("gain ds/du", color="#c07010")
    top = np.nanmax(P["gain"][g]) if g.any() else 1.0
    gain_ax.set_ylim(-0.05, max(1.2, 1.1 * top))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = gain_ax.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")

    st = (branch == 0) & (P["end"] == 0)
    axt.semilogy(u[st], P["settling_time"][st], color="#1f5fbf", label="ln(1e5) / -max Re lambda")
    settled = I["settled"] == 1
    axt.semilogy(I["u"][settled], I["t"][settled], ".", color="#555555", ms=3,
                 label="integration from x*: settled at t")
    if (~settled).any():
        axt.semilogy(I["u"][~settled], I["t"][~settled], "v", color="#d0343a", ms=4,
                     label=f"not settled by t_max = {t_max:g}")
    axt.set_xlabel("drive u")
    axt.set_ylabel("settling time")
    if u_range:
        axt.set_xlim(*u_range)
    axt.grid(alpha=0.3, which="both")
    axt.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
    fig.savefig(name, dpi=DPI)
    plt.close(fig)
    print(f"wrote {name}")
    return name


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", help="files written by `wuxing response`")
    p.add_argument("--out", required=True, help="directory for the PNGs (created)")
    p.add_argument("--u-range", type=lambda t: [float(v) for v in t.split(",")],
                   help="LO,HI: the u axis (default: the whole grid)")
    args = p.parse_args(argv)
    for path in args.files:
        with h5py.File(path, "r") as f:
            if "response" not in f:
                sys.exit(f"plot_response.py: {path} has no /response group (not from `wuxing "
                         "response`)")
        plot_file(path, args.out, args.u_range)


if __name__ == "__main__":
    main()
