#!/usr/bin/env bash
# sanitize_gpu.sh — compute-sanitizer memcheck, racecheck and synccheck over the GPU tests' smoke TCase.
#
#   scripts/sanitize_gpu.sh DIR [LOGDIR]
#
# DIR holds skv_gpu_tests (build/, or the prebuilt binaries of a GPU host); each tool's output goes to
# LOGDIR/sanitize-TOOL.log (LOGDIR defaults to DIR). One line per tool says passed or FAILED; the exit
# status is 1 when any tool reported an error, could not run, or ran no test (skv_gpu_tests on a host
# without a GPU skips everything and exits 0, which must not pass for clean). `make sanitize-gpu` and
# scripts/device_session.sh both run this file: it is the one definition of the sanitizer runs.
set -u
dir=${1:?usage: sanitize_gpu.sh DIR [LOGDIR]}
mkdir -p "${2:-$dir}"
logs=$(cd "${2:-$dir}" && pwd)
sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
failed=0
for tool in memcheck racecheck synccheck; do
  log="$logs/sanitize-$tool.log"
  # --error-exitcode: an error or hazard the tool reports fails the run, not only its log.
  (cd "$dir" && CK_RUN_CASE=smoke "$sanitizer" --tool "$tool" --error-exitcode 9 ./skv_gpu_tests) >"$log" 2>&1
  rc=$?
  summary=$(grep -E "(ERROR|RACECHECK) SUMMARY" "$log" | tail -1 | sed 's/^=* *//')
  checks=$(grep -E "^[0-9]+%: Checks: [0-9]+" "$log" | tail -1) # Check's "100%: Checks: 3, Failures: 0, Errors: 0"
  ran=$(echo "$checks" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
  if [ "$rc" -eq 0 ] && [ "${ran:-0}" -gt 0 ]; then
    echo "compute-sanitizer $tool: passed (${summary:-no summary}; $checks)"
  else
    echo "compute-sanitizer $tool: FAILED (exit $rc; ${summary:-no summary}; ${checks:-no tests ran}; see $log)"
    failed=1
  fi
done
exit $failed
