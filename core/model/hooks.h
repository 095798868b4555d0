// Hook points and interventions, named as TransformerLens names them:
//   hook_embed, hook_pos_embed,
//   blocks.{L}.hook_resid_pre | hook_resid_mid | hook_resid_post | hook_attn_out | hook_mlp_out,
//   blocks.{L}.ln1.hook_scale | ln1.hook_normalized | ln2.hook_scale | ln2.hook_normalized,
//   blocks.{L}.attn.hook_q | hook_k | hook_v | hook_z | hook_pattern | hook_result,
//   blocks.{L}.mlp.hook_pre | hook_post, ln_final.hook_scale | ln_final.hook_normalized.
// Shapes (B prompts, T positions): resid/attn_out/mlp_out [B,T,d]; q/k/v/z [B,T,H,dh];
// pattern [B,H,T(query),T(key)]; result [B,T,H,d] (per-head output without b_O, computed only
// when asked for); scale [B,T,1]; mlp pre/post [B,T,d_mlp].
// hook_resid_mid exists only for sequential-residual blocks.
// RMSNorm decoders: ln*.hook_scale is sqrt(mean(x²) + ε) and hook_normalized x / scale (no centring); the
// key and value hooks have n_kv_heads heads; hook_q/hook_k come after Qwen 3's / Gemma 3's q/k norms and
// before the rotation. Gated MLPs: mlp.hook_pre is the gate's pre-activation, mlp.hook_pre_linear the up
// projection, mlp.hook_post act(gate) ⊙ up. Gemma 2/3: ln1_post / ln2_post are the norms of the attention
// and MLP outputs; hook_attn_out and hook_mlp_out are what is added to the residual stream (after them),
// attn.hook_result the heads' outputs before ln1_post.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <torch/types.h>

#include "io/model_config.h"

namespace obsprop::model {

// A hook gets the activation and its name and returns the activation to use from then on
// (the same tensor to only observe it).
using HookFn = std::function<torch::Tensor(const torch::Tensor& activation, const std::string& name)>;

struct RunOptions {
    std::map<std::string, std::vector<HookFn>> hooks; // applied in order at each named point
    std::set<std::string> cache;                      // names whose (post-hook) values are kept
    bool last_logits_only = false; // logits only at each prompt's last real position: [B, vocab]
    // Stop before ln_f and the unembedding: forward returns the final residual (blocks.{L-1}.hook_resid_post)
    // [B, T, d], or [B, d] at the last positions with last_logits_only. ln_final hooks do not run.
    bool final_residual_only = false;
    // >= 0: stop at blocks.{stop_before_layer}.hook_resid_pre (its hooks and cache apply) and return that
    // residual [B, T, d]; the layers from there on are not run.
    int stop_before_layer = -1;
    // Called before each layer runs (e.g. to report progress; an exception it throws ends the pass).
    std::function<void(int layer)> before_layer;

    void add_hook(const std::string& name, HookFn fn) { hooks[name].push_back(std::move(fn)); }
};

using ActivationCache = std::map<std::string, torch::Tensor>;

// Ready-made interventions.
// Adds `vec` ([d] or broadcastable to the activation's last dim) at `position` of every prompt; a position of
// -1 adds it at every position of that prompt (padding included: right padding never reaches a real token).
HookFn add_vector_at(torch::Tensor vec, std::vector<std::int64_t> position_per_prompt);
// Replaces the whole activation by `value` (shape must match).
HookFn replace_with(torch::Tensor value);
// For blocks.{L}.attn.hook_z: replaces head `head`'s z by `source_z[..., head, :]` (all positions),
// which replaces that head's output (bias excluded) by the source run's.
HookFn patch_head_z(std::int64_t head, torch::Tensor source_z);

// The name of a hook point, e.g. hook_name(3, "attn.hook_z") == "blocks.3.attn.hook_z".
std::string hook_name(int layer, const std::string& local);

// All hook names a model of this configuration exposes, in forward order.
std::vector<std::string> all_hook_names(const io::ModelConfig& cfg);

} // namespace obsprop::model
