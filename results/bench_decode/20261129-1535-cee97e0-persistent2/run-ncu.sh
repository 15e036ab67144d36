#!/usr/bin/env bash
# Device call 50 (issue 20): Nsight Compute on one decode launch, one CTA per item against the persistent grid,
# int8 8 x 32768 (lab, 384 CTAs: every CTA runs one item), to see where the persistent instantiation loses.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.devcarry/bin/skv.xz'), open('.devcarry/bin/skv','wb'))" && chmod +x .devcarry/bin/skv
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/extras/CUPTI/lib64:${LD_LIBRARY_PATH:-}
SKV=.devcarry/bin/skv; $SKV version
for g in plain persistent; do
  f=""; [ $g = persistent ] && f="--persistent"
  timeout 100 ncu --clock-control none --kernel-name regex:decode_kernel --launch-skip 4 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
    --section MemoryWorkloadAnalysis --csv --page details \
    $SKV bench decode $f --no-cupti --kv-dtype int8 --grid 8x32768 --policies lab --combine kernel --repeat 20 --warmup 1 \
    --ceiling-mib 256 > "$OUT/ncu-$g.csv" 2> "$OUT/ncu-$g.err"; echo "$g rc=$?"
  grep -E "Duration|DRAM Throughput|Achieved Occupancy|Registers Per|Theoretical Occupancy|Block Limit|Stall|Issued Ipc|Eligible" "$OUT/ncu-$g.csv" | cut -c1-220 | head -40
done
