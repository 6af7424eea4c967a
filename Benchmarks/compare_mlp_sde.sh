#!/usr/bin/env bash
# MLP-drift SDE benchmark: `nsde bench mlp-sde` against torchsde, diffrax, a hand-written PyTorch loop and
# a hand-written JAX lax.scan loop, each (peer, noise, mode) in a fresh process so peak RSS is its own.
# d = 64, batch 256, MLP 64-128(tanh)-64, Itô Euler–Maruyama, 100 steps on [0, 1], loss mean(y_T^2).
#
#   Benchmarks/compare_mlp_sde.sh [--repeats N] [--warmup N] [--threads N] [--quick]
#       [--peers torchsde,diffrax,torch-loop,jax-scan] [--noises a,b] [--modes a,b] [--out FILE] [--no-nsde]
#       [--omp-passive] [--pairs N]
#
# --pairs N alternates nsde and torchsde N times per (noise, mode), each run a fresh process, and prints
# each pair's ratio nsde/torchsde and their median (the figure to quote on a noisy machine), with nsde's
# flop_floor_ms and its runs as a multiple of that floor (floor_ratio: each run over the floor at the GEMM rate
# sampled right after it). Other peers are skipped in this mode.
#
# --omp-passive exports OMP_WAIT_POLICY=PASSIVE (for every process, nsde too): on a machine that other jobs
# keep busy, PyTorch's spinning OpenMP workers otherwise slow down 5-30x with 2 threads on 2 cores.
# nsde binary: $NSDE or .build/release/nsde (build it with `swift build -c release --product nsde`).
# Extra arguments for nsde: $NSDE_ARGS. Peers need `pip install -r Benchmarks/requirements-peers.txt`.
# JSON lines go to Benchmarks/results/mlp_sde.jsonl (or --out); the tables come from mlp_sde_table.py.
set -uo pipefail
cd "$(dirname "$0")/.."

repeats=5 warmup=2 threads=2
peers="torchsde,diffrax,torch-loop,jax-scan"
noises="additive,multiplicative,dropout"
modes="forward,backprop,adjoint"
out="Benchmarks/results/mlp_sde.jsonl"
run_nsde=1
pairs=0
while [ $# -gt 0 ]; do
    case "$1" in
        --repeats) repeats="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --peers) peers="$2"; shift 2 ;;
        --noises) noises="$2"; shift 2 ;;
        --modes) modes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --quick) repeats=2; warmup=1; shift ;;
        --no-nsde) run_nsde=0; shift ;;
        --omp-passive) export OMP_WAIT_POLICY=PASSIVE; shift ;;
        --pairs) pairs="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

nsde="${NSDE:-.build/release/nsde}"
mkdir -p "$(dirname "$out")"
: > "$out"
err="$(mktemp)"
trap 'rm -f "$err"' EXIT

if [ "$run_nsde" = 1 ]; then
    if [ ! -x "$nsde" ]; then
        echo "note: no nsde binary at $nsde (set NSDE or run: swift build -c release --product nsde); peers only" >&2
        run_nsde=0
    elif ! "$nsde" bench --help 2>&1 | grep -q 'mlp-sde'; then
        echo "note: $nsde has no 'bench mlp-sde' subcommand yet; peers only" >&2
        run_nsde=0
    fi
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), cores: $(nproc), threads: $threads," \
    "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}" >&2

# Appends one JSON line (adding "peer" when missing) to $out and prints a one-line summary, or says why
# there is none.
emit() {
    local label="$1" line="$2"
    if ! printf '%s' "$line" | python3 -c '
import json, sys
label, out = sys.argv[1], sys.argv[2]
r = json.loads(sys.stdin.read())
r.setdefault("peer", label)
with open(out, "a") as fh:
    fh.write(json.dumps(r) + "\n")
if "unsupported" in r:
    msg = "n/a: " + r["unsupported"]
else:
    ms = r.get("median_ms", (r.get("median_s") or 0) * 1e3)
    msg = "%10.1f ms  peak %7.1f MiB" % (ms, r.get("peak_rss_mib", float("nan")))
print("  %-11s %s" % (label, msg))' "$label" "$out" >&2 2>/dev/null; then
        echo "  $label FAILED: $(tail -n 3 "$err" | tr '\n' ' ')" >&2
    fi
}

