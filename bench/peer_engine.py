#!/usr/bin/env python3
"""A straightforward PyTorch implementation of what bench_engine measures, as the peer to compare with.

Run with Debian's own python3 (it sees python3-torch):  env -i PATH=$(getconf PATH) python3 bench/peer_engine.py LARGE SMALL
Loads safetensors the plain way (read the file, build tensors), then: all-head feature norms for two
observables, every 2-head virtual head's norm, and direct-path patching over 20 prompt pairs (GPT-2).
Prints one JSON object.
"""
import json, math, resource, struct, sys, time

import torch

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(folder):
    import os
    files = [f for f in sorted(os.listdir(folder)) if f.endswith(".safetensors")]
    out = {}
    for f in files:
        data = open(os.path.join(folder, f), "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        base = 8 + n
        for name, e in header.items():
            if name == "__metadata__" or e["dtype"] not in DT:
                continue
            a, b = e["data_offsets"]
            t = torch.frombuffer(bytearray(data[base + a:base + b]), dtype=DT[e["dtype"]]).reshape(e["shape"])
            out[name.replace("transformer.", "")] = t.float()
    return out, json.load(open(os.path.join(folder, "config.json")))


def neo_heads(w, cfg, layer):
    d, H = cfg["hidden_size"], cfg["num_heads"]
    dh = d // H
    Wv = w[f"h.{layer}.attn.attention.v_proj.weight"].view(H, dh, d)        # W_V^h
    Wo = w[f"h.{layer}.attn.attention.out_proj.weight"].view(d, H, dh)      # W_O^h
    return Wv, Wo, H, dh


def best_of_3(step):
    """The shortest of three timed runs of step() (the computation without first-run effects)."""
    best = 1e300
    for _ in range(3):
        t = time.time()
        step()
        best = min(best, time.time() - t)
    return best


def main():
    large, small = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    t = time.time()
    w, cfg = load_safetensors(large)
    load = time.time() - t
    L = cfg["num_layers"]
    WU = w["wte.weight"]

    def all_norms():
        norms = []
        for plus, minus in ((673, 339), (607, 683)):
            v = WU[plus] - WU[minus]
            per_layer = []
            for l in range(L):
                Wv, Wo, H, dh = neo_heads(w, cfg, l)
                z = torch.einsum("dhe,d->he", Wo, v)          # W_O^hᵀ v
                y = torch.einsum("hed,he->hd", Wv, z)         # W_V^hᵀ z
                per_layer.append(y.norm(dim=1))
            norms.append(torch.stack(per_layer))
        return norms

    t = time.time()
    norms = all_norms()
    t_norms = time.time() - t
    t_norms_again = best_of_3(all_norms)

    t = time.time()
    v = WU[673] - WU[339]
    feats = []
    for l in range(L):
        Wv, Wo, H, dh = neo_heads(w, cfg, l)
        feats.append(torch.einsum("hed,he->hd", Wv, torch.einsum("dhe,d->he", Wo, v)))
    best = []
    pairs = 0
    for l1 in range(L):
        Wv, Wo, H, dh = neo_heads(w, cfg, l1)
        later = torch.cat(feats[l1 + 1:], 0) if l1 + 1 < L else None
        if later is None:
            continue
        z = torch.einsum("dhe,nd->nhe", Wo, later)        # for every later head n and h1
        y = torch.einsum("hed,nhe->nhd", Wv, z)
        nrm = y.norm(dim=2)
        pairs += nrm.numel()
        best.append(nrm.max().item())
    t_rank = time.time() - t
    del w

    ws, c2 = load_safetensors(small)
    d, H, Ls = c2["n_embd"], c2["n_head"], c2["n_layer"]
    dh = d // H
    eps = c2.get("layer_norm_epsilon", 1e-5)

    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (d,), ws[p + ".weight"], ws[p + ".bias"], eps)

    def run(ids):
        x = ws["wte.weight"][ids] + ws["wpe.weight"][: ids.shape[1]]
        T = ids.shape[1]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        outs = []
        for l in range(Ls):
            p = f"h.{l}."
            qkv = ln(x, p + "ln_1") @ ws[p + "attn.c_attn.weight"] + ws[p + "attn.c_attn.bias"]
            q, k, vv = qkv.split(d, dim=2)
            q, k, vv = [a.view(a.shape[0], T, H, dh).transpose(1, 2) for a in (q, k, vv)]
            s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
            s = s.masked_fill(~mask, float("-inf")).softmax(-1)
            z = (s @ vv).transpose(1, 2)                   # [B, T, H, dh]
            Wp = ws[p + "attn.c_proj.weight"].view(H, dh, d)
            outs.append(torch.einsum("bhe,hed->bhd", z[:, -1], Wp))   # per-head output at the last token
            x = x + z.reshape(x.shape[0], T, d) @ ws[p + "attn.c_proj.weight"] + ws[p + "attn.c_proj.bias"]
            h = ln(x, p + "ln_2") @ ws[p + "mlp.c_fc.weight"] + ws[p + "mlp.c_fc.bias"]
            x = x + torch.nn.functional.gelu(h, approximate="tanh") @ ws[p + "mlp.c_proj.weight"] + ws[p + "mlp.c_proj.bias"]
        return x[:, -1], torch.stack(outs, 1)             # [B, d], [B, L, H, d]

    clean, corrupt = [], []
    for p in range(20):
        a = [(7919 * (p * 16 + i) + 13) % 50000 for i in range(16)]
        b = list(a)
        b[3] = (b[3] + 101) % 50000
        clean.append(a)
        corrupt.append(b)
    def attribution():
        rc, oc = run(torch.tensor(clean))
        rk, ok = run(torch.tensor(corrupt))
        vU = ws["wte.weight"][673] - ws["wte.weight"][339]
        base = ln(rc, "ln_f") @ vU
        patched = ln(rc[:, None, None, :] + ok - oc, "ln_f") @ vU
        return (base[:, None, None] - patched).mean(0)

    t = time.time()
    attr = attribution()
    t_attr = time.time() - t
    t_attr_again = best_of_3(attribution)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"load_s": load, "norms_two_observables_s": t_norms, "ranking_s": t_rank, "ranking_pairs": pairs,
                      "attribution_20_pairs_s": t_attr, "norms_two_observables_repeat_s": t_norms_again,
                      "attribution_20_pairs_repeat_s": t_attr_again, "total_s": load + t_norms + t_rank + t_attr,
                      "peak_rss_bytes": peak, "check_norm_0_0": norms[0][0, 0].item(),
                      "check_top_pair_norm": max(best), "check_attribution_0_0": attr[0, 0].item()}))


if __name__ == "__main__":
    main()
