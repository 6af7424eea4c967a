#!/usr/bin/env bash
# Makes the converged checkpoints that `nsde demo` (part 1) evaluates, into models/demo/:
#   models/demo/ode            Neural ODE
#   models/demo/<noise>-<σ>    the Neural SDE with the noise type and σ chosen by
#                              `nsde experiment sigma-search --preset overfit` (see docs/table1.md)
# Both: the paper's small classifier at width 16 with 8 GroupNorm groups (the paper's 2 channels
# per group), 4 Euler–Maruyama steps, 55,000 Fashion-MNIST training images (5,000 held out for
# validation), 7 epochs (stages 5,2: SGD lr 0.05 then 0.005, momentum 0.9) in batches of 32,
# seed 0. Each run uses 1 thread, so that it is bit-identical from its seed. oneDNN picks its
# kernels by instruction set, and the shipped models were made with its AVX2 kernels, so the script
# caps oneDNN at AVX2 (DNNL_MAX_CPU_ISA=AVX2, unless you set it): then an AVX-512 machine gives the
# same bits too (checked 2026-12-02 on an AVX-512 AMD EPYC: the ODE came out bit for bit as the one
# an AVX2 machine had made; the models now shipped were made by this script on that AVX-512 machine). OpenBLAS (the classifier head's narrow products) keeps its own kernel choice; a processor
# for which it picks another sgemm kernel than Haswell/Zen may differ in the last bits.
# The two runs go in parallel on 2 cores (15–60 minutes, depending on the machine).
#
# Usage: scripts/make-demo-models.sh [SDE_NOISE SDE_SIGMA]   (default: dropout 0.3)
set -euo pipefail
cd "$(dirname "$0")/.."
noise="${1:-dropout}"
sigma="${2:-0.3}"
scripts/ensure-deps.sh
swift build -c release --product nsde
export DNNL_MAX_CPU_ISA="${DNNL_MAX_CPU_ISA:-AVX2}"
work="runs/demo-models"
mkdir -p "$work"
common=(--dataset fashion-mnist --width 16 --gn-groups 8 --steps 4 --batch-size 32 --lr 0.05 --stages 5,2
        --val-size 5000 --test-subset 2000 --seed 0 --threads 1)
.build/release/nsde train "${common[@]}" --noise ode --out "$work/ode" --resume 2>/dev/null \
  || .build/release/nsde train "${common[@]}" --noise ode --out "$work/ode" &
ode_pid=$!
sde="$noise-$sigma"
.build/release/nsde train "${common[@]}" --noise "$noise" --sigma "$sigma" --out "$work/$sde" --resume 2>/dev/null \
  || .build/release/nsde train "${common[@]}" --noise "$noise" --sigma "$sigma" --out "$work/$sde" &
sde_pid=$!
wait "$ode_pid"
wait "$sde_pid"
for run in ode "$sde"; do
  mkdir -p "models/demo/$run"
  cp "$work/$run"/{checkpoint.json,model.safetensors,optimizer.safetensors,metrics.jsonl} "models/demo/$run/"
done
echo "Wrote models/demo/ode and models/demo/$sde"
