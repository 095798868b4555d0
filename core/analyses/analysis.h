// One analysis context: an immutable snapshot of a workspace (model, tokenizer, observables, datasets) with
// its resolved settings, and a cache of what analyses derive from it (LayerNorm options with their ρ
// estimates, head features, token activations, head SVDs). Contexts made from one another share the cache;
// a new workspace snapshot starts a new one, so nothing computed for an old recipe is ever reused.
// Thread-safe: reports may be computed from several threads at once. No LibTorch in this header.
#pragma once

#include <memory>

#include "analyses/settings.h"

namespace obsprop {
class Workspace;
}

namespace obsprop::analyses {

class Analysis {
  public:
    // Settings resolved from the workspace's project plus `o`.
    explicit Analysis(std::shared_ptr<const Workspace> ws, const SettingsOverrides& o = {});
    Analysis(std::shared_ptr<const Workspace> ws, AnalysisSettings settings);

    const Workspace& workspace() const { return *ws_; }
    std::shared_ptr<const Workspace> workspace_ptr() const { return ws_; }
    const AnalysisSettings& settings() const { return settings_; }
    // The same snapshot and cache with more overrides on top of these settings.
    Analysis with(const SettingsOverrides& o) const;

    struct Cache;
    Cache& cache() const { return *cache_; }

  private:
    std::shared_ptr<const Workspace> ws_;
    AnalysisSettings settings_;
    std::shared_ptr<Cache> cache_;
};

} // namespace obsprop::analyses
