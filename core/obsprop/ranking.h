// Ranking of all 2-head virtual heads (DESIGN §3.3, §3.6) by feature norm, data-free.
//
// For every pair of heads h₁ in layer l₁ < l₂ ∋ h₂ the virtual head h₁ → h₂ has the feature
//   y = J₁ᵀ W_V^{h₁ᵀ} W_O^{h₁ᵀ} y₂,   y₂ = J₂ᵀ W_V^{h₂ᵀ} W_O^{h₂ᵀ} v_final
// and is ranked by ‖y‖ under the norm-comparison rule (the earliest LayerNorm, ln_1 of l₁, has ρ = 1).
//
// How it is batched: for each l₁ the features y₂ of all heads of all later layers are stacked into one
// [N, d] matrix and multiplied by W_O^{l₁} [d, H·dh] in one GEMM (z = W_O^{h₁ᵀ} y₂ for all h₁ at once). The
// norm of J₁ᵀ W_V^{h₁ᵀ} z is then either computed directly (one batched [H, N, dh]×[H, dh, d] product) or,
// when N > d_head, from the d_head×d_head Gram matrix W_V^{h₁} diag(γ²) W_V^{h₁ᵀ} (plus two rank-one
// corrections for the exact LayerNorm), which needs no d-sized output at all. Work is cut into chunks of
// bounded size so that progress (and cancellation) is checked every few milliseconds.
#pragma once

#include <cstddef>
#include <vector>

#include <torch/types.h>

#include "obsprop/features.h"

namespace obsprop {

struct VirtualHeadScore {
    int layer1 = 0, head1 = 0; // the earlier head (where the feature lives)
    int layer2 = 0, head2 = 0; // the later head
    double norm = 0;
};

enum class RankingMethod { Auto, Direct, Gram };

struct RankingOptions {
    std::size_t keep = 100; // length of `top` (0: every pair)
    bool norm_comparison =
        true; // apply the norm-comparison rule (overrides FeatureOptions::drop_earliest_rho)
    RankingMethod method = RankingMethod::Auto; // Auto picks per layer the cheaper of Direct and Gram
};

struct VirtualHeadRanking {
    std::string observable;
    torch::Tensor norms;  // [L, H, L, H] float32: norms[l1][h1][l2][h2] for l1 < l2, NaN elsewhere
    torch::Tensor single; // [L, H] the single heads' direct-path norms under the same options
    std::vector<VirtualHeadScore> top; // the `keep` largest pairs, by norm, descending
    std::size_t n_pairs = 0;           // number of (l1 < l2) pairs scored
};

// Uses opts.block_ln / final_ln like compute_head_features (Exact needs opts.residuals, one row per layer).
VirtualHeadRanking rank_virtual_heads(const model::Transformer& m, const Observable& obs,
                                      const FeatureOptions& opts = {}, const RankingOptions& ropts = {},
                                      const Progress& progress = {});

} // namespace obsprop
