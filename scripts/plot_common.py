"""Shared reading and checking of `cimsim experiment` results files for the plot scripts.

The layout read here is the contract in docs/results_format.md:
  /                 attrs format, format_version, config, points_total, points_finished, instances,
                    swept (JSON array of swept parameter paths)
  /points/NNNN      attrs index, params (JSON object), split, transmitted_bytes, images,
                    accuracy_mean, accuracy_std, layers (JSON array, model order); datasets accuracy,
                    correct, dot_rmse, dot_relative
  /points/NNNN/traces/<layer>   per-vector datasets (exact, measured, ...) and per-read datasets
                    (read_ideal, read_analog, ...)
  lifetime runs:    root attr lifetime (JSON: times, policies, calibrate_at, reprogram); points carry
                    params lifetime.time and lifetime.policy, and datasets reprograms, drift_alpha,
                    reference_relative, reprogrammed

Every problem with the user's input (missing file, not a results file, no finished points, a point,
layer or parameter that is not there, an unwritable output) raises PlotInputError with one line that
names what is available; `run_main` turns it into that line on stderr and exit code 2.

String attributes may be fixed-length (what cimsim's H5File writes; h5py returns bytes) or
variable-length (h5py returns str); both are accepted. Standard library + h5py + numpy + matplotlib.
"""
import argparse
import json
import math
import os
import sys

import h5py
import numpy as np

FORMAT = "cimsim-experiment-results"
FORMAT_VERSION = 1
DPI = 120


class PlotInputError(Exception):
    """Bad user input: printed as one line on stderr, exit code 2."""


# ---------------------------------------------------------------- small helpers

def attr_str(obj, name, where=None):
    """A string attribute as str (fixed- or variable-length); PlotInputError if absent."""
    if name not in obj.attrs:
        raise PlotInputError(f"{where or obj.name}: attribute '{name}' is missing")
    value = obj.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    raise PlotInputError(f"{where or obj.name}: attribute '{name}' is not a string")


def attr_num(obj, name, where=None, default=None):
    """A numeric scalar attribute as a Python int/float; `default` (if given) when absent."""
    if name not in obj.attrs:
        if default is not None:
            return default
        raise PlotInputError(f"{where or obj.name}: attribute '{name}' is missing")
    value = np.asarray(obj.attrs[name])
    if value.size != 1 or value.dtype.kind not in "iuf":
        raise PlotInputError(f"{where or obj.name}: attribute '{name}' is not a number")
    return value.reshape(())[()].item()


def attr_json(obj, name, where=None):
    text = attr_str(obj, name, where)
    try:
        return json.loads(text)
    except ValueError as e:
        raise PlotInputError(f"{where or obj.name}: attribute '{name}' is not valid JSON ({e})")


