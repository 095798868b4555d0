#include "model/weights.h"

#include "io/safetensors.h"
#include "io/weight_plan.h"

namespace obsprop::model {

using torch::Tensor;

namespace {

using io::Slot;

// A stored tensor as a torch tensor in its stored dtype: a zero-copy view of the mapping (a copy only when
// the data is not aligned for its type).
Tensor stored(const io::TensorView* v) {
    if (!v) return {};
    const auto type = v->dtype == io::DType::F32   ? torch::kFloat
                      : v->dtype == io::DType::F16 ? torch::kHalf
                                                   : torch::kBFloat16;
    void* p = const_cast<std::byte*>(v->data);
    Tensor t = torch::from_blob(p, c10::IntArrayRef(v->shape), type);
    if (reinterpret_cast<std::uintptr_t>(p) % io::dtype_size(v->dtype) != 0) t = t.clone();
    return t;
}

// A small tensor (a norm's γ or β, a bias) widened to float32 at once; zeros of `shape` for a role the family
// does not have.
Tensor small(const io::TensorView* v, std::vector<std::int64_t> shape) {
    if (!v) return torch::zeros(shape);
    return stored(v).to(torch::kFloat).reshape(shape);
}

// Gemma's RMSNorms store w and compute x̂ ⊙ (1 + w.float()): keep γ = 1 + w in float32.
Tensor norm_gamma(const io::ModelConfig& c, const io::TensorView* v) {
    const bool one_plus =
        c.family == io::Family::Gemma || c.family == io::Family::Gemma2 || c.family == io::Family::Gemma3;
    Tensor w = stored(v).to(torch::kFloat);
    return one_plus ? w + 1.0 : w;
}

void load_layer(const io::WeightPlan& plan, const io::ModelConfig& c, int l, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, K = c.n_kv_heads, dh = c.d_head, m = c.d_mlp;
    auto at = [&](Slot s) { return plan.at(l, s); };
    const bool gpt2 = c.family == io::Family::GPT2;
    w.ln1_w = norm_gamma(c, at(Slot::Norm1W));
    w.ln1_b = small(at(Slot::Norm1B), {d});
    w.ln2_w = norm_gamma(c, at(Slot::Norm2W));
    w.ln2_b = small(at(Slot::Norm2B), {d});
    if (at(Slot::PostAttnNormW)) w.post_attn_w = norm_gamma(c, at(Slot::PostAttnNormW));
    if (at(Slot::PostMlpNormW)) w.post_mlp_w = norm_gamma(c, at(Slot::PostMlpNormW));
    if (at(Slot::QKV)) {
        // GPT-2's Conv1D stores [in, out]: the transpose is a view.
        w.W_qkv = gpt2 ? stored(at(Slot::QKV)).t() : stored(at(Slot::QKV));
        w.b_qkv = small(at(Slot::QKVBias), {3 * H * dh});
        w.qkv_head_major = c.family == io::Family::GPTNeoX;
        split_fused_qkv(c, w);
    } else {
        w.Wq = stored(at(Slot::Q)).view({H, dh, d});
        w.Wk = stored(at(Slot::K)).view({K, dh, d});
        w.Wv = stored(at(Slot::V)).view({K, dh, d});
        w.bq = small(at(Slot::QBias), {H, dh});
        w.bk = small(at(Slot::KBias), {K, dh});
        w.bv = small(at(Slot::VBias), {K, dh});
    }
    if (at(Slot::QNorm)) w.q_norm_w = norm_gamma(c, at(Slot::QNorm));
    if (at(Slot::KNorm)) w.k_norm_w = norm_gamma(c, at(Slot::KNorm));
    w.W_O = gpt2 ? stored(at(Slot::O)).t() : stored(at(Slot::O));
    w.b_O = small(at(Slot::OBias), {d});
    if (at(Slot::Gate)) {
        w.W_gate = stored(at(Slot::Gate));
        w.b_gate = small(at(Slot::GateBias), {m});
    }
    w.W_in = gpt2 ? stored(at(Slot::In)).t() : stored(at(Slot::In));
    w.b_in = small(at(Slot::InBias), {m});
    w.W_out = gpt2 ? stored(at(Slot::Out)).t() : stored(at(Slot::Out));
    w.b_out = small(at(Slot::OutBias), {d});
}

} // namespace

Tensor value_weights_per_head(const io::ModelConfig& c, const LayerWeights& w) {
    if (c.n_kv_heads == c.n_heads) return w.Wv;
    return w.Wv.repeat_interleave(c.kv_group_size(), 0);
}

void split_fused_qkv(const io::ModelConfig& c, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head;
    if (w.qkv_head_major) {
        auto W = w.W_qkv.view({H, 3, dh, d});
        auto b = w.b_qkv.view({H, 3, dh});
        w.Wq = W.select(1, 0), w.Wk = W.select(1, 1), w.Wv = W.select(1, 2);
        w.bq = b.select(1, 0), w.bk = b.select(1, 1), w.bv = b.select(1, 2);
    } else {
        w.Wq = w.W_qkv.narrow(0, 0, H * dh).view({H, dh, d});
        w.Wk = w.W_qkv.narrow(0, H * dh, H * dh).view({H, dh, d});
        w.Wv = w.W_qkv.narrow(0, 2 * H * dh, H * dh).view({H, dh, d});
        w.bq = w.b_qkv.narrow(0, 0, H * dh).view({H, dh});
        w.bk = w.b_qkv.narrow(0, H * dh, H * dh).view({H, dh});
        w.bv = w.b_qkv.narrow(0, 2 * H * dh, H * dh).view({H, dh});
    }
}

Weights load_weights(const io::Checkpoint& ckpt, const io::ModelConfig& c) {
    const io::WeightPlan plan = io::plan_weights(ckpt, c);
    const std::int64_t d = c.d_model;
    Weights w;
    w.layers.resize(static_cast<std::size_t>(c.n_layers));
    for (int l = 0; l < c.n_layers; ++l)
        load_layer(plan, c, l, w.layers[static_cast<std::size_t>(l)]);
    w.W_E = stored(plan.at(Slot::Embed));
    w.W_pos = stored(plan.at(Slot::PosEmbed));
    w.lnf_w = norm_gamma(c, plan.at(Slot::FinalNormW));
    w.lnf_b = small(plan.at(Slot::FinalNormB), {d});
    w.W_U = plan.at(Slot::Unembed) ? stored(plan.at(Slot::Unembed)) : w.W_E;
    w.b_U = torch::zeros({c.d_vocab});
    w.all_f32 = plan.all_f32();
    return w;
}

} // namespace obsprop::model
