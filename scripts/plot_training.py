#!/usr/bin/env python3
"""Training curves of `cimsim train` / `cimsim qat` runs: loss, train and test accuracy and learning
rate against the epoch, several runs overlaid (one colour per run).

Each RUN is a run's --out directory (its log.jsonl is read, else its log.csv) or one of those files
itself; RUN=LABEL names the run in the legend (default: the directory's name). The log format is
experiments/training_log.h (docs/training.md): one record per completed epoch with epoch, loss,
train_accuracy, test_accuracy (%), lr, seconds, images_per_s.

    /usr/bin/python3 scripts/plot_training.py runs/w3a3 runs/w2a2=W2A2 --out curves.png
        [--title TEXT] [--log-loss] [--no-lr]

Exit code 2 with one line on stderr for a missing run, a directory without a log, a log without
epochs, or a damaged line (named by file and line number).
"""

import argparse
import csv
import json
import math
import os

import plot_common as pc

COLUMNS = ["epoch", "loss", "train_accuracy", "test_accuracy", "lr", "seconds", "images_per_s"]


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise pc.PlotInputError(f"{path}: line {number}: not JSON ({e.msg})")
            if not isinstance(record, dict):
                raise pc.PlotInputError(f"{path}: line {number}: not a JSON object")
            rows.append(check_row(record, path, number))
    return rows


def read_csv(path):
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise pc.PlotInputError(f"{path}: header lacks column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
        for number, record in enumerate(reader, 2):
            rows.append(check_row(record, path, number))
    return rows


def check_row(record, path, number):
    row = {}
    for column in COLUMNS:
        value = record.get(column)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise pc.PlotInputError(f"{path}: line {number}: no number for '{column}'")
        if not math.isfinite(value):
            raise pc.PlotInputError(f"{path}: line {number}: '{column}' is {value}")
        row[column] = value
    return row


def load_run(spec):
    """RUN[=LABEL] -> (label, rows)."""
    path, sep, label = spec.rpartition("=")
    if not sep:
        path, label = spec, ""
    if os.path.isdir(path):
        candidates = [os.path.join(path, "log.jsonl"), os.path.join(path, "log.csv")]
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise pc.PlotInputError(f"{path}: no log.jsonl or log.csv in this directory (not a cimsim train/qat --out?)")
        log = found[0]
        default_label = os.path.basename(os.path.normpath(path))
    elif os.path.isfile(path):
        log = path
        default_label = os.path.basename(os.path.dirname(os.path.abspath(path)))
    else:
        raise pc.PlotInputError(f"{path}: no such file or directory")
    try:
        rows = read_csv(log) if log.endswith(".csv") else read_jsonl(log)
    except UnicodeDecodeError:
        raise pc.PlotInputError(f"{log}: not a text file")
    except OSError as e:
        raise pc.PlotInputError(f"{log}: cannot read ({e.strerror or e})")
    if not rows:
        raise pc.PlotInputError(f"{log}: no epochs logged yet")
    return label or default_label, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN[=LABEL]", help="a run directory or its log.jsonl / log.csv")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default=None, help="figure title")
    parser.add_argument("--log-loss", action="store_true", help="loss on a log axis")
    parser.add_argument("--no-lr", action="store_true", help="leave out the learning-rate panel")
    args = parser.parse_args()

    runs = [load_run(spec) for spec in args.runs]
    panels = [("loss", "training loss"), ("train_accuracy", "train accuracy (%)"),
              ("test_accuracy", "test accuracy (%)")]
    if not args.no_lr:
        panels.append(("lr", "learning rate"))
    plt = pc.pyplot()
    from matplotlib import ticker
    rows, cols = pc.grid(len(panels), max_cols=2)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 4.2 * rows), squeeze=False)
    for i, (column, ylabel) in enumerate(panels):
        ax = axes[i // cols][i % cols]
        for label, data in runs:
            epochs = [r["epoch"] for r in data]
            ax.plot(epochs, [r[column] for r in data], marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        if column == "loss" and args.log_loss:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    for j in range(len(panels), rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=8)
    last = ", ".join(f"{label}: {data[-1]['test_accuracy']:.2f} % after {data[-1]['epoch']:g} epochs" for label, data in runs)
    fig.suptitle(args.title or f"test accuracy — {last}", fontsize=10)
    fig.tight_layout()
    pc.save_figure(fig, args.out)


if __name__ == "__main__":
    pc.run_main(main)
