"""Reading a results file for analysis/plot.py: /index as columns, the runs' metrics and
configs, the groups of runs and their mean learning curves."""
import json

from plot_common import plotting_modules

h5py, matplotlib, plt, np = plotting_modules("plot.py")


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
