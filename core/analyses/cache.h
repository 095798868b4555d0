// Inside the analysis layer only (LibTorch): what reports derive from one workspace snapshot and share.
// Entries are keyed by everything they depend on (LayerNorm mode, fixed ρ, dataset, ...), so contexts with
// different settings can share one cache. Computed outside the lock; a race computes an entry twice at worst.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/grid.h"
#include "analyses/reports.h"
#include "analyses/workspace.h"
#include "obsprop/analysis.h"
#include "obsprop/coupling_fit.h"
#include "obsprop/features.h"
#include "obsprop/prompts.h"
#include "obsprop/svd.h"

namespace obsprop::analyses {

struct Analysis::Cache {
    std::mutex mu;
    std::map<std::string, ResidualNorms> residuals;              // by dataset (name-slot positions)
    std::map<std::string, FeatureOptions> options;               // by LayerNorm key
    std::map<std::string, FeatureSet> features;                  // by LayerNorm key + rule + observable
    std::map<std::pair<std::string, int>, torch::Tensor> tokens; // by (dataset, layer)
    std::vector<HeadSvd> svds;
    std::map<std::string, AttributionReport> attributions; // by dataset + method
    std::map<std::string, LayerNormCheck> ln_checks;       // by LayerNorm key + observable
};

// The residual norms (and residuals) of a dataset's prompts at their name slots.
const ResidualNorms& dataset_residuals(const Analysis& a, const std::string& dataset,
                                       const Progress& progress = {});
// The LayerNorm options of `observable` under the settings: mode, ρ from its LayerNorm dataset (or the fixed
// ρ), the exact treatment's linearisation points (that dataset's first prompt).
FeatureOptions ln_options(const Analysis& a, const std::string& observable, const Progress& progress = {});
// What the nodes of a path need beyond the weights when it is pulled back for `observable`: each MLP node
// gets the ln_2 inputs of every prompt of the observable's LayerNorm dataset at the node's token — the last
// token when no attention head follows it in the path (it writes where the observable reads), else the name
// slot (the token the following heads read) — and is linearised between the prompts with the largest and the
// smallest downstream value (DESIGN §3.5, docs/mlp-nodes.md). Empty when the path has no MLP node.
std::string mlp_node_token(const std::vector<PathNode>& nodes, std::size_t k); // "name" | "last"
std::vector<PathNodeInput> path_inputs(const Analysis& a, const std::string& observable,
                                       const std::vector<PathNode>& nodes, const Progress& progress = {});
// Head features of the observables (norm-comparison rule when `norm_rule`), computed in one pass over the
// weights per LayerNorm dataset and cached.
std::vector<FeatureSet> head_features(const Analysis& a, const std::vector<std::string>& observables,
                                      bool norm_rule, const Progress& progress = {});
// blocks.{layer}.hook_resid_pre at every token of a dataset.
torch::Tensor dataset_tokens(const Analysis& a, const std::string& dataset, int layer,
                             const Progress& progress = {});
const std::vector<HeadSvd>& head_svds(const Analysis& a, const Progress& progress = {});
// The LayerNorm check of every head for one observable: cos between its exact-LN and approximate-LN feature
// at the residual of every prompt of its LayerNorm dataset (name slot), mean and smallest over the prompts.
const LayerNormCheck& ln_check(const Analysis& a, const std::string& observable,
                               const Progress& progress = {});

// Looks `key` up in `map` under `mu`, else makes it outside the lock and keeps the first one stored.
template <typename Map, typename Key, typename Make>
const typename Map::mapped_type& cached(std::mutex& mu, Map& map, const Key& key, Make make) {
    {
        std::lock_guard lock(mu);
        if (auto it = map.find(key); it != map.end()) return it->second;
    }
    auto value = make();
    std::lock_guard lock(mu);
    return map.emplace(key, std::move(value)).first->second;
}

// Small helpers shared by the report files.
HeadGrid to_grid(const torch::Tensor& lh); // [L, H] -> HeadGrid (double)
std::vector<double> to_vector(const torch::Tensor& t);
std::vector<HeadId> to_heads(const std::vector<PathNode>& path);
std::vector<PathNode> to_nodes(const std::vector<HeadId>& path);

} // namespace obsprop::analyses
