# SplitKV Lab — build, test and run.
#
#   make            build build/skv (with the CUDA kernels when nvcc is found)
#   make run        install missing Debian packages, build, run experiments/default.yaml
#   make test       install missing packages; compile the kernels and the GPU tests and run the
#                   conversion tests when nvcc is found (in CI it must be); build and run the
#                   Check suites under ASan/UBSan, and the skv they run (build/skv-san) too;
#                   run the GPU tests only on a host with a GPU (else: reported skipped)
#   make test-gpu   build and run the GPU tests (needs a GPU)
#   make sanitize-gpu  compute-sanitizer memcheck, racecheck and synccheck over the GPU smoke tests
#                   (needs a GPU; SKV_BIN_DIR=DIR runs prebuilt binaries there instead of building)
#   make bundle     self-contained build/skv and build/skv_gpu_tests (static libyaml,
#                   Check and cudart; needs only the driver and libcupti) to copy to a GPU host
#   make kernels    compile the .cu files only
#   make ptxas      the compiler's register / shared memory / spill report per kernel
#   make fuzz       fuzz the YAML suite parser with libFuzzer (FUZZ_SECONDS, default 60)
#
# CUDA is found at $(CUDA_HOME) (default /usr/local/cuda). GPU=0 forces a CPU-only build.

SHELL := /bin/bash
CUDA_HOME ?= /usr/local/cuda
NVCC := $(CUDA_HOME)/bin/nvcc
HAVE_NVCC := $(shell test -x $(NVCC) && echo 1)
GPU ?= $(if $(HAVE_NVCC),1,0)
# CI's machine has the CUDA toolkit but no GPU: there every kernel must compile and the conversion
# tests must run, so a missing nvcc is an error, not a skip (.ci/run sets SKV_REQUIRE_NVCC=1; CI=true,
# which CI services set, does the same). Elsewhere, without nvcc, those steps say SKIPPED.
REQUIRE_NVCC := $(if $(filter 1,$(SKV_REQUIRE_NVCC))$(filter true,$(CI)),1,)
# What a step that needs nvcc ($(1) names it) does without it: fail where nvcc is required, else say SKIPPED.
no_nvcc = if [ -n "$(REQUIRE_NVCC)" ]; then \
  echo "$(1): FAILED: no nvcc at $(NVCC), and this build requires it (SKV_REQUIRE_NVCC=1 or CI=true)" >&2; exit 1; \
  fi; echo "**** $(1): SKIPPED (no nvcc at $(NVCC)) ****"

CC := gcc
BUILD := build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LIBDIR := /usr/lib/x86_64-linux-gnu

BASE_CPPFLAGS := -Isim -Ikernels -Iharness -D_DEFAULT_SOURCE
CPPFLAGS := $(BASE_CPPFLAGS)
CWARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CFLAGS := $(CWARN) -O2 -g -MMD -MP
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
TEST_CFLAGS := $(CWARN) -O1 -g -MMD -MP $(SANFLAGS)

# Kernels: Hopper (sm_90a, for wgmma/setmaxnreg-capable code) and Ampere (sm_80).
CU_ARCH := -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_80,code=sm_80
NVCCFLAGS := -O3 -std=c++17 $(CU_ARCH) -lineinfo -Xcompiler -Wall,-Wextra -Werror all-warnings \
             -Isim -Ikernels -D_DEFAULT_SOURCE

