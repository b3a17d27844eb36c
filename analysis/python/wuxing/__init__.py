"""wuxing from Python: results files as pandas DataFrames, specs run and checked in-process.

    import wuxing
    res = wuxing.load("results/sweep-k3.h5")
    res.runs.groupby("model.K3")["final_test_accuracy"].mean()

See docs/python.md. `load` needs only h5py and pandas; `run`, `validate`, `config` and `plan`
use the compiled extension wuxing._core (built with the project into build/python/wuxing).
"""
import pkgutil

# The extension is built into build/python/wuxing, this package lives in analysis/python/wuxing:
# both directories are on sys.path (scripts/setup installs a .pth file), and this makes them one
# package.
__path__ = pkgutil.extend_path(__path__, __name__)

from ._results import Results, load  # noqa: E402
from ._run import SpecError, config, plan, run, validate  # noqa: E402

__all__ = ["Results", "SpecError", "config", "load", "plan", "run", "validate"]
