// Random Hugging Face checkpoints of any family and shape, for tests and benchmarks.
//
// A generated checkpoint folder looks like a real one: config.json (the family's own keys),
// tokenizer.json (byte-level BPE) and model.safetensors, or k shards model-0000i-of-0000k.safetensors
// plus model.safetensors.index.json. Tensor names and shapes are exactly those of the Hugging Face
// state dicts of GPT2LMHeadModel, GPTNeoForCausalLM, GPTNeoXForCausalLM, LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, GemmaForCausalLM, Gemma2ForCausalLM and
// Gemma3ForCausalLM (text only, model_type gemma3_text).
//
// Values are deterministic: every tensor has its own random stream seeded from (seed, tensor name
// without prefix), so sharding, the prefix option or the order of generation never change them, and
// the tied lm_head.weight equals wte.weight. Values are rounded to the storage dtype in memory, so a
// reference implementation fed from generate() sees exactly what a loader reads from disk.
//
// Two ways to use it:
//   auto g = generate(spec); write_checkpoint(g, spec, dir);   // small models, values in memory
//   write_checkpoint_streaming(spec, dir);                     // any size, tensor by tensor, O(1 MB)
// Both write byte-identical folders.
#pragma once

#include "io/model_config.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace obsprop::tools {

// The families are the loader's (io::Family), named by their config model_type: "gpt2", "gpt_neo",
// "gpt_neox", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text".
using Family = io::Family;
using io::family_name;
bool parse_family(const std::string& s, Family& out);
std::vector<std::string> family_names();
// Llama-style decoders (every family after GPT-NeoX): RMSNorm, gated MLP, rotary positions over the
// whole head, grouped key/value heads, tensors named model.layers.{i}.self_attn.q_proj.weight etc.
bool is_llama_style(Family f);
// Gemma 1/2/3: RMSNorm weights are stored as w and applied as (1 + w); embeddings scaled by sqrt(d).
bool is_gemma(Family f);

// What to generate. Fields that a family does not use are ignored (e.g. window_size for GPT-2), except
// the Llama-style options that would write a config key the family's Hugging Face class does not read
// (validate() refuses those, e.g. softcaps on Llama or mlp_bias on Qwen2).
struct CheckpointSpec {
    Family family = Family::GPT2;
    int n_layers = 2;
    int n_heads = 4;
    int d_model = 64;
    int d_mlp = 0;                      // 0: 4 * d_model
    int vocab = 512;                    // >= 257; <|endoftext|> is vocab - 1
    int n_ctx = 64;                     // learned positions / max_position_embeddings
    int window_size = 256;              // GPT-Neo local attention window
    double rotary_pct = 0.25;           // GPT-NeoX: fraction of each head that is rotated (dims must be even)
    double rotary_base = 10000.0;       // GPT-NeoX rotary_emb_base
    bool parallel_residual = true;      // GPT-NeoX use_parallel_residual
    double ln_eps = 1e-5;               // layer_norm_epsilon / layer_norm_eps; rms_norm_eps (Llama-style)
    std::string activation;             // empty: family default ("gelu_new" GPT-2/Neo, "gelu" NeoX, "silu"
                                        // Llama/Mistral/Qwen, "gelu_pytorch_tanh" Gemma); written as
                                        // hidden_act, and for Gemma also as hidden_activation
    io::DType storage = io::DType::F32; // F32, F16 or BF16
    int shards = 1;                     // 1: model.safetensors; k > 1: k shards + index.json
                                        // (k is capped at the number of tensors)
    bool prefix = true;                 // "transformer." (GPT-2/Neo), "gpt_neox." (NeoX) or "model."
                                        // (Llama-style) on tensor names; lm_head.weight never has one
    bool lm_head = false;               // GPT-2/Neo/Llama-style: also store lm_head.weight as a copy of the
                                        // tied embedding. NeoX always stores its untied embed_out.weight.
    bool buffers = false;               // legacy buffers loaders must ignore: GPT-2 h.{i}.attn.bias
                                        // ([1,1,n_ctx,n_ctx] causal ones/zeros, F32 if storage is F32 else
                                        // U8); GPT-Neo h.{i}.attn.attention.bias (BOOL, windowed for local
                                        // layers); NeoX attention.bias (BOOL) + attention.rotary_emb.inv_freq
                                        // (F32); Llama-style layers.{i}.self_attn.rotary_emb.inv_freq (F32,
                                        // unscaled 1/theta^(2i/head_dim), as early Llama conversions stored)

