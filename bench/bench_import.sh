#!/usr/bin/env bash
# bench_import.sh [BUILD_DIR] — import + shape inference + inspect of every fixture model:
# per-run time (min / median of 20, ms) and the peak RSS of a single `xploredl inspect --json`
# process, against the targets (<= 20 ms and <= 16 MB for .nodata models; RSS <= 2 x file size
# + 16 MB for models with inline weights).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
ref=$here/../../shared/refdata/onnx
printf "%-36s %10s %10s %10s %12s %14s %s\n" model file_KB min_ms median_ms peak_RSS_KB RSS_target_KB verdict
for f in "$ref"/*.onnx "$here"/../models/nets/*.onnx; do
  [ -f "$f" ] || continue
  read -r tmin tmed < <("$build/bench_import" "$f" 20)
  size_kb=$(( $(stat -c %s "$f") / 1024 ))
  rss=$( { /usr/bin/time -f "%M" "$build/xploredl" inspect "$f" --json >/dev/null; } 2>&1 | tail -1)
  if [[ $f == *.nodata.onnx ]]; then target=$((16 * 1024)); else target=$((2 * size_kb + 16 * 1024)); fi
  verdict=ok
  awk -v t="$tmed" 'BEGIN{exit !(t > 20)}' && verdict="slow"
  [ "$rss" -gt "$target" ] && verdict="$verdict,rss-over"
  printf "%-36s %10d %10s %10s %12d %14d %s\n" "$(basename "$f")" "$size_kb" "$tmin" "$tmed" "$rss" "$target" "$verdict"
done
