/* lse_layout.h — FA2's LSE layouts: where each kernel writes it, what each host path does, what the caller gets. */
#ifndef SKV_LSE_LAYOUT_H
#define SKV_LSE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model (DESIGN.md case 1; vllm-project/flash-attention PR #87).
 *
 * FA2 computes attention for an internal problem (b, h, sq): b requests, h
 * heads, sq query rows per request. For GQA decode (query length 1, hq > hkv)
 * the host "swaps" (seqlenq_ngroups_swapped): q becomes (b, ngroups, hkv, d),
 * so h = hkv and sq = ngroups, and q head = kv head * ngroups + m. Otherwise
 * h = hq and sq = the query length. Every LSE element has an internal
 * coordinate (b, h, m), m < sq; the layouts below are functions of it.
 *
 * A kernel path writes the LSE at an offset of (b, h, m) (its write layout);
 * the host then reshapes/transposes the buffer as a torch tensor and returns
 * it; the caller reads it in its documented logical layout. The LSE is right
 * when every caller element holds the value of its own (head, token). */

/* Which FA2 kernel writes the final LSE. */
typedef enum skv_lse_kernel {
  SKV_LSE_STANDARD = 0, /* compute_attn_1rowblock via get_lse_tile: 1 split, contiguous KV */
  SKV_LSE_SPLIT1,       /* compute_attn_1rowblock_splitkv with Split=false: 1 split, paged KV
                           (run_mha_fwd's force_split_kernel) */
  SKV_LSE_COMBINE,      /* combine_attn_seqk_parallel: num_splits > 1 */
  SKV_LSE_KERNEL_COUNT
} skv_lse_kernel;

/* What the host code does to softmax_lse before returning it. */
typedef enum skv_lse_host {
  SKV_LSE_HOST_UPSTREAM = 0, /* Dao-AILab flash_api.cpp: swapped varlen: reshape(h*sq, b) */
  SKV_LSE_HOST_FORK_BEFORE,  /* vLLM fork after its PR #34, before PR #87: swapped varlen:
                                reshape(h, b, sq).transpose(1, 2).reshape(h*sq, b), always */
  SKV_LSE_HOST_FORK_AFTER,   /* after PR #87 (reconstructed): that transpose only when
                                num_splits <= 1, else reshape(h*sq, b) */
  SKV_LSE_HOST_COUNT
} skv_lse_host;

const char *skv_lse_kernel_name(skv_lse_kernel k); /* "standard", "split-1", "combine" */
const char *skv_lse_host_name(skv_lse_host h);     /* "fa2-upstream", "vllm-fork-before-fix", "vllm-fork-after-fix" */

/* The write layout of kernel path k over (b, h, m), shape (batch, heads,
 * seqlen_q), for the kernel's params flags seqlenq_ngroups_swapped and
 * unpadded_lse. This is the output-layout descriptor of a combine kernel:
 * LSE of (b, h, m) goes to lse[skv_layout_offset3(&l, b, h, m)]. For the
 * lab's GQA-packed decode (b = request, h = kv head, m = index in the group)
 * skv_lse_write_layout(SKV_LSE_COMBINE, true, true, B, hkv, group, ..) is
 * (h, sq, b) row-major: q head * B + request, i.e. [num_heads, num_tokens].
 * Varlen (unpadded, not swapped) is modelled with every request having
 * seqlen_q query rows (token = b * seqlen_q + m), as combine assumes.
 * False with a message if a size is < 1 or the CuTe composition fails. */
bool skv_lse_write_layout(skv_lse_kernel k, bool ngroups_swapped, bool unpadded_lse, int64_t batch, int64_t heads,
                          int64_t seqlen_q, skv_layout *out, char *err, size_t errlen);

/* Name a layout over (b, h, m) by its memory order: the axes from outermost
 * to innermost when it is a permuted compact row-major layout, e.g. "(h,sq,b)"
 * for offset (h * sq + m) * b + b; otherwise the layout itself, "(3,2,4):(..)". */
void skv_lse_axis_order(const skv_layout *l, char *buf, size_t len);

/* The logical LSE of a decode batch, [hq, B] row-major as merge_attn_states reads it, as a layout
 * over (request, KV head, g): element (r, h, g) at (h * group + g) * num_requests + r. The lab's
 * kernels write it so unless a configuration asks for one of FA2's layouts. */
skv_layout skv_lse_layout_logical(int64_t num_requests, int64_t num_kv_heads, int64_t group);

/* ---- A host tensor: torch semantics over a buffer of doubles ---- */

/* Storage plus a view (sizes and strides, logical order row-major), as a
 * torch tensor is. Values are LSEs or element ids (exact in a double below 2^53). */
typedef struct skv_host_tensor {
  double *data;    /* storage, owned */
  int64_t numel;   /* elements of storage */
  skv_layout view; /* torch's sizes() and strides(); storage offset is always 0 here */
  int32_t copies;  /* storage copies made by reshape (it could not return a view) */
} skv_host_tensor;