    // ---- Llama-style families only (Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3) ----
    int n_kv_heads = 0;               // num_key_value_heads (0: n_heads); must divide n_heads
    int head_dim = 0;                 // 0: d_model / n_heads (then written only for Qwen3 and Gemma*);
                                      // n_heads * head_dim may differ from d_model. Must be even.
    bool untied = false;              // tie_word_embeddings false and a separately random lm_head.weight;
                                      // tied (default): no lm_head stored unless `lm_head` asks for a copy
    double rope_theta = 0;            // 0: the family's Hugging Face default (10000; Gemma3 1e6)
    std::string rope_scaling;         // "" (null) | "linear" (factor) | "llama3" (all four below)
    double rope_factor = 8;           // rope_scaling.factor
    double rope_low_freq_factor = 1;  // llama3 low_freq_factor
    double rope_high_freq_factor = 4; // llama3 high_freq_factor (> low)
    int rope_original_max_positions = 8192; // llama3 original_max_position_embeddings
    double rope_local_base_freq = 10000;    // Gemma3 rope_local_base_freq (sliding layers' theta)
    int sliding_window = 0;                 // 0: null for Mistral/Qwen (no window), the HF default 4096 for
                                            // Gemma2/Gemma3; written as the sliding_window key
    std::vector<std::string> layer_types;   // "sliding_attention" | "full_attention" per layer (Qwen2/3,
                                            // Gemma2/3 only); empty: not written, the family rule applies
    int max_window_layers = 0;              // Qwen2/3 max_window_layers (layers >= it slide when enabled)
    bool use_sliding_window = false;        // Qwen2/3 use_sliding_window (needs sliding_window > 0)
    int sliding_window_pattern = 0;         // Gemma3: layer i slides iff (i+1) % pattern != 0; 0: not written
                                            // (HF default 6)
    double attn_softcap = 0;                // Gemma2/3 attn_logit_softcapping (0: null)
    double final_softcap = 0;               // Gemma2/3 final_logit_softcapping (0: null)
    double query_pre_attn_scalar = 0;       // Gemma2/3 (0: head_dim); scores are scaled by its ^-0.5
    bool attention_bias = false; // Llama, Qwen3, Gemma*: q/k/v/o biases (Qwen2 always has q/k/v ones)
    bool mlp_bias = false;       // Llama: gate/up/down biases

    std::uint64_t seed = 0;
    double scale = 0.0; // std of embeddings and weight matrices; 0: 1/sqrt(d_model). LayerNorm and
                        // Llama-style RMSNorm weights are 1 + N(0, 0.1^2); Gemma RMSNorm weights (applied
                        // as 1 + w) N(0, 0.1^2); LayerNorm and linear biases N(0, 0.1^2).

    int mlp_dim() const { return d_mlp > 0 ? d_mlp : 4 * d_model; }
    int d_head() const; // head_dim (Llama-style, when set) or d_model / n_heads
    int kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
    double rope_theta_value() const;  // rope_theta or the family default
    int sliding_window_value() const; // sliding_window or the family default (0: none)
    double query_pre_attn_scalar_value() const;
    int rotary_dims() const;   // int(d_head * rotary_pct), as Hugging Face computes it
    double weight_std() const; // scale, or its default
    std::string activation_name() const;
    void validate() const; // throws std::invalid_argument with a readable reason
};