def format_value(value):
    """How a parameter value is shown on axes and in legends."""
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def value_key(value):
    """A hashable, order-preserving key for a JSON value (lists/dicts -> canonical JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def sort_values(values):
    """Distinct values, numeric ascending if all numeric, else in order of first appearance."""
    distinct = []
    seen = set()
    for v in values:
        k = value_key(v)
        if k not in seen:
            seen.add(k)
            distinct.append(v)
    if distinct and all(is_number(v) for v in distinct):
        return sorted(distinct)
    return distinct


def parse_csv(text):
    return [s.strip() for s in text.split(",") if s.strip()] if text else []


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def parse_where(items):
    """['a.b=4', 'c=pcm'] -> {'a.b': 4, 'c': 'pcm'}; values parsed as JSON when they parse, else str."""
    result = {}
    for item in items or []:
        if "=" not in item:
            raise PlotInputError(f"--where '{item}': expected PATH=VALUE")
        path, text = item.split("=", 1)
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        result[path.strip()] = value
    return result


# ---------------------------------------------------------------- the file

class Point:
    """One finished sweep point (attributes and the small datasets; traces are loaded on demand)."""

    def __init__(self, group, where):
        self.group = group
        self.where = where
        self.index = int(attr_num(group, "index", where))
        self.params = attr_json(group, "params", where)
        if not isinstance(self.params, dict):
            raise PlotInputError(f"{where}: attribute 'params' is not a JSON object")
        self.split = attr_str(group, "split", where) if "split" in group.attrs else ""
        self.transmitted_bytes = int(attr_num(group, "transmitted_bytes", where, default=0))
        self.images = int(attr_num(group, "images", where, default=0))
        self.layers = self._layer_names()
        self.cim_layers = attr_json(group, "cim_layers", where) if "cim_layers" in group.attrs else []
        if "accuracy" in group:
            self.accuracy = np.asarray(group["accuracy"][()], dtype=np.float64).reshape(-1)
        else:
            self.accuracy = np.zeros(0)
        if "accuracy_mean" in group.attrs:
            self.accuracy_mean = float(attr_num(group, "accuracy_mean", where))
            self.accuracy_std = float(attr_num(group, "accuracy_std", where, default=0.0))
        elif self.accuracy.size:
            self.accuracy_mean = float(self.accuracy.mean())
            self.accuracy_std = float(self.accuracy.std(ddof=1)) if self.accuracy.size > 1 else 0.0
        else:
            raise PlotInputError(f"{where}: neither 'accuracy_mean' nor an 'accuracy' dataset")
        self.traced_layers = self._traced_layers()

    def _layer_names(self):
        # The doc's row is "layer_names | string attribute `layers` on the group"; accept the
        # attribute (what it describes) and, failing that, a string dataset named layer_names.
        if "layers" in self.group.attrs:
            names = attr_json(self.group, "layers", self.where)
        elif "layer_names" in self.group:
            raw = self.group["layer_names"][()]
            if isinstance(raw, (bytes, str, np.bytes_)):
                text = raw.decode() if isinstance(raw, (bytes, np.bytes_)) else raw
                names = json.loads(text)
            else:
                names = [s.decode() if isinstance(s, bytes) else str(s) for s in np.ravel(raw)]
        else:
            names = []
        return [str(n) for n in names]

    def _traced_layers(self):
        if "traces" not in self.group:
            return []
        present = [name for name in self.group["traces"].keys()
                   if isinstance(self.group["traces"][name], h5py.Group)]
        ordered = [n for n in self.layers if n in present]
        rest = [n for n in present if n not in ordered]

        def node(n):
            return attr_num(self.group["traces"][n], "node", default=1 << 60)

        return ordered + sorted(rest, key=lambda n: (node(n), n))

    def label(self):
        if not self.params:
            return f"point {self.index}"
        return ", ".join(f"{k}={format_value(v)}" for k, v in self.params.items())


class Results:
    """An open, validated results.h5. Use as a context manager."""

    def __init__(self, path):
        self.path = path
        if not os.path.exists(path):
            raise PlotInputError(f"{path}: no such file")
        if os.path.isdir(path):
            raise PlotInputError(f"{path}: is a directory (pass DIR/results.h5)")
        try:
            self.file = h5py.File(path, "r")
        except OSError as e:
            raise PlotInputError(f"{path}: not an HDF5 file or unreadable ({e.__class__.__name__}: "
                                 f"{str(e).splitlines()[0] if str(e) else 'cannot open'})")
        try:
            self._validate()
        except Exception:
            self.file.close()
            raise

    def _validate(self):
        root = self.file
        fmt = attr_str(root, "format", "/") if "format" in root.attrs else None
        if fmt != FORMAT:
            shown = "missing" if fmt is None else f"'{fmt}'"
            raise PlotInputError(f"{self.path}: not a cimsim results file (root attribute 'format' is "
                                 f"{shown}, expected '{FORMAT}')")
        if "format_version" not in root.attrs:
            raise PlotInputError(f"{self.path}: root attribute 'format_version' is missing")
        version = attr_num(root, "format_version", "/")
        if version != FORMAT_VERSION:
            raise PlotInputError(f"{self.path}: format_version {version} is not supported "
                                 f"(these scripts read version {FORMAT_VERSION})")
        swept = attr_json(root, "swept", "/") if "swept" in root.attrs else []
        if not isinstance(swept, list):
            raise PlotInputError(f"{self.path}: root attribute 'swept' is not a JSON array")
        self.swept = [str(s) for s in swept]
        self.lifetime = attr_json(root, "lifetime", "/") if "lifetime" in root.attrs else None
        self.points_total = int(attr_num(root, "points_total", "/", default=0))
        self.instances = int(attr_num(root, "instances", "/", default=0))
        self.points = []
        if "points" in root:
            for name in sorted(root["points"].keys()):
                group = root["points"][name]
                if isinstance(group, h5py.Group):
                    self.points.append(Point(group, f"/points/{name}"))
        self.points.sort(key=lambda p: p.index)
        if not self.points:
            raise PlotInputError(f"{self.path}: no finished points (points_finished 0 of "
                                 f"{self.points_total}); the experiment has not finished a point yet")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()
        return False

    # ------------------------------------------------------------ selection

    def param_paths(self):
        """Swept paths in config order, then any other keys found in the points' params."""
        paths = list(self.swept)
        for p in self.points:
            for k in p.params:
                if k not in paths:
                    paths.append(k)
        return paths

    def check_path(self, path, option):
        paths = self.param_paths()
        if path not in paths:
            shown = ", ".join(paths) if paths else "none (nothing is swept)"
            raise PlotInputError(f"{self.path}: {option} '{path}' is not a swept parameter; "
                                 f"swept: {shown}")

    def point(self, index):
        for p in self.points:
            if p.index == index:
                return p
        raise PlotInputError(f"{self.path}: no finished point {index}; available points: "
                             f"{', '.join(str(p.index) for p in self.points)}")

    def filter_points(self, where):
        """Points whose params match every PATH=VALUE in `where` (dict)."""
        points = self.points
        for path, value in where.items():
            self.check_path(path, "--where")
            available = sort_values([p.params.get(path) for p in points])
            points = [p for p in points if path in p.params and _same(p.params[path], value)]
            if not points:
                raise PlotInputError(f"{self.path}: no point has {path}={format_value(value)}; values: "
                                     f"{', '.join(format_value(v) for v in available)}")
        return points

    def select_traced_layers(self, point, layers_csv):
        if not point.traced_layers:
            with_traces = [str(p.index) for p in self.points if p.traced_layers]
            hint = (f"points with traces: {', '.join(with_traces)}" if with_traces
                    else "no point in this file has traces (set traces in the experiment config)")
            raise PlotInputError(f"{self.path}: point {point.index} has no traced layers; {hint}")
        wanted = parse_csv(layers_csv)
        if not wanted:
            return list(point.traced_layers)
        missing = [n for n in wanted if n not in point.traced_layers]
        if missing:
            raise PlotInputError(f"{self.path}: point {point.index} has no traces for layer(s) "
                                 f"{', '.join(missing)}; traced layers: {', '.join(point.traced_layers)}")
        return wanted

    def require_lifetime(self):
        """The root attribute `lifetime` (a dict); PlotInputError for a file of a run without lifetime."""
        if not isinstance(self.lifetime, dict) or not isinstance(self.lifetime.get("times"), list):
            raise PlotInputError(f"{self.path}: not a lifetime run (no root attribute 'lifetime'); "
                                 f"run cimsim experiment with a \"lifetime\" key (docs/lifetime.md)")
        return self.lifetime

    def lifetime_groups(self, where):
        """Lifetime points matching `where`, grouped by the values of the other swept paths:
        [(label, {policy: [points sorted by time]})], label "" without other swept paths."""
        self.require_lifetime()
        points = [p for p in self.filter_points(where)
                  if "lifetime.time" in p.params and "lifetime.policy" in p.params]
        if not points:
            raise PlotInputError(f"{self.path}: no finished lifetime point"
                                 + (" matches the --where values" if where else ""))
        rest = [k for k in self.param_paths() if k not in ("lifetime.time", "lifetime.policy") and k not in where]
        groups = {}
        for p in points:
            key = tuple(value_key(p.params.get(r)) for r in rest)
            label = ", ".join(f"{r}={format_value(p.params.get(r))}" for r in rest)
            groups.setdefault(key, (label, {}))[1].setdefault(p.params["lifetime.policy"], []).append(p)
        out = []
        for key in sorted(groups, key=lambda k: min(q.index for ps in groups[k][1].values() for q in ps)):
            label, by_policy = groups[key]
            for ps in by_policy.values():
                ps.sort(key=lambda q: float(q.params["lifetime.time"]))
            out.append((label, by_policy))
        return out

    def point_dataset(self, point, name):
        """A dataset of a point as a float64 array; PlotInputError when it is missing."""
        if name not in point.group:
            raise PlotInputError(f"{self.path}: {point.where}: dataset '{name}' is missing")
        return np.asarray(point.group[name][()], dtype=np.float64)

    def load_trace(self, point, layer, names):
        """{name: numpy array} for the datasets `names` of /points/NNNN/traces/<layer>."""
        group = point.group["traces"][layer]
        where = f"{point.where}/traces/{layer}"
        out = {}
        for name in names:
            if name not in group:
                raise PlotInputError(f"{self.path}: {where}: dataset '{name}' is missing")
            out[name] = group[name][()]
        return out

    def load_pair(self, point, layer, a, b, extra=()):
        """(A, B, data): datasets a and b of a trace as float64 arrays of one shape (PlotInputError
        otherwise), and data = load_trace of a, b and `extra`."""
        data = self.load_trace(point, layer, [a, b, *extra])
        x = np.asarray(data[a], dtype=np.float64)
        y = np.asarray(data[b], dtype=np.float64)
        if x.shape != y.shape:
            raise PlotInputError(f"{self.path}: {point.where}/traces/{layer}: {a} {x.shape} and {b} {y.shape} "
                                 "differ in shape")
        return x, y, data


