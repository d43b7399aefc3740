#!/usr/bin/env bash
# bench_dse.sh [BUILD_DIR] — the design-space sweep on every fixture model, over two spaces:
# the embedded default (3888 points; it sweeps the DRAM bandwidth, so every DRAM port runs in
# USER mode and the systolic model walks the prefetch window fold by fold) and
# bench/space-calc.xml (the same without the bandwidth: CALC mode, 1296 points). Prints seconds
# per sweep (best of 3) and (task x design point) pairs per second per core with --jobs 1 and
# 2, against the target of 5 million pairs/s/core, then the reference path (cost_estimate per
# point, no shared systolic results) with --jobs 1.
# Use a Release build for the figures: cmake -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
ref=$here/../../shared/refdata/onnx
target=5000000
for space in default "$here/space-calc.xml"; do
  opt=(); [ "$space" = default ] || opt=(--space "$space")
  echo "=== space: $(basename "$space") ==="
  printf "%-34s %6s %6s %7s %6s %10s %12s %10s %12s %10s %12s %s\n" model tasks points \
    configs layers j1_s j1_pairs/s/c j2_s j2_pairs/s/c plain_s plain_p/s/c verdict
  for f in "$ref"/*.onnx "$here"/../models/nets/*.onnx; do
    [ -f "$f" ] || continue
    read -r tasks points configs layers s1 p1 < <("$build/bench_dse" "$f" 1 3 "${opt[@]}")
    read -r _ _ _ _ s2 p2 < <("$build/bench_dse" "$f" 2 3 "${opt[@]}")
    read -r _ _ _ _ s0 p0 < <("$build/bench_dse" "$f" 1 1 --plain "${opt[@]}")
    verdict=ok
    awk -v p="$p1" -v t="$target" 'BEGIN{exit !(p < t)}' && verdict="below-target"
    printf "%-34s %6d %6d %7d %6d %10.4f %12.0f %10.4f %12.0f %10.4f %12.0f %s\n" \
      "$(basename "$f")" "$tasks" "$points" "$configs" "$layers" "$s1" "$p1" "$s2" "$p2" \
      "$s0" "$p0" "$verdict"
  done
done
