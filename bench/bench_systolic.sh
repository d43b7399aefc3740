#!/bin/sh
# bench_systolic.sh — systolic-array model vs SCALE-Sim v2 (a benchmark, not a test).
#  1. In process (bench_systolic): per-layer evaluation time, whole-run time and the ratio to
#     SCALE-Sim's recorded wall time (runs.csv), fast path and exact replay.
#  2. As SCALE-Sim was run: one `xploredl scalesim` process per run (config + topology in, the
#     three report files out), wall time and peak RSS from /usr/bin/time -v, and the ratios to
#     SCALE-Sim's wall_s and max_rss_kb for the same run. The public set includes AlexNet 32x32
#     os/ws/is.
# Usage: bench/bench_systolic.sh BUILD_DIR [REFDATA_DIR]
set -eu
build=${1:?usage: bench_systolic.sh BUILD_DIR [REFDATA_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
refdata=${2:-$here/../../shared/refdata}
bin=$build/bench_systolic
cli=$build/xploredl
for b in "$bin" "$cli"; do
  [ -x "$b" ] || { echo "bench_systolic.sh: $b not built" >&2; exit 2; }
done
pub=$refdata/scalesim/public
[ -r "$pub/runs.csv" ] || { echo "bench_systolic.sh: $pub/runs.csv not readable" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for mode in fast exact; do
  echo "=== in process, $mode path ==="
  /usr/bin/time -v -o "$tmp/time" "$bin" "$refdata" "$mode"
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tmp/time")
  echo "whole process ($mode): peak RSS $rss kB"
  echo
done

# Peak RSS (kB) and wall seconds of one command, from GNU time's -f.
measure() { /usr/bin/time -f '%M %e' -o "$tmp/t" "$@" >/dev/null && cat "$tmp/t"; }

for mode in fast exact; do
  flag=; [ "$mode" = exact ] && flag=--exact
  echo "=== one xploredl scalesim process per run, $mode path ==="
  printf '%-44s %10s %10s %12s %12s %10s\n' run "wall s" "RSS kB" "scalesim s" "speed ratio" \
    "mem ratio"
  # runs.csv fields used: 2 version, 3 run_id, 5 topology_file, 6 input_type, 7 config,
  # 17 wall_s, 21 max_rss_kb (all before the quoted free-text fields).
  tail -n +2 "$pub/runs.csv" | cut -d, -f2,3,5,6,7,17,21 | tr ',' ' ' |
  while read -r ver id topo itype cfg wall rss; do
    [ "$ver" = v2 ] || continue
    rm -rf "$tmp/out"
    set -- "$cli" scalesim -c "$pub/$id/$cfg" -t "$pub/$id/$topo" -p "$tmp/out" -i "$itype"
    [ -n "$flag" ] && set -- "$@" "$flag"
    set -- $(measure "$@")
    awk -v id="$id" -v m="$1" -v w="$2" -v sw="$wall" -v sm="$rss" 'BEGIN {
      ww = w < 0.01 ? 0.01 : w   # GNU time prints 10 ms steps
      printf "%-44s %10.2f %10d %12.2f %12.3g %10.0f\n", id, w, m, sw, sw / ww, sm / m }'
  done | tee "$tmp/rows"
  awk '{ if (min == "" || $6 < min) min = $6; if (max == "" || $6 > max) max = $6
         if (smin == "" || $5 < smin) smin = $5; n++ }
       END { printf "%d runs: speed ratio >= %.3g (wall below 10 ms counts as 10 ms);" \
             " memory ratio %.0f..%.0f\n", n, smin, min, max }' "$tmp/rows"
  echo
done