// Named shapes: "gpt2-small", "gpt-neo-125m", "gpt-neo-1.3b", "pythia-70m", "llama-3.2-1b", "llama-3.1-8b",
// "smollm2-135m", "tinyllama-1.1b", "mistral-7b", "qwen2.5-0.5b", "qwen3-0.6b", "gemma-2b",
// "gemma-2-2b", "gemma-3-1b" (real models' shapes and config values, random weights; prefix as in the
// real checkpoints: none for GPT-2), and "tiny" for `family`: GPT-2/Neo/NeoX 2 layers, 4 heads,
// d_model 64, d_mlp 256, vocab 512, n_ctx 64, window 16; Llama-style families 2 layers (Gemma3 3),
// 4 heads, 2 KV heads, d_model 64, head_dim 16 (Qwen3, Gemma*: 24), d_mlp 128, vocab 512, n_ctx 64,
// with each family's features switched on so that a 10-token prompt exercises them (see the .cpp).
// Throws std::invalid_argument.
CheckpointSpec preset(const std::string& name, Family family = Family::GPT2);
std::vector<std::string> preset_names();
bool preset_fixes_family(const std::string& name); // false only for "tiny"

// Standard normal numbers from std::mt19937_64 through our own ziggurat (256 layers), so results do
// not depend on the standard library's distribution code. A number normally costs half an engine
// call: each 32-bit half of an output gives 8 bits of layer, 1 of sign and 23 of position (ample for
// float32 weights); the rare rejections draw full 53-bit uniforms.
class NormalRng {
  public:
    explicit NormalRng(std::uint64_t seed) : eng_(seed) {}
    double next();    // N(0, 1)
    double uniform(); // [0, 1), 53 bits

  private:
    std::uint32_t draw32();
    std::mt19937_64 eng_;
    std::uint64_t spare_ = 0;
    bool have_spare_ = false;
};

// Names, shapes and stored dtypes of every tensor, in file order.
std::vector<io::TensorLayout> tensor_layout(const CheckpointSpec& spec);

// The config.json of the spec (keys sorted, as transformers writes them).
nlohmann::json make_config(const CheckpointSpec& spec);

// A Hugging Face tokenizers byte-level BPE tokenizer.json: ids 0..255 are GPT-2's byte characters in
// GPT-2's order, then merges learnt greedily from a built-in English text (until the vocabulary has
// vocab-1 entries or no pair is left), and <|endoftext|> = vocab - 1. Throws if vocab < 257.
std::string make_tokenizer_json(int vocab);

// The largest token id a tokenizer.json assigns (model vocab, given as an object of ids or, for
// Unigram, a list whose index is the id; and added_tokens). Throws std::invalid_argument when the
// text is not a tokenizer.json with a vocabulary.
std::int64_t tokenizer_max_id(const std::string& tokenizer_json);

struct GeneratedCheckpoint {
    nlohmann::json config;
    std::vector<std::pair<std::string, io::HostTensor>> tensors; // file order, values as stored
    std::map<std::string, io::DType> dtypes;                     // stored dtype of every tensor
    std::string tokenizer_json;

    bool contains(const std::string& name) const;
    const io::HostTensor& at(const std::string& name) const; // throws std::out_of_range
};

// Generates every tensor in memory (for small models). Throws std::invalid_argument on a bad spec.
GeneratedCheckpoint generate(const CheckpointSpec& spec);

struct WriteSummary {
    std::vector<std::filesystem::path> files; // config.json, tokenizer.json, weights (+ index)
    std::uint64_t n_tensors = 0;
    std::uint64_t n_parameters = 0; // elements of all tensors except the legacy buffers
    std::uint64_t bytes = 0;        // sum of the sizes of the files written
};

// Writes config.json, tokenizer.json and the safetensors file(s) of `g` into dir (created if
// needed). spec.shards decides the layout; stale model*.safetensors / index files are removed first.
WriteSummary write_checkpoint(const GeneratedCheckpoint& g, const CheckpointSpec& spec,
                              const std::filesystem::path& dir);

// Same files as generate() + write_checkpoint(), but generated tensor by tensor in 1M-value chunks,
// so memory stays small for any model size.
WriteSummary write_checkpoint_streaming(const CheckpointSpec& spec, const std::filesystem::path& dir);

} // namespace obsprop::tools
