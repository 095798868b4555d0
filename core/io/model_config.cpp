#include "io/model_config.h"

#include "io/config_fields.h"
#include "io/input_guard.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace obsprop::io {

using nlohmann::json;

const char* family_name(Family f) {
    switch (f) {
    case Family::GPT2:
        return "gpt2";
    case Family::GPTNeo:
        return "gpt_neo";
    case Family::GPTNeoX:
        return "gpt_neox";
    case Family::Llama:
        return "llama";
    case Family::Mistral:
        return "mistral";
    case Family::Qwen2:
        return "qwen2";
    case Family::Qwen3:
        return "qwen3";
    case Family::Gemma:
        return "gemma";
    case Family::Gemma2:
        return "gemma2";
    case Family::Gemma3:
        return "gemma3_text";
    }
    return "?";
}

const char* activation_name(Activation a) {
    switch (a) {
    case Activation::GeluTanh:
        return "gelu_tanh";
    case Activation::GeluErf:
        return "gelu";
    case Activation::Relu:
        return "relu";
    case Activation::Silu:
        return "silu";
    }
    return "?";
}

const char* rope_scaling_name(RopeSpec::Scaling s) {
    switch (s) {
    case RopeSpec::Scaling::None:
        return "default";
    case RopeSpec::Scaling::Linear:
        return "linear";
    case RopeSpec::Scaling::Llama3:
        return "llama3";
    }
    return "?";
}

namespace config_fields {

void fail(const std::string& source, const std::string& what) {
    throw ConfigError(source + ": " + what);
}

bool present(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && !it->is_null();
}

namespace {

// The integer in `v` if it is one in [1, max]; otherwise a ConfigError naming the field.
int positive_int(const json& v, const char* name, long long max, const std::string& source) {
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() ? v.get<unsigned long long>() == 0 : v.get<long long>() <= 0))
        fail(source, std::string("field '") + name + "' must be a positive integer");
    if (v.is_number_unsigned() ? v.get<unsigned long long>() > static_cast<unsigned long long>(max)
                               : v.get<long long>() > max)
        fail(source, std::string("field '") + name + "' = " + json_preview(v) + " is larger than " +
                         std::to_string(max) + ", the most this reader accepts");
    return static_cast<int>(v.get<long long>());
}

} // namespace

int required_int(const json& j, std::initializer_list<const char*> names, const std::string& source,
                 long long max) {
    for (const char* n : names) {
        auto it = j.find(n);
        if (it == j.end() || it->is_null()) continue;
        return positive_int(*it, n, max, source);
    }
    fail(source, std::string("missing required field '") + *names.begin() + "'");
}

int optional_int(const json& j, const char* name, int fallback, const std::string& source, long long max) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    return positive_int(*it, name, max, source);
}

void check_sizes(const ModelConfig& c, const std::string& source) {
    using u64 = unsigned long long;
    if (c.d_head <= 0 || c.d_head > kMaxDHead)
        fail(source, "the head dimension " + std::to_string(c.d_head) + " is outside [1, " +
                         std::to_string(kMaxDHead) + "]");
    if (c.d_mlp <= 0 || c.d_mlp > kMaxDMlp)
        fail(source, "the MLP width " + std::to_string(c.d_mlp) + " is outside [1, " +
                         std::to_string(kMaxDMlp) + "]");
    // Every factor is below 2^24 and there are few terms, so nothing below overflows 64 bits.
    const u64 d = u64(c.d_model), q = u64(c.n_heads) * u64(c.d_head), kv = u64(c.n_kv_heads) * u64(c.d_head);
    const u64 per_layer = d * (q + 2 * kv) + q * d + u64(c.gated_mlp ? 3 : 2) * d * u64(c.d_mlp);
    const u64 total = u64(c.n_layers) * per_layer + u64(c.d_vocab) * d * 2 +
                      (c.has_learned_positions() ? u64(c.n_ctx) * d : 0);
    if (total > kMaxParameters)
        fail(source, "the sizes describe about " + std::to_string(total) + " parameters, more than the " +
                         std::to_string(kMaxParameters) + " this reader accepts");
}

double optional_number(const json& j, std::initializer_list<const char*> names, double fallback,
                       const std::string& source) {
    for (const char* n : names) {
        auto it = j.find(n);
        if (it == j.end() || it->is_null()) continue;
        if (!it->is_number() || !std::isfinite(it->get<double>()))
            fail(source, std::string("field '") + n + "' must be a finite number");
        return it->get<double>();
    }
    return fallback;
}

bool optional_bool(const json& j, const char* name, bool fallback, const std::string& source) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(source, std::string("field '") + name + "' must be true or false");
    return it->get<bool>();
}

Activation parse_activation(const json& j, const char* field, const char* fallback,
                            const std::string& source) {
    std::string name = fallback;
    if (auto it = j.find(field); it != j.end() && !it->is_null()) {
        if (!it->is_string()) fail(source, std::string("field '") + field + "' must be a string");
        name = it->get<std::string>();
    }
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::GeluTanh;
    if (name == "gelu") return Activation::GeluErf;
    if (name == "relu") return Activation::Relu;
    if (name == "silu" || name == "swish") return Activation::Silu;
    fail(source, "unsupported activation '" + name + "' in '" + field + "'");
}

} // namespace config_fields

