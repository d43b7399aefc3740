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
for cmd in inspect scalesim estimate explore zoo; do
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

# estimate: a preset, a shipped XML description, JSON; bad input → one line, exit 2.
expect 0 "estimate alexnet on a preset" -- "$bin" estimate "$ref/onnx/alexnet.nodata.onnx" --arch tpu-like
grep -q '^  MACs  *714188480$' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: estimate MACs total"; }
expect 0 "estimate --json" -- "$bin" estimate "$ref/onnx/alexnet.nodata.onnx" --arch edge-16x16 --json
grep -q '"totals":{"macs":714188480' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: estimate JSON totals"; }
expect 0 "estimate with an XML accelerator" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch "$src/models/accel/edge-16x16.xml"
expect 2 "estimate unknown preset" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch no-such-accel
expect 2 "estimate missing arch file" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch "$tmp/none.xml"
echo "<accel>" >"$tmp/bad.xml"
expect 2 "estimate malformed arch XML" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch "$tmp/bad.xml"
expect 2 "estimate without --arch" -- "$bin" estimate "$ref/onnx/lenet5.onnx"
expect 2 "estimate --arch without value" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch
expect 2 "estimate missing model" -- "$bin" estimate "$tmp/nope.onnx" --arch tpu-like
expect 2 "estimate --batch 0" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch tpu-like --batch 0

# explore: the default space writes four files and prints the front; bad input → one line,
# exit 2, and no output directory.
expect 0 "explore lenet5, default space" -- "$bin" explore "$ref/onnx/lenet5.onnx" --out "$tmp/x1" --jobs 2
for f in points.csv pareto.csv pareto.json pareto.svg; do
  [ -s "$tmp/x1/$f" ] || { fails=$((fails + 1)); echo "FAIL: explore did not write $f"; }
done
head -1 "$tmp/x1/points.csv" | grep -q ',cycles,latency_s,energy_j,power_w,area_mm2,tops,tops_per_mm2,fj_per_op,feasible,pareto$' \
  || { fails=$((fails + 1)); echo "FAIL: explore points.csv header"; }
grep -q 'Pareto-optimal' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: explore table"; }
cat >"$tmp/space.xml" <<'XML'
<space base="edge-16x16">
  <param name="rows"><values>8 16</values></param>
  <param name="dataflow"><values>os ws</values></param>
  <param name="clock_mhz"><range start="200" stop="600" step="200"/></param>
</space>
XML
expect 0 "explore with a space file, --json" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/space.xml" --out "$tmp/x2" --json --objectives latency,energy
grep -q '"n_points": *12' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: explore --json n_points"; }
[ "$(wc -l <"$tmp/x2/points.csv")" -eq 13 ] || { fails=$((fails + 1)); echo "FAIL: explore points.csv rows"; }
sed 's/clock_mhz/clock_ghz/' "$tmp/space.xml" >"$tmp/unknown.xml"
expect 2 "explore unknown space parameter" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/unknown.xml" --out "$tmp/x3"
grep -q 'unknown.xml:4:' "$tmp/err" || { fails=$((fails + 1)); echo "FAIL: explore unknown param line"; }
sed 's/step="200"/step="0"/' "$tmp/space.xml" >"$tmp/step0.xml"
expect 2 "explore step 0" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/step0.xml" --out "$tmp/x3"
sed 's/<values>8 16</<values>8 16/' "$tmp/space.xml" >"$tmp/malformed.xml"
expect 2 "explore malformed space" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/malformed.xml" --out "$tmp/x3"
sed 's|</space>|  <constraints max_area_mm2="0.000001"/>\n</space>|' "$tmp/space.xml" >"$tmp/infeasible.xml"
expect 2 "explore infeasible space" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/infeasible.xml" --out "$tmp/x3"
expect 2 "explore missing model" -- "$bin" explore "$tmp/nope.onnx" --out "$tmp/x3"
expect 2 "explore bad objective" -- "$bin" explore "$ref/onnx/lenet5.onnx" --objectives speed --out "$tmp/x3"
expect 2 "explore --jobs -1" -- "$bin" explore "$ref/onnx/lenet5.onnx" --jobs -1 --out "$tmp/x3"
[ ! -e "$tmp/x3" ] || { fails=$((fails + 1)); echo "FAIL: explore wrote output on error"; }
echo "not a folder" >"$tmp/blocker"
expect 2 "explore unwritable output directory" -- "$bin" explore "$ref/onnx/lenet5.onnx" --out "$tmp/blocker/out"
grep -q "blocker/out" "$tmp/err" || { fails=$((fails + 1)); echo "FAIL: explore error names the directory"; }

