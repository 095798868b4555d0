// Random checkpoints of the Llama-style families: Llama (also SmolLM2, TinyLlama), Mistral, Qwen2,
// Qwen3, Gemma, Gemma2 and Gemma3 (text). Layout, config.json and presets; the values and the writing
// are shared with the other families (checkpoint_gen.cpp). Names, shapes and config keys follow Hugging
// Face transformers' modeling_*.py / configuration_*.py of each family.
#include "checkpoint_plan.h"

#include <cmath>
#include <set>
#include <stdexcept>

namespace obsprop::tools::detail {

namespace {

using io::DType;
using nlohmann::json;

[[noreturn]] void bad(const std::string& why) {
    throw std::invalid_argument("checkpoint spec: " + why);
}

bool is_qwen(Family f) {
    return f == Family::Qwen2 || f == Family::Qwen3;
}

bool has_layer_types(Family f) { // the configuration classes that define layer_types
    return is_qwen(f) || f == Family::Gemma2 || f == Family::Gemma3;
}

const char* architecture(Family f) {
    switch (f) {
    case Family::Llama:
        return "LlamaForCausalLM";
    case Family::Mistral:
        return "MistralForCausalLM";
    case Family::Qwen2:
        return "Qwen2ForCausalLM";
    case Family::Qwen3:
        return "Qwen3ForCausalLM";
    case Family::Gemma:
        return "GemmaForCausalLM";
    case Family::Gemma2:
        return "Gemma2ForCausalLM";
    case Family::Gemma3:
        return "Gemma3ForCausalLM";
    default:
        return "?";
    }
}

} // namespace

void validate_llama_style(const CheckpointSpec& s) {
    const Family f = s.family;
    const std::string fam = family_name(f);
    if (s.n_kv_heads < 0) bad("n_kv_heads must be >= 0 (0 means n_heads)");
    if (s.n_heads % s.kv_heads() != 0) {
        bad("n_heads " + std::to_string(s.n_heads) + " is not divisible by n_kv_heads " +
            std::to_string(s.kv_heads()));
    }
    if (s.head_dim < 0) bad("head_dim must be >= 0 (0 means d_model / n_heads)");
    if (s.head_dim == 0 && s.d_model % s.n_heads != 0) {
        bad("d_model " + std::to_string(s.d_model) + " is not divisible by n_heads " +
            std::to_string(s.n_heads) + " (or give head_dim)");
    }
    if (s.d_head() % 2 != 0) bad("head_dim " + std::to_string(s.d_head()) + " must be even for RoPE");
    if (!(s.rope_theta >= 0.0) || !std::isfinite(s.rope_theta)) bad("rope_theta must be >= 0 (0: default)");
    if (s.rope_scaling != "" && s.rope_scaling != "linear" && s.rope_scaling != "llama3") {
        bad("rope_scaling must be empty, \"linear\" or \"llama3\", not \"" + s.rope_scaling + "\"");
    }
    if (!s.rope_scaling.empty() && !(s.rope_factor > 0.0 && std::isfinite(s.rope_factor))) {
        bad("rope_factor must be positive");
    }
    if (s.rope_scaling == "llama3") {
        if (!(s.rope_low_freq_factor > 0.0) || !(s.rope_high_freq_factor > s.rope_low_freq_factor)) {
            bad("llama3 RoPE needs 0 < low_freq_factor < high_freq_factor");
        }
        if (s.rope_original_max_positions < 1) bad("rope_original_max_positions must be at least 1");
    }
    if (!(s.rope_local_base_freq > 0.0) || !std::isfinite(s.rope_local_base_freq)) {
        bad("rope_local_base_freq must be positive");
    }
    if (s.sliding_window < 0) bad("sliding_window must be >= 0");
    if (!s.layer_types.empty()) {
        if (!has_layer_types(f)) bad(fam + " has no layer_types (only qwen2, qwen3, gemma2, gemma3_text)");
        if (int(s.layer_types.size()) != s.n_layers) {
            bad("layer_types has " + std::to_string(s.layer_types.size()) + " entries for " +
                std::to_string(s.n_layers) + " layers");
        }
        for (const auto& t : s.layer_types) {
            if (t != "sliding_attention" && t != "full_attention") bad("unknown layer type \"" + t + "\"");
            if (t == "sliding_attention" && s.sliding_window_value() == 0) {
                bad("layer_types names sliding layers but there is no sliding window");
            }
        }
    }
    if (s.max_window_layers < 0) bad("max_window_layers must be >= 0");
    if (s.use_sliding_window && !is_qwen(f)) bad("use_sliding_window is a qwen2 / qwen3 option");
    if (s.use_sliding_window && s.sliding_window == 0) bad("use_sliding_window needs sliding_window > 0");
    if (s.sliding_window_pattern < 0) bad("sliding_window_pattern must be >= 0");
    if (s.sliding_window_pattern > 0 && f != Family::Gemma3) bad("sliding_window_pattern is a gemma3 option");
    const bool gemma23 = f == Family::Gemma2 || f == Family::Gemma3;
    if (!(s.attn_softcap >= 0.0) || !(s.final_softcap >= 0.0)) bad("softcaps must be >= 0 (0: null)");
    if ((s.attn_softcap > 0 || s.final_softcap > 0) && !gemma23) bad(fam + " has no logit soft-capping");
    if (!(s.query_pre_attn_scalar >= 0.0)) bad("query_pre_attn_scalar must be >= 0");
    if (s.query_pre_attn_scalar > 0 && !gemma23) bad("query_pre_attn_scalar is a gemma2 / gemma3 option");
    if (s.attention_bias && (f == Family::Mistral || f == Family::Qwen2)) {
        bad(fam + " has no attention_bias option (qwen2 always has q/k/v biases, mistral none)");
    }
    if (s.mlp_bias && f != Family::Llama) bad("mlp_bias is a llama option");
}

void llama_style_plan(const CheckpointSpec& s, std::vector<Plan>& out) {
    const std::int64_t d = s.d_model, m = s.mlp_dim(), V = s.vocab;
    const std::int64_t dh = s.d_head(), q = std::int64_t(s.n_heads) * dh,
                       kv = std::int64_t(s.kv_heads()) * dh;
    const DType w = s.storage;
    const Family f = s.family;
    const bool gemma = is_gemma(f);
    const bool sandwich = f == Family::Gemma2 || f == Family::Gemma3;
    const bool qk_norm = f == Family::Qwen3 || f == Family::Gemma3;
    const bool qkv_bias = f == Family::Qwen2 || s.attention_bias;
    const bool o_bias = s.attention_bias;
    const std::string pre = s.prefix ? "model." : "";
    auto add = [&](const std::string& name, std::vector<std::int64_t> shape, Init init) {
        out.push_back({{pre + name, std::move(shape), w}, name, init});
    };
    auto add_linear = [&](const std::string& name, std::int64_t rows, std::int64_t cols, bool bias) {
        add(name + ".weight", {rows, cols}, Init::Matrix); // nn.Linear: [out, in]
        if (bias) add(name + ".bias", {rows}, Init::Bias);
    };
    // HF: Gemma*RMSNorm weights start at 0 and are applied as (1 + w); LlamaRMSNorm weights start at 1.
    const Init norm = gemma ? Init::Bias : Init::LnWeight;

    add("embed_tokens.weight", {V, d}, Init::Matrix);
    for (int i = 0; i < s.n_layers; ++i) {
        const std::string h = "layers." + std::to_string(i) + ".";
        add_linear(h + "self_attn.q_proj", q, d, qkv_bias);
        add_linear(h + "self_attn.k_proj", kv, d, qkv_bias);
        add_linear(h + "self_attn.v_proj", kv, d, qkv_bias);
        add_linear(h + "self_attn.o_proj", d, q, o_bias);
        if (qk_norm) {
            add(h + "self_attn.q_norm.weight", {dh}, norm); // per head, over head_dim
            add(h + "self_attn.k_norm.weight", {dh}, norm);
        }
        if (s.buffers) {
            out.push_back({{pre + h + "self_attn.rotary_emb.inv_freq", {dh / 2}, DType::F32},
                           h + "self_attn.rotary_emb.inv_freq",
                           Init::InvFreq,
                           0,
                           true});
        }
        add_linear(h + "mlp.gate_proj", m, d, s.mlp_bias);
        add_linear(h + "mlp.up_proj", m, d, s.mlp_bias);
        add_linear(h + "mlp.down_proj", d, m, s.mlp_bias);
        add(h + "input_layernorm.weight", {d}, norm);
        add(h + "post_attention_layernorm.weight", {d}, norm);
        if (sandwich) {
            add(h + "pre_feedforward_layernorm.weight", {d}, norm);
            add(h + "post_feedforward_layernorm.weight", {d}, norm);
        }
    }
    add("norm.weight", {d}, norm);
    if (s.untied) {
        out.push_back({{"lm_head.weight", {V, d}, w}, "lm_head.weight", Init::Matrix}); // its own values
    } else if (s.lm_head) {
        out.push_back({{"lm_head.weight", {V, d}, w}, "embed_tokens.weight", Init::Matrix}); // tied copy
    }
}

void llama_style_config(const CheckpointSpec& s, json& c) {
    const Family f = s.family;
    c["architectures"] = {architecture(f)};
    c["hidden_size"] = s.d_model;
    c["intermediate_size"] = s.mlp_dim();
    c["num_hidden_layers"] = s.n_layers;
    c["num_attention_heads"] = s.n_heads;
    c["num_key_value_heads"] = s.kv_heads();
    if (s.head_dim > 0 || f == Family::Qwen3 || is_gemma(f)) c["head_dim"] = s.d_head();
    c["max_position_embeddings"] = s.n_ctx;
    c["rms_norm_eps"] = s.ln_eps;
    c["rope_theta"] = s.rope_theta_value();
    if (s.rope_scaling.empty()) {
        c["rope_scaling"] = nullptr;
    } else if (s.rope_scaling == "linear") {
        c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", s.rope_factor}};
    } else {
        c["rope_scaling"] = {{"rope_type", "llama3"},
                             {"factor", s.rope_factor},
                             {"low_freq_factor", s.rope_low_freq_factor},
                             {"high_freq_factor", s.rope_high_freq_factor},
                             {"original_max_position_embeddings", s.rope_original_max_positions}};
    }
    c["tie_word_embeddings"] = !s.untied;
    c["attention_dropout"] = 0.0;
    // HF: Llama/Mistral/Qwen/Gemma 1 read hidden_act; Gemma2/3 read hidden_activation. Real Gemma 1/2
    // configs carry both with one value, Gemma 3 ones only hidden_activation; so do ours.
    if (f != Family::Gemma3) c["hidden_act"] = s.activation_name();
    if (is_gemma(f)) c["hidden_activation"] = s.activation_name();
    if (f != Family::Mistral && f != Family::Qwen2) c["attention_bias"] = s.attention_bias;
    if (f == Family::Llama) {
        c["mlp_bias"] = s.mlp_bias;
        c["pretraining_tp"] = 1;
    }
    const int window = s.sliding_window_value();
    if (f == Family::Mistral) c["sliding_window"] = window > 0 ? json(window) : json(nullptr);
    if (is_qwen(f)) {
        c["use_sliding_window"] = s.use_sliding_window;
        c["sliding_window"] = window > 0 ? json(window) : json(nullptr);
        c["max_window_layers"] = s.max_window_layers;
    }
    if (f == Family::Gemma2 || f == Family::Gemma3) {
        c["sliding_window"] = window;
        const double qpas = s.query_pre_attn_scalar_value();
        c["query_pre_attn_scalar"] = qpas == std::floor(qpas) ? json(std::int64_t(qpas)) : json(qpas); // 256
        c["attn_logit_softcapping"] = s.attn_softcap > 0 ? json(s.attn_softcap) : json(nullptr);
        c["final_logit_softcapping"] = s.final_softcap > 0 ? json(s.final_softcap) : json(nullptr);
        c["cache_implementation"] = "hybrid";
    }
    if (f == Family::Gemma3) {
        c["rope_local_base_freq"] = s.rope_local_base_freq;
        if (s.sliding_window_pattern > 0) c["sliding_window_pattern"] = s.sliding_window_pattern;
    }
    if (!s.layer_types.empty()) c["layer_types"] = s.layer_types;
}

std::vector<std::string> llama_style_preset_names() {
    return {"llama-3.2-1b", "llama-3.1-8b", "smollm2-135m", "tinyllama-1.1b", "mistral-7b",
            "qwen2.5-0.5b", "qwen3-0.6b",   "gemma-2b",     "gemma-2-2b",     "gemma-3-1b"};
}

bool llama_style_preset(const std::string& name, Family family, CheckpointSpec& s) {
    if (name == "tiny") {
        // Small enough for the naive reference, with every feature of the family in play on a 10-token
        // prompt: GQA (4 query heads on 2 KV heads), a head width that differs from d_model / n_heads
        // where the family allows it, sliding windows of 4 keys, soft-caps that bite.
        s.family = family;
        s.n_layers = 2, s.n_heads = 4, s.n_kv_heads = 2, s.d_model = 64, s.d_mlp = 128, s.vocab = 512;
        s.n_ctx = 64;
        s.head_dim = family == Family::Qwen3 || is_gemma(family) ? 24 : 16;
        s.ln_eps = family == Family::Llama || family == Family::Mistral ? 1e-5 : 1e-6;
        switch (family) {
        case Family::Llama:
            // inv_freq wavelengths 2 pi 10000^(i/8) = 6.3, 19.9, 62.8, ...; with original 32 and factors
            // 1 / 4 the bands are < 8 (kept: i = 0), 8..32 (smoothed: i = 1) and > 32 (divided by 8).
            s.rope_scaling = "llama3", s.rope_factor = 8, s.rope_low_freq_factor = 1;
            s.rope_high_freq_factor = 4, s.rope_original_max_positions = 32;
            break;
        case Family::Mistral:
            s.sliding_window = 4;
            break;
        case Family::Qwen2:
            s.use_sliding_window = true, s.sliding_window = 4, s.max_window_layers = 1; // layer 1 slides
            break;
        case Family::Gemma2:
            // Scores and logits of this shape have a standard deviation near 1 (tail near 3-4), so
            // caps of 5 and 3 change them measurably (5 tanh(3/5) = 2.7, 3 tanh(3/3) = 2.3).
            s.sliding_window = 4, s.attn_softcap = 5, s.final_softcap = 3;
            break;
        case Family::Gemma3:
            s.n_layers = 3, s.sliding_window = 4, s.sliding_window_pattern = 3; // layers 0, 1 slide
            break;
        default:
            break;
        }
        return true;
    }
    if (name == "llama-3.2-1b") { // meta-llama/Llama-3.2-1B: 1,235,814,400 parameters
        s.family = Family::Llama;
        s.n_layers = 16, s.n_heads = 32, s.n_kv_heads = 8, s.head_dim = 64, s.d_model = 2048, s.d_mlp = 8192;
        s.vocab = 128256, s.n_ctx = 131072, s.ln_eps = 1e-5, s.rope_theta = 500000;
        s.rope_scaling = "llama3", s.rope_factor = 32, s.rope_low_freq_factor = 1,
        s.rope_high_freq_factor = 4;
        s.rope_original_max_positions = 8192;
    } else if (name == "llama-3.1-8b") { // meta-llama/Llama-3.1-8B: 8,030,261,248 parameters
        s.family = Family::Llama;
        s.n_layers = 32, s.n_heads = 32, s.n_kv_heads = 8, s.head_dim = 128, s.d_model = 4096,
        s.d_mlp = 14336;
        s.vocab = 128256, s.n_ctx = 131072, s.ln_eps = 1e-5, s.rope_theta = 500000, s.untied = true;
        s.rope_scaling = "llama3", s.rope_factor = 8, s.rope_low_freq_factor = 1, s.rope_high_freq_factor = 4;
        s.rope_original_max_positions = 8192;
        s.storage = io::DType::BF16, s.shards = 4; // as published
    } else if (name == "smollm2-135m") {           // HuggingFaceTB/SmolLM2-135M: 134,515,008
        s.family = Family::Llama;
        s.n_layers = 30, s.n_heads = 9, s.n_kv_heads = 3, s.d_model = 576, s.d_mlp = 1536;
        s.vocab = 49152, s.n_ctx = 8192, s.ln_eps = 1e-5, s.rope_theta = 100000;
    } else if (name == "tinyllama-1.1b") { // TinyLlama/TinyLlama-1.1B-intermediate..: 1,100,048,384
        s.family = Family::Llama;
        s.n_layers = 22, s.n_heads = 32, s.n_kv_heads = 4, s.d_model = 2048, s.d_mlp = 5632;
        s.vocab = 32000, s.n_ctx = 2048, s.ln_eps = 1e-5, s.rope_theta = 10000, s.untied = true;
    } else if (name == "mistral-7b") { // mistralai/Mistral-7B-v0.1: 7,241,732,096
        s.family = Family::Mistral;
        s.n_layers = 32, s.n_heads = 32, s.n_kv_heads = 8, s.d_model = 4096, s.d_mlp = 14336;
        s.vocab = 32000, s.n_ctx = 32768, s.ln_eps = 1e-5, s.rope_theta = 10000, s.sliding_window = 4096;
        s.untied = true;
    } else if (name == "qwen2.5-0.5b") { // Qwen/Qwen2.5-0.5B: 494,032,768
        s.family = Family::Qwen2;
        s.n_layers = 24, s.n_heads = 14, s.n_kv_heads = 2, s.d_model = 896, s.d_mlp = 4864;
        s.vocab = 151936, s.n_ctx = 32768, s.ln_eps = 1e-6, s.rope_theta = 1e6;
        s.use_sliding_window = false, s.sliding_window = 32768, s.max_window_layers = 24;
    } else if (name == "qwen3-0.6b") { // Qwen/Qwen3-0.6B: 596,049,920 (0.44B without embeddings)
        s.family = Family::Qwen3;
        s.n_layers = 28, s.n_heads = 16, s.n_kv_heads = 8, s.head_dim = 128, s.d_model = 1024, s.d_mlp = 3072;
        s.vocab = 151936, s.n_ctx = 40960, s.ln_eps = 1e-6, s.rope_theta = 1e6, s.max_window_layers = 28;
    } else if (name == "gemma-2b") { // google/gemma-2b: 2,506,172,416
        s.family = Family::Gemma;
        s.n_layers = 18, s.n_heads = 8, s.n_kv_heads = 1, s.head_dim = 256, s.d_model = 2048, s.d_mlp = 16384;
        s.vocab = 256000, s.n_ctx = 8192, s.ln_eps = 1e-6, s.rope_theta = 10000;
    } else if (name == "gemma-2-2b") { // google/gemma-2-2b: 2,614,341,888
        s.family = Family::Gemma2;
        s.n_layers = 26, s.n_heads = 8, s.n_kv_heads = 4, s.head_dim = 256, s.d_model = 2304, s.d_mlp = 9216;
        s.vocab = 256000, s.n_ctx = 8192, s.ln_eps = 1e-6, s.rope_theta = 10000, s.sliding_window = 4096;
        s.attn_softcap = 50, s.final_softcap = 30, s.query_pre_attn_scalar = 256;
    } else if (name == "gemma-3-1b") { // google/gemma-3-1b-pt: 999,885,952
        s.family = Family::Gemma3;
        s.n_layers = 26, s.n_heads = 4, s.n_kv_heads = 1, s.head_dim = 256, s.d_model = 1152, s.d_mlp = 6912;
        s.vocab = 262144, s.n_ctx = 32768, s.ln_eps = 1e-6, s.rope_theta = 1e6,
        s.rope_local_base_freq = 10000;
        s.sliding_window = 512, s.sliding_window_pattern = 6, s.query_pre_attn_scalar = 256;
    } else {
        return false;
    }
    return true;
}

} // namespace obsprop::tools::detail
