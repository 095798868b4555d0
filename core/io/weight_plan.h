// Which tensors of a checkpoint a configuration needs, under which names and shapes: the one list the
// weight loader (model/weights.cpp) reads and `obsprop info` / `project validate` check without loading
// anything. Plain C++ (no LibTorch).
//
// Names are resolved with or without the family's prefix ("transformer.", "gpt_neox.", "model."); shapes are
// as stored (GPT-2's Conv1D matrices are [in, out]); dtypes must be F32, F16 or BF16. Every problem is a
// FormatError naming the file and tensor: a tensor the configuration needs and the checkpoint lacks, a shape
// that differs, a dtype that cannot hold weights, or a tensor of a layer beyond n_layers.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "io/model_config.h"
#include "io/safetensors.h"

namespace obsprop::io {

// The roles a stored tensor can play. Per-layer roles first, then the model-wide ones.
enum class Slot : std::size_t {
    // per layer
    Norm1W,
    Norm1B,
    Norm2W, // the norm before the MLP (Gemma 2/3: pre_feedforward_layernorm)
    Norm2B,
    PostAttnNormW, // Gemma 2/3
    PostMlpNormW,  // Gemma 2/3
    QKV,           // fused input projection: GPT-2 (stored [d, 3·H·dh]) and GPT-NeoX ([3·H·dh, d])
    QKVBias,
    Q,
    K,
    V,
    QBias,
    KBias,
    VBias,
    QNorm, // Qwen 3 / Gemma 3 per-head RMSNorms
    KNorm,
    O,
    OBias,
    Gate,
    GateBias,
    In, // the MLP's input (the up projection of a gated MLP)
    InBias,
    Out,
    OutBias,
    // model-wide
    Embed,
    PosEmbed,
    FinalNormW,
    FinalNormB,
    Unembed, // absent when the unembedding is tied to the embedding
    Count
};
inline constexpr std::size_t kLayerSlots = static_cast<std::size_t>(Slot::Embed);

// Resolved views (into the checkpoint's mapping) of every tensor a configuration reads; nullptr for a role
// the family does not have. Valid while the Checkpoint is alive.
struct WeightPlan {
    std::vector<std::array<const TensorView*, kLayerSlots>> layers;
    std::array<const TensorView*, static_cast<std::size_t>(Slot::Count) - kLayerSlots> model{};

    const TensorView* at(int layer, Slot s) const {
        return layers[static_cast<std::size_t>(layer)][static_cast<std::size_t>(s)];
    }
    const TensorView* at(Slot s) const { return model[static_cast<std::size_t>(s) - kLayerSlots]; }
    // The sum of the resolved tensors' stored bytes.
    std::uint64_t stored_bytes() const;
    // True when every resolved tensor is stored as F32.
    bool all_f32() const;
};

// Resolves and checks every tensor `cfg` needs. Throws FormatError.
WeightPlan plan_weights(const Checkpoint& ckpt, const ModelConfig& cfg);

// Checks that the checkpoint holds what the configuration needs (plan_weights without keeping the plan).
void check_weights(const Checkpoint& ckpt, const ModelConfig& cfg);

} // namespace obsprop::io
