#!/usr/bin/env bash
# MLP-drift SDE benchmark: `nsde bench mlp-sde` against torchsde, diffrax, a hand-written PyTorch loop and
# a hand-written JAX lax.scan loop, each (peer, noise, mode) in a fresh process so peak RSS is its own.
# d = 64, batch 256, MLP 64-128(tanh)-64, Itô Euler–Maruyama, 100 steps on [0, 1], loss mean(y_T^2).
#
#   Benchmarks/compare_mlp_sde.sh [--repeats N] [--warmup N] [--threads N] [--quick]
#       [--peers torchsde,diffrax,torch-loop,jax-scan] [--noises a,b] [--modes a,b] [--out FILE] [--no-nsde]
#       [--omp-passive]
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
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
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

IFS=, read -ra peer_list <<< "$peers"
IFS=, read -ra noise_list <<< "$noises"
IFS=, read -ra mode_list <<< "$modes"
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
