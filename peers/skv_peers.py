#!/usr/bin/env python3
"""skv_peers.py — time other libraries on the configurations of a measured lab run, in the lab's CSV schema.

  python3 peers/skv_peers.py RUN_DIR [--peers sdpa-cudnn,flashinfer-tc,..] [--repeat N] [--warmup N] [--no-cupti]

RUN_DIR is a run of `skv run` made on this GPU (results.csv, meta.json), normally in the same device call. For each
distinct configuration of its rows (shape, lengths, query length, dtypes; the lab's policies are its own rows) every
peer that takes it is set up, run once and checked against a float64 reference of its own inputs (first and last
request: relative L2 error of O, LSE error), then timed by the lab's rules (peers/timing.py). The rows go to
RUN_DIR/peers.csv with results.csv's header: policy is the peer's name, config the lab's name with the policy
replaced; columns a peer has no value for are empty. RUN_DIR/peers.json records the versions, the read streams a
peer tool measures on this GPU beside the lab's in-run read ceiling, each peer's planner output per configuration,
and every configuration a peer skipped and why. `skv summary RUN_DIR` and `skv run --plots-only` show the peers'
rows beside the lab's (README, "Peers").

Optional: Python on the GPU host, never needed by `make run` or `make test`. Versions used: README, "Peers".
Exit status: 0 done, 1 a peer's check failed or a GPU error, 2 bad arguments or a run the peers cannot follow."""
import argparse
import csv
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problem as problem_mod  # noqa: E402
import systems  # noqa: E402
import timing  # noqa: E402

KEY = ("batch", "seqlen", "kvlen_min", "kvlen_max", "qlen", "hq", "hkv", "head_dim", "page_size", "q_dtype",
       "kv_dtype", "v_dtype", "kv_scale_mode", "q_scale", "k_scale", "v_scale", "drop_scale")
COPIED = KEY + ("suite", "run_id", "mode", "kvlen_mean", "lse_layout", "host_path", "gpu_model", "device_model",
                "sms", "kv_bytes", "scale_bytes", "read_ceiling_tbps")
TOL_O, TOL_LSE = 1e-2, 1e-3  # skv bench decode's bounds for 16-bit outputs


def fail(msg, code=2):
    print(f"skv_peers: {msg}", file=sys.stderr)
    sys.exit(code)


def read_run(run_dir):
    meta_path, csv_path = os.path.join(run_dir, "meta.json"), os.path.join(run_dir, "results.csv")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        with open(csv_path, newline="") as f:
            rd = csv.DictReader(f)
            header, rows = rd.fieldnames, list(rd)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{run_dir}: not a run directory ({e})")
    if not rows:
        fail(f"{csv_path}: no rows")
    if meta.get("mode") != "measured" and rows[0].get("mode") != "measured":
        fail(f"{run_dir}: a simulated run (mode {meta.get('mode')}): peers are timed beside measured rows only")
    return meta, header, rows


def configurations(rows):
    """The distinct configurations, in results.csv order, each with its first lab row."""
    seen, out = set(), []
    for r in rows:
        k = tuple(r.get(c, "") for c in KEY)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def unsupported(r):
    """Why the runner cannot rebuild this configuration (None: it can)."""
    if r["kvlen_min"] != r["kvlen_max"]:
        return "requests of different KV lengths (the peer runner builds equal lengths only)"
    if r.get("drop_scale", "none") not in ("", "none"):
        return "a dropped-scale emulation row"
    if r["kv_dtype"] not in problem_mod.DTYPES or r["q_dtype"] not in problem_mod.DTYPES:
        return f"q {r['q_dtype']} / KV {r['kv_dtype']}: no peer takes it"
    if r.get("v_dtype", r["kv_dtype"]) != r["kv_dtype"]:
        return "V stored in another type than K"
    if r["q_dtype"] == "fp8_e4m3":
        return "fp8 queries"
    if is_cascade(r) and share_of(r) is None:
        return "shared prefixes not named in the configuration (sp<tokens>, gs<requests>, gp<tokens>)"
    return None


