#!/usr/bin/env python3
"""The PyTorch peer of `obsprop features --ln none` with two observables, as a whole process, best case: the
checkpoint is memory-mapped (zero copy, one file or shards), and only what the norms read is turned into float32
tensors (each layer's W_V and W_O, two pairs of W_U rows). Every head's feature norm ‖W_V^hᵀ W_O^hᵀ W_Uᵀ n‖.

  env -i PATH=$(getconf PATH) python3 bench/peer_norms.py FOLDER   (GPT-Neo or Llama layout; F32/F16/BF16)
"""
import json, mmap, os, struct, sys, warnings

import torch

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def open_checkpoint(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    where = json.load(open(index))["weight_map"] if os.path.exists(index) else None
    files = {}

    def file(name):
        if name not in files:
            f = open(os.path.join(folder, name), "rb")
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            n = struct.unpack("<Q", mm[:8])[0]
            files[name] = (json.loads(mm[8:8 + n]), 8 + n, memoryview(mm))
        return files[name]

    def tensor(*names):
        for key in names:
            fname = where.get(key) if where else "model.safetensors"
            if fname is None:
                continue
            header, base, buf = file(fname)
            if key in header:
                e = header[key]
                a, b = e["data_offsets"]
                return torch.frombuffer(buf[base + a:base + b], dtype=DT[e["dtype"]]).reshape(e["shape"])
        raise KeyError(names[0])
    return tensor, json.load(open(os.path.join(folder, "config.json")))


def main():
    warnings.filterwarnings("ignore")  # frombuffer on a read-only mapping
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    tensor, cfg = open_checkpoint(sys.argv[1])
    llama = cfg["model_type"] != "gpt_neo"
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"] if llama else cfg["num_heads"]
    K = cfg.get("num_key_value_heads", H) if llama else H
    L = cfg["num_hidden_layers"] if llama else cfg["num_layers"]
    dh = cfg.get("head_dim") or d // H
    WU = tensor("lm_head.weight", "model.embed_tokens.weight") if llama else tensor("wte.weight", "transformer.wte.weight")
    obs = [(673, 339), (607, 683)]
    v = torch.stack([WU[a].float() - WU[b].float() for a, b in obs])  # [2, d]
    norms = torch.empty(2, L, H)
    for l in range(L):
        if llama:
            p = f"model.layers.{l}.self_attn."
            Wv = tensor(p + "v_proj.weight").float().view(K, dh, d).repeat_interleave(H // K, 0)
            Wo = tensor(p + "o_proj.weight").float().view(d, H, dh)
        else:
            p = f"h.{l}.attn.attention."
            Wv = tensor(p + "v_proj.weight", "transformer." + p + "v_proj.weight").float().view(H, dh, d)
            Wo = tensor(p + "out_proj.weight", "transformer." + p + "out_proj.weight").float().view(d, H, dh)
        q = torch.einsum("kd,dhe->khe", v, Wo)   # W_O^hᵀ v
        y = torch.einsum("khe,hed->khd", q, Wv)  # W_V^hᵀ W_O^hᵀ v
        norms[:, l] = y.norm(dim=-1)
    print(json.dumps({"norms_sum": norms.sum().item()}))


if __name__ == "__main__":
    main()
