#!/usr/bin/env bash
# Tests of the results.h5 plot scripts on synthetic files (scripts/make_example_results.py):
# every script writes a PNG larger than 5 kB, and bad inputs end in exit code 2 with one line on
# stderr that names the file and carries no Python traceback. Prints "plots ok" on success.
# Needs /usr/bin/python3 with python3-h5py, python3-numpy and python3-matplotlib (Debian).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run_ok NAME SCRIPT ARGS...: exit 0, prints the PNG path, PNG > 5 kB.
run_ok() {
  local name="$1" script="$2"; shift 2
  local out="$tmp/$name.png"
  if ! "$py" "$here/$script" "$@" --out "$out" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"; then
    fail "$name: $script $* exited non-zero: $(cat "$tmp/$name.stderr")"; return
  fi
  [[ "$(cat "$tmp/$name.stdout")" == "$out" ]] || fail "$name: did not print the path written"
  [[ -f "$out" ]] || { fail "$name: $out not written"; return; }
  local size; size=$(stat -c %s "$out")
  (( size > 5000 )) || fail "$name: $out is only $size bytes"
}

# run_bad NAME EXPECTED_SUBSTRING SCRIPT ARGS...: exit 2, one stderr line naming the problem.
run_bad() {
  local name="$1" expect="$2" script="$3"; shift 3
  "$py" "$here/$script" "$@" --out "$tmp/$name.png" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
  local rc=$?
  local err; err="$(cat "$tmp/$name.stderr")"
  (( rc == 2 )) || fail "$name: exit code $rc, expected 2 (stderr: $err)"
  [[ "$err" == *"$expect"* ]] || fail "$name: stderr lacks '$expect': $err"
  [[ "$err" != *Traceback* ]] || fail "$name: Python traceback on stderr"
  (( $(wc -l <"$tmp/$name.stderr") == 1 )) || fail "$name: expected one line on stderr: $err"
  [[ ! -e "$tmp/$name.png" ]] || fail "$name: wrote a PNG despite the error"
}

sweep="$tmp/sweep.h5"; split="$tmp/split.h5"; empty="$tmp/empty.h5"; other="$tmp/other.h5"
life="$tmp/life.h5"
"$py" "$here/make_example_results.py" "$sweep" >/dev/null || fail "make_example_results.py (sweep)"
"$py" "$here/make_example_results.py" "$split" --split >/dev/null || fail "make_example_results.py --split"
"$py" "$here/make_example_results.py" "$empty" --finished 0 >/dev/null || fail "make_example_results.py --finished 0"
"$py" "$here/make_example_results.py" "$life" --lifetime >/dev/null || fail "make_example_results.py --lifetime"
"$py" - "$other" <<'EOF' || fail "writing a non-results HDF5 file"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["arch"] = "resnet"
    f.create_dataset("params/conv1.weight", data=np.zeros((16, 3, 3, 3), np.float32))
EOF
(( failures == 0 )) || { echo "could not make the example files" >&2; exit 1; }

# The example file follows the contract: chunked + deflate per-vector/per-read data, root attributes.
"$py" - "$sweep" <<'EOF' || fail "example file layout"
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["format"].decode() == "cimsim-experiment-results"
    assert int(f.attrs["format_version"]) == 1 and int(f.attrs["points_finished"]) == 4
    assert json.loads(f.attrs["swept"]) == ["crossbar.adc.bits", "device.preset"]
    p = f["points/0001"]
    assert json.loads(p.attrs["params"]) == {"crossbar.adc.bits": 4, "device.preset": "pcm"}
    for name in ("exact", "measured", "inputs", "read_analog", "read_ideal"):
        d = p["traces/layer1.0.conv1"][name]
        assert d.chunks is not None and d.compression == "gzip", name
    assert p["dot_rmse"].shape == (3, len(json.loads(p.attrs["layers"])))
EOF

run_ok dots plot_dot_products.py "$sweep"
run_ok dots_p1 plot_dot_products.py "$sweep" --point 1 --layers layer1.0.conv2 --max-points 50
run_ok dots_split plot_dot_products.py "$split" --point 2 --instance 1
run_ok hist plot_error_hist.py "$sweep" --point 3
run_ok hist_reads plot_error_hist.py "$sweep" --point 1 --reads --log
run_ok acc plot_accuracy_sweep.py "$sweep"
run_ok acc_preset plot_accuracy_sweep.py "$sweep" --x device.preset --series crossbar.adc.bits
run_ok acc_pcm plot_accuracy_sweep.py "$sweep" --where device.preset=pcm --logx
run_ok acc_split plot_accuracy_sweep.py "$split"
run_ok split plot_split.py "$split"
run_ok split_log plot_split.py "$split" --log-bytes
run_ok life plot_lifetime.py "$life"
run_ok life_reprograms plot_lifetime.py "$life" --reprograms --title "synthetic"
run_ok life_compare plot_lifetime.py "$life" --label plain --compare "$life=hardware-aware"
run_ok life_layers plot_lifetime_layers.py "$life"
run_ok life_ref plot_lifetime_layers.py "$life" --metric reference_relative --layers conv1,linear --logy
run_ok life_alpha plot_lifetime_layers.py "$life" --metric drift_alpha
run_ok life_sweep plot_accuracy_sweep.py "$life" --logx