/* torch::empty(shape): contiguous, contents NaN (poisoned). False when out of memory. */
bool skv_host_tensor_empty(skv_host_tensor *t, int32_t rank, const int64_t *shape);
void skv_host_tensor_free(skv_host_tensor *t);
/* torch.reshape: a view when skv_layout_view allows it, else a contiguous
 * copy (clone) viewed with the new shape. False if the element count differs
 * or out of memory. */
bool skv_host_tensor_reshape(skv_host_tensor *t, int32_t rank, const int64_t *shape);
/* torch.transpose(d0, d1): a view. False if a dim is out of range. */
bool skv_host_tensor_transpose(skv_host_tensor *t, int32_t d0, int32_t d1);
double skv_host_tensor_get(const skv_host_tensor *t, const int64_t *coord);
/* torch.is_contiguous: the view is the row-major layout of its shape. */
bool skv_host_tensor_is_contiguous(const skv_host_tensor *t);

/* ---- Cases: one row of `skv layout` ---- */

typedef struct skv_lse_case {
  bool swapped;          /* the host's GQA swap (query length 1, hq > hkv) */
  bool unpadded;         /* varlen API (mha_varlen_fwd: unpadded_lse), else padded (mha_fwd, mha_fwd_kvcache) */
  skv_lse_kernel kernel; /* which kernel writes the final LSE */
  skv_lse_host host;     /* whose host code returns it */
  int64_t batch;         /* requests */
  int64_t kv_heads;      /* hkv */
  int64_t groups;        /* q heads per kv head: hq = kv_heads * groups */
  int64_t qlen;          /* query tokens per request when not swapped (swapped: 1) */
} skv_lse_case;

/* FA2's internal (b, h, sq) for a case. */
void skv_lse_case_dims(const skv_lse_case *c, int64_t *b, int64_t *h, int64_t *sq);
/* params.seqlenq_ngroups_swapped as the kernel sees it: only mha_varlen_fwd
 * passes the flag to set_params_fprop; mha_fwd and mha_fwd_kvcache swap q on
 * the host but leave the flag false. */
bool skv_lse_case_kernel_swapped(const skv_lse_case *c);
/* Which FA2 entry point reaches a case's kernel path, in words; *vllm is set
 * when vLLM's FlashAttention backend (always paged KV) takes it. */
const char *skv_lse_case_api(const skv_lse_case *c, bool *vllm);

/* The caller's documented logical LSE: shape, axis names, and a layout from
 * the internal (b, h, m) to the caller's row-major flat index.
 *   varlen: [num_heads, total_q] (what merge_attn_states reads as [h, n]);
 *     swapped: head = h * sq + m, token = b; else head = h, token = b * sq + m.
 *   padded: [b, hq, sq] (swapped: [b, hq, 1], head = h * sq + m). */
typedef struct skv_lse_caller {
  int32_t rank;
  int64_t shape[3];
  const char *axes[3]; /* "head", "token" / "b", "head", "q" */
  const char *name;    /* "[hq,tokens]", "[b,hq,1]", "[b,hq,sq]" */
  skv_layout index;    /* (b, h, m) -> caller flat index */
} skv_lse_caller;
void skv_lse_caller_of(const skv_lse_case *c, skv_lse_caller *out);

/* The host path's ops for a case, as torch calls on softmax_lse. */
#define SKV_LSE_MAX_HOST_OPS 4
typedef enum skv_host_op_kind { SKV_HOST_RESHAPE, SKV_HOST_TRANSPOSE } skv_host_op_kind;
typedef struct skv_host_op {
  skv_host_op_kind kind;
  int32_t rank;                       /* reshape: the new shape */
  int64_t shape[SKV_LAYOUT_MAX_RANK];
  int32_t dim0, dim1;                 /* transpose */
} skv_host_op;
typedef struct skv_lse_host_seq {
  int32_t alloc_rank;      /* softmax_lse as allocated: varlen {h, total_q}, padded {b, h, sq} */
  int64_t alloc_shape[3];
  int32_t num_ops;
  skv_host_op ops[SKV_LSE_MAX_HOST_OPS];
  char text[96];           /* in FA2's names: "reshape(h,b,sq).transpose(1,2).reshape(h*sq,b)", "none" */
} skv_lse_host_seq;
void skv_lse_host_seq_of(const skv_lse_case *c, skv_lse_host_seq *s);

/* What the delivery did, besides the values. */
typedef struct skv_lse_delivery {
  int32_t copies;  /* storage copies the host's reshapes made */
  bool contiguous; /* the returned tensor is contiguous (merge_attn_states reads raw memory) */
} skv_lse_delivery;

