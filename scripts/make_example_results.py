#!/usr/bin/env python3
"""Write a small synthetic results.h5 in the layout of docs/results_format.md (format_version 1).

It exists to develop and test the plot scripts without running `cimsim experiment`. Nothing in it is
a measurement: the config carries "synthetic": true and every number is drawn from a fixed seed.

    /usr/bin/python3 scripts/make_example_results.py OUT.h5            # sweep mode
    /usr/bin/python3 scripts/make_example_results.py OUT.h5 --split    # split mode
    /usr/bin/python3 scripts/make_example_results.py OUT.h5 --finished 0   # no finished points
    /usr/bin/python3 scripts/make_example_results.py OUT.h5 --lifetime # lifetime mode

Sweep mode: crossbar.adc.bits in {4, 8} x device.preset in {ideal, pcm} (4 points, cartesian order,
last entry fastest), 3 chip instances, traces for the CIM layers layer1.0.conv1 and layer1.0.conv2.
Lifetime mode: a lifetime run (docs/lifetime.md) without a sweep, 7 read times x 3 policies (none,
global, per_column; 21 points, policy fastest), 3 instances, no traces; accuracy and per-layer errors
follow made-up drift curves, with the lifetime datasets (reprograms, drift_alpha, reference_relative,
reprogrammed) and attributes (chip_point, time_index, time, policy).
Split mode: split in {layer1.0.conv2, layer2.0.conv2, layer3.0.conv2} (3 points; the device runs the
conv layers after conv1 up to the split on CIM; the feature map after the split is sent with 4-bit
codes), traces for layer1.0.conv1. The config follows experiments/experiment_config.h as of writing.

The traces are self-consistent, as the doc describes them: weights w in [-7, 7] are stored as two
signed 2-bit slices d_s = sign(w)·((|w| >> 2s) & 3) (weight_slices 2, DAC inputs so input_slices 1,
one sign pass), rows split into tiles of 64. Per read (vector, output o, tile row r, slice s):
read_ideal = Σ_{k in tile r} x[k]·d_s[o,k]; read_analog = read_ideal + noise (σ set by the preset);
read_code = ADC of read_analog with lsb = full scale / (2^bits − 1) (symmetric, clipped);
read_calibrated = gain·code·lsb + offset; measured = round(Σ_{r,s} 4^s·read_calibrated);
exact = Σ_k w[o,k]·x[k] = Σ_{r,s} 4^s·read_ideal (checked before writing). K = 96 (2 tile rows),
N = 8; with 8 vectors per instance and 3 instances a traced layer has 24 vectors and 768 reads,
ordered tile row, weight slice, vector, output.
"""
import argparse
import json
import math
import os
import sys

import h5py
import numpy as np

LAYERS = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2",
          "layer3.0.conv1", "layer3.0.conv2", "linear"]
# (channels, height, width) of each layer's output feature map (ResNet-8-like on 32x32 inputs).
OUT_SHAPES = {"conv1": (16, 32, 32), "layer1.0.conv1": (16, 32, 32), "layer1.0.conv2": (16, 32, 32),
              "layer2.0.conv1": (32, 16, 16), "layer2.0.conv2": (32, 16, 16),
              "layer3.0.conv1": (64, 8, 8), "layer3.0.conv2": (64, 8, 8), "linear": (10, 1, 1)}
TRACE_K, TRACE_N, ROWS_MAX, WEIGHT_SLICES, SLICE_BITS = 96, 8, 64, 2, 2
READ_SIGMA = {"ideal": 0.0, "pcm": 1.5, "rram": 0.8}    # read noise per read, integer units
PRESET_PENALTY = {"ideal": 0.0, "pcm": 0.06, "rram": 0.03}
IMAGES = 1000
ACT_BITS = 4


def str_attr(obj, name, text):
    """Fixed-length UTF-8 scalar string, as cimsim's H5File::WriteStringAttribute writes it."""
    data = text.encode("utf-8")
    obj.attrs.create(name, np.bytes_(data), dtype=h5py.string_dtype("utf-8", max(len(data), 1)))


