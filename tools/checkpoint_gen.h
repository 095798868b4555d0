// Random Hugging Face checkpoints of any family and shape, for tests and benchmarks.
//
// A generated checkpoint folder looks like a real one: config.json (the family's own keys),
// tokenizer.json (byte-level BPE) and model.safetensors, or k shards model-0000i-of-0000k.safetensors
// plus model.safetensors.index.json. Tensor names and shapes are exactly those of the Hugging Face
// state dicts of GPT2LMHeadModel, GPTNeoForCausalLM and GPTNeoXForCausalLM.
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

enum class Family { GPT2, GPTNeo, GPTNeoX };

const char* family_name(Family f); // the config model_type: "gpt2", "gpt_neo", "gpt_neox"
bool parse_family(const std::string& s, Family& out);

// What to generate. Fields that a family does not use are ignored (e.g. window_size for GPT-2).
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
    double ln_eps = 1e-5;               // layer_norm_epsilon / layer_norm_eps
    std::string activation;             // empty: family default ("gelu_new" GPT-2/Neo, "gelu" NeoX)
    io::DType storage = io::DType::F32; // F32, F16 or BF16
    int shards = 1;                     // 1: model.safetensors; k > 1: k shards + index.json
                                        // (k is capped at the number of tensors)
    bool prefix = true;                 // "transformer." (GPT-2/Neo) or "gpt_neox." (NeoX) on tensor names
    bool lm_head = false;               // GPT-2/Neo: also store lm_head.weight (= wte, tied). NeoX always
                                        // stores its untied embed_out.weight.
    bool buffers = false;               // legacy buffers loaders must ignore: GPT-2 h.{i}.attn.bias
                                        // ([1,1,n_ctx,n_ctx] causal ones/zeros, F32 if storage is F32 else
                                        // U8); GPT-Neo h.{i}.attn.attention.bias (BOOL, windowed for local
                                        // layers); NeoX attention.bias (BOOL) + attention.rotary_emb.inv_freq
                                        // (F32)
    std::uint64_t seed = 0;
    double scale = 0.0; // std of embeddings and weight matrices; 0: 1/sqrt(d_model). LayerNorm
                        // weights are 1 + N(0, 0.1^2); LayerNorm and linear biases N(0, 0.1^2).

    int mlp_dim() const { return d_mlp > 0 ? d_mlp : 4 * d_model; }
    int d_head() const { return d_model / n_heads; }
    int rotary_dims() const;   // int(d_head * rotary_pct), as Hugging Face computes it
    double weight_std() const; // scale, or its default
    std::string activation_name() const;
    void validate() const; // throws std::invalid_argument with a readable reason
};

// Named shapes: "gpt2-small", "gpt-neo-125m", "gpt-neo-1.3b", "pythia-70m" (real models' shapes,
// prefix as in the real checkpoints: none for GPT-2), and "tiny" (2 layers, 4 heads, d_model 64,
// d_mlp 256, vocab 512, n_ctx 64, window 16) for `family`. Throws std::invalid_argument.
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
