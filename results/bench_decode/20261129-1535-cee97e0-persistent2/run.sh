#!/usr/bin/env bash
# Device call 47 (issue 20): the persistent grid with late claims and the queue re-armed by the launch's last claim
# (kernel change: GPU tests first, then the bench's own reference checks); persistent against one CTA per item,
# taper 0 and 1, at the large and the small points, two rounds.
set -u
T0=$(date +%s)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for f in .devcarry/bin/*.xz; do python3 -c "import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[1][:-3],'wb'))" "$f" && rm -f "$f"; done
chmod +x .devcarry/bin/*
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/extras/CUPTI/lib64:${LD_LIBRARY_PATH:-}
SKV=.devcarry/bin/skv; $SKV version; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
W=$OUT/w; mkdir -p $W
SKV_STEPS="tests" timeout 300 bash scripts/device_session.sh > /dev/null 2>&1; echo "tests rc=$? ($(( $(date +%s) - T0 )) s)"
cp $OUT/tests.log $W/ 2>/dev/null
grep -E "^[0-9]+%|F:|E:|  persistent" $W/tests.log | head -20
rows() { grep -hE "^ +[0-9]+ +[0-9]+ |CTA timeline" "$1" | sed -E 's/ -> .*//' | cut -c1-200; }
for dt in fp8_e4m3 int8 bf16; do
  for t in 0 1; do
    for g in plain persistent; do
      f=""; [ $g = persistent ] && f="--persistent"
      mkdir -p $W/tl-$dt-t$t-$g
      timeout 120 $SKV bench decode $f --kv-dtype $dt --grid 8x32768,32x16384,128x2048,128x8192 --policies lab --taper $t \
        --timeline $W/tl-$dt-t$t-$g --csv $W/large-$dt-t$t-$g.csv > $W/large-$dt-t$t-$g.log 2>&1
      echo "$dt taper $t $g rc=$? ($(( $(date +%s) - T0 )) s)"; rows $W/large-$dt-t$t-$g.log
    done
  done
done
tar czf $OUT/persist.tar.gz -C $W .
for dt in bf16 fp8_e4m3 int8; do
  for g in plain persistent; do
    f=""; [ $g = persistent ] && f="--persistent"
    timeout 100 $SKV bench decode $f --kv-dtype $dt --grid 1x4096,1x32768,1x131072,8x4096,32x4096 --policies lab \
      --csv $W/small-$dt-$g.csv > $W/small-$dt-$g.log 2>&1
    echo "small $dt $g rc=$? ($(( $(date +%s) - T0 )) s)"; rows $W/small-$dt-$g.log
  done
done
tar czf $OUT/persist.tar.gz -C $W .
# second round of the large points, reverse order, no timelines
for dt in bf16 int8 fp8_e4m3; do
  for t in 1 0; do
    for g in persistent plain; do
      [ $(( $(date +%s) - T0 )) -gt 520 ] && break 3
      f=""; [ $g = persistent ] && f="--persistent"
      timeout 60 $SKV bench decode $f --kv-dtype $dt --grid 8x32768,32x16384,128x2048,128x8192 --policies lab --taper $t \
        --csv $W/large2-$dt-t$t-$g.csv > $W/large2-$dt-t$t-$g.log 2>&1
      echo "r2 $dt taper $t $g rc=$? ($(( $(date +%s) - T0 )) s)"; rows $W/large2-$dt-t$t-$g.log
    done
  done
done
tar czf $OUT/persist.tar.gz -C $W .
