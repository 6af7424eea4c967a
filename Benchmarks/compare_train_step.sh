#!/usr/bin/env bash
# Runs `nsde bench train-step` and the PyTorch reference on the identical model in one run and
# prints both JSON objects and the throughput ratio. Needs `pip install torch`.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-2}"
swift build -c release --product nsde >/dev/null
ours=$(.build/release/nsde bench train-step --model paper-small --batch 128 --threads "$threads" --json "$@")
torch=$(python3 Benchmarks/pytorch_train_step.py --batch 128 --threads "$threads")
echo "nsde:    $ours"
echo "pytorch: $torch"
python3 - "$ours" "$torch" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio nsde/pytorch images/s: {a['images_per_s'] / b['images_per_s']:.2f}x "
      f"({a['images_per_s']:.1f} vs {b['images_per_s']:.1f})")
PY
