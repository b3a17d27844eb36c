"""The training plots of analysis/plot.py: test accuracy per group over epochs, the heatmap of
the final accuracy over two swept parameters, learning curves per training rule, and the
operating point's stability across training. Each returns the PNG path or raises Skip."""
from plot_common import plotting_modules
from plot_figure import Skip, group_styles, label_axes, new_figure, save
from plot_results import curves, fmt_value, group_columns, groups_of, label_of, short

h5py, matplotlib, plt, np = plotting_modules("plot.py")


def ok_rows_of(res):
    """The rows of the runs with status ok; Skip when the file has no /index."""
    if not res.has_index:
        raise Skip("not a results file (no /index)")
    return res.ok_rows()


def plot_accuracy(res, args):
    ok = ok_rows_of(res)
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
    label_axes(ax, "epoch", "test accuracy (%)",
               f"{res.f.attrs.get('spec_name', '')}: test accuracy, mean ± std over ok runs",
               integer_x=True, fontsize="small" if drawn <= 8 else "x-small",
               ncol=1 if drawn <= 10 else 2)
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


def plot_rules(res, args):
    ok = ok_rows_of(res)
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
    label_axes(ax, "epoch", "accuracy (%)",
               "learning curves by training rule, mean ± std over ok runs" +
               (f"\n(pooled over {', '.join(map(short, others))})" if others else ""),
               title_size=10, integer_x=True, fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "rules")


def plot_stability_training(res, args):
    ok = ok_rows_of(res)
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
    label_axes(ax, "epoch", "max Re λ of the operating point", "stability across training",
               title_size=10, integer_x=True, fontsize="x-small")
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
    label_axes(ax2, "Re λ", "Im λ", f"eigenvalues, run {res.table['run_id'][i]}", title_size=10,
               fontsize="small")
    fig.tight_layout()
    return save(fig, args.out, "stability_training")

