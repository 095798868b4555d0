// MLP nodes by linearisation at the decision boundary (DESIGN §3.5).
//
// MLP(u) = W_out σ(W_in u + b_in) + b_out for the MLP input u (after ln_2); a gated MLP (Llama, Qwen, Gemma)
// is W_down(σ(W_gate u + b_gate) ⊙ (W_up u + b_up)) + b_down, linearised through both branches. Given a
// downstream covector v and the node's inputs u₊, u₋ on a positive and a negative prompt, find t* ∈ [0, 1]
// with v·MLP(u(t*)) = target on u(t) = (1−t)u₋ + t u₊ by bisection (target 0, or the mean of the end values
// when both ends have the same sign), and linearise there: y = ∇_u[v·MLP(u)](u*) = W_inᵀ(σ'(W_in u* + b_in) ⊙
// W_outᵀ v).
#pragma once

#include <torch/types.h>

#include "io/model_config.h"

namespace obsprop::model {
class Transformer;
}

namespace obsprop {

struct MlpLinearisation {
    int layer = 0;
    double t_star = 0;        // in [0, 1]
    torch::Tensor u_star;     // [d] float64, (1−t*)u₋ + t* u₊
    double value_minus = 0;   // v·MLP(u₋)
    double value_plus = 0;    // v·MLP(u₊)
    double target = 0;        // 0, or (value_minus + value_plus)/2 when both have the same sign
    double value_at_star = 0; // v·MLP(u*)
    int iterations = 0;       // bisection steps
    int prompt_plus = -1; // when chosen among candidates (PathNodeInput::ln2_inputs): the rows of u₊, u₋
    int prompt_minus = -1;
    torch::Tensor gradient; // [d] float32, ∇_u[v·MLP(u)] at u* (a covector on the MLP input, after ln_2)
};

// σ'(x) for the model's activation (tanh-approximate gelu, exact erf gelu, relu, silu; relu'(0) = 0).
torch::Tensor activation_derivative(io::Activation act, const torch::Tensor& x);
// σ(x), for the same activations.
torch::Tensor activation(io::Activation act, const torch::Tensor& x);

// v·MLP(u) of layer `layer` (double precision arithmetic), u and v [d].
double mlp_functional(const model::Transformer& m, int layer, const torch::Tensor& u, const torch::Tensor& v);
// The same for a batch of inputs u [P, d]: [P] float64.
torch::Tensor mlp_functionals(const model::Transformer& m, int layer, const torch::Tensor& u,
                              const torch::Tensor& v);
// ∇_u[v·MLP(u)] = W_inᵀ(σ'(W_in u + b_in) ⊙ W_outᵀ v), u and v [d] (or batched [..., d]); gated:
// W_gateᵀ(σ'(g) ⊙ up ⊙ W_downᵀv) + W_upᵀ(σ(g) ⊙ W_downᵀv) with g = W_gate u + b_gate, up = W_up u + b_up.
torch::Tensor mlp_gradient(const model::Transformer& m, int layer, const torch::Tensor& u,
                           const torch::Tensor& v);

// Bisection to |Δt| <= t_tol (or an exact hit). Throws std::invalid_argument on bad shapes or layer.
MlpLinearisation linearise_mlp(const model::Transformer& m, int layer, const torch::Tensor& u_plus,
                               const torch::Tensor& u_minus, const torch::Tensor& v, double t_tol = 1e-9);

} // namespace obsprop
