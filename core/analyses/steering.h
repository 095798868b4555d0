// Steering prepared once, run many times (DESIGN §3.9). Preparing computes each vector (the feature of a head
// or path under the settings' LayerNorm treatment, unit length when asked) and its baseline (unsteered values
// and gradients at its layer and positions). Then predict() is instant (the linear prediction, for a slider
// being dragged) and run() is the exact forward pass with every vector added. steering_report() is
// prepare + run: the CLI, the export and the explorer all go through this one plan. No LibTorch here.
#pragma once

#include <memory>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/reports.h"
#include "obsprop/progress.h"

namespace obsprop::analyses {

class SteeringPlan {
  public:
    // Over settings().dataset; settings().position (when set) replaces each vector's position. Throws
    // std::invalid_argument naming the vector for a bad observable, path, layer or position, or a zero
    // vector that cannot be normalised.
    static std::shared_ptr<const SteeringPlan>
    prepare(const Analysis& a, const std::vector<SteeringVector>& vectors, const Progress& progress = {});

    const std::vector<SteeringVector>& vectors() const; // as applied (positions and layers resolved)
    // The linear prediction for these multipliers (one per vector; exact = false). Instant.
    SteeringReport predict(const std::vector<double>& alphas) const;
    // The exact mean change with every vector added (and the prediction beside it). Throws for non-finite or
    // absurd multipliers (|α| > 1e6).
    SteeringReport run(const std::vector<double>& alphas, const Progress& progress = {}) const;

    struct Impl;
    explicit SteeringPlan(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  private:
    std::shared_ptr<const Impl> impl_;
};

} // namespace obsprop::analyses
