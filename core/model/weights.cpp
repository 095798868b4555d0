#include "model/weights.h"

#include <sstream>
#include <string_view>

#include "io/safetensors.h"
#include "io/safetensors_writer.h"

namespace obsprop::model {

using io::FormatError;
using torch::Tensor;

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) {
    std::ostringstream o;
    o << '[';
    for (std::size_t i = 0; i < s.size(); ++i)
        o << (i ? ", " : "") << s[i];
    o << ']';
    return o.str();
}

// Turns a stored tensor into an f32 torch tensor: a zero-copy view for aligned f32 data,
// otherwise a converted copy (after which the mapped pages are handed back to the kernel).
Tensor to_f32(const io::Checkpoint& ckpt, const io::TensorView& v) {
    auto shape = c10::IntArrayRef(v.shape);
    auto where = [&] { return v.file.string() + ": tensor '" + v.name + "'"; };
    switch (v.dtype) {
    case io::DType::F32: {
        void* p = const_cast<std::byte*>(v.data);
        if (reinterpret_cast<std::uintptr_t>(p) % alignof(float) == 0)
            return torch::from_blob(p, shape, torch::kFloat);
        return torch::from_blob(p, shape, torch::kFloat).clone();
    }
    case io::DType::F16:
    case io::DType::BF16: {
        Tensor out = torch::empty(shape, torch::kFloat);
        float* dst = out.data_ptr<float>();
        const auto* src = reinterpret_cast<const unsigned char*>(v.data);
        const std::int64_t n = v.numel();
        const bool half = v.dtype == io::DType::F16;
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint16_t bits = static_cast<std::uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
            dst[i] = half ? io::f16_to_f32(bits) : io::bf16_to_f32(bits);
        }
        ckpt.file_of(v.name).release(v);
        return out;
    }
    default:
        throw FormatError(where() + ": dtype " + io::dtype_name(v.dtype) +
                          " cannot hold weights (expected F32, F16 or BF16)");
    }
}

class Reader {
  public:
    Reader(const io::Checkpoint& c, std::string prefix) : ckpt_(c), prefix_(std::move(prefix)) {}

    // Resolves `name` with or without the family prefix.
    std::string resolve(const std::string& name, bool prefixed = true) const {
        if (prefixed && ckpt_.contains(prefix_ + name)) return prefix_ + name;
        if (ckpt_.contains(name)) return name;
        return {};
    }
    bool has(const std::string& name, bool prefixed = true) const { return !resolve(name, prefixed).empty(); }

    Tensor get(const std::string& name, std::vector<std::int64_t> shape, bool prefixed = true) const {
        std::string full = resolve(name, prefixed);
        if (full.empty())
            throw FormatError("checkpoint is missing tensor '" + (prefixed ? prefix_ : std::string()) + name +
                              "' required by the configuration");
        const auto& v = ckpt_.get(full);
        if (v.shape != shape)
            throw FormatError(v.file.string() + ": tensor '" + full + "' has shape " + shape_str(v.shape) +
                              " but the configuration needs " + shape_str(shape));
        return to_f32(ckpt_, v);
    }

  private:
    const io::Checkpoint& ckpt_;
    std::string prefix_;
};

void load_gpt2_layer(const Reader& r, const io::ModelConfig& c, int l, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "h." + std::to_string(l) + ".";
    w.ln1_w = r.get(p + "ln_1.weight", {d});
    w.ln1_b = r.get(p + "ln_1.bias", {d});
    w.ln2_w = r.get(p + "ln_2.weight", {d});
    w.ln2_b = r.get(p + "ln_2.bias", {d});
    // Conv1D stores [in, out]; the transpose is a view.
    w.W_qkv = r.get(p + "attn.c_attn.weight", {d, 3 * H * dh}).t();
    w.b_qkv = r.get(p + "attn.c_attn.bias", {3 * H * dh});
    w.qkv_head_major = false;
    w.W_O = r.get(p + "attn.c_proj.weight", {H * dh, d}).t();
    w.b_O = r.get(p + "attn.c_proj.bias", {d});
    w.W_in = r.get(p + "mlp.c_fc.weight", {d, m}).t();
    w.b_in = r.get(p + "mlp.c_fc.bias", {m});
    w.W_out = r.get(p + "mlp.c_proj.weight", {m, d}).t();
    w.b_out = r.get(p + "mlp.c_proj.bias", {d});
}

