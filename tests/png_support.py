"""Shared by the plot tests (test_plot.py, test_plot_response.py): loading a plot script as
a module, and the checks every rendered PNG must pass."""
import importlib.util
import os

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402


def load_module(path, name):
    """The Python file at `path` imported as module `name` (the plot scripts are no package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_png(path, size_inches, dpi):
    """The size the script promises, not blank, and data drawn; the number of colours."""
    assert os.path.exists(path), path
    img = mpimg.imread(path)  # float in [0, 1], (height, width, channels)
    want = (round(size_inches[1] * dpi), round(size_inches[0] * dpi))
    assert img.shape[:2] == want, (path, img.shape, want)
    rgb = img[:, :, :3]
    assert rgb.var() > 0, f"{path}: blank (zero variance)"
    colours = np.unique(rgb.reshape(-1, 3), axis=0)
    assert len(colours) > 1, f"{path}: one colour only"
    # Data are drawn in colour; frames, ticks and text are black or grey.
    coloured = np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 0.2)
    assert coloured > 0.005, f"{path}: only {100 * coloured:.2f} % coloured pixels: no data drawn?"
    return len(colours)