def int_attr(obj, name, value):
    obj.attrs.create(name, np.int64(value), dtype="<i8")


def float_attr(obj, name, value):
    obj.attrs.create(name, np.float64(value), dtype="<f8")


def chunked(group, name, data, dtype):
    """A chunked, deflate-compressed dataset (per-read and per-vector data)."""
    data = np.asarray(data, dtype=dtype)
    chunks = tuple(max(1, min(d, 4096 if i == 0 else d)) for i, d in enumerate(data.shape))
    group.create_dataset(name, data=data, dtype=np.dtype(dtype).newbyteorder("<"),
                         chunks=chunks, compression="gzip", compression_opts=4)


def plain(group, name, data, dtype):
    group.create_dataset(name, data=np.asarray(data, dtype=dtype), dtype=np.dtype(dtype).newbyteorder("<"))


def json_text(value):
    return json.dumps(value, separators=(", ", ": "))


def make_trace(rng, adc_bits, preset, instances, vectors, gain_spread):
    """Self-consistent trace datasets of one layer (see the module docstring)."""
    K, N = TRACE_K, TRACE_N
    tile_rows = math.ceil(K / ROWS_MAX)
    w = rng.integers(-7, 8, size=(N, K))
    slices = [np.sign(w) * ((np.abs(w) >> (SLICE_BITS * s)) & ((1 << SLICE_BITS) - 1))
              for s in range(WEIGHT_SLICES)]
    VI = vectors * instances
    x = rng.integers(0, (1 << ACT_BITS), size=(VI, K))
    x[rng.random((VI, K)) < 0.4] = 0   # post-ReLU sparsity
    exact = x @ w.T
    sigma = READ_SIGMA[preset]
    qmax = (1 << (adc_bits - 1)) - 1
    cols = {k: [] for k in ("vector", "output", "tile_row", "tile_col", "weight_slice",
                            "input_slice", "sign_pass", "ideal", "analog", "code", "lsb", "calibrated")}
    measured_acc = np.zeros((VI, N))
    for r in range(tile_rows):
        rows = slice(r * ROWS_MAX, min(K, (r + 1) * ROWS_MAX))
        rows_in_tile = rows.stop - rows.start
        for s in range(WEIGHT_SLICES):
            full_scale = rows_in_tile * ((1 << ACT_BITS) - 1) * ((1 << SLICE_BITS) - 1) / 6.0
            lsb = full_scale / qmax
            ideal = x[:, rows] @ slices[s][:, rows].T                          # [VI, N]
            gain = 1.0 + gain_spread * rng.standard_normal(N)
            analog = (ideal + sigma * rng.standard_normal(ideal.shape)) * gain
            code = np.clip(np.rint(analog / lsb), -qmax, qmax).astype(np.int64)
            calibrated = (1.0 / gain) * code * lsb
            measured_acc += (1 << (SLICE_BITS * s)) * calibrated
            vec, out = np.meshgrid(np.arange(VI), np.arange(N), indexing="ij")
            for key, val in (("vector", vec), ("output", out), ("ideal", ideal), ("analog", analog),
                             ("code", code), ("lsb", np.full(ideal.shape, lsb)), ("calibrated", calibrated)):
                cols[key].append(val.reshape(-1))
            n = VI * N
            cols["tile_row"].append(np.full(n, r))
            cols["tile_col"].append(np.zeros(n, dtype=np.int64))
            cols["weight_slice"].append(np.full(n, s))
            cols["input_slice"].append(np.zeros(n, dtype=np.int64))
            cols["sign_pass"].append(np.zeros(n, dtype=np.int64))
    reads = {k: np.concatenate(v) for k, v in cols.items()}
    measured = np.clip(np.rint(measured_acc), -(2**31), 2**31 - 1).astype(np.int64)
    check = np.zeros_like(exact)
    np.add.at(check, (reads["vector"], reads["output"]),
              reads["ideal"] * (1 << (SLICE_BITS * reads["weight_slice"])))
    assert np.array_equal(check, exact), "read_ideal does not add up to exact"
    return x, exact, measured, reads, tile_rows


