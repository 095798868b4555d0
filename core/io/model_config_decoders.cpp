// config.json of the RMSNorm decoders: Llama (and Llama-architecture models), Mistral, Qwen 2, Qwen 3, Gemma,
// Gemma 2 and Gemma 3 (text). Defaults are those of Hugging Face transformers' configuration classes; every
// key that would change the forward pass in a way not implemented here is refused with its name and value.
#include <cmath>
#include <set>

#include "io/config_fields.h"
#include "io/input_guard.h"

namespace obsprop::io {

using nlohmann::json;
using namespace config_fields;

bool is_decoder_model_type(const std::string& t) {
    static const std::set<std::string> types = {"llama", "mistral", "qwen2",      "qwen3",
                                                "gemma", "gemma2",  "gemma3_text"};
    return types.count(t) != 0;
}

namespace {

Family family_of(const std::string& t) {
    if (t == "llama") return Family::Llama;
    if (t == "mistral") return Family::Mistral;
    if (t == "qwen2") return Family::Qwen2;
    if (t == "qwen3") return Family::Qwen3;
    if (t == "gemma") return Family::Gemma;
    if (t == "gemma2") return Family::Gemma2;
    return Family::Gemma3;
}

bool is_gemma(Family f) {
    return f == Family::Gemma || f == Family::Gemma2 || f == Family::Gemma3;
}

std::string dump(const json& v) {
    return json_preview(v, 80);
}

// A positive finite number inside a rope dictionary.
double rope_number(const json& d, const char* key, const std::string& where, const std::string& src) {
    auto it = d.find(key);
    if (it == d.end() || it->is_null()) fail(src, "'" + where + "' needs '" + key + "'");
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0)
        fail(src, "'" + where + "." + key + "' must be a positive number, not " + dump(*it));
    return it->get<double>();
}

// A rope_scaling dictionary (or one entry of rope_parameters) applied to `base`. `where` names it in errors.
RopeSpec parse_rope_dict(const json& d, const std::string& where, RopeSpec base, const std::string& src) {
    if (d.is_null()) return base;
    if (!d.is_object()) fail(src, "'" + where + "' must be an object, not " + dump(d));
    static const std::set<std::string> known = {"rope_type",        "type",
                                                "factor",           "low_freq_factor",
                                                "high_freq_factor", "original_max_position_embeddings",
                                                "rope_theta"};
    for (const auto& [key, value] : d.items())
        if (!known.count(key))
            fail(src, "'" + where + "." + key + "' = " + dump(value) +
                          " is not implemented (a RoPE variant the forward pass does not compute)");
    std::string type = "default";
    for (const char* k : {"rope_type", "type"})
        if (auto it = d.find(k); it != d.end() && !it->is_null()) {
            if (!it->is_string()) fail(src, "'" + where + "." + k + "' must be a string");
            type = it->get<std::string>();
            break;
        }
    RopeSpec r = base;
    if (d.contains("rope_theta")) r.theta = rope_number(d, "rope_theta", where, src);
    if (type == "default") {
        r.scaling = RopeSpec::Scaling::None;
    } else if (type == "linear") {
        r.scaling = RopeSpec::Scaling::Linear;
        r.factor = rope_number(d, "factor", where, src);
    } else if (type == "llama3") {
        r.scaling = RopeSpec::Scaling::Llama3;
        r.factor = rope_number(d, "factor", where, src);
        r.low_freq_factor = rope_number(d, "low_freq_factor", where, src);
        r.high_freq_factor = rope_number(d, "high_freq_factor", where, src);
        r.original_max_positions = rope_number(d, "original_max_position_embeddings", where, src);
        if (!(r.high_freq_factor > r.low_freq_factor))
            fail(src, "'" + where + "': high_freq_factor must exceed low_freq_factor");
    } else {
        fail(src, "'" + where + ".rope_type' = '" + type +
                      "' is not implemented (supported: default, linear, llama3)");
    }
    return r;
}

// rope_theta / rope_scaling (classic keys) or rope_parameters (newer transformers) → c.rope, c.rope_local.
void parse_rope(const json& j, Family f, ModelConfig& c, const std::string& src) {
    const double default_theta = f == Family::Gemma3 ? 1e6 : 10000.0;
    RopeSpec global;
    global.theta = optional_number(j, {"rope_theta"}, default_theta, src);
    RopeSpec local;
    local.theta = optional_number(j, {"rope_local_base_freq"}, 10000.0, src);
    if (f != Family::Gemma3 && present(j, "rope_local_base_freq"))
        fail(src,
             "'rope_local_base_freq' is a Gemma 3 setting; " + std::string(family_name(f)) + " has none");
    if (present(j, "rope_parameters")) {
        const json& p = j.at("rope_parameters");
        if (f == Family::Gemma3 && p.is_object() &&
            (p.contains("full_attention") || p.contains("sliding_attention"))) {
            if (p.contains("full_attention"))
                global =
                    parse_rope_dict(p.at("full_attention"), "rope_parameters.full_attention", global, src);
            if (p.contains("sliding_attention"))
                local = parse_rope_dict(p.at("sliding_attention"), "rope_parameters.sliding_attention", local,
                                        src);
        } else {
            global = parse_rope_dict(p, "rope_parameters", global, src);
        }
    } else if (present(j, "rope_scaling")) {
        global = parse_rope_dict(j.at("rope_scaling"), "rope_scaling", global, src);
    }
    for (const RopeSpec* r : {&global, &local})
        if (!(r->theta > 0)) fail(src, "the RoPE base 'rope_theta' must be positive");
    c.rope = global;
    c.rope_local = local;
    c.rotary_base = global.theta;
}

// Which layers use sliding-window attention, and the window.
void parse_windows(const json& j, Family f, ModelConfig& c, const std::string& src) {
    const int L = c.n_layers;
    std::vector<bool> sliding(static_cast<std::size_t>(L), false);
    // The window: absent takes the configuration class's default (4096), null means none.
    int window = 0;
    if (!j.contains("sliding_window"))
        window = (f == Family::Llama || f == Family::Gemma) ? 0 : 4096;
    else if (!j.at("sliding_window").is_null())
        window = optional_int(j, "sliding_window", 0, src);
    bool qwen_enabled = false;
    if (f == Family::Qwen2 || f == Family::Qwen3) {
        qwen_enabled = optional_bool(j, "use_sliding_window", false, src);
        if (!qwen_enabled) window = 0; // HF: sliding_window = None unless use_sliding_window
    } else if (present(j, "use_sliding_window")) {
        fail(src, "'use_sliding_window' is a Qwen setting; " + std::string(family_name(f)) + " has none");
    }
    if ((f == Family::Llama || f == Family::Gemma) && window > 0)
        fail(src, "'sliding_window' = " + std::to_string(window) + ": " + family_name(f) +
                      " has no sliding-window attention");

    if (present(j, "layer_types")) {
        const json& t = j.at("layer_types");
        if (!t.is_array() || static_cast<int>(t.size()) != L)
            fail(src, "'layer_types' must list one entry per layer (" + std::to_string(L) + ")");
        for (int l = 0; l < L; ++l) {
            const json& e = t[static_cast<std::size_t>(l)];
            if (e == "sliding_attention")
                sliding[static_cast<std::size_t>(l)] = true;
            else if (e != "full_attention")
                fail(src, "'layer_types[" + std::to_string(l) + "]' = " + dump(e) +
                              " is not implemented (expected full_attention or sliding_attention)");
        }
    } else {
        int max_window_layers = 28;
        if (present(j, "max_window_layers")) {
            const json& v = j.at("max_window_layers");
            if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > (1LL << 30))
                fail(src, "field 'max_window_layers' must be a non-negative integer, not " + dump(v));
            max_window_layers = static_cast<int>(v.get<long long>());
        }
        const int pattern = f == Family::Gemma3 ? optional_int(j, "sliding_window_pattern", 6, src) : 0;
        for (int l = 0; l < L; ++l) {
            bool s = false;
            switch (f) {
            case Family::Mistral:
                s = window > 0;
                break;
            case Family::Qwen2:
            case Family::Qwen3:
                s = window > 0 && l >= max_window_layers;
                break;
            case Family::Gemma2:
                s = (l + 1) % 2 != 0;
                break;
            case Family::Gemma3:
                s = (l + 1) % pattern != 0;
                break;
            default:
                break;
            }
            sliding[static_cast<std::size_t>(l)] = s;
        }
    }
    c.local_window.assign(static_cast<std::size_t>(L), 0);
    for (int l = 0; l < L; ++l) {
        if (!sliding[static_cast<std::size_t>(l)]) continue;
        if (window <= 0)
            fail(src, "layer " + std::to_string(l) +
                          " uses sliding-window attention but the configuration sets no 'sliding_window'" +
                          ((f == Family::Qwen2 || f == Family::Qwen3) && !qwen_enabled
                               ? std::string(" ('use_sliding_window' is false)")
                               : std::string()));
        c.local_window[static_cast<std::size_t>(l)] = window;
    }
}

