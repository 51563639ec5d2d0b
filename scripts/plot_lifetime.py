#!/usr/bin/env python3
"""Top-1 accuracy against the time after programming of a lifetime run, one curve per policy.

Reads a results.h5 of `cimsim experiment` with a "lifetime" key (docs/lifetime.md). x: the point
parameter lifetime.time (seconds after programming) on a log axis, labelled in s / min / h / d / mo / y.
y: accuracy_mean ± accuracy_std over the chip instances (shaded band and error bars), in %. One curve
per lifetime.policy, in the order of the config; a dotted vertical line marks lifetime.calibrate_at.
With further swept parameters each combination of their values gets its own panel (or pick one with
--where PATH=VALUE, repeatable). --reprograms adds the mean number of reprogram events per instance
(policy "reprogram") on a second axis. --compare RESULTS=LABEL (repeatable) draws further runs as
panels beside the first (named by --label), e.g. a plain and a hardware-aware trained model.

    /usr/bin/python3 scripts/plot_lifetime.py DIR/results.h5 --out lifetime.png
        [--where crossbar.adc.bits=8] [--reprograms] [--title TEXT] [--label NAME] [--compare R.h5=NAME ...]

Exit code 2 with one line on stderr for a missing or wrong file, a run without lifetime, no finished
points, or a --where value no point has (the message lists what is available).
"""

import contextlib

import numpy as np

import plot_common as pc

POLICY_STYLE = {"none": ("tab:red", "o"), "global": ("tab:blue", "s"), "per_column": ("tab:green", "^"),
                "reprogram": ("tab:orange", "D")}


def main():
    parser = pc.results_parser(__doc__)
    pc.add_where_argument(parser)
    parser.add_argument("--reprograms", action="store_true",
                        help="also draw the mean reprogram events per instance (right axis)")
    parser.add_argument("--title", default=None, help="figure title (default: describes the run)")
    parser.add_argument("--label", default=None, help="name of this run in the panel titles (with --compare)")
    parser.add_argument("--compare", action="append", default=[], metavar="RESULTS=LABEL",
                        help="another lifetime run, drawn as its own panel (repeatable)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        runs = [(stack.enter_context(pc.Results(args.results)), args.label)]
        for spec in args.compare:
            path, sep, name = spec.rpartition("=")
            runs.append((stack.enter_context(pc.Results(path if sep else spec)), name if sep else None))
        where = pc.parse_where(args.where)
        groups = []  # (panel title, points by policy, results, lifetime attributes)
        for results, run_label in runs:
            lifetime = results.require_lifetime()
            for label, by_policy in results.lifetime_groups(where):
                groups.append((" · ".join(x for x in (run_label, label) if x), by_policy, results, lifetime))

        plt = pc.pyplot()
        rows, cols = pc.grid(len(groups), max_cols=2)
        fig, axes = plt.subplots(rows, cols, figsize=(7.5 * cols, 4.8 * rows), squeeze=False, sharey=bool(args.compare))
        all_times = sorted({float(p.params["lifetime.time"]) for _, g, _, _ in groups for ps in g.values() for p in ps})
        instances = sorted({p.accuracy.size for _, g, _, _ in groups for ps in g.values() for p in ps if p.accuracy.size})
        for gi, (label, by_policy, results, lifetime) in enumerate(groups):
            order = [str(p) for p in lifetime.get("policies", [])]
            calibrate_at = lifetime.get("calibrate_at")
            ax = axes[gi // cols][gi % cols]
            policies = [p for p in order if p in by_policy] + [p for p in by_policy if p not in order]
            right = None
            for policy in policies:
                pts = by_policy[policy]
                color, marker = POLICY_STYLE.get(policy, (None, "o"))
                t = np.array([float(p.params["lifetime.time"]) for p in pts])
                mean = np.array([100.0 * p.accuracy_mean for p in pts])
                std = np.array([100.0 * p.accuracy_std for p in pts])
                line = ax.errorbar(t, mean, yerr=std, marker=marker, ms=5, capsize=3, lw=1.5, color=color,
                                   label=policy)
                ax.fill_between(t, mean - std, mean + std, color=line[0].get_color(), alpha=0.15, lw=0)
                if args.reprograms and policy == "reprogram":
                    counts = [results.point_dataset(p, "reprograms") for p in pts]
                    right = right or ax.twinx()
                    right.step(t, [c.mean() if c.size else 0.0 for c in counts], where="post",
                               color=line[0].get_color(), ls=":", lw=1.2, label="reprogram events (mean)")
                    right.set_ylabel("reprogram events per instance")
            if pc.is_number(calibrate_at) and calibrate_at > 0:
                ax.axvline(float(calibrate_at), color="0.4", ls=":", lw=1)
                ax.annotate("calibrated", (float(calibrate_at), 0.02), xycoords=("data", "axes fraction"),
                            rotation=90, fontsize=7, color="0.4", ha="right", va="bottom")
            ax.set_xscale("log")
            ax.set_xticks(all_times)
            ax.set_xticklabels([pc.format_seconds(x) for x in all_times], rotation=30 if len(all_times) > 6 else 0)
            ax.minorticks_off()
            ax.set_xlabel("time after programming")
            ax.set_ylabel("top-1 accuracy (%)")
            ax.grid(True, lw=0.3, alpha=0.5)
            handles, labels = ax.get_legend_handles_labels()
            if right is not None:
                h2, l2 = right.get_legend_handles_labels()
                handles, labels = handles + h2, labels + l2
            ax.legend(handles, labels, fontsize=8, loc="lower left", title="policy")
            if label:
                ax.set_title(label, fontsize=9)
        for gi in range(len(groups), rows * cols):
            axes[gi // cols][gi % cols].axis("off")
        inst_text = "/".join(str(i) for i in instances) + (" instances" if instances != [1] else " instance")
        images = sorted({p.images for _, g, _, _ in groups for ps in g.values() for p in ps})
        title = args.title or (f"accuracy vs time after programming (mean ± std over {inst_text}, "
                               f"{'/'.join(str(i) for i in images)} images)")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
