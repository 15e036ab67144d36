"""problem.py — one configuration of a lab run rebuilt in PyTorch tensors for the peers: a paged KV cache (NHD pages
[num_pages, page_size, hkv, d], one random permutation of page ids), its contiguous copy for peers without paging,
queries, replicas for L2 rotation, and the float64 reference of the first and last request.

The data are the peer runner's own (seeded random normals, never zeros), not the lab's generator: each side is
checked against a double-precision reference of its own inputs, and both read the same bytes per call."""
import math

import torch

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp8_e4m3": torch.float8_e4m3fn}


class Problem:
    def __init__(self, row, replicas_fn, want_contiguous, share=(0, 0, 0), seed=0):
        self.B = int(row["batch"])
        self.L = int(row["kvlen_max"])
        self.Q = int(row["qlen"])
        self.hq, self.hkv, self.d = int(row["hq"]), int(row["hkv"]), int(row["head_dim"])
        self.page = int(row["page_size"])
        self.q_dtype = DTYPES[row["q_dtype"]]
        self.kv_name = row["kv_dtype"]
        self.kv_dtype = DTYPES[row["kv_dtype"]]
        self.k_scale = float(row["k_scale"] or 1) if self.kv_name == "fp8_e4m3" else 1.0
        self.v_scale = float(row["v_scale"] or 1) if self.kv_name == "fp8_e4m3" else 1.0
        self.sm_scale = 1.0 / math.sqrt(self.d)
        g = torch.Generator(device="cuda")
        g.manual_seed(seed)
        # Shared prefixes (the cascade suites' keys shared_prefix, group_size, group_prefix; sim/share.h): every
        # request's first sp tokens are the same physical pages, then each group of gs requests shares gp more,
        # then each request's own suffix. sp and gp are whole pages (the suite requires it).
        self.sp, self.gs, self.gp = share
        self.shared = self.sp > 0 or (self.gs > 0 and self.gp > 0)
        n_sp, n_gp = self.sp // self.page, (self.gp // self.page if self.gs > 0 else 0)
        self.groups = self.B // self.gs if self.gs > 0 and n_gp > 0 else 0
        self.suffix = self.L - self.sp - (self.gp if self.groups else 0)
        n_sx = (self.suffix + self.page - 1) // self.page
        self.pages_per_req = n_sp + (n_gp if self.groups else 0) + n_sx
        n = n_sp + self.groups * n_gp + self.B * n_sx
        perm = torch.randperm(n, device="cuda", generator=g).to(torch.int32)
        sp_ids, gp_ids = perm[:n_sp], perm[n_sp:n_sp + self.groups * n_gp].view(max(self.groups, 1), -1)
        sx_ids = perm[n_sp + self.groups * n_gp:].view(self.B, n_sx)
        rows = []
        for r in range(self.B):
            parts = [sp_ids] + ([gp_ids[r // self.gs]] if self.groups else []) + [sx_ids[r]]
            rows.append(torch.cat(parts))
        self.page_ids = torch.stack(rows)
        self.level_pages = (sp_ids, gp_ids if self.groups else None, sx_ids)
        self.kv_indptr = torch.arange(0, self.B * self.pages_per_req + 1, self.pages_per_req, device="cuda",
                                      dtype=torch.int32)
        self.kv_indices = self.page_ids.reshape(-1).contiguous()
        last = self.L - (self.pages_per_req - 1) * self.page
        self.last_page_len = torch.full((self.B,), last, device="cuda", dtype=torch.int32)
        self.qo_indptr = torch.arange(0, self.B * self.Q + 1, self.Q, device="cuda", dtype=torch.int32)
        elem = torch.empty((), dtype=self.kv_dtype).element_size()
        self.kv_bytes = 2 * self.B * self.L * self.hkv * self.d * elem  # what a call reads (K and V elements)
        per_replica = 2 * n * self.page * self.hkv * self.d * elem + (2 * self.B * self.L * self.hkv * self.d * elem
                                                                       if want_contiguous else 0)
        self.replicas = replicas_fn(per_replica)
        shape = (n, self.page, self.hkv, self.d)
        self.k, self.v, self.kc, self.vc = [], [], [], []
        for _ in range(self.replicas):
            k = torch.randn(shape, device="cuda", generator=g).to(self.kv_dtype)
            v = torch.randn(shape, device="cuda", generator=g).to(self.kv_dtype)
            self.k.append(k)
            self.v.append(v)
            if want_contiguous:  # [B, hkv, L, d]: request b's tokens in position order
                self.kc.append(self.gather(k).permute(0, 2, 1, 3).contiguous())
                self.vc.append(self.gather(v).permute(0, 2, 1, 3).contiguous())
        self.q = [torch.randn((self.B * self.Q, self.hq, self.d), device="cuda", generator=g).to(self.q_dtype)
                  for _ in range(self.replicas)]
        self.reqs = [0] if self.B == 1 else [0, self.B - 1]
        self.ref_o, self.ref_lse = self.reference()

    def gather(self, pool):
        """[B, L, hkv, d]: each request's tokens in position order from its pages."""
        t = pool[self.page_ids.long()]  # [B, pages, page, hkv, d]
        return t.reshape(self.B, self.pages_per_req * self.page, self.hkv, self.d)[:, : self.L]

    def gather_one(self, pool, r):
        """[L, hkv, d]: request r's tokens in position order."""
        t = pool[self.page_ids[r].long()]  # [pages, page, hkv, d]
        return t.reshape(self.pages_per_req * self.page, self.hkv, self.d)[: self.L]

    def reference(self):
        """Float64 attention of the reference requests over replica 0: O [Q, hq, d] and natural-log LSE [Q, hq] per
        request; query i of a request sees keys < L - Q + i + 1 (the decode offset)."""
        outs, lses = [], []
        grp = self.hq // self.hkv
        for r in self.reqs:
            q = self.q[0][r * self.Q:(r + 1) * self.Q].double()  # [Q, hq, d]
            k = (self.gather_one(self.k[0], r).double() * self.k_scale).repeat_interleave(grp, dim=1)  # [L, hq, d]
            v = (self.gather_one(self.v[0], r).double() * self.v_scale).repeat_interleave(grp, dim=1)
            s = torch.einsum("qhd,khd->hqk", q, k) * self.sm_scale  # [hq, Q, L]
            pos = torch.arange(self.L, device="cuda")
            lim = self.L - self.Q + torch.arange(self.Q, device="cuda") + 1
            s = s.masked_fill(pos[None, None, :] >= lim[None, :, None], float("-inf"))
            lse = torch.logsumexp(s, dim=-1)  # [hq, Q]
            p = torch.exp(s - lse[..., None])
            outs.append(torch.einsum("hqk,khd->qhd", p, v))
            lses.append(lse.transpose(0, 1))
        return outs, lses

    def compare(self, o, lse):
        """Relative L2 error and largest absolute error of O, largest LSE error (natural log; None when the peer
        gives no LSE), and how many outputs are not finite, over the reference requests. o: [B*Q, hq, d];
        lse: [B*Q, hq] natural log or None."""
        num = den = 0.0
        o_abs = lse_abs = 0.0
        bad = int((~torch.isfinite(o.float())).sum().item())
        for i, r in enumerate(self.reqs):
            got = o[r * self.Q:(r + 1) * self.Q].double()
            diff = got - self.ref_o[i]
            num += float((diff * diff).sum())
            den += float((self.ref_o[i] * self.ref_o[i]).sum())
            o_abs = max(o_abs, float(diff.abs().max()))
            if lse is not None:
                lse_abs = max(lse_abs, float((lse[r * self.Q:(r + 1) * self.Q].double() - self.ref_lse[i]).abs().max()))
        return math.sqrt(num / den), o_abs, (lse_abs if lse is not None else None), bad
