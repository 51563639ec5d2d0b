#!/usr/bin/env python3
"""Measured vs exact dot products of the traced CIM layers of one sweep point of a results.h5.

One panel per traced layer: a scatter of /points/NNNN/traces/<layer>/measured (the chip's calibrated
result y[o], what requantization receives) against .../exact (Σ_k w[o,k]·x[k]), both flattened over
vectors and outputs, in integer dot-product units, with the line y = x. The title carries
RMSE = sqrt(mean((measured − exact)²)) and relative error = RMSE / sqrt(mean(exact²)), computed over
every traced value (not only the plotted ones). When a layer has more than --max-points values, a
fixed-seed subsample is drawn (the same figure every run).

    /usr/bin/python3 scripts/plot_dot_products.py DIR/results.h5 --out dots.png [--point 0]
        [--layers layer1.0.conv1,layer1.0.conv2] [--instance I] [--max-points 20000]

Exit code 2 with one line on stderr for a missing or wrong file, no finished points, or a point,
layer or instance that is not there (the message lists what is).
"""
import math

import numpy as np

import plot_common as pc


def layer_values(results, point, layer, instance):
    exact, measured, data = results.load_pair(point, layer, "exact", "measured", ["vector_instance"])
    if instance is not None:
        inst = np.asarray(data["vector_instance"]).reshape(-1)
        if instance not in set(inst.tolist()):
            raise pc.PlotInputError(f"{results.path}: point {point.index}, layer {layer}: no traced vectors "
                                    f"of instance {instance}; instances: "
                                    f"{', '.join(str(i) for i in sorted(set(inst.tolist())))}")
        keep = inst == instance
        exact, measured = exact[keep], measured[keep]
    return exact.reshape(-1), measured.reshape(-1)


def subsample(n, max_points, seed):
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def main():
    parser = pc.results_parser(__doc__)
    parser.add_argument("--point", type=int, default=0, help="sweep point index (default 0)")
    parser.add_argument("--layers", default="", help="comma-separated traced layers (default: all)")
    parser.add_argument("--instance", type=int, default=None,
                        help="only the vectors of this chip instance (default: all instances)")
    parser.add_argument("--max-points", type=pc.positive_int, default=20000,
                        help="at most this many scatter points per panel (default 20000)")
    args = parser.parse_args()

    with pc.Results(args.results) as results:
        point = results.point(args.point)
        layers = results.select_traced_layers(point, args.layers)
        plt = pc.pyplot()
        rows, cols = pc.grid(len(layers), 3)
        fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 4.2 * rows), squeeze=False)
        for i, layer in enumerate(layers):
            ax = axes[i // cols][i % cols]
            exact, measured = layer_values(results, point, layer, args.instance)
            if exact.size == 0:
                ax.text(0.5, 0.5, "no traced values", ha="center", va="center", transform=ax.transAxes)
                ax.set_title(layer, fontsize=10)
                continue
            err = measured - exact
            rmse = math.sqrt(float(np.mean(err ** 2)))
            rms = math.sqrt(float(np.mean(exact ** 2)))
            rel = rmse / rms if rms > 0 else float("nan")
            idx = subsample(exact.size, args.max_points, seed=i)
            ax.scatter(exact[idx], measured[idx], s=4 if idx.size > 2000 else 10, alpha=0.5, color="tab:blue", linewidths=0,
                       rasterized=True, label=f"{idx.size} of {exact.size} values" if idx.size < exact.size
                       else f"{exact.size} values")
            lo = float(min(exact.min(), measured.min()))
            hi = float(max(exact.max(), measured.max()))
            pad = 0.03 * (hi - lo if hi > lo else 1.0)
            ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.8, label="y = x")
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_aspect("equal", adjustable="box")
            ax.set_title(f"{layer}\nRMSE {rmse:.3g}, relative {100 * rel:.3g} %", fontsize=10)
            ax.set_xlabel("exact dot product (integer units)")
            ax.set_ylabel("measured (calibrated)")
            ax.grid(True, lw=0.3, alpha=0.5)
            ax.legend(loc="upper left", fontsize=8, markerscale=3)
        for j in range(len(layers), rows * cols):
            axes[j // cols][j % cols].set_visible(False)
        who = "all instances" if args.instance is None else f"instance {args.instance}"
        fig.suptitle(f"point {point.index}: {point.label()} ({who})", fontsize=11)
        fig.tight_layout()
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
