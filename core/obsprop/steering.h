// Steering with feature vectors (DESIGN §3.9): add α·y at blocks.{layer}.hook_resid_pre, at one token
// position per prompt or at every token (position -1), rerun, and report for every observable the mean change
// of n·z over the prompts, beside the linear prediction α·mean_p(∇_x(n·z)·y) from gradients taken once.
#pragma once

#include "obsprop/prompts.h"
#include "obsprop/steering_limits.h"

namespace obsprop {

// What one steering vector needs that does not depend on α: the unsteered values and, per observable and
// prompt, the gradient of n·z with respect to the residual at (layer, position).
struct SteeringBaseline {
    int layer = 0;
    std::vector<std::string> observables;
    torch::Tensor values;    // [N, K] float64, n·z without steering
    torch::Tensor gradients; // [K, N, d] float64
    torch::Tensor resid;     // [N, T, d] blocks.{layer}.hook_resid_pre without steering (to resume from)
};

SteeringBaseline steering_baseline(const model::Transformer& m, const PromptBatch& prompts, int layer,
                                   const ObservableMatrix& obs, const Progress& progress = {});

// The linear prediction of the mean change per observable, [K] float64. Instant (no forward pass).
torch::Tensor predict_steering(const SteeringBaseline& base, const torch::Tensor& y, double alpha);

struct SteeringResult {
    double alpha = 0;
    torch::Tensor values;      // [N, K] n·z with steering
    torch::Tensor change;      // [N, K] values − baseline
    torch::Tensor mean_change; // [K]
    torch::Tensor predicted;   // [K] linear prediction
};

// Throws std::invalid_argument for a non-finite or absurd α, a vector of the wrong size or a bad layer.
SteeringResult steer(const model::Transformer& m, const PromptBatch& prompts, const SteeringBaseline& base,
                     const ObservableMatrix& obs, const torch::Tensor& y, double alpha,
                     const Progress& progress = {});

// Several steering vectors at once (each at its own layer and, when given, its own positions): n·z [N, K]
// with all of them added. Each term is checked as steer() checks its vector and multiplier. When `resume` is
// a baseline of the earliest term's layer, the pass starts there from its cached residual (layers before it
// are not run).
struct SteeringTerm {
    int layer = 0;
    torch::Tensor y; // [d]
    double alpha = 0;
    std::vector<int> positions; // one per prompt (-1: every token); empty = the prompts' own positions
};
torch::Tensor steered_values(const model::Transformer& m, const PromptBatch& prompts,
                             const std::vector<SteeringTerm>& terms, const ObservableMatrix& obs,
                             const Progress& progress = {}, const SteeringBaseline* resume = nullptr);

} // namespace obsprop
