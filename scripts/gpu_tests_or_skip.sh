#!/usr/bin/env bash
# gpu_tests_or_skip.sh — run the GPU tests on a host with a GPU; otherwise say they were skipped.
set -u
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "GPU tests: SKIPPED (no GPU on this host; run 'make test-gpu' on a GPU host)"
  exit 0
fi
exec make --no-print-directory test-gpu