SIM_SRC := $(sort $(wildcard sim/*.c))
# harness/ is one folder per module (docs/architecture.md): harness/gpu/ is everything that calls the
# CUDA runtime or CUPTI; harness/nogpu/ stands in for it in a CPU-only build; harness/cli/main.c is
# the program's entry (the GPU tests link the rest without it).
HARNESS_ALL := $(sort $(wildcard harness/*/*.c))
HARNESS_GPU := $(filter harness/gpu/%.c,$(HARNESS_ALL))
HARNESS_NOGPU := $(filter harness/nogpu/%.c,$(HARNESS_ALL))
HARNESS_CPU := $(filter-out harness/gpu/%.c harness/nogpu/%.c harness/cli/main.c,$(HARNESS_ALL))
CU_SRC := $(sort $(wildcard kernels/*.cu))
TEST_SRC := $(sort $(wildcard tests/*.c))
GPU_TEST_SRC := $(sort $(wildcard tests/gpu/*.c)) tests/gpu_fixture.c

YAML_LIBS := $(LIBDIR)/libyaml.a $(LIBDIR)/libjansson.a
CHECK_LIBS := $(LIBDIR)/libcheck.a $(LIBDIR)/libsubunit.a -lrt -lm -lpthread

ifeq ($(GPU),1)
  CPPFLAGS += -DSKV_WITH_CUDA -I$(CUDA_HOME)/include
  HARNESS_SRC := $(HARNESS_CPU) $(HARNESS_GPU)
  CU_OBJ := $(CU_SRC:%.cu=$(BUILD)/%.o)
  LINK := $(NVCC) $(CU_ARCH)
  LINK_LIBS := -cudart static -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/extras/CUPTI/lib64 -lcupti -ldl -lrt -lpthread -lm \
               -Xlinker -rpath -Xlinker $(CUDA_HOME)/lib64 -Xlinker -rpath -Xlinker $(CUDA_HOME)/extras/CUPTI/lib64
else
  HARNESS_SRC := $(HARNESS_CPU) $(HARNESS_NOGPU)
  CU_OBJ :=
  LINK := $(CC)
  LINK_LIBS := -lm
endif

# Objects of the two build modes live apart (their flags differ); build/skv is relinked when the mode changes.
OBJ := $(BUILD)/obj-$(if $(filter 1,$(GPU)),gpu,cpu)
SIM_OBJ := $(SIM_SRC:%.c=$(OBJ)/%.o)
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(OBJ)/%.o)
MAIN_OBJ := $(OBJ)/harness/cli/main.o

# Test build: sim/ and the CPU harness under ASan/UBSan, always CPU-only (BASE_CPPFLAGS: no SKV_WITH_CUDA).
SAN_OBJ := $(SIM_SRC:%.c=$(BUILD)/san/%.o) $(HARNESS_CPU:%.c=$(BUILD)/san/%.o) \
           $(HARNESS_NOGPU:%.c=$(BUILD)/san/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/san/%.o)

.PHONY: FORCE all deps deps-test run test test-gpu test-gpu-or-skip test-cpu test-smoke test-conversions test-occupancy kernels \
        sanitize-gpu bundle ptxas fuzz clean
.DEFAULT_GOAL := all

all: $(BUILD)/skv

deps:
	@bash scripts/deps.sh

deps-test:
	@bash scripts/deps.sh test

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The commit, regenerated on every build but rewritten only when it changes (so nothing relinks
# needlessly, and a binary never carries a stale one).
$(BUILD)/version.c: FORCE
	@mkdir -p $(BUILD)
	@echo 'const char skv_version[] = "$(VERSION)";' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@
	@rm -f $@.tmp
FORCE:

$(OBJ)/version.o: $(BUILD)/version.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/version.o: $(BUILD)/version.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/mode.$(GPU):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/mode.* && touch $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CPPFLAGS) $(TEST_CFLAGS) -c $< -o $@

# ptxas's resource report of every kernel is kept beside its object (test-occupancy reads it);
# whatever else the compilers print still shows.
$(BUILD)/kernels/%.o: kernels/%.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -Xptxas -v -MMD -MP -c $< -o $@ 2>$(@:.o=.ptxas); rc=$$?; \
	  grep -v -e '^ptxas info' -e 'bytes stack frame' $(@:.o=.ptxas) >&2; exit $$rc

$(BUILD)/skv: $(MAIN_OBJ) $(HARNESS_OBJ) $(SIM_OBJ) $(CU_OBJ) $(OBJ)/version.o $(BUILD)/mode.$(GPU)
	$(LINK) -o $@ $(filter %.o,$^) $(YAML_LIBS) $(LINK_LIBS)

# The Check suites run skv as a child (tests/skv_cmd.c): build/skv-san, skv itself CPU-only under
# ASan/UBSan, so the CLI, runner, results, plots and JSON code are sanitized too; and
# build/sanitizer_canary (test-only: planted sanitizer errors) shows a child's sanitizer error is seen.
$(BUILD)/skv_tests: $(TEST_OBJ) $(SAN_OBJ) $(BUILD)/san/version.o $(BUILD)/skv-san $(BUILD)/sanitizer_canary
	$(CC) $(SANFLAGS) -o $@ $(filter %.o,$^) $(YAML_LIBS) $(CHECK_LIBS)

$(BUILD)/skv-san: $(BUILD)/san/harness/cli/main.o $(SAN_OBJ) $(BUILD)/san/version.o
	$(CC) $(SANFLAGS) -o $@ $^ $(YAML_LIBS) -lm

$(BUILD)/sanitizer_canary: $(BUILD)/san/tests/canary/sanitizer_canary.o
	$(CC) $(SANFLAGS) -o $@ $^

# GPU tests: plain (unsanitized) objects, the kernels, Check linked statically.
GPU_TEST_OBJ := $(GPU_TEST_SRC:%.c=$(OBJ)/%.o)
$(BUILD)/skv_gpu_tests: $(GPU_TEST_OBJ) $(filter-out $(MAIN_OBJ),$(HARNESS_OBJ)) $(SIM_OBJ) $(CU_OBJ) $(OBJ)/version.o
	@if [ "$(GPU)" != 1 ]; then echo "skv_gpu_tests needs nvcc (GPU=1)"; exit 2; fi
	$(LINK) -o $@ $^ $(YAML_LIBS) $(CHECK_LIBS) $(LINK_LIBS)

test-gpu: $(BUILD)/skv_gpu_tests
	@echo "== GPU tests"
	@cd $(BUILD) && ./skv_gpu_tests

bundle: $(BUILD)/skv $(BUILD)/skv_gpu_tests
	@echo "bundle: $(BUILD)/skv and $(BUILD)/skv_gpu_tests need only the NVIDIA driver and libcupti:"
	@ldd $(BUILD)/skv | grep -v -E 'linux-vdso|ld-linux' | sed 's/^/  /'

ptxas:
	@for f in $(CU_SRC); do echo "== $$f"; $(NVCC) $(NVCCFLAGS) -Xptxas -v -c $$f -o /dev/null 2>&1 | \
	  grep -E 'Compiling entry|registers|spill' | sed 's/ptxas info    : //'; done

# The suites' children get their own sanitizer options (tests/skv_cmd.c); these are the runner's.
test-cpu: $(BUILD)/skv_tests
	@echo "== Check suites (ASan + UBSan; skv run as build/skv-san)"
	@cd $(BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ./skv_tests

kernels: $(if $(HAVE_NVCC),$(CU_SRC:%.cu=$(BUILD)/%.o),)
	@if [ -n "$(HAVE_NVCC)" ]; then echo "kernels: compiled $(words $(CU_SRC)) CUDA files for sm_90a and sm_80"; \
	 else $(call no_nvcc,kernels); fi

# Compile steps first: a kernel that does not compile fails make test within minutes.
test: deps-test
	@$(MAKE) --no-print-directory kernels
	@$(MAKE) --no-print-directory test-conversions
	@$(MAKE) --no-print-directory test-occupancy
	@$(MAKE) --no-print-directory test-gpu-or-skip
	@$(MAKE) --no-print-directory test-cpu
	@$(MAKE) --no-print-directory test-smoke

# The GPU tests: run on a host with a GPU; elsewhere compiled (so they cannot rot) and their run reported skipped.
test-gpu-or-skip:
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory test-gpu; \
	 elif [ -z "$(HAVE_NVCC)" ]; then $(call no_nvcc,GPU tests); \
	 elif [ "$(GPU)" = 1 ]; then $(MAKE) --no-print-directory $(BUILD)/skv_gpu_tests && \
	  echo "**** GPU tests: compiled ($(BUILD)/skv_gpu_tests); run SKIPPED (no GPU on this host; 'make test-gpu' on a GPU host) ****"; \
	 else echo "**** GPU tests: SKIPPED (GPU=0) ****"; fi

# compute-sanitizer over the smoke TCase of the GPU tests (the split, single-chunk, quantized and fused-combine
# paths, the fused combine's global-memory handshake among them), one run per tool; needs a GPU. SKV_BIN_DIR
# names a folder of prebuilt binaries (a GPU host without Check or libyaml: scripts/device_session.sh passes
# .devcarry/bin); by default build/skv_gpu_tests is built first. scripts/sanitize_gpu.sh is the one definition.
SKV_BIN_DIR ?=
sanitize-gpu: $(if $(SKV_BIN_DIR),,$(BUILD)/skv_gpu_tests)
	@bash scripts/sanitize_gpu.sh $(or $(SKV_BIN_DIR),$(BUILD))

# sim/convert.h against CUDA's host conversions (cuda_fp8.h, cuda_fp16.h, cuda_bf16.h): host code
# compiled by nvcc, no GPU needed.
$(BUILD)/conversions_test: tests/cuda_host/conversions.cu sim/convert.h sim/hd.h
	@mkdir -p $(BUILD)
	$(NVCC) -std=c++17 -O1 -Isim -Xcompiler -Wall,-Wextra -Werror all-warnings $< -o $@

# Every GPU model's occupancy table (experiments/gpus.yaml, ctas_per_sm) against the compiled kernels'
# registers and shared memory under its arch's limits: host code, no GPU needed.
$(BUILD)/occupancy_test: tests/cuda_host/occupancy.cu $(SIM_SRC) harness/suite/gpus.c harness/suite/yaml_doc.c \
  harness/out/atomic_file.c harness/out/text_file.c \
  $(wildcard sim/*.h kernels/*.cuh kernels/*.h harness/suite/*.h harness/out/atomic_file.h harness/out/text_file.h)
	@mkdir -p $(BUILD)
	$(NVCC) -std=c++17 -O1 $(CU_ARCH) -Isim -Ikernels -Iharness -D_DEFAULT_SOURCE -Xcompiler -Wall,-Wextra -Werror all-warnings \
	  tests/cuda_host/occupancy.cu $(SIM_SRC) harness/suite/gpus.c harness/suite/yaml_doc.c harness/out/atomic_file.c \
	  harness/out/text_file.c \
	  $(YAML_LIBS) -lm -o $@

test-occupancy:
	@if [ -n "$(HAVE_NVCC)" ]; then $(MAKE) --no-print-directory $(BUILD)/kernels/decode.o $(BUILD)/kernels/decode_quant.o \
	  $(BUILD)/occupancy_test && echo "== occupancy tables of experiments/gpus.yaml vs the compiled kernels" && \
	  $(BUILD)/occupancy_test experiments/gpus.yaml $(BUILD)/kernels/decode.ptxas $(BUILD)/kernels/decode_quant.ptxas; \
	 else $(call no_nvcc,occupancy table vs the compiled kernels); fi

test-conversions:
	@if [ -n "$(HAVE_NVCC)" ]; then $(MAKE) --no-print-directory $(BUILD)/conversions_test && \
	  echo "== conversions vs CUDA" && $(BUILD)/conversions_test; \
	 else $(call no_nvcc,conversions vs CUDA); fi

# experiments/smoke.yaml through the simulator; its CSV must parse, carry the columns README.md
# documents, and every plot must exist as PNG and SVG.
test-smoke: $(BUILD)/skv
	@echo "== skv run experiments/smoke.yaml --sim-only"
	@rm -rf $(BUILD)/smoke-run
	@$(BUILD)/skv run experiments/smoke.yaml --sim-only --out $(BUILD)/smoke-run
	@bash scripts/check_results.sh $(BUILD)/smoke-run README.md latency_vs_seqlen bandwidth_fraction \
	  predicted_vs_measured error

# make run builds only what runs on this host: without a GPU (and without GPU= given), the CPU-only
# skv for the simulator, no kernels compiled; make test still compiles them.
run: deps
	@if [ "$(origin GPU)" = "command line" ] || (command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1); then \
	  $(MAKE) --no-print-directory all; \
	 else echo "make run: no GPU on this host: building the CPU-only skv (GPU=0) for the simulator"; \
	  $(MAKE) --no-print-directory all GPU=0; fi
	$(BUILD)/skv run experiments/default.yaml

FUZZ_SECONDS ?= 60
FUZZ_SRC := tests/fuzz/fuzz_suite.c $(wildcard harness/suite/*.c) harness/out/atomic_file.c harness/out/text_file.c $(SIM_SRC)
$(BUILD)/fuzz_suite: $(FUZZ_SRC) $(wildcard sim/*.h harness/suite/*.h)
	@mkdir -p $(BUILD)
	clang -g -O1 -std=c11 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Isim -Iharness -D_DEFAULT_SOURCE $(FUZZ_SRC) $(YAML_LIBS) -lm -o $@

fuzz: $(BUILD)/fuzz_suite
	@mkdir -p fuzz-out/corpus
	$(BUILD)/fuzz_suite -dict=tests/fuzz/suite.dict -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	  -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=fuzz-out/ fuzz-out/corpus tests/fuzz/corpus

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
