"""Specs run and checked in-process through the C++ extension wuxing._core."""
import json
import os


try:
    from . import _core as _extension
except ImportError as _missing:  # load() works without it; run() and friends say why not
    _extension = None
    _why = _missing


def _core():
    if _extension is None:
        raise ImportError(
            "wuxing._core (the compiled part of the module) is not built: run scripts/setup, "
            "which builds it into build/python/wuxing") from _why
    return _extension


if _extension is not None:
    SpecError = _extension.SpecError
else:
    class SpecError(ValueError):
        """A spec error (file:line:column: key: message, one per line)."""


def _overrides(overrides):
    """["key=value", ...] as given, or {"key": value} with values written as YAML (JSON)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, dict):
        out = []
        for key, value in overrides.items():
            text = value if isinstance(value, str) else json.dumps(value)
            out.append(f"{key}={text}")
        return out
    return [str(o) for o in overrides]


def validate(spec, overrides=None):
    """Checks a spec (composition, overrides, every run of its sweep). Returns
    {"name", "description", "runs", "fingerprint"}; raises SpecError listing every error."""
    return _core().validate(os.fspath(spec), _overrides(overrides))


def config(spec, overrides=None):
    """The resolved spec as YAML text (what `wuxing config` prints)."""
    return _core().config(os.fspath(spec), _overrides(overrides))


def plan(spec, overrides=None):
    """The runs the sweep expands to, as a DataFrame: index, run_id and the swept values."""
    import pandas as pd
    rows = []
    for r in _core().plan(os.fspath(spec), _overrides(overrides)):
        rows.append({"index": r["index"], "run_id": r["run_id"], **r["swept"]})
    return pd.DataFrame(rows)


def run(spec, overrides=None, output=None, on_epoch=None, threads=0, rerun_failed=False,
        progress=False):
    """Runs the spec's sweep in this process with the C++ runner (as `wuxing run` does: runs
    already stored as ok are skipped) and returns the results file as wuxing.Results, with the
    runner's summary in `.summary`.

    on_epoch(metrics: dict) is called after every epoch of every run (run_id, epoch,
    test_accuracy, ...), holding the GIL. Returning False prunes that run: it stops and is
    stored with status `pruned`. An exception raised in it (or Ctrl-C) stops the sweep
    (finished runs stay stored) and is re-raised here.
    """
    from ._results import load
    summary = _core().run(os.fspath(spec), _overrides(overrides),
                          os.fspath(output) if output is not None else "", on_epoch, int(threads),
                          bool(rerun_failed), bool(progress))
    results = load(summary["output"])
    results.summary = summary
    return results