void load_neo_layer(const Reader& r, const io::ModelConfig& c, int l, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "h." + std::to_string(l) + ".";
    w.ln1_w = r.get(p + "ln_1.weight", {d});
    w.ln1_b = r.get(p + "ln_1.bias", {d});
    w.ln2_w = r.get(p + "ln_2.weight", {d});
    w.ln2_b = r.get(p + "ln_2.bias", {d});
    w.Wq = r.get(p + "attn.attention.q_proj.weight", {H * dh, d}).view({H, dh, d});
    w.Wk = r.get(p + "attn.attention.k_proj.weight", {H * dh, d}).view({H, dh, d});
    w.Wv = r.get(p + "attn.attention.v_proj.weight", {H * dh, d}).view({H, dh, d});
    w.bq = w.bk = w.bv = torch::zeros({H, dh});
    w.W_O = r.get(p + "attn.attention.out_proj.weight", {d, H * dh});
    w.b_O = r.get(p + "attn.attention.out_proj.bias", {d});
    w.W_in = r.get(p + "mlp.c_fc.weight", {m, d});
    w.b_in = r.get(p + "mlp.c_fc.bias", {m});
    w.W_out = r.get(p + "mlp.c_proj.weight", {d, m});
    w.b_out = r.get(p + "mlp.c_proj.bias", {d});
}

void load_neox_layer(const Reader& r, const io::ModelConfig& c, int l, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "layers." + std::to_string(l) + ".";
    w.ln1_w = r.get(p + "input_layernorm.weight", {d});
    w.ln1_b = r.get(p + "input_layernorm.bias", {d});
    w.ln2_w = r.get(p + "post_attention_layernorm.weight", {d});
    w.ln2_b = r.get(p + "post_attention_layernorm.bias", {d});
    w.W_qkv = r.get(p + "attention.query_key_value.weight", {3 * H * dh, d});
    w.b_qkv = r.get(p + "attention.query_key_value.bias", {3 * H * dh});
    w.qkv_head_major = true;
    w.W_O = r.get(p + "attention.dense.weight", {d, H * dh});
    w.b_O = r.get(p + "attention.dense.bias", {d});
    w.W_in = r.get(p + "mlp.dense_h_to_4h.weight", {m, d});
    w.b_in = r.get(p + "mlp.dense_h_to_4h.bias", {m});
    w.W_out = r.get(p + "mlp.dense_4h_to_h.weight", {d, m});
    w.b_out = r.get(p + "mlp.dense_4h_to_h.bias", {d});
}

// Gemma's RMSNorms store w and compute x̂ ⊙ (1 + w.float()): keep γ = 1 + w in float32.
Tensor norm_gamma(const io::ModelConfig& c, Tensor w) {
    const bool one_plus =
        c.family == io::Family::Gemma || c.family == io::Family::Gemma2 || c.family == io::Family::Gemma3;
    return one_plus ? w.to(torch::kFloat) + 1.0 : w;
}

// Llama, Mistral, Qwen 2/3, Gemma 1/2/3: model.layers.{l}.… (the "model." prefix optional).
void load_decoder_layer(const Reader& r, const io::ModelConfig& c, int l, LayerWeights& w) {
    const std::int64_t d = c.d_model, H = c.n_heads, K = c.n_kv_heads, dh = c.d_head, m = c.d_mlp;
    const std::string p = "layers." + std::to_string(l) + ".";
    auto bias = [&](bool has, const std::string& name, std::vector<std::int64_t> shape) {
        std::int64_t n = 1;
        for (auto s : shape)
            n *= s;
        return has ? r.get(name, {n}).view(shape) : torch::zeros(shape);
    };
    w.ln1_w = norm_gamma(c, r.get(p + "input_layernorm.weight", {d}));
    w.ln1_b = torch::zeros({d});
    if (c.post_norms) {
        w.post_attn_w = norm_gamma(c, r.get(p + "post_attention_layernorm.weight", {d}));
        w.ln2_w = norm_gamma(c, r.get(p + "pre_feedforward_layernorm.weight", {d}));
        w.post_mlp_w = norm_gamma(c, r.get(p + "post_feedforward_layernorm.weight", {d}));
    } else {
        w.ln2_w = norm_gamma(c, r.get(p + "post_attention_layernorm.weight", {d}));
    }
    w.ln2_b = torch::zeros({d});
    const std::string a = p + "self_attn.";
    w.Wq = r.get(a + "q_proj.weight", {H * dh, d}).view({H, dh, d});
    w.Wk = r.get(a + "k_proj.weight", {K * dh, d}).view({K, dh, d});
    w.Wv = r.get(a + "v_proj.weight", {K * dh, d}).view({K, dh, d});
    w.bq = bias(c.attn_bias_qkv, a + "q_proj.bias", {H, dh});
    w.bk = bias(c.attn_bias_qkv, a + "k_proj.bias", {K, dh});
    w.bv = bias(c.attn_bias_qkv, a + "v_proj.bias", {K, dh});
    if (c.qk_norm) {
        w.q_norm_w = norm_gamma(c, r.get(a + "q_norm.weight", {dh}));
        w.k_norm_w = norm_gamma(c, r.get(a + "k_norm.weight", {dh}));
    }
    w.W_O = r.get(a + "o_proj.weight", {d, H * dh});
    w.b_O = bias(c.attn_bias_o, a + "o_proj.bias", {d});
    w.W_gate = r.get(p + "mlp.gate_proj.weight", {m, d});
    w.b_gate = bias(c.mlp_bias, p + "mlp.gate_proj.bias", {m});
    w.W_in = r.get(p + "mlp.up_proj.weight", {m, d});
    w.b_in = bias(c.mlp_bias, p + "mlp.up_proj.bias", {m});
    w.W_out = r.get(p + "mlp.down_proj.weight", {d, m});
    w.b_out = bias(c.mlp_bias, p + "mlp.down_proj.bias", {d});
}

