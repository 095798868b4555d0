#include "io/weight_plan.h"

#include <sstream>
#include <string>
#include <string_view>

namespace obsprop::io {

namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_str(const Shape& s) {
    std::ostringstream o;
    o << '[';
    for (std::size_t i = 0; i < s.size(); ++i)
        o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

class Resolver {
  public:
    Resolver(const Checkpoint& c, std::string prefix) : ckpt_(c), prefix_(std::move(prefix)) {}

    // `name` with or without the family prefix (only the bare name when !prefixed).
    std::string resolve(const std::string& name, bool prefixed = true) const {
        if (prefixed && ckpt_.contains(prefix_ + name)) return prefix_ + name;
        if (ckpt_.contains(name)) return name;
        return {};
    }
    bool has(const std::string& name, bool prefixed = true) const { return !resolve(name, prefixed).empty(); }

    const TensorView* get(const std::string& name, const Shape& shape, bool prefixed = true) const {
        const std::string full = resolve(name, prefixed);
        if (full.empty())
            throw FormatError("checkpoint is missing tensor '" + (prefixed ? prefix_ : std::string()) + name +
                              "' required by the configuration");
        const TensorView& v = ckpt_.get(full);
        if (v.shape != shape)
            throw FormatError(v.file.string() + ": tensor '" + full + "' has shape " + shape_str(v.shape) +
                              " but the configuration needs " + shape_str(shape));
        if (v.dtype != DType::F32 && v.dtype != DType::F16 && v.dtype != DType::BF16)
            throw FormatError(v.file.string() + ": tensor '" + full + "': dtype " + dtype_name(v.dtype) +
                              " cannot hold weights (expected F32, F16 or BF16)");
        return &v;
    }

  private:
    const Checkpoint& ckpt_;
    std::string prefix_;
};

using LayerSlots = std::array<const TensorView*, kLayerSlots>;

void set(LayerSlots& s, Slot k, const TensorView* v) {
    s[static_cast<std::size_t>(k)] = v;
}

// GPT-2 and GPT-Neo: h.{l}.ln_1 and h.{l}.ln_2, LayerNorms with weight and bias.
void plan_gpt_norms(const Resolver& r, const std::string& p, std::int64_t d, LayerSlots& s) {
    set(s, Slot::Norm1W, r.get(p + "ln_1.weight", {d}));
    set(s, Slot::Norm1B, r.get(p + "ln_1.bias", {d}));
    set(s, Slot::Norm2W, r.get(p + "ln_2.weight", {d}));
    set(s, Slot::Norm2B, r.get(p + "ln_2.bias", {d}));
}

void plan_gpt2_layer(const Resolver& r, const ModelConfig& c, int l, LayerSlots& s) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "h." + std::to_string(l) + ".";
    plan_gpt_norms(r, p, d, s);
    // Conv1D stores [in, out].
    set(s, Slot::QKV, r.get(p + "attn.c_attn.weight", {d, 3 * H * dh}));
    set(s, Slot::QKVBias, r.get(p + "attn.c_attn.bias", {3 * H * dh}));
    set(s, Slot::O, r.get(p + "attn.c_proj.weight", {H * dh, d}));
    set(s, Slot::OBias, r.get(p + "attn.c_proj.bias", {d}));
    set(s, Slot::In, r.get(p + "mlp.c_fc.weight", {d, m}));
    set(s, Slot::InBias, r.get(p + "mlp.c_fc.bias", {m}));
    set(s, Slot::Out, r.get(p + "mlp.c_proj.weight", {m, d}));
    set(s, Slot::OutBias, r.get(p + "mlp.c_proj.bias", {d}));
}

void plan_neo_layer(const Resolver& r, const ModelConfig& c, int l, LayerSlots& s) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "h." + std::to_string(l) + ".";
    plan_gpt_norms(r, p, d, s);
    set(s, Slot::Q, r.get(p + "attn.attention.q_proj.weight", {H * dh, d}));
    set(s, Slot::K, r.get(p + "attn.attention.k_proj.weight", {H * dh, d}));
    set(s, Slot::V, r.get(p + "attn.attention.v_proj.weight", {H * dh, d}));
    set(s, Slot::O, r.get(p + "attn.attention.out_proj.weight", {d, H * dh}));
    set(s, Slot::OBias, r.get(p + "attn.attention.out_proj.bias", {d}));
    set(s, Slot::In, r.get(p + "mlp.c_fc.weight", {m, d}));
    set(s, Slot::InBias, r.get(p + "mlp.c_fc.bias", {m}));
    set(s, Slot::Out, r.get(p + "mlp.c_proj.weight", {d, m}));
    set(s, Slot::OutBias, r.get(p + "mlp.c_proj.bias", {d}));
}