def write_trace(parent, layer, node, rng, adc_bits, preset, instances, vectors, gain_spread):
    g = parent.create_group(layer)
    x, exact, measured, reads, tile_rows = make_trace(rng, adc_bits, preset, instances, vectors,
                                                      gain_spread)
    VI = x.shape[0]
    C, H, W = OUT_SHAPES[layer]
    chunked(g, "vector_instance", np.repeat(np.arange(instances), vectors), "i4")
    chunked(g, "vector_image", np.tile(np.arange(vectors), instances), "i8")
    chunked(g, "vector_position", rng.integers(0, H * W, size=VI), "i4")
    chunked(g, "inputs", x, "i2")
    chunked(g, "exact", exact, "i8")
    chunked(g, "measured", measured, "i4")
    for name in ("vector", "output", "tile_row", "tile_col", "weight_slice", "input_slice", "sign_pass"):
        chunked(g, f"read_{name}", reads[name], "i4")
    chunked(g, "read_ideal", reads["ideal"], "i8")
    chunked(g, "read_analog", reads["analog"], "f8")
    chunked(g, "read_code", reads["code"], "i4")
    chunked(g, "read_lsb", reads["lsb"], "f8")
    chunked(g, "read_calibrated", reads["calibrated"], "f8")
    for name, value in (("node", node), ("K", TRACE_K), ("N", TRACE_N), ("tile_rows", tile_rows),
                        ("weight_slices", WEIGHT_SLICES), ("input_slices", 1), ("sign_passes", 1)):
        int_attr(g, name, value)
    err = measured - exact
    return math.sqrt(float(np.mean(err.astype(np.float64) ** 2))), \
        math.sqrt(float(np.mean(exact.astype(np.float64) ** 2)))


def sweep_values(split_mode):
    if split_mode:
        return [("split", ["layer1.0.conv2", "layer2.0.conv2", "layer3.0.conv2"])]
    return [("crossbar.adc.bits", [4, 8]), ("device.preset", ["ideal", "pcm"])]


def cartesian(sweep):
    combos = [{}]
    for path, values in sweep:       # last entry varies fastest
        combos = [dict(c, **{path: v}) for c in combos for v in values]
    return combos


def point_config(params):
    bits = params.get("crossbar.adc.bits", 8)
    preset = params.get("device.preset", "pcm")
    return {"seed": 1, "device": {"preset": preset},  # the chip of instance 0
            "crossbar": {"rows_max": ROWS_MAX, "cols_max": 128, "slice_bits": SLICE_BITS,
                         "inputs": "dac", "adc": {"bits": bits, "range": "max"}}}


def write_root(f, config, total, finished, instances, swept):
    """The root attributes every results.h5 carries (docs/results_format.md)."""
    str_attr(f, "format", "cimsim-experiment-results")
    int_attr(f, "format_version", 1)
    str_attr(f, "config", json_text(config))
    int_attr(f, "points_total", total)
    int_attr(f, "points_finished", finished)
    int_attr(f, "instances", instances)
    str_attr(f, "swept", json_text(swept))


LIFETIME_TIMES = [1, 60, 3600, 86400, 2592000, 31536000, 315360000]
LIFETIME_POLICIES = ["none", "global", "per_column"]


