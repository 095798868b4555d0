// Validation of coupling coefficients on data (DESIGN §3.6): over the dataset's tokens x (at
// blocks.{l}.hook_resid_pre), the scores s₁ = y₁·x and s₂ = y₂·x, the least-squares line s₂ ≈ a·s₁ + b
// and its R², shown beside the predicted slope C(y₁→y₂).
#pragma once

#include "obsprop/prompts.h"

namespace obsprop {

// blocks.{layer}.hook_resid_pre at every real (unpadded) token of every prompt: [tokens, d] float32.
torch::Tensor token_activations(const model::Transformer& m, const PromptBatch& prompts, int layer,
                                const Progress& progress = {});

// Feature scores s = y·x of activations x [tokens, d] (blocks.{l}.hook_resid_pre) for a feature y [d]
// ([tokens] float64), or for several features as rows of y [V, d] ([tokens, V] float64). The one definition
// of a token's score: the coupling fits and the corpus scores (obsprop/corpus.h) both use it.
torch::Tensor token_scores(const torch::Tensor& activations, const torch::Tensor& y);

struct CouplingFit {
    torch::Tensor s1, s2; // [tokens] float64
    double slope = 0, intercept = 0, r2 = 0;
    double predicted = 0; // C(y₁→y₂) = y₁·y₂/‖y₁‖²
};

// Throws std::invalid_argument for fewer than two tokens or mismatched sizes. R² is NaN when s₂ is constant.
CouplingFit fit_coupling(const torch::Tensor& activations, const torch::Tensor& y1, const torch::Tensor& y2);

} // namespace obsprop