def is_cascade(r):
    return r.get("cascade_us", "") != "" or r.get("cascade_predicted_us", "") != ""


def share_of(r):
    """(shared_prefix, group_size, group_prefix) from the configuration's name: the suite names a configuration by
    its varying keys, with the labels sp, gs and gp for these (harness/suite/suite.c). (0, 0, 0) for a row of a
    suite without cascade; None when a cascade row's name lacks them."""
    if not is_cascade(r):
        return (0, 0, 0)
    vals = {}
    for part in r["config"].split("-"):
        for lab in ("sp", "gs", "gp"):
            if part.startswith(lab) and part[len(lab):].isdigit():
                vals[lab] = int(part[len(lab):])
    if "sp" not in vals and "gp" not in vals:
        return None
    return (vals.get("sp", 0), vals.get("gs", 0), vals.get("gp", 0))


def peer_config_name(r, peer):
    pol = r["policy"]
    name = r["config"]
    for sep in ("-", "_"):
        tok = f"{sep}{pol}"
        i = name.find(tok)
        if i >= 0 and (i + len(tok) == len(name) or name[i + len(tok)] in "-_"):
            return name[:i] + f"{sep}{peer}" + name[i + len(tok):]
    return f"{name}-{peer}"


def fmt(x):
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="peers: " + ", ".join(systems.ALL))
    ap.add_argument("run_dir")
    ap.add_argument("--peers", default=",".join(systems.ALL), help="comma-separated (default: all)")
    ap.add_argument("--repeat", type=int, default=0, help="timed calls (default: the lab rows' repeats, else 50)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-cupti", action="store_true", help="CUDA events around each call instead of CUPTI")
    ap.add_argument("--out", default=None, help="default RUN_DIR/peers.csv (and peers.json beside it)")
    a = ap.parse_args()
    names = [n for n in a.peers.split(",") if n]
    for n in names:
        if n not in systems.ALL:
            fail(f"--peers: unknown peer '{n}' (known: {', '.join(systems.ALL)})")
    if a.repeat < 0 or a.warmup < 0:
        fail("--repeat and --warmup must be >= 0")
    meta, header, rows = read_run(a.run_dir)
    out_csv = a.out or os.path.join(a.run_dir, "peers.csv")
    out_json = os.path.splitext(out_csv)[0] + ".json"
    if not torch.cuda.is_available():
        fail("no CUDA device", 1)
    gpu = torch.cuda.get_device_name(0)
    lab_gpu = (meta.get("gpu") or {}).get("name", "")
    if lab_gpu and lab_gpu != gpu:
        fail(f"the run was measured on {lab_gpu}, this is {gpu}: peers are timed on the run's GPU")
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    repeat = a.repeat or int(rows[0].get("repeats") or 0) or 50
    report = {"gpu": gpu, "torch": torch.__version__, "cuda": torch.version.cuda, "run": a.run_dir,
              "versions": {n: systems.version(n) for n in names}, "timer": "events" if a.no_cupti else "cupti",
              "repeat": repeat, "warmup": a.warmup,
              "lab_read_ceiling_tbps": (meta.get("gpu") or {}).get("read_ceiling_tbps"),
              "skipped": [], "plans": [], "failed": []}
    print(f"skv_peers: {gpu}; {len(names)} peers; reading streams for the ceiling comparison", flush=True)
    report["peer_read_streams_tbps"] = timing.read_stream_tbps()
    for k, v in report["peer_read_streams_tbps"].items():
        print(f"  read stream {k}: {v:.3f} TB/s (lab's in-run ceiling {report['lab_read_ceiling_tbps']})")
    peers = [systems.ALL[n]() for n in names]
    out_rows, rc = [], 0
    for r in configurations(rows):
        why = unsupported(r)
        label = peer_config_name(r, "*")
        if why:
            report["skipped"].append({"config": label, "peer": "*", "why": why})
            print(f"  {label}: skipped ({why})")
            continue
        free = torch.cuda.mem_get_info()[0]
        share = share_of(r)
        p = problem_mod.Problem(r, lambda b: timing.replicas_past_l2(b, l2, free), want_contiguous=any(
            n.startswith("sdpa") for n in names) and r["kv_dtype"] in ("bf16", "fp16") and share == (0, 0, 0),
            share=share)
        for peer in peers:
            name = peer_config_name(r, peer.name)
            try:
                calls, outputs, plan, options = peer.setup(p)
            except systems.Skip as e:
                report["skipped"].append({"config": name, "peer": peer.name, "why": str(e)})
                print(f"  {name}: skipped ({e})")
                continue
            o, lse = outputs()
            torch.cuda.synchronize()
            rel, o_abs, lse_abs, bad = p.compare(o, lse)
            ok = bad == 0 and rel <= TOL_O and (lse_abs is None or lse_abs <= TOL_LSE)
            t = timing.time_calls(calls, a.warmup, repeat, not a.no_cupti)
            row = {c: r.get(c, "") for c in COPIED}
            main_k = max(t.kernels, key=lambda k: k[2]) if t.kernels else None
            attn = [k for k in t.kernels if "merge" not in k[0].lower()]
            merge = [k for k in t.kernels if "merge" in k[0].lower()]
            kv_bytes = int(r.get("kv_bytes") or 0) or p.kv_bytes  # the lab's count of what flash decoding reads
            tbps = kv_bytes / (t.total_us * 1e-6) / 1e12
            ceiling = float(r.get("read_ceiling_tbps") or 0) or None
            row.update({
                "config": name, "policy": peer.name, "policy_options": f"{systems.version(peer.name)}; {options}",
                "kv_bytes": kv_bytes, "scale_bytes": 0, "ctas": main_k[1] if main_k else "",
                "grid_ctas": main_k[1] if main_k else "", "combine": "kernel" if merge else "-", "timer": t.timer,
                "decode_us": sum(k[2] for k in attn) if t.kernels else t.total_us,
                "combine_us": sum(k[2] for k in merge) if t.kernels else "",
                "total_us": t.total_us, "total_min_us": t.min_us, "total_max_us": t.max_us, "repeats": t.repeats,
                "total_q1_us": t.q1_us, "total_q3_us": t.q3_us,
                "spread": "yes" if (t.q3_us - t.q1_us) > 0.05 * t.total_us else "no",
                "tbps": tbps, "frac_of_read_ceiling": tbps / ceiling if ceiling else "",
                "reference": "gpu-double", "o_rel_err": rel, "o_max_abs": o_abs, "lse_max_abs": lse_abs,
                "unwritten": bad, "gpu_supported": "yes", "checks": "pass" if ok else "fail"})
            sp = plan.get("splits_per_request")
            if sp:
                row.update(num_splits_min=min(sp), num_splits_max=max(sp), num_splits_mean=sum(sp) / len(sp))
            out_rows.append(row)
            report["plans"].append({"config": name, "peer": peer.name, "span_us": round(t.span_us, 3), "kernels": [
                {"name": k[0][:120], "ctas": k[1], "us": round(k[2], 3)} for k in t.kernels], **plan})
            print(f"  {name}: {t.total_us:9.2f} us ({t.timer}), {tbps:.3f} TB/s, err {rel:.2e}"
                  f"{'' if lse_abs is None else f' lse {lse_abs:.1e}'}{'' if ok else '  CHECK FAILED'}", flush=True)
            if not ok:
                rc = 1
                report["failed"].append(name)
            del calls, outputs
        del p
        torch.cuda.empty_cache()
    tmp = out_csv + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in out_rows:
            w.writerow([fmt(row.get(c, "")) for c in header])
    os.replace(tmp, out_csv)
    with open(out_json + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
    os.replace(out_json + ".tmp", out_json)
    print(f"skv_peers: {len(out_rows)} rows -> {out_csv}; {len(report['skipped'])} skipped; "
          f"{len(report['failed'])} failed checks", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