// A soft-cap: Gemma 2 defaults (50, 30), Gemma 3 none; any other family refuses the key.
double parse_softcap(const json& j, const char* key, Family f, double gemma2_default,
                     const std::string& src) {
    if (f == Family::Gemma2 || f == Family::Gemma3) {
        const double fallback = f == Family::Gemma2 && !j.contains(key) ? gemma2_default : 0.0;
        const double v = optional_number(j, {key}, fallback, src);
        if (v < 0) fail(src, std::string("'") + key + "' must be positive or null");
        return v;
    }
    if (present(j, key))
        fail(src, std::string("'") + key + "' = " + dump(j.at(key)) + ": " + family_name(f) +
                      " has no soft-capping");
    return 0;
}

} // namespace

ModelConfig parse_decoder_config(const json& j, const std::string& type, const std::string& src) {
    const Family f = family_of(type);
    ModelConfig c;
    c.family = f;
    c.norm = NormKind::RMSNorm;
    c.gated_mlp = true;
    c.d_model = required_int(j, {"hidden_size"}, src, kMaxDModel);
    c.n_layers = required_int(j, {"num_hidden_layers"}, src, kMaxLayers);
    c.n_heads = required_int(j, {"num_attention_heads"}, src, kMaxHeads);
    c.d_vocab = required_int(j, {"vocab_size"}, src, kMaxVocab);
    c.d_mlp = required_int(j, {"intermediate_size"}, src, kMaxDMlp);
    if (f == Family::Llama)
        c.n_kv_heads = optional_int(j, "num_key_value_heads", c.n_heads, src, kMaxHeads);
    else
        c.n_kv_heads = required_int(j, {"num_key_value_heads"}, src, kMaxHeads);
    if (c.n_heads % c.n_kv_heads != 0)
        fail(src, "'num_attention_heads' = " + std::to_string(c.n_heads) +
                      " is not a multiple of 'num_key_value_heads' = " + std::to_string(c.n_kv_heads));
    const int default_head_dim = f == Family::Qwen3 ? 128 : is_gemma(f) ? 256 : 0;
    c.d_head = optional_int(j, "head_dim", default_head_dim, src, kMaxDHead);
    if (c.d_head == 0) {
        if (c.d_model % c.n_heads != 0)
            fail(src, "'hidden_size' = " + std::to_string(c.d_model) + " is not divisible by " +
                          "'num_attention_heads' = " + std::to_string(c.n_heads) +
                          " and no 'head_dim' is given");
        c.d_head = c.d_model / c.n_heads;
    }
    if (c.d_head % 2 != 0) fail(src, "'head_dim' = " + std::to_string(c.d_head) + " must be even for RoPE");
    c.rotary_dims = c.d_head;
    const int default_ctx = f == Family::Llama                            ? 2048
                            : f == Family::Mistral || f == Family::Gemma3 ? 131072
                            : f == Family::Gemma || f == Family::Gemma2   ? 8192
                                                                          : 32768;
    c.n_ctx = optional_int(j, "max_position_embeddings", default_ctx, src, kMaxCtx);
    check_sizes(c, src); // before anything is sized from them (the per-layer windows below)
    c.ln_eps = optional_number(j, {"rms_norm_eps"}, 1e-6, src);
    if (!(c.ln_eps > 0.0)) fail(src, "'rms_norm_eps' must be positive");
    if (f == Family::Gemma2 || f == Family::Gemma3)
        c.activation = parse_activation(j, "hidden_activation", "gelu_pytorch_tanh", src);
    else
        c.activation = parse_activation(j, "hidden_act", is_gemma(f) ? "gelu_pytorch_tanh" : "silu", src);
    c.tie_word_embeddings = optional_bool(j, "tie_word_embeddings", is_gemma(f), src);

    const double partial = optional_number(j, {"partial_rotary_factor"}, 1.0, src);
    if (partial != 1.0)
        fail(src, "'partial_rotary_factor' = " + dump(j.at("partial_rotary_factor")) +
                      " is not implemented for " + family_name(f) +
                      " (the rotary embedding covers the whole head)");
    if (optional_bool(j, "use_mrope", false, src))
        fail(src, "'use_mrope' = true is not implemented (multimodal rotary sections)");
    if (optional_bool(j, "use_bidirectional_attention", false, src))
        fail(src, "'use_bidirectional_attention' = true is not implemented (causal language models only)");

    // Biases.
    const bool attention_bias = optional_bool(j, "attention_bias", false, src);
    const bool mlp_bias = optional_bool(j, "mlp_bias", false, src);
    if (mlp_bias && f != Family::Llama)
        fail(src, "'mlp_bias' = true: " + std::string(family_name(f)) + " has none");
    if (attention_bias && (f == Family::Mistral || f == Family::Qwen2))
        fail(src, "'attention_bias' = true: " + std::string(family_name(f)) + " does not read it");
    c.attn_bias_qkv = attention_bias || f == Family::Qwen2; // Qwen 2 always has q/k/v biases
    c.attn_bias_o = attention_bias;
    c.mlp_bias = mlp_bias;

    c.qk_norm = f == Family::Qwen3 || f == Family::Gemma3;
    c.post_norms = f == Family::Gemma2 || f == Family::Gemma3;
    if (is_gemma(f)) c.embed_scale = static_cast<double>(static_cast<float>(std::sqrt(double(c.d_model))));
    c.attn_softcap = parse_softcap(j, "attn_logit_softcapping", f, 50.0, src);
    c.final_softcap = parse_softcap(j, "final_logit_softcapping", f, 30.0, src);
    double scalar = c.d_head;
    if (f == Family::Gemma2 || f == Family::Gemma3)
        scalar = optional_number(j, {"query_pre_attn_scalar"}, 256.0, src);
    else if (present(j, "query_pre_attn_scalar"))
        fail(src,
             "'query_pre_attn_scalar' is a Gemma 2/3 setting; " + std::string(family_name(f)) + " has none");
    if (!(scalar > 0)) fail(src, "'query_pre_attn_scalar' must be positive");
    c.attn_scale = 1.0 / std::sqrt(scalar);

    parse_rope(j, f, c, src);
    parse_windows(j, f, c, src);
    return c;
}

} // namespace obsprop::io