# zoo: every model of a folder; a broken one is listed with its error and exit 2.
mkdir -p "$tmp/zoo"
cp "$ref/onnx/lenet5.onnx" "$tmp/zoo/a_lenet5.onnx"
expect 0 "zoo --arch" -- "$bin" zoo "$tmp/zoo" --arch edge-16x16 --out "$tmp/z1"
grep -q '^a_lenet5,416520,1,1,1,' "$tmp/z1/zoo.csv" || { fails=$((fails + 1)); echo "FAIL: zoo.csv row"; }
expect 0 "zoo explore" -- "$bin" zoo "$tmp/zoo" --space "$tmp/space.xml" --out "$tmp/z2"
[ -s "$tmp/z2/a_lenet5/pareto.svg" ] || { fails=$((fails + 1)); echo "FAIL: zoo per-model reports"; }
echo "junk" >"$tmp/zoo/b_broken.onnx"
"$bin" zoo "$tmp/zoo" --arch tpu-like --out "$tmp/z3" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q '^b_broken.*error' "$tmp/out" && grep -q '^a_lenet5 ' "$tmp/out" \
  && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: zoo with a broken model"; }
expect 2 "zoo missing folder" -- "$bin" zoo "$tmp/no-such-dir"
expect 2 "zoo --arch and --space" -- "$bin" zoo "$tmp/zoo" --arch tpu-like --space "$tmp/space.xml"

# --train: the whole training step, per-phase figures and the memory footprint everywhere.
expect 0 "estimate --train" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch edge-16x16 --train --optimizer adam
grep -q '^by phase of the training step' "$tmp/out" && grep -q '^  backward_weight ' "$tmp/out" \
  && grep -q '^memory (training step): ' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: estimate --train phases and memory"; }
expect 0 "estimate --train --json" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch edge-16x16 --train --json
grep -q '"backward_data":{"cycles":' "$tmp/out" && grep -q '"memory":{"total_bytes":' "$tmp/out" \
  && grep -q '"train":true' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: estimate --train JSON"; }
expect 0 "estimate prints the inference memory" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch edge-16x16
grep -q '^memory (inference): ' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: estimate memory line"; }
expect 0 "inspect --train memory" -- "$bin" inspect "$ref/onnx/lenet5.onnx" --train
grep -q '^memory (training step): ' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: inspect --train memory line"; }
expect 0 "explore --train" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/space.xml" --out "$tmp/t1" --train
for f in points.csv pareto.csv pareto.json phases.csv pareto.svg; do
  [ -s "$tmp/t1/$f" ] || { fails=$((fails + 1)); echo "FAIL: explore --train did not write $f"; }
done
head -1 "$tmp/t1/points.csv" | grep -q '^rows,dataflow,clock_mhz,cycles,latency_s,energy_j,power_w,area_mm2,tops,tops_per_mm2,fj_per_op,feasible,pareto$' \
  || { fails=$((fails + 1)); echo "FAIL: explore --train points.csv header"; }
head -1 "$tmp/t1/phases.csv" | grep -q '^rows,dataflow,clock_mhz,forward_cycles,.*,update_macs$' \
  || { fails=$((fails + 1)); echo "FAIL: explore --train phases.csv header"; }
[ "$(wc -l <"$tmp/t1/phases.csv")" -eq "$(wc -l <"$tmp/t1/pareto.csv")" ] \
  || { fails=$((fails + 1)); echo "FAIL: phases.csv rows = pareto.csv rows"; }
grep -q 'energy of the training step by phase' "$tmp/t1/pareto.svg" \
  || { fails=$((fails + 1)); echo "FAIL: explore --train SVG phase panel"; }
grep -q '"memory": *{' "$tmp/t1/pareto.json" && grep -q '"backward_weight": *{' "$tmp/t1/pareto.json" \
  || { fails=$((fails + 1)); echo "FAIL: explore --train pareto.json"; }
grep -q 'E_bwd_w%' "$tmp/out" && grep -q '^memory (training step): ' "$tmp/out" \
  || { fails=$((fails + 1)); echo "FAIL: explore --train table"; }
