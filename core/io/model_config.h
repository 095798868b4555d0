// The part of a Hugging Face config.json that changes the forward pass, for the three supported
// families. Parsing is strict: an unknown model_type, a missing field or an impossible value is a
// ConfigError that names the file and the field.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace obsprop::io {

enum class Family { GPT2, GPTNeo, GPTNeoX };

const char* family_name(Family f); // "gpt2", "gpt_neo", "gpt_neox" (= config model_type)

enum class Activation { GeluTanh, GeluErf, Relu };

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ModelConfig {
    Family family = Family::GPT2;
    int n_layers = 0;
    int n_heads = 0;
    int d_model = 0;
    int d_head = 0;
    int d_mlp = 0;
    int d_vocab = 0;
    int n_ctx = 0;
    double ln_eps = 1e-5;
    Activation activation = Activation::GeluTanh;

    // Attention-score scale: scores are multiplied by attn_scale / (layer+1 if scale_by_inverse_layer).
    double attn_scale = 1.0;
    bool scale_by_inverse_layer = false; // GPT-2 scale_attn_by_inverse_layer_idx

    // GPT-Neo: per layer, 0 = global, otherwise the local window size.
    std::vector<int> local_window;

    // GPT-NeoX.
    int rotary_dims = 0; // first rotary_dims of each head are rotated
    double rotary_base = 10000.0;
    bool parallel_residual = false;
    bool tie_word_embeddings = true;

    bool is_local(int layer) const { return !local_window.empty() && local_window[layer] > 0; }
};

// Parses a config.json document; `source` is used in error messages.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source = "config.json");
// Reads and parses <dir>/config.json.
ModelConfig load_model_config(const std::filesystem::path& dir);

} // namespace obsprop::io
