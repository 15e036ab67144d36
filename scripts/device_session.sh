#!/usr/bin/env bash
# device_session.sh — what one call of the lent GPU runs: environment, GPU tests, sanitizers, benchmark, profile.
#
# Binaries come prebuilt (make bundle, copied to .devcarry/bin); logs go to $OUT. Steps are chosen
# with SKV_STEPS (default "info tests sanitize bench"); each step's output is also in $OUT/<step>.log.
# SKV_BENCH_ARGS, SKV_QUANT_POLICIES, SKV_QUANT_COMBINE, SKV_SUITES, SKV_NCU_GRID/POLICY/ARGS tune the steps;
# SKV_TIMELINE=1 adds --timeline to the bench steps (CTA timelines, packed as timelines.tar.gz).
# Steps: info tests sanitize bench bench_quant suites ncu ncu_banks.
set -u
OUT=${OUT:-/tmp/skv-out}
mkdir -p "$OUT"
BIN=${SKV_BIN_DIR:-.devcarry/bin}
STEPS=${SKV_STEPS:-info tests sanitize bench}
# --timeline DIR for a bench step when SKV_TIMELINE is set (the directory is made here).
timeline_flag() {
  if [ -n "${SKV_TIMELINE:-}" ]; then mkdir -p "$OUT/timeline/$1" && echo "--timeline $OUT/timeline/$1"; fi
}
export PATH="$PWD/$BIN:$PATH"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/extras/CUPTI/lib64:${LD_LIBRARY_PATH:-}
for step in $STEPS; do
  echo "===== $step ($(date +%T))"
  case $step in
    info)
      nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem --format=csv 2>&1
      "$BIN/skv" version ;;
    tests)
      (root=$PWD; cd "$BIN" && SKV_ROOT=$root ./skv_gpu_tests) 2>&1 | tee "$OUT/tests.log" | grep -v "^  " ;;
    sanitize)
      # memcheck, racecheck and synccheck, as `make sanitize-gpu SKV_BIN_DIR=...` runs them (no make or Check here)
      bash scripts/sanitize_gpu.sh "$BIN" "$OUT" ;;
    bench)
      "$BIN/skv" bench decode ${SKV_BENCH_ARGS:-} $(timeline_flag bf16) --csv "$OUT/bench.csv" 2>&1 | tee "$OUT/bench.log" ;;
    bench_quant)
      for kv in fp8_e4m3 int8; do
        "$BIN/skv" bench decode --kv-dtype $kv --policies ${SKV_QUANT_POLICIES:-fa2,flashinfer,fixed,lab} $(timeline_flag $kv) \
          --combine ${SKV_QUANT_COMBINE:-both} --csv "$OUT/bench-$kv.csv" 2>&1 | tee "$OUT/bench-$kv.log" | grep -E "best|ceilings"
      done ;;
    suites)
      # Every suite into results/<suite>/<run-id>/ in this copy; all of them come back as one tarball.
      for s in ${SKV_SUITES:-default decode_grid splits_heuristic lse_layout quant}; do
        echo "--- suite $s ($(date +%T))"
        "$BIN/skv" run "experiments/$s.yaml" 2>"$OUT/run-$s.log" | tail -1
        tail -2 "$OUT/run-$s.log"
        tar czf "$OUT/results.tar.gz" results  # after each suite: a call cut short keeps what finished
      done ;;
    ncu)
      ncu --clock-control none --kernel-name regex:decode_kernel --launch-skip 5 --launch-count 1 \
        --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
        --section WarpStateStats --section SchedulerStats \
        "$BIN/skv" bench decode --no-cupti --grid ${SKV_NCU_GRID:-128x8192} --policies ${SKV_NCU_POLICY:-fa2} --repeat 20 ${SKV_NCU_ARGS:-} \
        >"$OUT/ncu.log" 2>&1
      grep -E "Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Registers|Eligible|Issued Warp|No Eligible|Theoretical Occ|L2 Hit|Stall" "$OUT/ncu.log" | head -40 ;;
    ncu_banks)
      # Shared-memory bank conflicts of the decode kernel per cache type (README's "bank-conflict-free"
      # claim about the byte-swizzled 8-bit tiles and the 16-bit swizzle): Nsight Compute's L1/shared
      # counters of one launch at 32x16384 under fa2 (one chunk per request: no combine launch).
      m=l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum
      m=$m,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum
      m=$m,smsp__sass_inst_executed_op_shared_ld.sum,smsp__sass_inst_executed_op_shared_st.sum,smsp__sass_inst_executed_op_ldsm.sum
      for kv in bf16 fp8_e4m3 int8; do
        ncu --clock-control none --kernel-name regex:decode_kernel --launch-skip 2 --launch-count 1 --metrics "$m" \
          "$BIN/skv" bench decode --no-cupti --grid 32x16384 --policies fa2 --kv-dtype $kv --repeat 20 --warmup 1 \
          --combine kernel >"$OUT/ncu-banks-$kv.log" 2>&1
        echo "ncu $kv: exit $?"
        grep -E "decode_kernel|bank_conflicts|wavefronts|inst_executed" "$OUT/ncu-banks-$kv.log" | head -12
      done ;;
    *) echo "unknown step $step" ;;
  esac
done
# At most 8 files come back from $OUT: pack the logs and CSVs into one archive, the timelines into another.
if [ -d "$OUT/timeline" ]; then (cd "$OUT" && tar czf timelines.tar.gz timeline && rm -rf timeline); fi
(cd "$OUT" && ls *.log *.csv >/dev/null 2>&1 && tar czf logs.tar.gz *.log *.csv 2>/dev/null && rm -f *.log *.csv)
exit 0