/* Run one case on values: internal[] holds the LSE of every (b, h, m) in
 * row-major order; the kernel path writes them through its layout into a
 * fresh softmax_lse, the host path transforms it, and caller[] receives the
 * returned tensor read in the caller's logical layout (row-major, caller
 * shape). info may be NULL. False with a message on a model error. */
bool skv_lse_deliver(const skv_lse_case *c, const double *internal, double *caller, skv_lse_delivery *info, char *err,
                     size_t errlen);

/* One evaluated row. */
typedef struct skv_lse_row {
  skv_lse_case c;
  bool correct;            /* every caller element holds its own value */
  int64_t misplaced;       /* caller elements holding another element's value */
  int64_t elements;
  skv_layout kernel;       /* write layout over (b, h, m) */
  skv_layout host_reads;   /* over (b, h, m): the softmax_lse offset the caller's element comes from */
  bool host_reads_strided; /* host_reads is exact (false: the host's read is no strided layout) */
  char kernel_order[64];   /* "(h,sq,b)": axes of (b, h, m) from outermost to innermost in memory,
                              or the layout itself if it is no permuted row-major layout */
  char host_order[64];     /* the same for host_reads: the order the host assumes the kernel wrote */
  char caller[16];
  char ops[96];
  int32_t copies;
  bool contiguous;
  bool vllm;               /* vLLM takes this path */
  const char *api;
  char example[160];       /* "(head 1, token 0) holds (head 4, token 0)" for the first misplaced element */
} skv_lse_row;

/* Evaluate a case with unique ids: fill the logical LSE with each element's
 * caller index, deliver it, and compare; also trace which offset the host
 * reads. False with a message on a model error. */
bool skv_lse_evaluate(const skv_lse_case *c, skv_lse_row *row, char *err, size_t errlen);

/* The table: swapped yes/no x unpadded yes/no x kernel path x host path, in
 * that nesting order, for one shape (qlen used when not swapped). */
#define SKV_LSE_TABLE_ROWS (2 * 2 * SKV_LSE_KERNEL_COUNT * SKV_LSE_HOST_COUNT)
bool skv_lse_table(int64_t batch, int64_t kv_heads, int64_t groups, int64_t qlen, skv_lse_row *rows, char *err,
                   size_t errlen);

/* ---- The demo: the bug in numbers, vLLM cascade attention on the CPU ---- */

typedef struct skv_lse_demo_config {
  int32_t num_sms;   /* FA2 plans the suffix call for this GPU (108: A100) */
  int32_t batch;     /* decode requests, one query token each */
  int32_t kv_heads;
  int32_t groups;    /* hq = kv_heads * groups */
  int32_t head_dim;
  int32_t page_size;
  int64_t prefix;    /* shared prefix tokens (a multiple of page_size), attended by the prefix call */
  int64_t suffix;    /* per-request tokens after the prefix, attended by the split-KV suffix call */
  float q_amp;       /* q values uniform in [-q_amp, q_amp): how peaked attention is */
  uint64_t seed;
} skv_lse_demo_config;

typedef struct skv_lse_demo_host {
  int64_t lse_misplaced; /* suffix LSE elements the merge reads at the wrong (head, token) */
  double o_rel;          /* ||O - ref|| / ||ref|| of the cascaded output */
  double o_max_abs;
  double lse_max_abs;    /* merged LSE vs the reference LSE */
} skv_lse_demo_host;

typedef struct skv_lse_demo_result {
  int32_t num_splits;     /* FA2's num_splits for the suffix call */
  skv_lse_kernel kernel;  /* the kernel that wrote the suffix LSE (paged KV: split-1 or combine) */
  char plan_why[200];     /* the planner's one line */
  skv_lse_demo_host host[SKV_LSE_HOST_COUNT];
} skv_lse_demo_result;

/* Defaults: A100 (108 SMs), b = 8, hkv = 8, groups = 4 (hq = 32), d = 128,
 * page 16, prefix 1024, suffix 4096, q_amp 8, seed 1: FA2 splits the suffix
 * call in 3 (from b = 22 on, b * hkv >= 0.8 * 2 * 108: 1 split). q_amp 8 gives scores of standard
 * deviation ~2.7, a peaked attention whose LSEs differ by units between
 * heads and requests; with near-uniform attention (the workload default 2)
 * all LSEs are close and a misplaced LSE moves O less. */
void skv_lse_demo_config_default(skv_lse_demo_config *c);
/* Cascade attention as vLLM runs it on FA2: prefix call (not swapped, one
 * split: [hq, tokens] LSE), suffix call (swapped decode, paged KV, FA2's
 * num_splits; partial states from the reference merged in chunk order), the
 * LSEs delivered through each host path, merged like merge_attn_states, and
 * compared with the reference attention over the whole KV. False with a
 * message on bad config or out of memory. */
bool skv_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *r, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_LSE_LAYOUT_H */
