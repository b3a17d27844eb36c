"""Reading a results file (docs/results-format.md) into pandas DataFrames."""
import os

import h5py
import numpy as np
import pandas as pd


def _column(dataset):
    if dataset.dtype.kind == "O" or h5py.check_string_dtype(dataset.dtype) is not None:
        return dataset.asstr()[:]
    return dataset[:]


def _attr(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_attr(v) for v in value]
    return value


class Results:
    """One results file.

    runs         DataFrame, one row per stored run: run_id, status, the swept columns (numbers
                 as float64, seed as integer), final metrics, epochs_done, wall_seconds, ...
    epochs       DataFrame in long form: run_id, the swept columns, epoch, metric, value
    probes       dict (run_id, sample, layer) -> {"time": (T,), "values": (T, neuron, element)}
    eigenvalues  dict (run_id, epoch) -> complex array (recorded with record.stability)
    header       dict of the file's root attributes (spec name, fingerprint, swept columns)
    swept        the swept columns, in order
    config(run_id)     the run's resolved config (YAML text); attributes(run_id) all its attributes
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"results file {self.path} does not exist")
        with h5py.File(self.path, "r") as f:
            if _attr(f.attrs.get("format")) != "wuxing-results":
                raise ValueError(f"{self.path} is not a wuxing results file (no format attribute)")
            self.header = {k: _attr(v) for k, v in f.attrs.items()}
            if "index" in f:
                idx = f["index"]
                columns = [_attr(c) for c in idx.attrs["columns"]]
                self.runs = pd.DataFrame({c: _column(idx[c]) for c in columns}, columns=columns)
            else:
                self.runs = pd.DataFrame(columns=["run_id", "status"])
        self.swept = list(self.header.get("swept_columns", []))
        self._epochs = None
        self._probes = None
        self._eigenvalues = None

    def __repr__(self):
        counts = self.runs["status"].value_counts().to_dict() if len(self.runs) else {}
        return (f"<wuxing.Results {self.path}: spec '{self.header.get('spec_name')}', "
                f"{len(self.runs)} runs {counts}>")

    def _run_ids(self):
        return list(self.runs["run_id"])

    @property
    def epochs(self):
        if self._epochs is None:
            frames = []
            with h5py.File(self.path, "r") as f:
                for rid in self._run_ids():
                    g = f[f"runs/{rid}/metrics"]
                    wide = pd.DataFrame({name: g[name][:] for name in g})
                    if wide.empty:
                        continue
                    long = wide.melt(id_vars="epoch", var_name="metric", value_name="value")
                    long.insert(0, "run_id", rid)
                    frames.append(long)
            if frames:
                long = pd.concat(frames, ignore_index=True)
            else:
                long = pd.DataFrame(columns=["run_id", "epoch", "metric", "value"])
            keys = ["run_id"] + [c for c in self.swept if c in self.runs.columns]
            self._epochs = self.runs[keys].merge(long, on="run_id", how="right")
        return self._epochs

    def curves(self, metric="test_accuracy"):
        """One metric per epoch, wide: one row per (run, epoch), with the swept columns."""
        e = self.epochs
        return e[e["metric"] == metric].drop(columns="metric").rename(columns={"value": metric})

    @property
    def probes(self):
        if self._probes is None:
            def probe(rid, t):
                key = (rid, int(t.attrs["sample"]), int(t.attrs["layer"]))
                return key, {"time": t["time"][:], "values": t["values"][:]}
            self._probes = self._per_run_members("trajectories", probe)
        return self._probes

    @property
    def eigenvalues(self):
        if self._eigenvalues is None:
            def eigenvalue(rid, e):
                return (rid, int(e.attrs["epoch"])), e["real"][:] + 1j * e["imag"][:]
            self._eigenvalues = self._per_run_members("stability", eigenvalue)
        return self._eigenvalues

    def _per_run_members(self, group, read):
        """{key: value} of read(run_id, member) -> (key, value) over the members of every run's
        optional group runs/<run_id>/<group> (probes, eigenvalues)."""
        out = {}
        with h5py.File(self.path, "r") as f:
            for rid in self._run_ids():
                g = f.get(f"runs/{rid}/{group}")
                for name in g if g is not None else []:
                    key, value = read(rid, g[name])
                    out[key] = value
        return out

    def attributes(self, run_id):
        with h5py.File(self.path, "r") as f:
            return {k: _attr(v) for k, v in f[f"runs/{run_id}"].attrs.items()}

    def config(self, run_id):
        return self.attributes(run_id)["config_yaml"]

    def parameters(self, run_id):
        """Final parameters per non-input layer: {layer: {"K1": array, ..., "coef_mean": x}}."""
        out = {}
        with h5py.File(self.path, "r") as f:
            g = f[f"runs/{run_id}/parameters"]
            for name in g:
                layer = g[name]
                d = {k: layer[k][:] for k in layer}
                d.update({k: _attr(v) for k, v in layer.attrs.items()})
                out[int(name.split("_")[1])] = d
        return out


def load(path):
    """Reads a results file written by `wuxing run` (or wuxing.run) into a Results."""
    return Results(path)