def write_lifetime_file(path, finished, instances, seed):
    combos = [(ti, pi) for ti in range(len(LIFETIME_TIMES)) for pi in range(len(LIFETIME_POLICIES))]
    finished = len(combos) if finished is None else min(finished, len(combos))
    lifetime = {"times": LIFETIME_TIMES, "policies": LIFETIME_POLICIES, "calibrate_at": 1}
    config = {"synthetic": True,
              "comment": "written by scripts/make_example_results.py; not a measurement",
              "model": {"qmodel": "out/resnet8_w8a4.h5"},
              "data": {"test": "../shared/data/cifar10", "count": IMAGES, "first": 0},
              "xbar": point_config({}), "calibration": {"auto": {}}, "placement": {"cim": "all"},
              "instances": instances, "sweep": [], "traces": {"layers": [], "vectors": 64},
              "threads": 0, "noise_seed": seed, "lifetime": lifetime}
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        write_root(f, config, len(combos), finished, instances, ["lifetime.time", "lifetime.policy"])
        str_attr(f, "lifetime", json_text(lifetime))
        points = f.create_group("points")
        for index, (ti, pi) in enumerate(combos[:finished]):
            rng = np.random.default_rng([seed, index])
            t, policy = LIFETIME_TIMES[ti], LIFETIME_POLICIES[pi]
            decades = math.log10(t)                       # 0 .. 8.5
            drift = {"none": 0.06, "global": 0.012, "per_column": 0.004}[policy] * decades
            rel = np.clip((0.08 + drift) * (1 + 0.05 * rng.standard_normal((instances, len(LAYERS)))), 0, None)
            alpha = np.ones((instances, len(LAYERS))) if policy != "global" else \
                (1 + 0.07 * decades) * (1 + 0.01 * rng.standard_normal((instances, len(LAYERS))))
            acc = np.clip(0.86 - 0.9 * drift + 0.004 * rng.standard_normal(instances), 0, 1)
            correct = np.rint(acc * IMAGES).astype(np.int64)
            acc = correct / IMAGES
            g = points.create_group(f"{index:04d}")
            int_attr(g, "index", index)
            str_attr(g, "params", json_text({"lifetime.policy": policy, "lifetime.time": t}))
            str_attr(g, "xbar", json_text(point_config({})))
            str_attr(g, "split", "")
            str_attr(g, "cim_layers", json_text(LAYERS))
            int_attr(g, "transmitted_bytes", 0)
            int_attr(g, "images", IMAGES)
            float_attr(g, "accuracy_mean", float(acc.mean()))
            float_attr(g, "accuracy_std", float(acc.std(ddof=1)) if instances > 1 else 0.0)
            str_attr(g, "layers", json_text(LAYERS))
            int_attr(g, "chip_point", 0)
            int_attr(g, "time_index", ti)
            float_attr(g, "time", float(t))
            str_attr(g, "policy", policy)
            plain(g, "accuracy", acc, "f8")
            plain(g, "correct", correct, "i8")
            plain(g, "dot_rmse", rel * 400.0, "f8")
            plain(g, "dot_relative", rel, "f8")
            plain(g, "reprograms", np.zeros(instances), "i8")
            plain(g, "drift_alpha", alpha, "f8")
            plain(g, "reference_relative", rel * 0.9, "f8")
            plain(g, "reprogrammed", np.zeros((instances, len(LAYERS))), "i4")
    os.replace(tmp, path)


