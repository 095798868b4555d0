// LayerNorm in observable propagation (DESIGN §3.2, §3.4): gradients and the decision boundary of ln_f.
//
// The model's LayerNorm is LN(x) = γ ⊙ Px / s(x) + β with P = I − 11ᵀ/d (mean removal) and
// s(x) = sqrt(‖Px‖²/d + ε). With ε = 0, s = ‖Px‖/√d and this is DESIGN's γ ⊙ √d·Px/‖Px‖ + β.
// RMSNorm (Llama, Qwen, Mistral, Gemma) is the same with P = I and β = 0 (`centred = false` below); its γ is
// the effective multiplier (Gemma's 1 + w). See docs/rmsnorm-decoders.md.
// Everything here uses vector operations only; no d×d matrix is ever formed.
#pragma once

#include <string_view>

#include <torch/types.h>

namespace obsprop {

// How a LayerNorm on a path is treated.
//   None:        ignored (identity; γ and β are not applied either)
//   Approximate: y ← (√d/ρ) γ ⊙ y with ρ an estimate of the input norm
//   Exact:       the LayerNorm's Jacobian at a given input x
enum class LnMode { None, Approximate, Exact };

const char* ln_mode_name(LnMode m);                     // "none", "approximate", "exact"
bool parse_ln_mode(std::string_view text, LnMode& out); // accepts those names (and "approx")

// ∇ₓ[v·LN(x)] for x, v, γ of shape [..., d] (broadcast against each other; γ usually [d]):
//   (1/s)·(P − c·uuᵀ)(γ⊙v),  u = Px/‖Px‖,  c = ‖Px‖²/(d s²)   (= 1 when ε = 0)
// which for ε = 0 is (√d/‖Px‖)(I − uuᵀ)P(γ⊙v). With drop_scale the 1/s factor is replaced by √d (the
// norm-comparison rule's ρ = 1, since 1/s = √d/ρ with ρ = √d·s ≈ ‖Px‖). Result dtype follows x and v.
torch::Tensor ln_exact_grad(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& v,
                            double eps, bool drop_scale = false, bool centred = true);

// (√d/ρ) γ ⊙ v for v [..., d].
torch::Tensor ln_approx_grad(const torch::Tensor& gamma, const torch::Tensor& v, double rho);

// The LayerNorm check's reference: the mean cosine between the approximate pull-back of a random direction w
// (isotropic in d dimensions), which keeps w, and the exact one, ∝ (P − uuᵀ)w with u = Px/‖Px‖. That
// projection keeps k = d − 2 of w's d dimensions for a centred LayerNorm (P removes the mean, uuᵀ the input's
// own direction; u ⟂ 1) and k = d − 1 for RMSNorm (P = I). cos = ‖Qw‖/‖w‖ for a rank-k projector Q, whose
// square is Beta(k/2, (d−k)/2)-distributed, so the mean is E[√B] = Γ((k+1)/2) Γ(d/2) / (Γ(k/2) Γ((d+1)/2)),
// about √(1 − 2/d) (centred) or √(1 − 1/d) (RMSNorm) for large d. (ε ≠ 0 shortens u's share slightly; the
// reference ignores it.) Throws std::invalid_argument for d < 3.
double expected_ln_cosine(std::int64_t d, bool centred);

// v·LN(x) + offset for x [d] (double precision arithmetic).
double ln_functional(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                     const torch::Tensor& v, double offset, double eps, bool centred = true);

// The exact tangent of g(r) = v·LN_f(r) + offset at the decision boundary (§3.2): starting from r₀,
// r ← r − g(r)∇g(r)/‖∇g(r)‖² (halving a step that would not reduce |g|) until |g| <= tol·(1 + |g(r₀)|).
struct BoundaryProjection {
    torch::Tensor r_star; // [d] float64, the point reached on {g = 0}
    torch::Tensor grad;   // [d] float64, ∇g(r*): the exact-tangent covector v_f
    double g_start = 0;   // g(r₀)
    double g_end = 0;     // g(r*)
    int iterations = 0;
};

// Throws std::runtime_error when g cannot reach 0 (its range through the LayerNorm excludes 0, or the
// gradient vanishes) or when max_iter steps do not converge.
BoundaryProjection project_to_boundary(const torch::Tensor& r0, const torch::Tensor& gamma,
                                       const torch::Tensor& beta, const torch::Tensor& v, double offset,
                                       double eps, double tol = 1e-7, int max_iter = 200,
                                       bool centred = true);

} // namespace obsprop