namespace {

using namespace config_fields;

// GPT-Neo's per-layer attention kinds: `attention_layers` when present (it is what HF ends up
// using), otherwise the compact `attention_types` [[["global","local"], repeat], ...].
// GPT-Neo's per-layer attention kinds: `attention_layers` when present (it is what HF ends up
// using), otherwise the compact `attention_types` [[["global","local"], repeat], ...]. A layout with
// more layers than `n_layers` is refused before it is expanded.
std::vector<std::string> neo_attention_layers(const json& j, int n_layers, const std::string& source) {
    std::vector<std::string> out;
    auto bad = [&](const char* what) {
        fail(source, std::string("malformed GPT-Neo attention layout: ") + what);
    };
    auto too_many = [&](unsigned long long listed) {
        if (listed > static_cast<unsigned long long>(n_layers))
            fail(source, "GPT-Neo attention layout lists " + std::to_string(listed) +
                             " layers but num_layers is " + std::to_string(n_layers));
    };
    if (auto it = j.find("attention_layers"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) bad("'attention_layers' is not a list");
        too_many(it->size());
        for (const auto& e : *it) {
            if (!e.is_string()) bad("'attention_layers' entries must be strings");
            out.push_back(e.get<std::string>());
        }
        return out;
    }
    auto it = j.find("attention_types");
    if (it == j.end() || it->is_null())
        fail(source, "missing required field 'attention_types' (or 'attention_layers')");
    if (!it->is_array()) bad("'attention_types' is not a list");
    unsigned long long listed = 0; // counted in 64 bits before anything is expanded
    for (const auto& item : *it) {
        if (!item.is_array() || item.size() != 2 || !item[0].is_array() || !item[1].is_number_integer())
            bad("each 'attention_types' item must be [[kinds...], repeat]");
        if (item[1].is_number_unsigned()
                ? item[1].get<unsigned long long>() > (1u << 16)
                : (item[1].get<long long>() < 0 || item[1].get<long long>() > (1 << 16)))
            bad("repeat count out of range");
        for (const auto& k : item[0])
            if (!k.is_string()) bad("attention kinds must be strings");
        listed += item[1].get<unsigned long long>() * item[0].size();
        too_many(listed);
    }
    for (const auto& item : *it) {
        const long long repeat = item[1].get<long long>();
        for (long long r = 0; r < repeat; ++r)
            for (const auto& k : item[0])
                out.push_back(k.get<std::string>());
    }
    return out;
}

ModelConfig parse_gpt2(const json& j, const std::string& src) {
    ModelConfig c;
    c.family = Family::GPT2;
    c.d_model = required_int(j, {"n_embd"}, src, kMaxDModel);
    c.n_layers = required_int(j, {"n_layer"}, src, kMaxLayers);
    c.n_heads = required_int(j, {"n_head"}, src, kMaxHeads);
    c.d_vocab = required_int(j, {"vocab_size"}, src, kMaxVocab);
    c.n_ctx = required_int(j, {"n_positions", "n_ctx"}, src, kMaxCtx);
    c.d_mlp = optional_int(j, "n_inner", 4 * c.d_model, src, kMaxDMlp); // 4 × kMaxDModel fits an int
    c.ln_eps = optional_number(j, {"layer_norm_epsilon"}, 1e-5, src);
    c.activation = parse_activation(j, "activation_function", "gelu_new", src);
    c.scale_by_inverse_layer = optional_bool(j, "scale_attn_by_inverse_layer_idx", false, src);
    bool scale = optional_bool(j, "scale_attn_weights", true, src);
    c.d_head = c.d_model / c.n_heads;
    c.attn_scale = scale ? 1.0 / std::sqrt(static_cast<double>(c.d_head)) : 1.0;
    c.tie_word_embeddings = optional_bool(j, "tie_word_embeddings", true, src);
    return c;
}

ModelConfig parse_neo(const json& j, const std::string& src) {
    ModelConfig c;
    c.family = Family::GPTNeo;
    c.d_model = required_int(j, {"hidden_size"}, src, kMaxDModel);
    c.n_layers = required_int(j, {"num_layers"}, src, kMaxLayers);
    c.n_heads = required_int(j, {"num_heads"}, src, kMaxHeads);
    c.d_vocab = required_int(j, {"vocab_size"}, src, kMaxVocab);
    c.n_ctx = required_int(j, {"max_position_embeddings"}, src, kMaxCtx);
    c.d_mlp = optional_int(j, "intermediate_size", 4 * c.d_model, src, kMaxDMlp);
    c.ln_eps = optional_number(j, {"layer_norm_epsilon"}, 1e-5, src);
    c.activation = parse_activation(j, "activation_function", "gelu_new", src);
    c.d_head = c.d_model / c.n_heads;
    c.attn_scale = 1.0; // GPT-Neo does not scale attention scores
    int window = optional_int(j, "window_size", 256, src);
    auto kinds = neo_attention_layers(j, c.n_layers, src);
    if (static_cast<int>(kinds.size()) != c.n_layers)
        fail(src, "GPT-Neo attention layout lists " + std::to_string(kinds.size()) +
                      " layers but num_layers is " + std::to_string(c.n_layers));
    for (const auto& k : kinds) {
        if (k == "global")
            c.local_window.push_back(0);
        else if (k == "local")
            c.local_window.push_back(window);
        else
            fail(src, "unknown GPT-Neo attention kind '" + k + "' (expected 'global' or 'local')");
    }
    c.tie_word_embeddings = optional_bool(j, "tie_word_embeddings", true, src);
    return c;
}

ModelConfig parse_neox(const json& j, const std::string& src) {
    ModelConfig c;
    c.family = Family::GPTNeoX;
    c.d_model = required_int(j, {"hidden_size"}, src, kMaxDModel);
    c.n_layers = required_int(j, {"num_hidden_layers"}, src, kMaxLayers);
    c.n_heads = required_int(j, {"num_attention_heads"}, src, kMaxHeads);
    c.d_vocab = required_int(j, {"vocab_size"}, src, kMaxVocab);
    c.n_ctx = required_int(j, {"max_position_embeddings"}, src, kMaxCtx);
    c.d_mlp = required_int(j, {"intermediate_size"}, src, kMaxDMlp);
    c.ln_eps = optional_number(j, {"layer_norm_eps"}, 1e-5, src);
    c.activation = parse_activation(j, "hidden_act", "gelu", src);
    c.d_head = c.d_model / c.n_heads;
    c.attn_scale = 1.0 / std::sqrt(static_cast<double>(c.d_head));
    double pct = optional_number(j, {"rotary_pct", "partial_rotary_factor"}, 0.25, src);
    if (pct < 0.0 || pct > 1.0) fail(src, "field 'rotary_pct' must lie in [0, 1]");
    c.rotary_dims = static_cast<int>(c.d_head * pct);
    c.rotary_base = optional_number(j, {"rotary_emb_base", "rope_theta"}, 10000.0, src);
    if (c.rotary_base <= 0.0) fail(src, "field 'rotary_emb_base' must be positive");
    c.parallel_residual = optional_bool(j, "use_parallel_residual", true, src);
    c.tie_word_embeddings = optional_bool(j, "tie_word_embeddings", false, src);
    if (!optional_bool(j, "attention_bias", true, src))
        fail(src, "GPT-NeoX checkpoints without attention biases (attention_bias: false) are not supported");
    return c;
}

} // namespace

