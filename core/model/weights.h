// Canonical weights of a loaded checkpoint, family differences resolved.
//
// Conventions (DESIGN §3): matrices are stored as nn.Linear does, [out, in], so that
// y = x Wᵀ + b in row form and y = W x + b in the column form of the maths. Per-head views:
//   Wq        [H, d_head, d_model]
//   Wk/Wv     [H_kv, d_head, d_model]  (H_kv = n_kv_heads; = H except under grouped-query attention, where
//                                       query head h reads KV head h / (H / H_kv): W_V^h = Wv[kv_head_of(h)])
//   W_O       [d_model, H*d_head]     (W_O^h = W_O.view(d, H, dh)[:, h, :], d_model×d_head)
// Norms: ln*_w is the effective multiplier γ of the norm (for Gemma's RMSNorm, whose checkpoint stores w and
// computes x̂ ⊙ (1 + w), the loader keeps γ = 1 + w in float32, exactly as Hugging Face forms it); ln*_b is
// β for LayerNorm and zeros for RMSNorm. Biases a family does not have are zeros.
// Storage: the matrices (W_E, W_pos, W_U and every layer's projections) are zero-copy views of the
// memory-mapped checkpoint in their stored dtype (F32, F16 or BF16); the small tensors (norms' γ and β,
// biases) are float32 from the start. Computations read float32 layers through Transformer::layer(), which
// widens the parts asked for on demand (model/widening.h) — or returns the views themselves for an all-F32
// checkpoint.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "io/model_config.h"

namespace obsprop::io {
class Checkpoint;
}

namespace obsprop::model {

struct LayerWeights {
    torch::Tensor ln1_w, ln1_b;       // the norm before attention
    torch::Tensor ln2_w, ln2_b;       // the norm before the MLP (Gemma 2/3: pre_feedforward_layernorm)
    torch::Tensor Wq, Wk, Wv;         // [H, dh, d], [H_kv, dh, d], [H_kv, dh, d]
    torch::Tensor bq, bk, bv;         // [H, dh], [H_kv, dh], [H_kv, dh] (zeros where the family has no bias)
    torch::Tensor q_norm_w, k_norm_w; // [dh] γ of Qwen 3's / Gemma 3's per-head q and k RMSNorms
    torch::Tensor post_attn_w;        // [d] γ of Gemma 2/3's norm of the attention output
    torch::Tensor post_mlp_w;         // [d] γ of Gemma 2/3's norm of the MLP output
    torch::Tensor W_gate, b_gate;     // gated MLPs: [d_mlp, d], [d_mlp]; W_in/b_in are then the up projection
    // Fused input projection used by the forward pass when the checkpoint stores one:
    // [3*H*dh, d] with rows ordered (q|k|v, head, e) for GPT-2 or (head, q|k|v, e) for GPT-NeoX.
    torch::Tensor W_qkv, b_qkv;
    bool qkv_head_major = false; // GPT-NeoX layout
    torch::Tensor W_O, b_O;      // [d, H*dh], [d]
    torch::Tensor W_in, b_in;    // [d_mlp, d], [d_mlp]
    torch::Tensor W_out, b_out;  // [d, d_mlp], [d]
};

struct Weights {
    torch::Tensor W_E;   // [vocab, d]
    torch::Tensor W_pos; // [n_ctx, d]; undefined for rotary models
    std::vector<LayerWeights> layers;
    torch::Tensor lnf_w, lnf_b; // [d]
    torch::Tensor W_U;          // [vocab, d]
    torch::Tensor b_U;          // [vocab] (zeros: none of the families has an unembedding bias)
    bool all_f32 = true;        // every tensor is float32 (nothing to widen)
};

// W_V^h for every query head h: [H, dh, d] (Wv itself when every head has its own KV head, otherwise the
// KV heads' rows repeated, a copy).
torch::Tensor value_weights_per_head(const io::ModelConfig& cfg, const LayerWeights& w);

// Sets Wq/Wk/Wv and bq/bk/bv of `w` as per-head views of its fused W_qkv/b_qkv (layout per qkv_head_major).
void split_fused_qkv(const io::ModelConfig& cfg, LayerWeights& w);

// Maps every tensor the configuration needs from an open checkpoint (io::plan_weights checks names, shapes
// and dtypes; nothing is read). Throws io::FormatError naming the tensor. The checkpoint must outlive the
// returned weights.
Weights load_weights(const io::Checkpoint& ckpt, const io::ModelConfig& cfg);

} // namespace obsprop::model