void plan_neox_layer(const Resolver& r, const ModelConfig& c, int l, LayerSlots& s) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "layers." + std::to_string(l) + ".";
    set(s, Slot::Norm1W, r.get(p + "input_layernorm.weight", {d}));
    set(s, Slot::Norm1B, r.get(p + "input_layernorm.bias", {d}));
    set(s, Slot::Norm2W, r.get(p + "post_attention_layernorm.weight", {d}));
    set(s, Slot::Norm2B, r.get(p + "post_attention_layernorm.bias", {d}));
    set(s, Slot::QKV, r.get(p + "attention.query_key_value.weight", {3 * H * dh, d}));
    set(s, Slot::QKVBias, r.get(p + "attention.query_key_value.bias", {3 * H * dh}));
    set(s, Slot::O, r.get(p + "attention.dense.weight", {d, H * dh}));
    set(s, Slot::OBias, r.get(p + "attention.dense.bias", {d}));
    set(s, Slot::In, r.get(p + "mlp.dense_h_to_4h.weight", {m, d}));
    set(s, Slot::InBias, r.get(p + "mlp.dense_h_to_4h.bias", {m}));
    set(s, Slot::Out, r.get(p + "mlp.dense_4h_to_h.weight", {d, m}));
    set(s, Slot::OutBias, r.get(p + "mlp.dense_4h_to_h.bias", {d}));
}

// Llama, Mistral, Qwen 2/3, Gemma 1/2/3: model.layers.{l}.… (the "model." prefix optional).
void plan_decoder_layer(const Resolver& r, const ModelConfig& c, int l, LayerSlots& s) {
    const std::int64_t d = c.d_model, H = c.n_heads, K = c.n_kv_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "layers." + std::to_string(l) + ".";
    set(s, Slot::Norm1W, r.get(p + "input_layernorm.weight", {d}));
    if (c.post_norms) {
        set(s, Slot::PostAttnNormW, r.get(p + "post_attention_layernorm.weight", {d}));
        set(s, Slot::Norm2W, r.get(p + "pre_feedforward_layernorm.weight", {d}));
        set(s, Slot::PostMlpNormW, r.get(p + "post_feedforward_layernorm.weight", {d}));
    } else {
        set(s, Slot::Norm2W, r.get(p + "post_attention_layernorm.weight", {d}));
    }
    const std::string a = p + "self_attn.";
    set(s, Slot::Q, r.get(a + "q_proj.weight", {H * dh, d}));
    set(s, Slot::K, r.get(a + "k_proj.weight", {K * dh, d}));
    set(s, Slot::V, r.get(a + "v_proj.weight", {K * dh, d}));
    if (c.attn_bias_qkv) {
        set(s, Slot::QBias, r.get(a + "q_proj.bias", {H * dh}));
        set(s, Slot::KBias, r.get(a + "k_proj.bias", {K * dh}));
        set(s, Slot::VBias, r.get(a + "v_proj.bias", {K * dh}));
    }
    if (c.qk_norm) {
        set(s, Slot::QNorm, r.get(a + "q_norm.weight", {dh}));
        set(s, Slot::KNorm, r.get(a + "k_norm.weight", {dh}));
    }
    set(s, Slot::O, r.get(a + "o_proj.weight", {d, H * dh}));
    if (c.attn_bias_o) set(s, Slot::OBias, r.get(a + "o_proj.bias", {d}));
    set(s, Slot::Gate, r.get(p + "mlp.gate_proj.weight", {m, d}));
    set(s, Slot::In, r.get(p + "mlp.up_proj.weight", {m, d}));
    set(s, Slot::Out, r.get(p + "mlp.down_proj.weight", {d, m}));
    if (c.mlp_bias) {
        set(s, Slot::GateBias, r.get(p + "mlp.gate_proj.bias", {m}));
        set(s, Slot::InBias, r.get(p + "mlp.up_proj.bias", {m}));
        set(s, Slot::OutBias, r.get(p + "mlp.down_proj.bias", {d}));
    }
}

