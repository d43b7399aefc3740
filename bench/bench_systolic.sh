#!/bin/sh
# bench_systolic.sh — systolic-array model vs SCALE-Sim v2: per-layer evaluation time, whole-run
# time, peak RSS, and the ratios against SCALE-Sim's recorded wall time and memory (runs.csv),
# for the fast path and the exact replay. The public set includes AlexNet 32x32 os/ws/is.
# Usage: bench/bench_systolic.sh BUILD_DIR [REFDATA_DIR]   (a benchmark, not a test)
set -eu
build=${1:?usage: bench_systolic.sh BUILD_DIR [REFDATA_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
refdata=${2:-$here/../../shared/refdata}
bin=$build/bench_systolic
[ -x "$bin" ] || { echo "bench_systolic.sh: $bin not built" >&2; exit 2; }

for mode in fast exact; do
  echo "=== $mode path ==="
  /usr/bin/time -v -o "$build/bench_systolic_$mode.time" "$bin" "$refdata" "$mode"
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' \
        "$build/bench_systolic_$mode.time")
  wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
         "$build/bench_systolic_$mode.time")
  echo "whole process ($mode): wall $wall, peak RSS $rss kB"
  echo
done
