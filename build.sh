#!/usr/bin/env bash
# build.sh — set up, build and run XploreDL on Debian 12.
#   ./build.sh deps    install the Debian packages XploreDL needs (apt; as root, or with sudo)
#   ./build.sh build   configure and build into build/ (implies deps)
#   ./build.sh run     build, then run the main job: explore the embedded default design
#                      space for the shipped AlexNet (models/nets/alexnet.onnx), print the
#                      Pareto front, write points/pareto CSV, JSON and SVG to xploredl-out/
#   ./build.sh test    build twice (plain, and AddressSanitizer+UBSan in build-asan/) and run
#                      the whole CTest suite in both
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libonnx-dev
          libxml2-dev libxml2-utils libcunit1-dev libcjson-dev libonnx-testdata time)
JOBS=$(nproc 2>/dev/null || echo 2)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "build.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

build_in() { # build_in DIR [cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
deps) deps ;;
build) deps && build_in build ;;
run)
  deps && build_in build
  ./build/xploredl explore models/nets/alexnet.onnx --out xploredl-out
  ;;
test)
  deps
  build_in build
  (cd build && ctest --output-on-failure -j "$JOBS")
  build_in build-asan -DXDL_SANITIZE=ON
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$JOBS")
  ;;
*)
  echo "usage: ./build.sh deps|build|run|test" >&2
  exit 2
  ;;
esac