expect 0 "explore memory objective" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/space.xml" --out "$tmp/t2" --train --objectives latency,memory
expect 2 "explore bad optimizer" -- "$bin" explore "$ref/onnx/lenet5.onnx" --train --optimizer newton --out "$tmp/t3"
sed 's|</space>|  <constraints max_memory_bytes="1000"/>\n</space>|' "$tmp/space.xml" >"$tmp/memlimit.xml"
expect 2 "explore memory limit below the footprint" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/memlimit.xml" --out "$tmp/t3" --train
grep -q 'max_memory_bytes 1000' "$tmp/err" || { fails=$((fails + 1)); echo "FAIL: memory limit message"; }
[ ! -e "$tmp/t3" ] || { fails=$((fails + 1)); echo "FAIL: explore wrote output on a memory-limit error"; }
sed 's|</space>|  <constraints max_memory_bytes="1e12" max_sram_bytes="1e9"/>\n</space>|' "$tmp/space.xml" >"$tmp/memok.xml"
expect 0 "explore memory and SRAM limits met" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/memok.xml" --out "$tmp/t4" --train
mkdir -p "$tmp/zoot"
cp "$ref/onnx/lenet5.onnx" "$tmp/zoot/a_lenet5.onnx"
expect 0 "zoo --train --arch" -- "$bin" zoo "$tmp/zoot" --arch edge-16x16 --out "$tmp/z4" --train
head -1 "$tmp/z4/zoo.csv" | grep -q ',best_fj_per_op,memory_bytes,error$' \
  || { fails=$((fails + 1)); echo "FAIL: zoo.csv memory_bytes column"; }
grep -q '^a_lenet5,1131960,1,1,1,' "$tmp/z4/zoo.csv" || { fails=$((fails + 1)); echo "FAIL: zoo --train MACs"; }

# Costs by capsule role, and routing_iterations as an option and a design-space parameter.
caps="$src/models/nets/capsnet_compact.onnx"
expect 0 "estimate capsule roles" -- "$bin" estimate "$caps" --arch capsacc-like
grep -q '^by capsule role' "$tmp/out" && grep -q '^  routing.squash ' "$tmp/out" \
  || { fails=$((fails + 1)); echo "FAIL: estimate capsule role table"; }
expect 0 "estimate --role routing --json" -- "$bin" estimate "$caps" --arch capsacc-like --role routing --json
grep -q '"capsule_roles": *{' "$tmp/out" && ! grep -q '"capsule_role": *"primary"' "$tmp/out" \
  || { fails=$((fails + 1)); echo "FAIL: estimate --role JSON"; }
expect 2 "estimate unknown role" -- "$bin" estimate "$caps" --arch capsacc-like --role routingx
expect 2 "estimate routing iterations 0" -- "$bin" estimate "$caps" --arch capsacc-like --routing-iterations 0
expect 2 "estimate routing iterations on a CNN" -- "$bin" estimate "$ref/onnx/lenet5.onnx" --arch capsacc-like --routing-iterations 2
cat >"$tmp/routing.xml" <<'XML'
<space base="capsacc-like">
  <param name="routing_iterations"><values>1 2 3</values></param>
  <param name="rows"><values>16 32</values></param>
</space>
XML
expect 0 "explore routing_iterations" -- "$bin" explore "$caps" --space "$tmp/routing.xml" --out "$tmp/r1"
head -1 "$tmp/r1/points.csv" | grep -q '^routing_iterations,rows,cycles,' \
  && [ "$(wc -l <"$tmp/r1/points.csv")" -eq 7 ] \
  || { fails=$((fails + 1)); echo "FAIL: explore routing_iterations points.csv"; }
head -1 "$tmp/r1/capsule_roles.csv" | grep -q '^routing_iterations,rows,untagged_cycles,.*routing\[0\]_cycles' \
  || { fails=$((fails + 1)); echo "FAIL: capsule_roles.csv header"; }
grep -q 'energy by capsule role' "$tmp/r1/pareto.svg" && grep -q '"routing_by_iteration"' "$tmp/r1/pareto.json" \
  || { fails=$((fails + 1)); echo "FAIL: explore capsule role SVG panel / JSON"; }
grep -q 'E_rout%' "$tmp/out" || { fails=$((fails + 1)); echo "FAIL: explore capsule role table"; }
expect 2 "explore routing_iterations on a CNN" -- "$bin" explore "$ref/onnx/lenet5.onnx" --space "$tmp/routing.xml" --out "$tmp/r2"
[ ! -e "$tmp/r2" ] || { fails=$((fails + 1)); echo "FAIL: explore wrote output for a CNN with routing_iterations"; }
sed 's|<values>1 2 3</values>|<values>0 2</values>|' "$tmp/routing.xml" >"$tmp/routing0.xml"
expect 2 "space routing_iterations 0" -- "$bin" explore "$caps" --space "$tmp/routing0.xml" --out "$tmp/r3"
expect 0 "shipped headline space" -- "$bin" explore "$src/models/nets/alexnet.onnx" --space "$src/models/accel/space-alexnet-infer-nascaps.xml" --out "$tmp/r4"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