// The layer index of a per-layer tensor name as the plan reads them ("model.layers.12.mlp…",
// "transformer.h.3.attn…", "gpt_neox.layers.0.…", with or without the family prefix), or -1 for any other
// name (a vision tower's "…encoder.layers.N…" is not the language model's layer).
long long layer_of(std::string_view name) {
    for (std::string_view prefix : {"model.", "transformer.", "gpt_neox."})
        if (name.substr(0, prefix.size()) == prefix) {
            name.remove_prefix(prefix.size());
            break;
        }
    for (std::string_view seg : {"layers.", "h."}) {
        if (name.substr(0, seg.size()) != seg) continue;
        std::size_t q = seg.size();
        while (q < name.size() && q - seg.size() < 12 && name[q] >= '0' && name[q] <= '9')
            ++q;
        if (q > seg.size() && (q == name.size() || name[q] == '.'))
            return std::stoll(std::string(name.substr(seg.size(), q - seg.size())));
    }
    return -1;
}

// A checkpoint with more layers than its configuration would silently run as the smaller model: refuse a
// tensor of a layer beyond n_layers (other unknown tensors, e.g. legacy buffers, stay allowed).
void check_no_extra_layers(const Checkpoint& ckpt, const ModelConfig& c) {
    for (const auto& name : ckpt.names()) {
        const long long l = layer_of(name);
        if (l >= c.n_layers)
            throw FormatError("checkpoint has tensor '" + name + "' of layer " + std::to_string(l) +
                              ", but the configuration has " + std::to_string(c.n_layers) + " layers (0.." +
                              std::to_string(c.n_layers - 1) + "): config.json does not match the weights");
    }
}

} // namespace

std::uint64_t WeightPlan::stored_bytes() const {
    std::uint64_t n = 0;
    for (const auto& l : layers)
        for (const auto* v : l)
            n += v ? v->nbytes : 0;
    for (const auto* v : model)
        n += v ? v->nbytes : 0;
    return n;
}

bool WeightPlan::all_f32() const {
    for (const auto& l : layers)
        for (const auto* v : l)
            if (v && v->dtype != DType::F32) return false;
    for (const auto* v : model)
        if (v && v->dtype != DType::F32) return false;
    return true;
}

WeightPlan plan_weights(const Checkpoint& ckpt, const ModelConfig& c) {
    const std::int64_t d = c.d_model, V = c.d_vocab;
    check_no_extra_layers(ckpt, c);
    WeightPlan plan;
    plan.layers.assign(static_cast<std::size_t>(c.n_layers), LayerSlots{});
    auto model = [&](Slot s, const TensorView* v) {
        plan.model[static_cast<std::size_t>(s) - kLayerSlots] = v;
    };
    if (c.rms()) {
        Resolver r(ckpt, "model.");
        model(Slot::Embed, r.get("embed_tokens.weight", {V, d}));
        for (int l = 0; l < c.n_layers; ++l)
            plan_decoder_layer(r, c, l, plan.layers[static_cast<std::size_t>(l)]);
        model(Slot::FinalNormW, r.get("norm.weight", {d}));
        if (!c.tie_word_embeddings) model(Slot::Unembed, r.get("lm_head.weight", {V, d}, false));
    } else if (c.family == Family::GPTNeoX) {
        Resolver r(ckpt, "gpt_neox.");
        model(Slot::Embed, r.get("embed_in.weight", {V, d}));
        for (int l = 0; l < c.n_layers; ++l)
            plan_neox_layer(r, c, l, plan.layers[static_cast<std::size_t>(l)]);
        model(Slot::FinalNormW, r.get("final_layer_norm.weight", {d}));
        model(Slot::FinalNormB, r.get("final_layer_norm.bias", {d}));
        if (r.has("embed_out.weight", false) || !c.tie_word_embeddings)
            model(Slot::Unembed, r.get("embed_out.weight", {V, d}, false));
    } else {
        Resolver r(ckpt, "transformer.");
        model(Slot::Embed, r.get("wte.weight", {V, d}));
        model(Slot::PosEmbed, r.get("wpe.weight", {c.n_ctx, d}));
        for (int l = 0; l < c.n_layers; ++l) {
            auto& s = plan.layers[static_cast<std::size_t>(l)];
            if (c.family == Family::GPT2)
                plan_gpt2_layer(r, c, l, s);
            else
                plan_neo_layer(r, c, l, s);
        }
        model(Slot::FinalNormW, r.get("ln_f.weight", {d}));
        model(Slot::FinalNormB, r.get("ln_f.bias", {d}));
        if (!c.tie_word_embeddings && r.has("lm_head.weight", false))
            model(Slot::Unembed, r.get("lm_head.weight", {V, d}, false));
    }
    return plan;
}

void check_weights(const Checkpoint& ckpt, const ModelConfig& cfg) {
    (void)plan_weights(ckpt, cfg);
}

} // namespace obsprop::io
