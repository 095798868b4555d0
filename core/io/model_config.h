// The part of a Hugging Face config.json that changes the forward pass. Families: GPT-2, GPT-Neo, GPT-NeoX
// (Pythia) and the RMSNorm decoders Llama (and Llama-architecture models), Mistral, Qwen 2, Qwen 3,
// Gemma, Gemma 2 and Gemma 3 (text). Parsing is strict: an unknown model_type, a missing field, an
// impossible value or anything the config asks for that the forward pass does not implement (another
// RoPE type, a soft-cap on a family without one, ...) is a ConfigError naming the file, key and value.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace obsprop::io {

enum class Family { GPT2, GPTNeo, GPTNeoX, Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3 };

// The config model_type: "gpt2", "gpt_neo", "gpt_neox", "llama", "mistral", "qwen2", "qwen3", "gemma",
// "gemma2", "gemma3_text".
const char* family_name(Family f);

enum class Activation { GeluTanh, GeluErf, Relu, Silu };
const char* activation_name(Activation a); // "gelu_tanh", "gelu", "relu", "silu"

// LayerNorm: γ ⊙ (x − mean)/sqrt(var + ε) + β. RMSNorm: γ ⊙ x/sqrt(mean(x²) + ε), no centring and no β
// (Gemma's weight w stored as is gives γ = 1 + w; the loader keeps γ, see model/weights.h).
enum class NormKind { LayerNorm, RMSNorm };

// Rotary position embedding over a head's first `rotary_dims` dimensions (rotate-half layout).
struct RopeSpec {
    enum class Scaling { None, Linear, Llama3 };
    double theta = 10000.0;
    Scaling scaling = Scaling::None;
    double factor = 1.0;                  // Linear, Llama3
    double low_freq_factor = 1.0;         // Llama3
    double high_freq_factor = 4.0;        // Llama3
    double original_max_positions = 8192; // Llama3
    bool operator==(const RopeSpec&) const = default;
};
const char* rope_scaling_name(RopeSpec::Scaling s); // "default", "linear", "llama3"

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ModelConfig {
    Family family = Family::GPT2;
    int n_layers = 0;
    int n_heads = 0;
    int d_model = 0;
    int d_head = 0;     // may differ from d_model / n_heads (Qwen 3, Gemma: the config's head_dim)
    int n_kv_heads = 0; // key/value heads; head h reads KV head h / (n_heads / n_kv_heads)
    int d_mlp = 0;
    int d_vocab = 0;
    int n_ctx = 0;
    double ln_eps = 1e-5;
    Activation activation = Activation::GeluTanh;
    NormKind norm = NormKind::LayerNorm;
    bool gated_mlp = false;   // down(act(gate(x)) ⊙ up(x)) instead of out(act(in(x)))
    bool qk_norm = false;     // Qwen 3, Gemma 3: RMSNorm of each head's q and k before the rotary embedding
    bool post_norms = false;  // Gemma 2/3: norms after attention and after the MLP, before the residual add
    double embed_scale = 1.0; // Gemma: token embeddings × float32(√d_model)
    double attn_softcap = 0;  // Gemma 2: scores ← cap·tanh(scores/cap) (0: none)
    double final_softcap = 0; // Gemma 2: logits ← cap·tanh(logits/cap) (0: none)
    bool attn_bias_qkv = false, attn_bias_o = false, mlp_bias = false; // RMSNorm decoders' optional biases

    // Attention-score scale: scores are multiplied by attn_scale / (layer+1 if scale_by_inverse_layer).
    double attn_scale = 1.0;
    bool scale_by_inverse_layer = false; // GPT-2 scale_attn_by_inverse_layer_idx

    // Per layer, 0 = global, otherwise the sliding window W: query i sees key j iff i − W < j ≤ i
    // (GPT-Neo's local layers, Mistral, Qwen 2/3 and Gemma 2/3 sliding layers).
    std::vector<int> local_window;

    // Rotary models (GPT-NeoX, the RMSNorm decoders).
    int rotary_dims = 0; // first rotary_dims of each head are rotated (the whole head for the decoders)
    double rotary_base = 10000.0; // = rope.theta
    RopeSpec rope;                // every layer, or Gemma 3's full-attention layers
    RopeSpec rope_local;          // Gemma 3's sliding layers (rope_local_base_freq, no scaling)
    bool parallel_residual = false;
    bool tie_word_embeddings = true;

    bool is_local(int layer) const { return !local_window.empty() && local_window[layer] > 0; }
    bool rms() const { return norm == NormKind::RMSNorm; }
    int kv_group_size() const { return n_heads / n_kv_heads; } // query heads per KV head
    int kv_head_of(int head) const { return head / kv_group_size(); }
    // The rotary embedding of `layer` (Gemma 3's sliding layers have their own).
    const RopeSpec& rope_of(int layer) const {
        return family == Family::Gemma3 && is_local(layer) ? rope_local : rope;
    }
    bool has_learned_positions() const { return family == Family::GPT2 || family == Family::GPTNeo; }
};

// Parses a config.json document; `source` is used in error messages.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source = "config.json");
// Reads and parses <dir>/config.json.
ModelConfig load_model_config(const std::filesystem::path& dir);

} // namespace obsprop::io