// The layer index of a per-layer tensor name as the loader reads them ("model.layers.12.mlp…",
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
void check_no_extra_layers(const io::Checkpoint& ckpt, const io::ModelConfig& c) {
    for (const auto& name : ckpt.names()) {
        const long long l = layer_of(name);
        if (l >= c.n_layers)
            throw FormatError("checkpoint has tensor '" + name + "' of layer " + std::to_string(l) +
                              ", but the configuration has " + std::to_string(c.n_layers) + " layers (0.." +
                              std::to_string(c.n_layers - 1) + "): config.json does not match the weights");
    }
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
    const std::int64_t d = c.d_model, V = c.d_vocab;
    check_no_extra_layers(ckpt, c);
    Weights w;
    w.layers.resize(c.n_layers);
    if (c.rms()) {
        Reader r(ckpt, "model.");
        w.W_E = r.get("embed_tokens.weight", {V, d});
        for (int l = 0; l < c.n_layers; ++l)
            load_decoder_layer(r, c, l, w.layers[l]);
        w.lnf_w = norm_gamma(c, r.get("norm.weight", {d}));
        w.lnf_b = torch::zeros({d});
        if (!c.tie_word_embeddings)
            w.W_U = r.get("lm_head.weight", {V, d}, false);
        else
            w.W_U = w.W_E;
    } else if (c.family == io::Family::GPTNeoX) {
        Reader r(ckpt, "gpt_neox.");
        w.W_E = r.get("embed_in.weight", {V, d});
        for (int l = 0; l < c.n_layers; ++l) {
            load_neox_layer(r, c, l, w.layers[l]);
            split_fused_qkv(c, w.layers[l]);
        }
        w.lnf_w = r.get("final_layer_norm.weight", {d});
        w.lnf_b = r.get("final_layer_norm.bias", {d});
        if (r.has("embed_out.weight", false) || !c.tie_word_embeddings)
            w.W_U = r.get("embed_out.weight", {V, d}, false);
        else
            w.W_U = w.W_E;
    } else {
        Reader r(ckpt, "transformer.");
        w.W_E = r.get("wte.weight", {V, d});
        w.W_pos = r.get("wpe.weight", {c.n_ctx, d});
        for (int l = 0; l < c.n_layers; ++l) {
            if (c.family == io::Family::GPT2) {
                load_gpt2_layer(r, c, l, w.layers[l]);
                split_fused_qkv(c, w.layers[l]);
            } else {
                load_neo_layer(r, c, l, w.layers[l]);
            }
        }
        w.lnf_w = r.get("ln_f.weight", {d});
        w.lnf_b = r.get("ln_f.bias", {d});
        if (!c.tie_word_embeddings && r.has("lm_head.weight", false))
            w.W_U = r.get("lm_head.weight", {V, d}, false);
        else
            w.W_U = w.W_E;
    }
    w.b_U = torch::zeros({V});
    return w;
}

} // namespace obsprop::model
