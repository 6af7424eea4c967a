#!/usr/bin/env bash
# Runs `nsde bench train-step` and the PyTorch reference on the identical model in one run and
# prints both JSON objects and the throughput ratio. Needs `pip install torch`.
#
#   Benchmarks/compare_train_step.sh [--demo] [--pairs N] [extra nsde bench train-step options]
#
# Default: the paper-small model on 3x32x32, batch 128. --demo: the model the presets and the demo
# train (1x28x28, width 16, 8 GroupNorm groups, 4 steps, batch 32). --pairs N alternates the two
# N times (each a fresh process) and prints every ratio and their median.
# THREADS (default 2) sets the threads of both.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-2}"
pairs=1
shape=(--batch 128)
torch_shape=(--batch 128)
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --demo)
            shape=(--batch 32 --in-channels 1 --size 28 --width 16 --gn-groups 8 --steps 4 --repeats 20 --warmup 3)
            torch_shape=(--batch 32 --in-channels 1 --size 28 --width 16 --gn-groups 8 --steps 4 --repeats 20 --warmup 3)
            shift ;;
        --pairs) pairs="$2"; shift 2 ;;
        *) extra+=("$1"); shift ;;
    esac
done
swift build -c release --product nsde >/dev/null
results=()
for ((i = 1; i <= pairs; i++)); do
    ours=$(.build/release/nsde bench train-step --model paper-small "${shape[@]}" --threads "$threads" --json "${extra[@]}")
    torch=$(python3 Benchmarks/pytorch_train_step.py "${torch_shape[@]}" --threads "$threads")
    echo "nsde:    $ours"
    echo "pytorch: $torch"
    results+=("$ours" "$torch")
done
python3 - "${results[@]}" <<'PY'
import json, statistics, sys
rows = [json.loads(r) for r in sys.argv[1:]]
ratios = [a["images_per_s"] / b["images_per_s"] for a, b in zip(rows[0::2], rows[1::2])]
a = rows[0]
print("ratio nsde/pytorch images/s: " + ", ".join(f"{r:.2f}x" for r in ratios)
      + (f"; median {statistics.median(ratios):.2f}x over {len(ratios)} pairs" if len(ratios) > 1 else "")
      + f" (last pair {rows[-2]['images_per_s']:.1f} vs {rows[-1]['images_per_s']:.1f} images/s)")
if "effective_gflops" in a:
    eff = statistics.median(r["effective_gflops"] for r in rows[0::2])
    gemm = statistics.median(r["gemm_gflops"] for r in rows[0::2])
    print(f"nsde: {eff:.1f} effective GFLOP/s (direct-convolution FLOPs), {100 * eff / gemm:.0f}% of its 512^3 GEMM rate {gemm:.1f}")
PY
