#!/usr/bin/env bash
# Device call 45 (issue 20): lab's taper (0ab8e8d) at the multi-wave points (128 x 2048, 128 x 8192) for bf16, fp8 and
# int8 — taper 0 (the last-wave rule), 1 and 2 — with CTA timelines; then the one-wave points (8 x 32768, 32 x 16384)
# lab against fixed 2048-token chunks (finer work on the same CTA queue); a second round in reverse order.
set -u
T0=$(date +%s)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devcarry/bin/skv.xz'), open('.devcarry/bin/skv','wb'))" && chmod +x .devcarry/bin/skv
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/extras/CUPTI/lib64:${LD_LIBRARY_PATH:-}
SKV=.devcarry/bin/skv; $SKV version; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
W=$OUT/w; mkdir -p $W
rows() { grep -hE "^ +[0-9]+ +[0-9]+ |CTA timeline" "$1" | sed -E 's/ -> .*//' | cut -c1-200; }
for dt in bf16 fp8_e4m3 int8; do
  for t in 0 1 2; do
    mkdir -p $W/tl-$dt-t$t
    timeout 150 $SKV bench decode --kv-dtype $dt --grid 128x2048,128x8192 --policies lab --taper $t --timeline $W/tl-$dt-t$t \
      --csv $W/taper-$dt-t$t-r1.csv > $W/taper-$dt-t$t-r1.log 2>&1; echo "$dt taper $t rc=$? ($(( $(date +%s) - T0 )) s) $(grep -h '^# ceilings' $W/taper-$dt-t$t-r1.log | cut -c1-90)"
    rows $W/taper-$dt-t$t-r1.log
  done
done
tar czf $OUT/taper.tar.gz -C $W .
for dt in fp8_e4m3 int8 bf16; do
  mkdir -p $W/tl-onewave-$dt
  timeout 150 $SKV bench decode --kv-dtype $dt --grid 8x32768,32x16384 --policies lab,fixed --timeline $W/tl-onewave-$dt \
    --csv $W/onewave-$dt.csv > $W/onewave-$dt.log 2>&1; echo "onewave $dt rc=$? ($(( $(date +%s) - T0 )) s)"
  rows $W/onewave-$dt.log
done
tar czf $OUT/taper.tar.gz -C $W .
for dt in int8 fp8_e4m3 bf16; do
  for t in 2 1 0; do
    [ $(( $(date +%s) - T0 )) -gt 500 ] && break 2
    timeout 100 $SKV bench decode --kv-dtype $dt --grid 128x2048,128x8192 --policies lab --taper $t \
      --csv $W/taper-$dt-t$t-r2.csv > $W/taper-$dt-t$t-r2.log 2>&1; echo "r2 $dt taper $t rc=$? ($(( $(date +%s) - T0 )) s)"
    rows $W/taper-$dt-t$t-r2.log
  done
done
tar czf $OUT/taper.tar.gz -C $W .
