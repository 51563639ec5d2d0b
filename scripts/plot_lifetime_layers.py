#!/usr/bin/env python3
"""Per-layer dot-product error against the time after programming of a lifetime run, a panel per policy.

Reads a results.h5 of `cimsim experiment` with a "lifetime" key (docs/lifetime.md). x: lifetime.time
(log axis, s / min / h / d / mo / y). y, per CIM layer (a line each, coloured from the first layer to
the last), the mean over the chip instances of one per-layer dataset of the points (--metric):
  dot_relative        RMS(layer output − exact integer product) / RMS(exact) over every output of every
                      test image (default)
  reference_relative  the same on the layer's fixed drift-reference input (its held-out calibration
                      vectors), read once per time
  drift_alpha         the global drift factor α the policy applied (1 for none and per_column)
and their mean over the layers (black). Digital layers (not in the point's cim_layers) are left out;
--layers a,b picks layers. With further swept parameters use --where PATH=VALUE to pick one point set.

    /usr/bin/python3 scripts/plot_lifetime_layers.py DIR/results.h5 --out layers.png
        [--metric reference_relative] [--layers conv1,linear] [--where crossbar.adc.bits=8] [--logy]

Exit code 2 with one line on stderr for a missing or wrong file, a run without lifetime, no finished
points, more than one set of points (use --where), or a layer or value that is not there.
"""

import numpy as np

import plot_common as pc

METRICS = {"dot_relative": "relative dot-product error (test images)",
           "reference_relative": "relative error on the drift-reference input",
           "drift_alpha": "global drift factor α"}


def main():
    parser = pc.results_parser(__doc__)
    parser.add_argument("--metric", default="dot_relative", choices=sorted(METRICS),
                        help="per-layer dataset to draw (default dot_relative)")
    parser.add_argument("--layers", default="", help="comma-separated CIM layers (default: all)")
    pc.add_where_argument(parser)
    parser.add_argument("--logy", action="store_true", help="logarithmic y axis")
    args = parser.parse_args()

    with pc.Results(args.results) as results:
        lifetime = results.require_lifetime()
        groups = results.lifetime_groups(pc.parse_where(args.where))
        if len(groups) > 1:
            raise pc.PlotInputError(f"{results.path}: the points differ in other swept parameters "
                                    f"({'; '.join(g[0] for g in groups)}); pick one with --where PATH=VALUE")
        _, by_policy = groups[0]
        order = [str(p) for p in lifetime.get("policies", [])]
        policies = [p for p in order if p in by_policy] + [p for p in by_policy if p not in order]
        first = by_policy[policies[0]][0]
        cim = [n for n in first.layers if n in set(first.cim_layers)] or list(first.layers)
        wanted = pc.parse_csv(args.layers)
        missing = [n for n in wanted if n not in cim]
        if missing:
            raise pc.PlotInputError(f"{results.path}: {', '.join(missing)} not a CIM layer of these points; "
                                    f"CIM layers: {', '.join(cim)}")
        layers = wanted or cim
        columns = [first.layers.index(n) for n in layers]

        plt = pc.pyplot()
        from matplotlib import cm
        rows, cols = pc.grid(len(policies), max_cols=2 if len(policies) == 4 else 3)
        fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 4.4 * rows), squeeze=False, sharey=True)
        colors = cm.viridis(np.linspace(0.0, 0.92, len(layers)))
        all_times = sorted({float(p.params["lifetime.time"]) for ps in by_policy.values() for p in ps})
        for pi, policy in enumerate(policies):
            ax = axes[pi // cols][pi % cols]
            pts = by_policy[policy]
            t = np.array([float(p.params["lifetime.time"]) for p in pts])
            values = []
            for p in pts:
                data = results.point_dataset(p, args.metric)
                if data.ndim != 2 or data.shape[1] != len(p.layers):
                    raise pc.PlotInputError(f"{results.path}: {p.where}/{args.metric} has shape {data.shape}, "
                                            f"expected [instances, {len(p.layers)}]")
                values.append(data[:, columns].mean(axis=0))
            values = np.array(values)                      # [times, layers]
            for li, name in enumerate(layers):
                ax.plot(t, values[:, li], color=colors[li], lw=1.0, marker=".", ms=3,
                        label=name if pi == 0 else None)
            ax.plot(t, values.mean(axis=1), color="black", lw=2.0, label="mean over layers" if pi == 0 else None)
            ax.set_xscale("log")
            if args.logy:
                ax.set_yscale("log")
            ax.set_xticks(all_times)
            ax.set_xticklabels([pc.format_seconds(x) for x in all_times], rotation=30 if len(all_times) > 6 else 0)
            ax.minorticks_off()
            ax.set_title(f"policy {policy}", fontsize=9)
            ax.set_xlabel("time after programming")
            ax.grid(True, lw=0.3, alpha=0.5)
            if pi % cols == 0:
                ax.set_ylabel(METRICS[args.metric])
        for pi in range(len(policies), rows * cols):
            axes[pi // cols][pi % cols].axis("off")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=7, loc="center right", ncol=1 if len(labels) <= 22 else 2)
        fig.suptitle(f"{METRICS[args.metric]} per CIM layer vs time after programming "
                     f"(mean over {first.accuracy.size} instance{'s' if first.accuracy.size != 1 else ''})",
                     fontsize=10)
        fig.tight_layout(rect=(0, 0, 1 - 1.9 / fig.get_figwidth(), 1))   # ~1.9 in for the legend
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
