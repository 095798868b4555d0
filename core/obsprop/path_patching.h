// Path patching and the beam search over head paths (issue "engine", item 5; DESIGN §3.3, §3.7).
//
// The data-driven counterpart of a path's feature vector. For a prompt pair (clean, corrupted) and a path
// h₁ → h₂ → … → h_k of attention heads (strictly increasing layers), only the path is patched:
//   δ₁ = o_{h₁}(corrupted) − o_{h₁}(clean)       head h₁'s output at every position, bias excluded;
//   δ_i = W_O^{h_i} · A^{h_i} · (LN1_{l_i}(x_i + δ_{i−1}) − LN1_{l_i}(x_i)) W_V^{h_iᵀ}
//                                               h_i's change of output when δ_{i−1} reaches its values,
//                                               x_i = the clean blocks.{l_i}.hook_resid_pre, A^{h_i} the
//                                               clean attention pattern (frozen, as in the feature vectors),
//                                               ln_1 recomputed exactly (value bias cancels);
//   score = n·z(clean) − n·z(r_clean + δ_k)      at the last position, ln_f recomputed exactly.
// Other components do not see δ. For k = 1 this is the direct-path patching of attribution.h. The score is
// averaged over the pairs; its sign says whether the path carries the clean prompt's preference.
//
// Beam search: score every single head, keep the `beam_width` largest by |mean score|; then repeatedly
// prepend every head of an earlier layer to every kept path, score those, keep the best `beam_width`
// extensions; stop at `max_length` nodes. This follows how a path is built backward from the logits.
#pragma once

#include <vector>

#include "obsprop/features.h"
#include "obsprop/prompts.h"

namespace obsprop {

struct PatchedPath {
    std::vector<PathNode> path; // earliest first, attention heads only
    double mean = 0;            // score averaged over the pairs
    double sd = 0;              // its standard deviation over the pairs (0 with one pair)
    int pairs = 0;              // pairs averaged over
    std::string label() const;  // "1.2 -> 3.4"
};

struct PathSearchOptions {
    int beam_width = 8; // paths kept per length (>= 1)
    int max_length = 3; // nodes per path (>= 1; capped at the number of layers)
};

struct PathSearch {
    std::string observable;
    std::vector<std::vector<PatchedPath>> beams; // beams[k-1]: the kept paths of k nodes, best first
    std::size_t scored = 0;                      // paths scored in total
    int pairs = 0;                               // pairs used (those whose prompts align)
    int pairs_given = 0;
    std::vector<PatchedPath> ranked() const; // every kept path, by |mean| descending
};

// Scores given paths (heads only, strictly increasing layers) for observable row `which` of `obs`.
// Only pairs whose clean and corrupted prompts have the same length take part (every position is patched);
// none aligning is an error. Throws std::invalid_argument.
std::vector<PatchedPath> score_paths(const model::Transformer& m, const PromptBatch& clean,
                                     const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                                     const std::vector<std::vector<PathNode>>& paths,
                                     const Progress& progress = {});

PathSearch beam_search_paths(const model::Transformer& m, const PromptBatch& clean,
                             const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                             const PathSearchOptions& opts = {}, const Progress& progress = {});

// Each path's data-free feature norm ‖y‖ for `obs` under `opts` with the norm-comparison rule, to set beside
// its patching score (one per path, in order).
std::vector<double> path_feature_norms(const model::Transformer& m, const Observable& obs,
                                       const std::vector<PatchedPath>& paths, FeatureOptions opts);

} // namespace obsprop
