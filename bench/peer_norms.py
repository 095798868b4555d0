#!/usr/bin/env python3
"""The PyTorch peer of `obsprop features --ln none` with two observables, as a whole process, best case: the
checkpoint is memory-mapped (zero copy), and only what the norms read is turned into float32 tensors (each
layer's W_V and W_O, two rows pairs of W_U). Every head's feature norm ‖W_V^hᵀ W_O^hᵀ W_Uᵀ n‖.

  env -i PATH=$(getconf PATH) python3 bench/peer_norms.py FOLDER   (GPT-Neo layout, F32/F16/BF16)
"""
import json, mmap, os, struct, sys

import torch

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def open_checkpoint(folder):
    path = os.path.join(folder, "model.safetensors")
    f = open(path, "rb")
    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    n = struct.unpack("<Q", mm[:8])[0]
    header = json.loads(mm[8:8 + n])
    base = 8 + n
    buf = memoryview(mm)

    def tensor(name):
        for key in (name, "transformer." + name):
            if key in header:
                e = header[key]
                a, b = e["data_offsets"]
                t = torch.frombuffer(buf[base + a:base + b], dtype=DT[e["dtype"]]).reshape(e["shape"])
                return t
        raise KeyError(name)
    return tensor, json.load(open(os.path.join(folder, "config.json")))


def main():
    import warnings
    warnings.filterwarnings("ignore")  # frombuffer on a read-only mapping
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    tensor, cfg = open_checkpoint(sys.argv[1])
    d, H, L = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"]
    dh = d // H
    WU = tensor("wte.weight")
    obs = [(673, 339), (607, 683)]
    v = torch.stack([WU[a].float() - WU[b].float() for a, b in obs])  # [2, d]
    norms = torch.empty(2, L, H)
    for l in range(L):
        Wv = tensor(f"h.{l}.attn.attention.v_proj.weight").float().view(H, dh, d)
        Wo = tensor(f"h.{l}.attn.attention.out_proj.weight").float().view(d, H, dh)
        q = torch.einsum("kd,dhe->khe", v, Wo)           # W_O^hᵀ v
        y = torch.einsum("khe,hed->khd", q, Wv)          # W_V^hᵀ W_O^hᵀ v
        norms[:, l] = y.norm(dim=-1)
    print(json.dumps({"norms_sum": norms.sum().item()}))


if __name__ == "__main__":
    main()