def write_file(path, split_mode, finished, instances, vectors, seed):
    sweep = sweep_values(split_mode)
    combos = cartesian(sweep)
    if finished is None:
        finished = len(combos)
    finished = min(finished, len(combos))
    traced_layers = ["layer1.0.conv1"] if split_mode else ["layer1.0.conv1", "layer1.0.conv2"]
    config = {"synthetic": True,
              "comment": "written by scripts/make_example_results.py; not a measurement",
              "model": {"qmodel": "out/resnet8_w8a4.h5"},
              "data": {"test": "../shared/data/cifar10", "count": IMAGES, "first": 0},
              "xbar": point_config({}), "calibration": "none",
              "placement": {"split": sweep[0][1][0]} if split_mode else {"cim": LAYERS[1:-1]},
              "instances": instances,
              "sweep": [{"param": p, "values": v} for p, v in sweep],
              "traces": {"layers": traced_layers, "vectors": vectors},
              "threads": 0, "noise_seed": seed}
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        write_root(f, config, len(combos), finished, instances, [p for p, _ in sweep])
        points = f.create_group("points")
        for index, params in enumerate(combos[:finished]):
            rng = np.random.default_rng([seed, index])
            g = points.create_group(f"{index:04d}")
            split = params.get("split", "")
            if split:
                cim = [n for n in LAYERS[1:LAYERS.index(split) + 1]]
                C, H, W = OUT_SHAPES[split]
                transmitted = C * H * W * ACT_BITS // 8
            else:
                cim = LAYERS[1:-1]
                transmitted = 0
            traced = [n for n in traced_layers if n in cim]
            bits = params.get("crossbar.adc.bits", 8)
            preset = params.get("device.preset", "pcm")
            gain_spread = 0.0 if preset == "ideal" else 0.01
            dot_rmse = np.zeros((instances, len(LAYERS)))
            dot_rel = np.zeros((instances, len(LAYERS)))
            if traced:
                traces = g.create_group("traces")
                for layer in traced:
                    rmse, rms = write_trace(traces, layer, LAYERS.index(layer) * 3 + 1, rng, bits, preset,
                                            instances, vectors, gain_spread)
                    j = LAYERS.index(layer)
                    dot_rmse[:, j] = rmse * (1 + 0.05 * rng.standard_normal(instances))
                    dot_rel[:, j] = dot_rmse[:, j] / rms
            for layer in cim:
                j = LAYERS.index(layer)
                if layer not in traced:
                    dot_rmse[:, j] = (30.0 / 2 ** (bits - 4) + 20 * READ_SIGMA[preset]) * \
                        (1 + 0.05 * rng.standard_normal(instances))
                    dot_rel[:, j] = dot_rmse[:, j] / 400.0
            base = 0.905 - 0.25 / 2 ** (bits - 3) - PRESET_PENALTY[preset] - 0.015 * len(cim)
            acc = np.clip(base + 0.01 * rng.standard_normal(instances), 0, 1)
            correct = np.rint(acc * IMAGES).astype(np.int64)
            acc = correct / IMAGES
            int_attr(g, "index", index)
            str_attr(g, "params", json_text(params))
            str_attr(g, "xbar", json_text(point_config(params)))
            str_attr(g, "split", split)
            str_attr(g, "cim_layers", json_text(cim))
            int_attr(g, "transmitted_bytes", transmitted)
            int_attr(g, "images", IMAGES)
            float_attr(g, "accuracy_mean", float(acc.mean()))
            float_attr(g, "accuracy_std", float(acc.std(ddof=1)) if instances > 1 else 0.0)
            str_attr(g, "layers", json_text(LAYERS))
            plain(g, "accuracy", acc, "f8")
            plain(g, "correct", correct, "i8")
            plain(g, "dot_rmse", dot_rmse, "f8")
            plain(g, "dot_relative", dot_rel, "f8")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the .h5 file to write")
    parser.add_argument("--split", action="store_true", help="split mode (a sweep of split)")
    parser.add_argument("--lifetime", action="store_true", help="lifetime mode (7 times x 3 policies)")
    parser.add_argument("--finished", type=int, default=None,
                        help="write only the first N points (points_total stays the full sweep)")
    parser.add_argument("--instances", type=int, default=3, help="chip instances per point (3)")
    parser.add_argument("--vectors", type=int, default=8, help="traced vectors per instance (8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every synthetic draw (1)")
    args = parser.parse_args()
    if args.instances < 1 or args.vectors < 1 or (args.finished is not None and args.finished < 0):
        parser.error("--instances and --vectors must be >= 1, --finished >= 0")
    try:
        if args.lifetime:
            write_lifetime_file(args.out, args.finished, args.instances, args.seed)
        else:
            write_file(args.out, args.split, args.finished, args.instances, args.vectors, args.seed)
    except OSError as e:
        print(f"make_example_results.py: error: {args.out}: cannot write ({e})", file=sys.stderr)
        sys.exit(2)
    print(args.out)


if __name__ == "__main__":
    main()
