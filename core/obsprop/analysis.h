// Data-free analysis of feature vectors (DESIGN §3.4, §3.6): norms, cosines, coupling coefficients and their
// Theorem-2 bounds, and the LayerNorm direction check.
#pragma once

#include <string>

#include <torch/types.h>

#include "obsprop/features.h"

namespace obsprop {

// ‖y_{l,h}‖ for every head under the norm-comparison rule (the 1/ρ of the head's ln_1, or of ln_f when block
// LayerNorms are ignored, is dropped): the layer×head heatmap. [L, H] float32.
torch::Tensor head_feature_norms(const model::Transformer& m, const Observable& obs,
                                 const FeatureOptions& opts = {}, const Progress& progress = {});
// The same for several observables in one pass over the weights: [K, L, H].
torch::Tensor head_feature_norms(const model::Transformer& m, const std::vector<Observable>& obs,
                                 const FeatureOptions& opts = {}, const Progress& progress = {});

// The coupling from y₁ to y₂ (Theorem 2): for x uniform on {‖x‖ = r, y₁·x = k},
//   E[y₂·x] = k·C   and   |y₂·x − k·C| <= √(r² − k²/‖y₁‖²)·‖y₂ − C y₁‖,   C = y₁·y₂/‖y₁‖².
struct Coupling {
    double coefficient = 0;   // C(y₁→y₂); NaN when y₁ = 0
    double cosine = 0;        // cos(y₁, y₂); NaN when either is 0
    double norm_from = 0;     // ‖y₁‖
    double norm_to = 0;       // ‖y₂‖
    double residual_norm = 0; // ‖y₂ − C y₁‖

    double expectation(double k) const { return k * coefficient; }
    // √(r² − k²/‖y₁‖²)·‖y₂ − C y₁‖. Throws std::invalid_argument when r² < k²/‖y₁‖² (no such x).
    double half_width(double r, double k) const;
    double lower(double r, double k) const { return expectation(k) - half_width(r, k); }
    double upper(double r, double k) const { return expectation(k) + half_width(r, k); }
};

// Coupling of two vectors [d] (float64 arithmetic).
Coupling coupling(const torch::Tensor& y_from, const torch::Tensor& y_to);

// Two observables' head features compared head by head (all tensors [L, H] float64; NaN for zero vectors).
struct HeadComparison {
    std::string a, b;          // observable names
    torch::Tensor cosine;      // cos(y_a, y_b)
    torch::Tensor coupling_ab; // C(y_a → y_b)
    torch::Tensor coupling_ba; // C(y_b → y_a)
    torch::Tensor norm_a, norm_b;
    torch::Tensor residual_ab; // ‖y_b − C_ab y_a‖ (for Coupling::half_width)
    torch::Tensor residual_ba; // ‖y_a − C_ba y_b‖
    double unembed_cosine = 0; // cos(W_Uᵀ n_a, W_Uᵀ n_b)
    double final_cosine = 0;   // cos(v_final a, v_final b)

    Coupling at(int layer, int head, bool a_to_b = true) const;
};

// Compares FeatureSet::heads of two observables computed with the same options. Throws on shape mismatch.
HeadComparison compare_features(const FeatureSet& a, const FeatureSet& b);
// Computes both feature sets and compares them.
HeadComparison compare_observables(const model::Transformer& m, const Observable& a, const Observable& b,
                                   const FeatureOptions& opts = {}, const Progress& progress = {});

// The LayerNorm check (§3.4): per head, the cosine between the feature with ln_1 treated exactly at the given
// residuals and with the approximation (√d/ρ)γ⊙y. ln_f is treated per opts.final_ln.
struct LayerNormCheck {
    torch::Tensor cosine;       // [L, H] float64: cos(exact, approximate pull-back), mean over the tokens
    torch::Tensor cosine_min;   // [L, H] the smallest over the tokens
    torch::Tensor norm_exact;   // [L, H] ‖exact pull-back‖, mean over the tokens
    torch::Tensor norm_approx;  // [L, H] ‖approximate pull-back‖, mean over the tokens
    std::int64_t tokens = 0;    // how many residuals the check was evaluated at
    double expected_cosine = 0; // expected_ln_cosine(d, centred): the mean for random directions
};

// `residuals` [N, L, d]: the ln_1 input (resid_pre) per layer at N real tokens (the tokens the heads read),
// or [L, d] for one. The Jacobian is evaluated at each token's own residual. The ρ of the approximation is
// each residual's own norm ‖x_l‖ unless opts gives rho_ln1/default_rho.
LayerNormCheck layernorm_check(const model::Transformer& m, const Observable& obs,
                               const torch::Tensor& residuals, const FeatureOptions& opts = {},
                               const Progress& progress = {});

} // namespace obsprop
