#!/usr/bin/env python3
"""A straightforward PyTorch implementation of `obsprop corpus` on a GPT-2 checkpoint, the peer it is timed against.

Usage (Debian's own python3, which sees python3-torch):
  env -i PATH=$(getconf PATH) python3 bench/peer_corpus.py MODEL WINDOWS.json LAYER HEAD PLUS MINUS [TOP]
WINDOWS.json holds the corpus already tokenised and cut into windows ({"windows": [[id, ...], ...]}, written by
scripts/bench from `obsprop tokenize`), so the peer is not charged for tokenising. The observable is the logit
difference n = e_PLUS - e_MINUS; the feature is head LAYER.HEAD's with no LayerNorm treatment (as `--ln none`):
y = W_V^h W_O^h W_U^T n. Every window runs through the whole model (one window a forward pass, no padding); on
every token it takes the feature score s = y . x (x: blocks.LAYER.hook_resid_pre) and the observable's value
v = n . logits, then the statistics `obsprop corpus` reports: mean, standard deviation, min, max of s, Pearson's
r^2 of s against v, and the TOP highest-scoring tokens. Prints one JSON object.
"""
import json, math, os, resource, sys, time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_engine import load_safetensors  # noqa: E402


def main():
    folder, windows_file = sys.argv[1], sys.argv[2]
    layer, head, plus, minus = (int(a) for a in sys.argv[3:7])
    top = int(sys.argv[7]) if len(sys.argv) > 7 else 20
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    t0 = time.time()
    w, cfg = load_safetensors(folder)
    windows = json.load(open(windows_file))["windows"]
    d, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dh = d // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)

    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (d,), w[p + ".weight"], w[p + ".bias"], eps)

    u = w["wte.weight"][plus] - w["wte.weight"][minus]                          # W_U^T n
    p = f"h.{layer}."
    Wv = w[p + "attn.c_attn.weight"][:, 2 * d + head * dh: 2 * d + (head + 1) * dh]  # [d, dh]
    Wo = w[p + "attn.c_proj.weight"][head * dh:(head + 1) * dh]                      # [dh, d]
    y = Wv @ (Wo @ u)

    def run(ids):
        T = ids.shape[0]
        x = w["wte.weight"][ids] + w["wpe.weight"][:T]
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        score = None
        for l in range(L):
            if l == layer:
                score = x @ y
            q = f"h.{l}."
            qkv = ln(x, q + "ln_1") @ w[q + "attn.c_attn.weight"] + w[q + "attn.c_attn.bias"]
            a, k, v = (t.view(T, H, dh).transpose(0, 1) for t in qkv.split(d, dim=1))
            s = (a @ k.transpose(-1, -2)) / math.sqrt(dh)
            s = s.masked_fill(~mask, float("-inf")).softmax(-1)
            z = (s @ v).transpose(0, 1).reshape(T, d)
            x = x + z @ w[q + "attn.c_proj.weight"] + w[q + "attn.c_proj.bias"]
            h = ln(x, q + "ln_2") @ w[q + "mlp.c_fc.weight"] + w[q + "mlp.c_fc.bias"]
            x = x + torch.nn.functional.gelu(h, approximate="tanh") @ w[q + "mlp.c_proj.weight"] + w[q + "mlp.c_proj.bias"]
        return score, ln(x, "ln_f") @ u

    scores, values = [], []
    for ids in windows:
        s, v = run(torch.tensor(ids, dtype=torch.long))
        scores.append(s.double())
        values.append(v.double())
    s, v = torch.cat(scores), torch.cat(values)
    sc, vc = s - s.mean(), v - v.mean()
    r2 = ((sc @ vc) ** 2 / ((sc @ sc) * (vc @ vc))).item()
    best = torch.topk(s, min(top, s.numel()))
    print(json.dumps({"tokens": s.numel(), "windows": len(windows), "seconds": time.time() - t0,
                      "mean": s.mean().item(), "std": s.std(unbiased=False).item(), "min": s.min().item(),
                      "max": s.max().item(), "r2": r2, "top_score": best.values[0].item(),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
