"""What analysis/plot.py and analysis/plot_response.py share: Debian's h5py, matplotlib (with
the Agg backend) and numpy, re-running the calling script under /usr/bin/python3 when another
python3 without them (a pyenv or venv one first on PATH) runs it."""
import os
import sys


def plotting_modules(script):
    """Returns (h5py, matplotlib, matplotlib.pyplot, numpy) for `script` (its name, for the
    error message). Re-executes the process under /usr/bin/python3 once if they are missing;
    exits with what to install if they are missing there too."""
    try:
        import h5py
        import matplotlib
        import numpy as np
    except ImportError as e:
        if os.path.exists("/usr/bin/python3") and os.path.realpath(
                sys.executable) != os.path.realpath("/usr/bin/python3") and not os.environ.get(
                    "WUXING_PLOT_REEXEC"):
            os.environ["WUXING_PLOT_REEXEC"] = "1"
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        sys.exit(f"{script}: {e}; install python3-matplotlib and python3-h5py (apt) and use "
                 "/usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return h5py, matplotlib, plt, np
