"""The figures of analysis/plot.py: their fixed sizes, the group styles, the axes every
learning-curve plot labels the same way, and saving a figure as a PNG."""
import os

from plot_common import plotting_modules

h5py, matplotlib, plt, np = plotting_modules("plot.py")
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


class Skip(Exception):
    """The file does not hold this plot's data (the message says what is missing)."""


def group_styles(count):
    """(colour, marker, linestyle) per group: categorical colours, and markers and dashes that
    differ too, so that groups with identical curves (e.g. connection and bptt) stay visible."""
    colours = (plt.cm.tab10(np.arange(count) % 10) if count <= 10
               else plt.cm.viridis(np.linspace(0, 0.95, count)))
    markers, dashes = "osD^vP*X", ["-", "--", "-.", ":"]
    return [(colours[i], markers[i % len(markers)], dashes[(i // 2) % len(dashes)])
            for i in range(count)]


def label_axes(ax, xlabel, ylabel, title, title_size=None, integer_x=False, **legend):
    """Labels a plot: the axes (integer ticks on x if integer_x, as for epochs), the title
    (matplotlib's title size unless title_size), a light grid and the legend (`legend`: its
    keywords)."""
    ax.set_xlabel(xlabel)
    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, **({} if title_size is None else {"fontsize": title_size}))
    ax.grid(alpha=0.3)
    ax.legend(**legend)


def new_figure(name, ncols=1):
    fig, axes = plt.subplots(1, ncols, figsize=SIZES[name], dpi=DPI)
    return fig, axes


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name + ".png")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
