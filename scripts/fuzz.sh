#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for SECONDS (default 20).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: npy idx gzip safetensors checkpoint cifar stl10
#
# Prints one line per target, "TARGET: N execs, 0 crashes", or the crash and the file holding the
# input that caused it, and exits non-zero when any target crashed (or hung, or ran out of
# memory). See docs/fuzzing.md.
#
# The build does not touch SwiftPM's .build/debug or .build/release: the library modules the
# targets need are compiled straight from Sources/ with swiftc into .build/fuzz (the parsers'
# modules with libFuzzer coverage and AddressSanitizer, the others with AddressSanitizer), and
# rebuilt only when their sources change. Each target starts from its seeds (valid files, written
# by the target itself), the inputs in Fuzz/regressions/TARGET (inputs that crashed it once) and
# what earlier runs found interesting (.build/fuzz/corpus/TARGET); crash inputs are saved to
# .build/fuzz/findings/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
[ $# -gt 0 ] && shift
case "$seconds" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;; esac

# name | target file | library modules (dependencies first) | libFuzzer options
TARGETS=(
  "npy|NumPy.swift|NSDETensor NSDEData|-max_len=70000 -dict=Fuzz/dicts/npy.dict"
  "idx|IDX.swift|NSDETensor NSDEData|-max_len=4096"
  "gzip|Gzip.swift|NSDETensor NSDEData|-max_len=65536"
  "safetensors|SafeTensors.swift|NSDETensor NSDENN|-max_len=8192 -dict=Fuzz/dicts/json.dict"
  "checkpoint|Checkpoint.swift|NSDETensor NSDENN NSDEData NSDECore NSDEModels NSDEPlot NSDETraining|-max_len=8192 -dict=Fuzz/dicts/json.dict -detect_leaks=0"
  "cifar|CIFAR.swift|NSDETensor NSDEData|-max_len=10000 -detect_leaks=0"
  "stl10|STL10.swift|NSDETensor NSDEData|-max_len=60000 -detect_leaks=0"
)
# -detect_leaks=0 for the targets that read files: every empty input file reaches a 4 KiB leak in
# swift-foundation's Data(contentsOf:) (suppressed in Fuzz/lsan.supp), and each suspected leak
# costs a LeakSanitizer scan: with leak detection these targets run 15x slower.
# Modules that hold parsers get coverage instrumentation (with stack depth as a feature, so the
# fuzzer is drawn towards deep recursion); the rest only AddressSanitizer.
INSTRUMENTED=" NSDEData NSDENN NSDETraining "
# Modules that are not fuzzed are built without optimisation: quicker to compile.
UNOPTIMISED=" NSDECore NSDEModels NSDEPlot NSDETraining "

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
  for t in "${TARGETS[@]}"; do selected+=("${t%%|*}"); done
fi

B=.build/fuzz
mkdir -p "$B/modules" "$B/objects" "$B/bin" "$B/logs"
C_MODULES=(-I Sources/CBLAS -I Sources/CDNNL -I Sources/CZlib -I Sources/CJPEG -I Sources/CKernels/include)
SWIFTC=(swiftc -swift-version 5 -parse-as-library "${C_MODULES[@]}" -I "$B/modules")
COVERAGE=(-sanitize=fuzzer,address -Xllvm -sanitizer-coverage-stack-depth)
compiler_version="$(swiftc --version 2>&1)"

# Builds a library module from Sources/NAME unless its stamp (hash of the compiler, the flags,
# the sources and the stamps of the modules before it in MODULES) is unchanged.
MODULES=(NSDETensor NSDENN NSDEData NSDECore NSDEModels NSDEPlot NSDETraining)
stamps=""
build_module() {
  local name="$1" build="$2" flags=() sources stamp
  if [[ "$INSTRUMENTED" == *" $name "* ]]; then flags+=("${COVERAGE[@]}"); else flags+=(-sanitize=address); fi
  if [[ "$UNOPTIMISED" == *" $name "* ]]; then flags+=(-Onone); else flags+=(-O); fi
  mapfile -t sources < <(find "Sources/$name" -name '*.swift' | LC_ALL=C sort)
  stamp="$( { echo "$compiler_version"; echo "${flags[*]}"; echo "$stamps"; cat "${sources[@]}"; } | sha256sum | cut -c1-16)"
  stamps+="$stamp "
  [ "$build" = 1 ] || return 0
  if [ -f "$B/objects/$name.o" ] && [ "$(cat "$B/objects/$name.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  echo "fuzz: compiling $name (${flags[*]})" >&2
  local start=$SECONDS
  rm -f "$B/objects/$name.stamp"
  "${SWIFTC[@]}" -module-name "$name" -wmo "${flags[@]}" -emit-module -emit-module-path "$B/modules/$name.swiftmodule" \
    -c -o "$B/objects/$name.o" "${sources[@]}"
  echo "$stamp" > "$B/objects/$name.stamp"
  echo "fuzz: compiled $name in $((SECONDS - start)) s" >&2
}

# The C kernels (Sources/CKernels) every Swift module links, with AddressSanitizer.
c_stamp="$( { clang --version 2>&1; cat Sources/CKernels/*.c Sources/CKernels/include/*.h; } | sha256sum | cut -c1-16)"
if [ ! -f "$B/objects/CKernels.o" ] || [ "$(cat "$B/objects/CKernels.stamp" 2>/dev/null)" != "$c_stamp" ]; then
  echo "fuzz: compiling CKernels" >&2
  c_objects=()
  for source in Sources/CKernels/*.c; do
    object="$B/objects/CKernels-$(basename "$source" .c).o"
    clang -O2 -fno-math-errno -fsanitize=address -I Sources/CKernels/include -c "$source" -o "$object"
    c_objects+=("$object")
  done
  ld -r "${c_objects[@]}" -o "$B/objects/CKernels.o"
  echo "$c_stamp" > "$B/objects/CKernels.stamp"
fi

# The modules the selected targets need, built in dependency order.
needed=""
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name _ modules _ <<< "$t"
  [[ " ${selected[*]} " == *" $name "* ]] && needed+=" $modules"
done
for m in "${MODULES[@]}"; do
  if [[ " $needed " == *" $m "* ]]; then build_module "$m" 1; else build_module "$m" 0; fi
done

# Known leaks outside this package (see Fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

failed=0
summary=()
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name file modules options <<< "$t"
  [[ " ${selected[*]} " == *" $name "* ]] || continue
  binary="$B/bin/fuzz-$name"
  objects=("$B/objects/CKernels.o")
  for m in $modules; do objects+=("$B/objects/$m.o"); done
  if [ ! -x "$binary" ] || [ -n "$(find Fuzz/FuzzSupport.swift "Fuzz/$file" "${objects[@]}" -newer "$binary" 2>/dev/null)" ]; then
    echo "fuzz: linking fuzz-$name" >&2
    "${SWIFTC[@]}" -O -sanitize=fuzzer,address -module-name "Fuzz_$name" Fuzz/FuzzSupport.swift "Fuzz/$file" \
      "${objects[@]}" -lz -lopenblas -ldnnl -ljpeg -o "$binary" 2> "$B/logs/link-$name.log" \
      || { cat "$B/logs/link-$name.log" >&2; exit 1; }
  fi

  seeds="$B/seeds/$name" corpus="$B/corpus/$name" findings="$B/findings/$name"
  rm -rf "$seeds"
  mkdir -p "$corpus" "$findings"
  # Inputs that crashed a target once are run first, every time (regression tests).
  regressions=()
  [ -d "Fuzz/regressions/$name" ] && regressions=("Fuzz/regressions/$name")
  NSDE_FUZZ_WRITE_SEEDS="$seeds" "$binary" > "$B/logs/seeds-$name.log" 2>&1 \
    || { cat "$B/logs/seeds-$name.log" >&2; echo "$name: cannot write seeds" >&2; exit 1; }

  log="$B/logs/$name.log"
  rc=0
  # -timeout: one input running over 10 s is a finding (a hang); the outer timeout is a backstop.
  # shellcheck disable=SC2086
  timeout --kill-after=10 $((seconds + 120)) "$binary" $options -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds" "${regressions[@]}" > "$log" 2>&1 || rc=$?
  execs="$(awk '/^stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$log")"
  if [ "$rc" -eq 0 ]; then
    summary+=("$name: $execs execs, 0 crashes")
  else
    failed=1
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
    reason="$(grep -m1 -o -E 'ERROR: (AddressSanitizer: [a-z-]+|libFuzzer: [a-z-]+( signal)?|LeakSanitizer: detected memory leaks)|Fatal error: .*' "$log" || true)"
    [ "$rc" -ge 124 ] && [ -z "$artifact" ] && reason="killed after $((seconds + 120)) s (exit $rc)"
    summary+=("$name: $execs execs, 1 crash: ${reason:-exit $rc} -> ${artifact:-(no input saved)} (log: $log)")
  fi
  echo "${summary[-1]}"
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: crashes found; reproduce with .build/fuzz/bin/fuzz-TARGET FILE" >&2
  exit 1
fi
