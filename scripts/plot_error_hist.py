#!/usr/bin/env python3
"""Histograms of dot-product errors of the traced CIM layers of one sweep point of a results.h5.

Per traced layer: a histogram of measured − exact over every traced vector and output
(/points/NNNN/traces/<layer>/measured and .../exact, integer dot-product units). With --reads, a
second panel under it: a histogram of read_analog − read_ideal over every recorded column read
(the analog value before the ADC minus the exact Σ_k x_t[k]·d[k] of that read: read noise and
periphery error, before quantization). Each panel's title gives the mean, the std and the count.
Integer-valued errors with a small range get one bin per integer.

    /usr/bin/python3 scripts/plot_error_hist.py DIR/results.h5 --out hist.png [--point 0]
        [--layers a,b] [--reads] [--bins 80] [--log]

Exit code 2 with one line on stderr for a missing or wrong file, no finished points, or a point or
layer that is not there (the message lists what is).
"""

import numpy as np

import plot_common as pc


def bin_edges(values, bins):
    lo, hi = float(values.min()), float(values.max())
    if np.all(values == np.rint(values)) and hi - lo <= bins:
        return np.arange(lo - 0.5, hi + 1.5, 1.0)       # one bin per integer
    if hi == lo:
        return np.array([lo - 0.5, lo + 0.5])
    return np.linspace(lo, hi, bins + 1)


def draw(ax, values, bins, log, color, title, xlabel):
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, fontsize=10)
        return
    ax.hist(values, bins=bin_edges(values, bins), color=color, alpha=0.85, log=log)
    std = values.std(ddof=1) if values.size > 1 else 0.0
    ax.axvline(0.0, color="black", lw=0.8)
    ax.set_title(f"{title}\nmean {values.mean():.3g}, std {std:.3g}, n {values.size}", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.grid(True, lw=0.3, alpha=0.5)


def main():
    parser = pc.results_parser(__doc__)
    parser.add_argument("--point", type=int, default=0, help="sweep point index (default 0)")
    parser.add_argument("--layers", default="", help="comma-separated traced layers (default: all)")
    parser.add_argument("--reads", action="store_true",
                        help="also histogram read_analog - read_ideal per layer")
    parser.add_argument("--bins", type=pc.positive_int, default=80, help="bins per histogram (80)")
    parser.add_argument("--log", action="store_true", help="logarithmic count axis")
    args = parser.parse_args()

    with pc.Results(args.results) as results:
        point = results.point(args.point)
        layers = results.select_traced_layers(point, args.layers)
        plt = pc.pyplot()
        block_rows, cols = pc.grid(len(layers), 4)
        per = 2 if args.reads else 1
        fig, axes = plt.subplots(block_rows * per, cols, figsize=(4.2 * cols, 3.4 * block_rows * per),
                                 squeeze=False)
        for i, layer in enumerate(layers):
            r, c = (i // cols) * per, i % cols
            exact, measured, _ = results.load_pair(point, layer, "exact", "measured")
            draw(axes[r][c], measured - exact, args.bins, args.log, "tab:blue", layer,
                 "measured − exact (integer units)")
            if args.reads:
                ideal, analog, _ = results.load_pair(point, layer, "read_ideal", "read_analog")
                draw(axes[r + 1][c], analog - ideal, args.bins, args.log, "tab:orange",
                     f"{layer} (per read)", "read_analog − read_ideal (integer units)")
        for i in range(len(layers), block_rows * cols):
            for k in range(per):
                axes[(i // cols) * per + k][i % cols].set_visible(False)
        fig.suptitle(f"point {point.index}: {point.label()}", fontsize=11)
        fig.tight_layout()
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