namespace {

ModelConfig parse_config(const json& j, const std::string& source) {
    if (!j.is_object()) fail(source, "the configuration is not a JSON object");
    auto it = j.find("model_type");
    if (it == j.end() || !it->is_string()) fail(source, "missing required field 'model_type'");
    const std::string type = it->get<std::string>();
    ModelConfig c;
    if (type == "gpt2")
        c = parse_gpt2(j, source);
    else if (type == "gpt_neo")
        c = parse_neo(j, source);
    else if (type == "gpt_neox")
        c = parse_neox(j, source);
    else if (is_decoder_model_type(type))
        return parse_decoder_config(j, type, source);
    else
        fail(source,
             "unsupported model_type '" + type +
                 "' (supported: gpt2, gpt_neo, gpt_neox, llama, mistral, qwen2, qwen3, gemma, gemma2, "
                 "gemma3_text)");
    if (c.d_model % c.n_heads != 0)
        fail(source, "hidden size " + std::to_string(c.d_model) +
                         " is not divisible by the number of heads " + std::to_string(c.n_heads));
    c.n_kv_heads = c.n_heads;
    check_sizes(c, source);
    c.rope.theta = c.rotary_base;
    if (c.family == Family::GPTNeoX && c.rotary_dims % 2 != 0)
        fail(source, "rotary dimensions per head (" + std::to_string(c.rotary_dims) + ") must be even");
    if (!(c.ln_eps > 0.0)) fail(source, "layer-norm epsilon must be positive");
    return c;
}

} // namespace

ModelConfig parse_model_config(const json& j, const std::string& source) {
    try {
        return parse_config(j, source);
    } catch (const json::exception& e) {
        // Every field is type-checked before it is read; this is a last line of defence.
        fail(source, std::string("unexpected value: ") + e.what());
    }
}

ModelConfig load_model_config(const std::filesystem::path& dir) {
    const auto path = dir / "config.json";
    std::string text;
    try {
        text = read_regular_file(path, kMaxConfigBytes);
    } catch (const ReadError& e) {
        if (e.kind() == ReadError::Kind::NotFound || e.kind() == ReadError::Kind::CannotOpen)
            throw ConfigError(path.string() + ": cannot open (is this a Hugging Face model folder?)");
        throw ConfigError(path.string() + ": " + e.what());
    }
    const ParsedJson parsed = parse_json_limited(text);
    if (!parsed.error.empty()) throw ConfigError(path.string() + ": invalid JSON: " + parsed.error);
    return parse_model_config(parsed.value, path.string());
}

} // namespace obsprop::io
