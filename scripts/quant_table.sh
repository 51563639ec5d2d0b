#!/usr/bin/env bash
# The quantization accuracy table: every conv/linear layer at W8A8, W6A6, W5A5 and W4A4 (image input
# 8-bit), ranges calibrated by max or by ACIQ on 500 class-balanced training images, evaluated by the
# integer engine on the 1,228 lossless test images and on the full test set, next to the float model.
# Usage: scripts/quant_table.sh [MODEL.h5]   (default $CIMSIM_MODEL); needs a release build
# (build/apps/cimsim/cimsim, or the binary in $CIMSIM_BIN).
# Writes out/quant_table/{table.md, *.json, q_*.h5}.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/data_env.sh
model="${1:-$CIMSIM_MODEL}"
cimsim="${CIMSIM_BIN:-build/apps/cimsim/cimsim}"
out=out/quant_table
mkdir -p "$out"
exact="$CIMSIM_DATA/test_batch_exact.bin"
full="$CIMSIM_DATA/test_batch.bin"

top1() { python3 -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['top1'])" "$1"; }

"$cimsim" eval --model "$model" --data "$exact" --json "$out/float_exact.json" > /dev/null
"$cimsim" eval --model "$model" --data "$full" --json "$out/float_full.json" > /dev/null
{
  echo "| config | calibration | lossless 1,228 top-1 % | full 10,000 top-1 % |"
  echo "|---|---|---|---|"
  echo "| float32 | — | $(top1 "$out/float_exact.json") | $(top1 "$out/float_full.json") |"
} > "$out/table.md"
for bits in 8 6 5 4; do
  for method in max aciq; do
    name="w${bits}a${bits}_${method}"
    cat > "$out/$name.json" <<JSON
{"default": {"weight_bits": $bits, "activation_bits": $bits,
             "weight_calibration": {"method": "$method"}, "activation_calibration": {"method": "$method"}},
 "calibration": {"images": 500, "seed": 1, "class_balanced": true}}
JSON
    "$cimsim" quantize --model "$model" --config "$out/$name.json" --data "$CIMSIM_DATA" --out "$out/q_$name.h5" > /dev/null
    "$cimsim" infer --qmodel "$out/q_$name.h5" --data "$exact" --json "$out/${name}_exact.json" > /dev/null
    "$cimsim" infer --qmodel "$out/q_$name.h5" --data "$full" --json "$out/${name}_full.json" > /dev/null
    echo "| W${bits}A${bits} | $method | $(top1 "$out/${name}_exact.json") | $(top1 "$out/${name}_full.json") |" >> "$out/table.md"
  done
done
cat "$out/table.md"
