/* layout_dcp.h — `skv layout --dcp`: the DCP LSE hand-off table (sim/dcp_handoff.h), printed or as JSON. */
#ifndef SKV_LAYOUT_DCP_H
#define SKV_LAYOUT_DCP_H

#include <stdbool.h>
#include <stdint.h>

/* Run every hand-off case on two decode batches of hkv x groups q heads over a DCP plan of world W, interleave
 * I (fa2's plan per rank): 4 tokens (T != H: a misread layout is a shape error) and H tokens (T == H: it is read
 * silently), each batch with a request of no KV (every shard empty) and one shorter than W x I (some shards
 * empty). Returns the exit code. */
int skv_layout_dcp_run(int32_t hkv, int32_t groups, int32_t W, int32_t I, bool json);

#endif /* SKV_LAYOUT_DCP_H */
