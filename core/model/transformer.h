// A loaded Transformer: configuration, canonical weights and the forward pass (f32, CPU), batched
// over prompts of different lengths. Prompts are right-padded: attention is causal, so padding never
// changes the real positions' results.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "io/model_config.h"
#include "model/hooks.h"
#include "model/weights.h"
#include "model/widening.h"

namespace obsprop::io {
class Checkpoint;
}

namespace obsprop::model {

// Token ids of several prompts, right-padded into one [B, T] int64 tensor.
struct Batch {
    torch::Tensor ids;                 // [B, T], padding = 0
    std::vector<std::int64_t> lengths; // real length of each prompt (>= 1)

    static Batch from(const std::vector<std::vector<int>>& prompts);
    std::int64_t size() const { return static_cast<std::int64_t>(lengths.size()); }
    torch::Tensor last_positions() const; // [B] int64, lengths - 1
};

class Transformer {
  public:
    // Opens <dir>/config.json and the safetensors weights. Throws io::ConfigError / io::FormatError.
    static std::shared_ptr<Transformer> load(const std::filesystem::path& dir);
    // A model over weights held in memory (e.g. while training: tensors may require grad).
    static std::shared_ptr<Transformer> from_weights(const io::ModelConfig& cfg, Weights w);
    ~Transformer();

    const io::ModelConfig& config() const { return cfg_; }
    // The weights as stored (matrices possibly BF16/F16 views of the mapping, see weights.h). Computations
    // read float32 through the accessors below.
    const Weights& weights() const { return w_; }
    // Layer `l` with the matrices of `parts` (LayerPart flags) in float32, widened on demand under the memory
    // budget; the other matrices keep their stored dtype. Norms and biases are always float32.
    LayerWeights layer(int l, unsigned parts = kAllParts) const;
    // Token embeddings of `ids` (int64, any shape) in float32: [ids..., d_model].
    torch::Tensor embed(const torch::Tensor& ids) const;
    // W_pos[0:T] in float32 (undefined for rotary models).
    torch::Tensor positions(std::int64_t T) const;
    // Rows `ids` (int64 [n]) of W_U in float32: [n, d_model].
    torch::Tensor unembed_rows(const torch::Tensor& ids) const;
    // x W_Uᵀ for x [..., d_model] (the logits before any soft-cap), W_U widened a block of rows at a time.
    torch::Tensor unembed(const torch::Tensor& x) const;
    // The float32 copies made so far and the budget they live in.
    WideningStats widening() const;
    const std::filesystem::path& directory() const { return dir_; }
    std::uint64_t checkpoint_bytes() const;

    // Logits [B, T, vocab] (or [B, vocab] with last_logits_only). Hooks and caching per `opts`.
    // Gradients flow if the caller enables them (weights never require grad).
    torch::Tensor forward(const Batch& batch, const RunOptions& opts = {},
                          ActivationCache* cache = nullptr) const;

    // Resumes a pass at blocks.{layer}.hook_resid_pre from `resid_pre` [B, T, d] (e.g. cached from an
    // earlier run of the same batch): layers before `layer` are not run. Hooks at or after it apply.
    torch::Tensor forward_from(int layer, const torch::Tensor& resid_pre, const Batch& batch,
                               const RunOptions& opts = {}, ActivationCache* cache = nullptr) const;

    // TransformerLens-style conveniences.
    torch::Tensor run_with_cache(const Batch& batch, const std::set<std::string>& names,
                                 ActivationCache& cache, bool last_logits_only = false) const;
    torch::Tensor run_with_hooks(const Batch& batch, const std::map<std::string, std::vector<HookFn>>& hooks,
                                 bool last_logits_only = false) const;

    // The model's norm as it applies it over the last dim: LayerNorm (x - mean)/sqrt(var + eps) * w + b, or
    // RMSNorm x/sqrt(mean(x²) + eps) * w (w = the effective γ, see weights.h).
    torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const;

  private:
    Transformer() = default;
    class Pass;
    io::ModelConfig cfg_;
    std::unique_ptr<io::Checkpoint> ckpt_;
    Weights w_;
    std::unique_ptr<WidenCache> widen_;
    std::filesystem::path dir_;
};

// The norm of `cfg` (LayerNorm or RMSNorm) with γ = w, β = b, in x's dtype.
torch::Tensor apply_norm(const io::ModelConfig& cfg, const torch::Tensor& x, const torch::Tensor& w,
                         const torch::Tensor& b);
// cap · tanh(x / cap) (Gemma 2's soft-capping); x itself when cap <= 0.
torch::Tensor soft_cap(const torch::Tensor& x, double cap);
// The MLP activation.
torch::Tensor activate(io::Activation a, const torch::Tensor& x);
// The rotary inverse frequencies [rd/2] (float32) of a RoPE spec, as Hugging Face computes them.
torch::Tensor rope_inverse_frequencies(const io::RopeSpec& rope, std::int64_t rotary_dims);

} // namespace obsprop::model
