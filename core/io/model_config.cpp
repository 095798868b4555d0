#include "io/model_config.h"

#include "io/config_fields.h"

#include <cmath>
#include <fstream>

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

int required_int(const json& j, std::initializer_list<const char*> names, const std::string& source) {
    for (const char* n : names) {
        auto it = j.find(n);
        if (it == j.end() || it->is_null()) continue;
        if (!it->is_number_integer() || it->get<long long>() <= 0 || it->get<long long>() > (1LL << 30))
            fail(source, std::string("field '") + n + "' must be a positive integer");
        return static_cast<int>(it->get<long long>());
    }
    fail(source, std::string("missing required field '") + *names.begin() + "'");
}

int optional_int(const json& j, const char* name, int fallback, const std::string& source) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer() || it->get<long long>() <= 0 || it->get<long long>() > (1LL << 30))
        fail(source, std::string("field '") + name + "' must be a positive integer");
    return static_cast<int>(it->get<long long>());
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
std::vector<std::string> neo_attention_layers(const json& j, const std::string& source) {
    std::vector<std::string> out;
    auto bad = [&](const char* what) {
        fail(source, std::string("malformed GPT-Neo attention layout: ") + what);
    };
    if (auto it = j.find("attention_layers"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) bad("'attention_layers' is not a list");
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
    for (const auto& item : *it) {
        if (!item.is_array() || item.size() != 2 || !item[0].is_array() || !item[1].is_number_integer())
            bad("each 'attention_types' item must be [[kinds...], repeat]");
        long long repeat = item[1].get<long long>();
        if (repeat < 0 || repeat > (1 << 16)) bad("repeat count out of range");
        for (long long r = 0; r < repeat; ++r)
            for (const auto& k : item[0]) {
                if (!k.is_string()) bad("attention kinds must be strings");
                out.push_back(k.get<std::string>());
            }
    }
    return out;
}

ModelConfig parse_gpt2(const json& j, const std::string& src) {
    ModelConfig c;
    c.family = Family::GPT2;
    c.d_model = required_int(j, {"n_embd"}, src);
    c.n_layers = required_int(j, {"n_layer"}, src);
    c.n_heads = required_int(j, {"n_head"}, src);
    c.d_vocab = required_int(j, {"vocab_size"}, src);
    c.n_ctx = required_int(j, {"n_positions", "n_ctx"}, src);
    c.d_mlp = optional_int(j, "n_inner", 4 * c.d_model, src);
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
    c.d_model = required_int(j, {"hidden_size"}, src);
    c.n_layers = required_int(j, {"num_layers"}, src);
    c.n_heads = required_int(j, {"num_heads"}, src);
    c.d_vocab = required_int(j, {"vocab_size"}, src);
    c.n_ctx = required_int(j, {"max_position_embeddings"}, src);
    c.d_mlp = optional_int(j, "intermediate_size", 4 * c.d_model, src);
    c.ln_eps = optional_number(j, {"layer_norm_epsilon"}, 1e-5, src);
    c.activation = parse_activation(j, "activation_function", "gelu_new", src);
    c.d_head = c.d_model / c.n_heads;
    c.attn_scale = 1.0; // GPT-Neo does not scale attention scores
    int window = optional_int(j, "window_size", 256, src);
    auto kinds = neo_attention_layers(j, src);
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
    c.d_model = required_int(j, {"hidden_size"}, src);
    c.n_layers = required_int(j, {"num_hidden_layers"}, src);
    c.n_heads = required_int(j, {"num_attention_heads"}, src);
    c.d_vocab = required_int(j, {"vocab_size"}, src);
    c.n_ctx = required_int(j, {"max_position_embeddings"}, src);
    c.d_mlp = required_int(j, {"intermediate_size"}, src);
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

ModelConfig parse_model_config(const json& j, const std::string& source) {
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
    c.rope.theta = c.rotary_base;
    if (c.family == Family::GPTNeoX && c.rotary_dims % 2 != 0)
        fail(source, "rotary dimensions per head (" + std::to_string(c.rotary_dims) + ") must be even");
    if (!(c.ln_eps > 0.0)) fail(source, "layer-norm epsilon must be positive");
    return c;
}

ModelConfig load_model_config(const std::filesystem::path& dir) {
    const auto path = dir / "config.json";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path.string() + ": cannot open (is this a Hugging Face model folder?)");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::parse_error& e) {
        throw ConfigError(path.string() + ": invalid JSON: " + e.what());
    }
    return parse_model_config(j, path.string());
}

} // namespace obsprop::io
