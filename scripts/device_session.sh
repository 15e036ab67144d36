#!/usr/bin/env bash
# device_session.sh — what one call of the lent GPU runs: environment, GPU tests, sanitizers, benchmark, profile.
#
# Binaries come prebuilt (make bundle, copied to .devcarry/bin); logs go to $OUT. Steps are chosen
# with SKV_STEPS (default "info tests sanitize bench"); each step's output is also in $OUT/<step>.log.
set -u
OUT=${OUT:-/tmp/skv-out}
mkdir -p "$OUT"
BIN=${SKV_BIN_DIR:-.devcarry/bin}
STEPS=${SKV_STEPS:-info tests sanitize bench}
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/extras/CUPTI/lib64:${LD_LIBRARY_PATH:-}
for step in $STEPS; do
  echo "===== $step ($(date +%T))"
  case $step in
    info)
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem --format=csv 2>&1
      "$BIN/skv" version ;;
    tests)
      (cd "$BIN" && ./skv_gpu_tests) 2>&1 | tee "$OUT/tests.log" | grep -v "^  " ;;
    sanitize)
      for tool in memcheck racecheck; do
        (cd "$BIN" && CK_RUN_CASE=smoke compute-sanitizer --tool $tool --error-exitcode 9 ./skv_gpu_tests) \
          >"$OUT/sanitize-$tool.log" 2>&1
        echo "compute-sanitizer $tool: exit $? ($(grep -c 'ERROR SUMMARY' "$OUT/sanitize-$tool.log") summaries)"
        grep -E "ERROR SUMMARY|100%|Checks" "$OUT/sanitize-$tool.log" | tail -3
      done ;;
    bench)
      "$BIN/skv" bench decode ${SKV_BENCH_ARGS:-} --csv "$OUT/bench.csv" 2>&1 | tee "$OUT/bench.log" ;;
    ncu)
      ncu --clock-control none --kernel-name regex:decode_kernel --launch-skip 5 --launch-count 1 \
        --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
        --section WarpStateStats --section SchedulerStats \
        "$BIN/skv" bench decode --no-cupti --grid ${SKV_NCU_GRID:-128x8192} --policies ${SKV_NCU_POLICY:-fa2} --repeat 20 \
        >"$OUT/ncu.log" 2>&1
      grep -E "Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Registers|Eligible|Issued Warp|No Eligible|Theoretical Occ|L2 Hit|Stall" "$OUT/ncu.log" | head -40 ;;
    *) echo "unknown step $step" ;;
  esac
done
