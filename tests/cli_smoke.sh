#!/usr/bin/env bash
# cli_smoke.sh XPLOREDL REFDATA SOURCE_DIR — the command line as a user meets it: --help on
# every command, exit codes 0/2, one-line errors on stderr, and no output files on failure.
set -u
bin=$1
ref=$2
src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks the exit code, and for
# failures that stderr is exactly one line starting with "xploredl".
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local ok=1
  [ "$got" -eq "$want" ] || ok=0
  if [ "$want" -eq 2 ] && [ "$ok" -eq 1 ]; then
    local lines
    lines=$(wc -l <"$tmp/err")
    { [ "$lines" -eq 1 ] && grep -q '^xploredl' "$tmp/err"; } || ok=0
  fi
  if [ "$ok" -eq 1 ]; then
    passes=$((passes + 1))
  else
    fails=$((fails + 1))
    echo "FAIL: $what: exit $got (want $want)"
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}

expect 0 "top-level --help" -- "$bin" --help
"$bin" >/dev/null 2>&1
[ $? -eq 2 ] && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: no command: want exit 2"; }
expect 2 "unknown command" -- "$bin" frobnicate
for cmd in inspect scalesim; do
  expect 0 "$cmd --help" -- "$bin" "$cmd" --help
  grep -q "usage: xploredl $cmd" "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: $cmd --help text"; }
  expect 2 "$cmd unknown option" -- "$bin" "$cmd" --no-such-option
done

# inspect: success and bad input.
expect 0 "inspect lenet5" -- "$bin" inspect "$ref/onnx/lenet5.onnx"
expect 0 "inspect --json" -- "$bin" inspect "$ref/onnx/alexnet.nodata.onnx" --json
grep -q '"totals":{"macs":714188480' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: alexnet JSON totals"; }
expect 0 "inspect --batch 4" -- "$bin" inspect "$ref/onnx/resnet18.nodata.onnx" --batch 4
expect 2 "inspect missing file" -- "$bin" inspect "$tmp/nope.onnx"
expect 2 "inspect a directory" -- "$bin" inspect "$tmp"
: >"$tmp/empty.onnx"
expect 2 "inspect an empty file" -- "$bin" inspect "$tmp/empty.onnx"
echo "this is not a protobuf" >"$tmp/text.onnx"
expect 2 "inspect a text file" -- "$bin" inspect "$tmp/text.onnx"
head -c 3000 "$ref/onnx/lenet5.onnx" >"$tmp/trunc.onnx"
expect 2 "inspect a truncated model" -- "$bin" inspect "$tmp/trunc.onnx"
expect 2 "inspect --batch 0" -- "$bin" inspect "$ref/onnx/lenet5.onnx" --batch 0
expect 2 "inspect --batch abc" -- "$bin" inspect "$ref/onnx/lenet5.onnx" --batch abc
expect 2 "inspect --dim without =" -- "$bin" inspect "$ref/onnx/lenet5.onnx" --dim foo
expect 2 "inspect two models" -- "$bin" inspect "$ref/onnx/lenet5.onnx" "$ref/onnx/lenet5.onnx"

# scalesim: success writes the reports; bad input writes nothing.
run=$ref/scalesim/public/gemm_pub4_16x16_ws
expect 0 "scalesim gemm" -- "$bin" scalesim -c "$run/gemm_pub4_16x16_ws.cfg" -t "$run/gemm_pub4.csv" -i gemm -p "$tmp/out1"
[ -f "$tmp/out1/gemm_pub4_16x16_ws/COMPUTE_REPORT.csv" ] || { fails=$((fails + 1)); echo "FAIL: scalesim report missing"; }
expect 2 "scalesim missing config" -- "$bin" scalesim -c "$tmp/none.cfg" -t "$run/gemm_pub4.csv" -p "$tmp/out2"
[ ! -e "$tmp/out2/gemm_pub4_16x16_ws" ] || { fails=$((fails + 1)); echo "FAIL: scalesim wrote output on error"; }

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
