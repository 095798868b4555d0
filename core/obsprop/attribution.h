// Attribution of an observable to attention heads, with data (DESIGN §3.7).
//
// Direct-path patching (exact): for a prompt pair (clean, corrupted), head (l,h)'s output at the clean
// prompt's last position, o = W_O^h z^h (bias excluded), is replaced in the clean FINAL residual by its
// output at the corrupted prompt's last position; ln_f is recomputed and the drop in n·z is recorded:
//   A_{l,h} = n·z(clean) − n·z(r_clean − o_clean + o_corr).
// The gradient approximation linearises the same quantity at the clean residual:
//   A'_{l,h} = −(o_corr − o_clean) · ∇_r [n·W_U ln_f(r)] at r_clean.
// Both are averaged over the pairs. Only the last position matters for the direct path.
//
// Total-effect activation patching (exact, every downstream path): the clean prompt is run again with head
// (l,h)'s z (blocks.l.attn.hook_z, that head's slice, at every position) replaced by its z on the corrupted
// prompt, so its output W_O^h z^h (bias excluded) is the corrupted one everywhere, and everything after it
// is recomputed: later heads' queries, keys, values and patterns, the MLPs, every LayerNorm. Then
//   T_{l,h} = n·z(clean) − n·z(clean with head (l,h) patched)      at the last position,
// and likewise T_l for layer l's MLP with blocks.l.hook_mlp_out replaced at every position. Every position is
// patched, so only pairs whose two prompts have equally many tokens take part (as in path patching). The
// patched runs resume from the clean run's blocks.l.hook_resid_pre (layers before l are not run again), and
// layer l's H heads and its MLP are patched in one batch of H + 1 copies per pair.
#pragma once

#include "obsprop/prompts.h"

namespace obsprop {

enum class AttributionMethod { Patching, Gradient, Total };
// "patching", "gradient (attribution patching)", "total effect (activation patching)"
const char* attribution_method_name(AttributionMethod m);

struct Attribution {
    AttributionMethod method = AttributionMethod::Patching;
    std::vector<std::string> observables;
    torch::Tensor mean;           // [K, L, H] float64, averaged over pairs
    torch::Tensor per_pair;       // [pairs, K, L, H] float64
    torch::Tensor clean_values;   // [pairs, K] n·z on the clean prompts
    torch::Tensor corrupt_values; // [pairs, K] n·z on the corrupted prompts
    // Total effect only (undefined otherwise): every layer's MLP, as `mean` and `per_pair` for the heads.
    torch::Tensor mlp_mean;     // [K, L]
    torch::Tensor mlp_per_pair; // [pairs, K, L]
    // The pairs given; `pairs` of them took part (all but for the total effect: those that align).
    int pairs_given = 0;
};

// `clean` and `corrupt` hold the pairs in the same order (only their token ids are used). The total effect
// throws std::invalid_argument when no pair's prompts have equally many tokens.
Attribution attribute_heads(const model::Transformer& m, const PromptBatch& clean, const PromptBatch& corrupt,
                            const ObservableMatrix& obs, AttributionMethod method,
                            const Progress& progress = {});

// The total-effect method on its own (what attribute_heads calls for AttributionMethod::Total).
Attribution total_effect_attribution(const model::Transformer& m, const PromptBatch& clean,
                                     const PromptBatch& corrupt, const ObservableMatrix& obs,
                                     const Progress& progress = {});

} // namespace obsprop
