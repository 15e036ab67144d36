/* lse_layout.h — FA2's LSE layouts: where each kernel writes it, what each host path does, what the caller gets. */
#ifndef SKV_LSE_LAYOUT_H
#define SKV_LSE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host_tensor.h"
#include "layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model (docs/architecture.md, case 1; vllm-project/flash-attention PR #87).
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

#ifdef __cplusplus
}
#endif

#endif /* SKV_LSE_LAYOUT_H */