case "$pairs" in ''|*[!0-9]*) echo "--pairs needs a whole number, got '$pairs'" >&2; exit 2 ;; esac

IFS=, read -ra peer_list <<< "$peers"
IFS=, read -ra noise_list <<< "$noises"
IFS=, read -ra mode_list <<< "$modes"
if [ "$pairs" -gt 0 ]; then
    if [ "$run_nsde" != 1 ]; then echo "--pairs needs the nsde binary ($nsde)" >&2; exit 2; fi
    status=0
    for noise in "${noise_list[@]}"; do
        for mode in "${mode_list[@]}"; do
            echo "$noise / $mode: $pairs alternating pairs (nsde, then torchsde)" >&2
            for ((i = 1; i <= pairs; i++)); do
                a=$("$nsde" bench mlp-sde --noise "$noise" --mode "$mode" --threads "$threads" \
                    --repeats "$repeats" --warmup "$warmup" --json ${NSDE_ARGS:-} 2>"$err" | tail -n 1)
                emit nsde "$a"
                b=$(python3 Benchmarks/mlp_sde_peers.py --peer torchsde --noise "$noise" --mode "$mode" \
                    --repeats "$repeats" --warmup "$warmup" --threads "$threads" --json 2>"$err" | tail -n 1)
                emit torchsde "$b"
                printf '%s\n%s\n' "$a" "$b" >> "$out.pairs.$noise.$mode"
            done
            python3 - "$out.pairs.$noise.$mode" "$noise" "$mode" <<'PY' || status=1
import json, statistics, sys
path, noise, mode = sys.argv[1:4]
rows = [json.loads(l) for l in open(path) if l.strip()]
ratios, floors, mult = [], [], []
for a, b in zip(rows[0::2], rows[1::2]):
    if "median_ms" not in a or "median_ms" not in b:
        continue
    ratios.append(a["median_ms"] / b["median_ms"])
    if a.get("flop_floor_ms"):
        floors.append(a["flop_floor_ms"]); mult.append(a.get("floor_ratio", a["median_ms"] / a["flop_floor_ms"]))
if not ratios:
    print("%s / %s: no complete pair" % (noise, mode)); sys.exit(1)
print("%s / %s: nsde/torchsde ratio per pair %s, median %.3f over %d pairs" % (
    noise, mode, ", ".join("%.3f" % r for r in ratios), statistics.median(ratios), len(ratios)))
if floors:
    print("  nsde FLOP floor %.2f ms (measured GEMM rate), runs %.2fx the floor (median over the pairs of floor_ratio)" % (
        statistics.median(floors), statistics.median(mult)))
PY
            rm -f "$out.pairs.$noise.$mode"
        done
    done
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    exit "$status"
fi

for noise in "${noise_list[@]}"; do
    for mode in "${mode_list[@]}"; do
        echo "$noise / $mode" >&2
        if [ "$run_nsde" = 1 ]; then
            # shellcheck disable=SC2086
            line=$("$nsde" bench mlp-sde --noise "$noise" --mode "$mode" --threads "$threads" \
                --repeats "$repeats" --warmup "$warmup" --json ${NSDE_ARGS:-} 2>"$err" | tail -n 1)
            if [ -z "$line" ]; then  # older option set: the minimal form from the spec
                # shellcheck disable=SC2086
                line=$("$nsde" bench mlp-sde --noise "$noise" --mode "$mode" --json ${NSDE_ARGS:-} 2>"$err" | tail -n 1)
            fi
            emit nsde "$line"
        fi
        for peer in "${peer_list[@]}"; do
            line=$(python3 Benchmarks/mlp_sde_peers.py --peer "$peer" --noise "$noise" --mode "$mode" \
                --repeats "$repeats" --warmup "$warmup" --threads "$threads" --json 2>"$err" | tail -n 1)
            emit "$peer" "$line"
        done
    done
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "results: $out" >&2
echo
python3 Benchmarks/mlp_sde_table.py "$out"
