#!/usr/bin/env bash
# bench_train.sh [BUILD_DIR] [JOBS] — training workloads: the training pass pipeline
# (canonicalize + autodiff with softmax cross-entropy and an SGD update), the schedule and the
# memory footprint of the largest fixture graphs, in milliseconds (best of 5, the model
# re-imported each time); then `explore --train`'s sweep of the default space (3888 points) over
# each training schedule, in (task x design point) pairs per second per core with JOBS threads
# (default 1); layers = distinct systolic-model layers, each evaluated once per array
# configuration. Use a Release build for the figures: cmake -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
jobs=${2:-1}
ref=$here/../../shared/refdata/onnx
nets=$here/../models/nets
printf "%-32s %5s %5s %5s %5s %14s %9s %8s %9s %10s %6s %8s %12s\n" model fwd train tasks bwd \
  train_MACs passes_ms sched_ms memory_ms memory_MiB layers sweep_s pairs/s/core
for f in "$ref/resnet18.nodata.onnx" "$ref/mobilenet_v2_train.nodata.onnx" "$nets/resnet18.onnx" \
  "$nets/vgg16.onnx" "$nets/resnet50.onnx"; do
  [ -f "$f" ] || continue
  if ! out=$("$build/bench_train" "$f" "$jobs" 5 2>&1); then
    printf "%-32s failed: %s\n" "$(basename "$f")" "$out"
    continue
  fi
  read -r fwd train tasks bwd macs pass_ms sched_ms mem_ms mem_b _ layers sweep_s pairs <<<"$out"
  printf "%-32s %5d %5d %5d %5d %14d %9.3f %8.3f %9.3f %10.1f %6d %8.4f %12.0f\n" \
    "$(basename "$f")" "$fwd" "$train" "$tasks" "$bwd" "$macs" "$pass_ms" "$sched_ms" "$mem_ms" \
    "$(awk -v b="$mem_b" 'BEGIN{print b / 1048576}')" "$layers" "$sweep_s" "$pairs"
done