def results_parser(doc):
    """The plot scripts' command line: description and epilog from the module docstring `doc`, the
    results.h5 argument and --out; each script adds its own options."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=doc.split("\n\n", 1)[1])
    parser.add_argument("results", help="results.h5 written by cimsim experiment")
    parser.add_argument("--out", required=True, help="PNG to write")
    return parser


def add_where_argument(parser):
    """--where PATH=VALUE (repeatable), read with parse_where: keep only the points with those values."""
    parser.add_argument("--where", action="append", default=[], metavar="PATH=VALUE",
                        help="keep only points with this parameter value (repeatable)")


def _same(a, b):
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    return value_key(a) == value_key(b)


# ---------------------------------------------------------------- figures and main

def pyplot():
    """matplotlib.pyplot on the Agg backend (no display). Imported late: it is the slow import, and
    bad input is reported before it is needed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


TIME_UNITS = [(1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "d"), (2592000.0, "mo"),
              (31536000.0, "y")]


def format_seconds(t):
    """3600 -> '1 h', 315360000 -> '10 y', 90 -> '1.5 min': the largest unit the time reaches."""
    unit_s, unit = TIME_UNITS[0]
    for s, name in TIME_UNITS:
        if t >= s:
            unit_s, unit = s, name
    return f"{t / unit_s:g} {unit}"


def grid(n, max_cols=3):
    cols = max(1, min(n, max_cols))
    rows = (n + cols - 1) // cols
    return rows, cols


def save_figure(fig, out):
    """Write the PNG at DPI and print its path; an unwritable path is bad input."""
    plt = pyplot()
    try:
        fig.savefig(out, dpi=DPI, format="png")
    except OSError as e:
        raise PlotInputError(f"{out}: cannot write the figure ({e.strerror or e})")
    finally:
        plt.close(fig)
    print(out)


def run_main(main):
    """Call main(); PlotInputError -> one line on stderr and exit 2."""
    prog = os.path.basename(sys.argv[0])
    try:
        main()
    except PlotInputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