for script in plot_dot_products.py plot_error_hist.py plot_accuracy_sweep.py plot_split.py plot_lifetime.py \
    plot_lifetime_layers.py; do
  base="${script%.py}"
  run_bad "${base}_missing" "$tmp/nope.h5: no such file" "$script" "$tmp/nope.h5"
  run_bad "${base}_other" "not a cimsim results file" "$script" "$other"
  run_bad "${base}_notHDF5" "not an HDF5 file" "$script" "$here/test_plots.sh"
  run_bad "${base}_empty" "no finished points" "$script" "$empty"
  "$py" "$here/$script" --help >/dev/null || fail "$script --help"
done
run_bad dots_point99 "no finished point 99; available points: 0, 1, 2, 3" plot_dot_products.py "$sweep" --point 99
run_bad hist_point99 "no finished point 99; available points: 0, 1, 2, 3" plot_error_hist.py "$sweep" --point 99
run_bad dots_layer "traced layers: layer1.0.conv1, layer1.0.conv2" plot_dot_products.py "$sweep" --layers conv9
run_bad acc_x "swept: crossbar.adc.bits, device.preset" plot_accuracy_sweep.py "$sweep" --x crossbar.adc.range
run_bad acc_where "values: ideal, pcm" plot_accuracy_sweep.py "$sweep" --where device.preset=rram
run_bad split_none "has a split" plot_split.py "$sweep"
run_bad life_none "not a lifetime run" plot_lifetime.py "$sweep"
run_bad life_compare_none "not a lifetime run" plot_lifetime.py "$life" --compare "$sweep=other"
run_bad life_layers_none "not a lifetime run" plot_lifetime_layers.py "$sweep"
run_bad life_layer "CIM layers: conv1" plot_lifetime_layers.py "$life" --layers conv9
run_bad life_where "values: none, global, per_column" plot_lifetime.py "$life" --where lifetime.policy=reprogram

# Training curves (scripts/plot_training.py) on two synthetic runs: a directory with log.jsonl, and a
# log.csv given as a file.
mkdir -p "$tmp/run_a" "$tmp/run_b" "$tmp/no_log"
for e in 1 2 3 4; do
  echo "{\"epoch\":$e,\"loss\":$((200 / e)).5,\"train_accuracy\":$((50 + 10 * e)),\"test_accuracy\":$((45 + 10 * e)),\"lr\":0.1,\"seconds\":12.5,\"images_per_s\":400}"
done > "$tmp/run_a/log.jsonl"
printf 'epoch,loss,train_accuracy,test_accuracy,lr,seconds,images_per_s\n1,1.5,40,38,0.05,10,500\n2,1.1,55,50,0.025,10,500\n' > "$tmp/run_b/log.csv"
: > "$tmp/empty.jsonl"
printf '{"epoch":1,"loss":1,"train_accuracy":2,"test_accuracy":3,"lr":4,"seconds":5,"images_per_s":6}\n{"epoch":2,"loss":\n' > "$tmp/cut.jsonl"
run_ok train_one plot_training.py "$tmp/run_a"
run_ok train_two plot_training.py "$tmp/run_a=float" "$tmp/run_b/log.csv=QAT" --log-loss --title "synthetic"
run_ok train_nolr plot_training.py "$tmp/run_a/log.jsonl" --no-lr
run_bad train_missing "$tmp/nope: no such file or directory" plot_training.py "$tmp/nope"
run_bad train_nolog "no log.jsonl or log.csv" plot_training.py "$tmp/no_log"
run_bad train_empty "no epochs logged yet" plot_training.py "$tmp/empty.jsonl"
run_bad train_cut "cut.jsonl: line 2: not JSON" plot_training.py "$tmp/run_a" "$tmp/cut.jsonl"
printf 'a,b\n1,2\n' > "$tmp/other.csv"
run_bad train_notlog "header lacks column(s) epoch" plot_training.py "$tmp/other.csv"
"$py" "$here/plot_training.py" --help >/dev/null || fail "plot_training.py --help"

if (( failures > 0 )); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "plots ok"
