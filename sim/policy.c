/* policy.c — policy names, defaults, and the name -> function table. */
#include "policy.h"

#include <string.h>

static const char *const policy_names[SKV_POLICY_COUNT] = {
    [SKV_POLICY_NONE] = "none",     [SKV_POLICY_FIXED] = "fixed",           [SKV_POLICY_FA2] = "fa2",
    [SKV_POLICY_FA3] = "fa3",       [SKV_POLICY_FLASHINFER] = "flashinfer", [SKV_POLICY_VLLM] = "vllm",
    [SKV_POLICY_LAB] = "lab",       [SKV_POLICY_LAB_INVARIANT] = "lab-invariant",
};

static const skv_policy_fn policy_fns[SKV_POLICY_COUNT] = {
    [SKV_POLICY_NONE] = skv_policy_none, [SKV_POLICY_FIXED] = skv_policy_fixed,
    [SKV_POLICY_FA2] = skv_policy_fa2,   [SKV_POLICY_FA3] = skv_policy_fa3,
    [SKV_POLICY_FLASHINFER] = skv_policy_flashinfer, [SKV_POLICY_VLLM] = skv_policy_vllm,
    [SKV_POLICY_LAB] = skv_policy_lab, [SKV_POLICY_LAB_INVARIANT] = skv_policy_lab_invariant,
};

void skv_policy_opts_default(skv_policy_opts *o) {
  memset(o, 0, sizeof *o);
  o->split_size = 2048;
  o->max_splits = 32;
  o->blocks_per_sm = 2;
  o->taper = SKV_LAB_TAPER_DEFAULT;
}

const char *skv_policy_name(skv_policy p) { return (p >= 0 && p < SKV_POLICY_COUNT) ? policy_names[p] : "?"; }

const char *skv_policy_names(void) { return "none, fixed, fa2, fa3, flashinfer, vllm, lab, lab-invariant"; }

bool skv_policy_parse(const char *name, skv_policy *out) {
  for (int p = 0; p < SKV_POLICY_COUNT; p++) {
    if (strcmp(name, policy_names[p]) == 0) {
      *out = (skv_policy)p;
      return true;
    }
  }
  return false;
}

skv_policy_fn skv_policy_function(skv_policy p) { return (p >= 0 && p < SKV_POLICY_COUNT) ? policy_fns[p] : NULL; }
