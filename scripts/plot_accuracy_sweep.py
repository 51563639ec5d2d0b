#!/usr/bin/env python3
"""Top-1 accuracy against one swept parameter of a results.h5, one line per value of another.

y: the point attributes accuracy_mean ± accuracy_std (the sample std over the chip instances of
/points/NNNN/accuracy), shown in %. x: the value of the swept path --x in each point's `params`
(default: the first path of the root attribute `swept`). With a second swept path (--series, default
the second swept path that is not --x; `--series none` for none) there is one line per value of it.
Points that also differ in further swept paths are not averaged together: each combination of those
values gets its own line, named in the legend; --where PATH=VALUE (repeatable) keeps only the points
with that value instead. Numeric x values make a numeric axis (--logx for a log scale); any string
value (e.g. device.preset) makes a categorical axis in order of first appearance: grouped points with
error bars, no joining lines, each series shifted slightly sideways so their error bars do not overlap,
tick labels rotated when long.

    /usr/bin/python3 scripts/plot_accuracy_sweep.py DIR/results.h5 --out acc.png
        [--x crossbar.adc.bits] [--series device.preset] [--where device.preset=pcm] [--logx]

Exit code 2 with one line on stderr for a missing or wrong file, no finished points, a path that is
not swept, or a --where value no point has (the message lists what is available).
"""

import numpy as np

import plot_common as pc


def main():
    parser = pc.results_parser(__doc__)
    parser.add_argument("--x", default=None, help="swept path on the x axis (default: the first swept)")
    parser.add_argument("--series", default=None,
                        help="swept path with one line per value (default: the second swept; 'none')")
    pc.add_where_argument(parser)
    parser.add_argument("--logx", action="store_true", help="logarithmic x axis (numeric x only)")
    args = parser.parse_args()

    with pc.Results(args.results) as results:
        paths = results.param_paths()
        if not paths:
            raise pc.PlotInputError(f"{results.path}: nothing is swept (root attribute 'swept' is empty); "
                                    f"there is no parameter to put on the x axis")
        x_path = args.x if args.x is not None else paths[0]
        results.check_path(x_path, "--x")
        if args.series is None:
            others = [p for p in paths if p != x_path]
            series_path = others[0] if others else None
        elif args.series.lower() == "none":
            series_path = None
        else:
            results.check_path(args.series, "--series")
            if args.series == x_path:
                raise pc.PlotInputError(f"{results.path}: --series '{args.series}' is also --x; "
                                        f"choose another swept path: "
                                        f"{', '.join(p for p in paths if p != x_path) or 'none'}")
            series_path = args.series
        where = pc.parse_where(args.where)
        points = [p for p in results.filter_points(where) if x_path in p.params]
        if not points:
            raise pc.PlotInputError(f"{results.path}: no finished point has a value for '{x_path}'")
        rest = [p for p in paths if p not in (x_path, series_path) and p not in where]

        x_values = pc.sort_values([p.params[x_path] for p in points])
        numeric = all(pc.is_number(v) for v in x_values)
        if args.logx and not (numeric and all(v > 0 for v in x_values)):
            raise pc.PlotInputError(f"{results.path}: --logx needs positive numeric values of {x_path}; "
                                    f"values: {', '.join(pc.format_value(v) for v in x_values)}")
        position = {pc.value_key(v): (float(v) if numeric else float(i)) for i, v in enumerate(x_values)}

        # Lines: one per (series value, values of the remaining swept paths).
        def line_key(p):
            return tuple(pc.value_key(p.params.get(r)) for r in ([series_path] if series_path else []) + rest)

        series_order = pc.sort_values([p.params.get(series_path) for p in points]) if series_path else [None]
        lines = {}
        for p in points:
            lines.setdefault(line_key(p), []).append(p)
        rank = {pc.value_key(v): i for i, v in enumerate(series_order)}
        ordered = sorted(lines.items(), key=lambda kv: (rank.get(kv[0][0], 0) if series_path else 0,
                                                       min(p.index for p in kv[1])))

        plt = pc.pyplot()
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        n_lines = len(ordered)
        width = 0.0 if numeric else min(0.3, 0.6 / max(n_lines, 1))
        for li, (key, pts) in enumerate(ordered):
            pts = sorted(pts, key=lambda p: position[pc.value_key(p.params[x_path])])
            xs = np.array([position[pc.value_key(p.params[x_path])] for p in pts])
            if not numeric and n_lines > 1:
                xs = xs + (li - (n_lines - 1) / 2) * width
            ys = np.array([100.0 * p.accuracy_mean for p in pts])
            es = np.array([100.0 * p.accuracy_std for p in pts])
            parts = []
            first = pts[0]
            if series_path:
                parts.append(f"{series_path}={pc.format_value(first.params.get(series_path))}")
            parts += [f"{r}={pc.format_value(first.params.get(r))}" for r in rest]
            label = ", ".join(parts) if parts else None
            # A categorical axis has no order between its values: grouped points, no joining line.
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=5, capsize=4, lw=1.4,
                        ls="-" if numeric else "none", label=label)
        if not numeric:
            ax.set_xticks(range(len(x_values)))
            ax.set_xticklabels([pc.format_value(v) for v in x_values],
                               rotation=30 if max(len(pc.format_value(v)) for v in x_values) > 8 else 0,
                               ha="right" if max(len(pc.format_value(v)) for v in x_values) > 8 else "center")
            ax.set_xlim(-0.5, len(x_values) - 0.5)
        else:
            if args.logx:
                ax.set_xscale("log", base=2 if all(float(v).is_integer() and int(v) & (int(v) - 1) == 0
                                                   for v in x_values) else 10)
            if len(x_values) <= 12:
                ax.set_xticks([float(v) for v in x_values])
                ax.set_xticklabels([pc.format_value(v) for v in x_values])
                ax.minorticks_off()
        instances = sorted({p.accuracy.size for p in points if p.accuracy.size})
        inst_text = ("/".join(str(i) for i in instances) + " instance" +
                     ("s" if instances != [1] else "")) if instances else "instances"
        ax.set_xlabel(x_path)
        ax.set_ylabel("top-1 accuracy (%)")
        title = f"accuracy vs {x_path} (mean ± std over {inst_text})"
        if where:
            title += "\n" + ", ".join(f"{k}={pc.format_value(v)}" for k, v in where.items())
        ax.set_title(title, fontsize=10)
        ax.grid(True, lw=0.3, alpha=0.5)
        if any(label for label in ax.get_legend_handles_labels()[1]):
            ax.legend(fontsize=8, title=None, loc="best")
        fig.tight_layout()
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
