#!/usr/bin/env python3
"""Accuracy and transmitted bytes per image against the device/cloud split point of a results.h5.

Uses the points whose attribute `split` is non-empty. x: the split layer names, in model order (their
order in the point attribute `layers`; point-index order if a name is not there), as rotated labels.
Left axis: accuracy_mean ± accuracy_std in % (sample std over the chip instances). Right axis:
transmitted_bytes (bytes per image of the feature maps that cross from the device to the cloud).
If other swept paths vary among the split points, each combination gets its own accuracy line (and
its own bytes line when the bytes differ); --where PATH=VALUE (repeatable) keeps only matching
points. Points without a split (per-layer placement) are left out.

    /usr/bin/python3 scripts/plot_split.py DIR/results.h5 --out split.png [--where PATH=VALUE]
        [--log-bytes]

Exit code 2 with one line on stderr for a missing or wrong file, no finished points, no point with a
split, or a --where value no point has (the message lists what is available).
"""

import numpy as np

import plot_common as pc


def main():
    parser = pc.results_parser(__doc__)
    pc.add_where_argument(parser)
    parser.add_argument("--log-bytes", action="store_true", help="logarithmic bytes axis")
    args = parser.parse_args()

    with pc.Results(args.results) as results:
        where = pc.parse_where(args.where)
        candidates = results.filter_points(where)
        points = [p for p in candidates if p.split]
        if not points:
            raise pc.PlotInputError(
                f"{results.path}: no point{' matching --where' if where else ''} has a split (attribute "
                f"'split' is empty in points {', '.join(str(p.index) for p in candidates)})")

        # The swept path that carries the split itself is not a grouping dimension.
        paths = results.param_paths()
        split_paths = [q for q in paths if all(p.params.get(q) == p.split for p in points)]
        rest = [q for q in paths if q not in split_paths and q not in where]

        names = []
        for p in points:
            if p.split not in names:
                names.append(p.split)
        model = points[0].layers
        if all(n in model for n in names):
            names.sort(key=model.index)
        pos = {n: i for i, n in enumerate(names)}

        groups = {}
        for p in points:
            groups.setdefault(tuple(pc.value_key(p.params.get(q)) for q in rest), []).append(p)
        ordered = sorted(groups.items(), key=lambda kv: min(p.index for p in kv[1]))

        bytes_by_split = {}
        for p in points:
            bytes_by_split.setdefault(p.split, set()).add(p.transmitted_bytes)
        bytes_shared = all(len(v) == 1 for v in bytes_by_split.values())

        plt = pc.pyplot()
        fig, ax = plt.subplots(figsize=(max(6.5, 1.0 * len(names) + 3.5), 5.0))
        axb = ax.twinx()
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        acc_color = colors[0]
        bytes_color = "tab:red"
        n = len(ordered)
        width = min(0.25, 0.6 / max(n, 1))
        for gi, (key, pts) in enumerate(ordered):
            color = colors[gi % len(colors)] if n > 1 else acc_color
            pts = sorted(pts, key=lambda p: (pos[p.split], p.index))
            xs = np.array([pos[p.split] for p in pts], dtype=float) + (gi - (n - 1) / 2) * width
            label = ", ".join(f"{q}={pc.format_value(v)}" for q, v in zip(rest, key)) or "accuracy"
            ax.errorbar(xs, [100 * p.accuracy_mean for p in pts], yerr=[100 * p.accuracy_std for p in pts],
                        marker="o", ms=5, capsize=4, lw=1.4, color=color,
                        label=label if n > 1 else "accuracy (mean ± std)")
            if not bytes_shared:
                axb.plot(xs, [p.transmitted_bytes for p in pts], marker="s", ms=4, ls="--", lw=1.0,
                         color=color, alpha=0.7, label=f"bytes, {label}")
        if bytes_shared:
            axb.plot(range(len(names)), [next(iter(bytes_by_split[s])) for s in names], marker="s", ms=5,
                     ls="--", lw=1.2, color=bytes_color, label="transmitted bytes / image")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right")
        ax.set_xlim(-0.5, len(names) - 0.5)
        ax.set_xlabel("split after layer (device | cloud)")
        ax.set_ylabel("top-1 accuracy (%)", color=acc_color if n == 1 else "black")
        axb.set_ylabel("transmitted bytes per image", color=bytes_color if bytes_shared else "black")
        if args.log_bytes:
            axb.set_yscale("log")
        else:
            axb.set_ylim(bottom=0)
        ax.grid(True, lw=0.3, alpha=0.5)
        title = "accuracy and transmitted bytes vs split point"
        if where:
            title += "\n" + ", ".join(f"{k}={pc.format_value(v)}" for k, v in where.items())
        ax.set_title(title, fontsize=10)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = axb.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
        fig.tight_layout()
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
