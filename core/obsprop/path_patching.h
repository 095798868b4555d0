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
// MLP nodes (DESIGN §3.5's MLPs, but patched, not linearised): a first MLP node's δ₁ is its output change
// mlp_out(corrupted) − mlp_out(clean) at every position; a later one passes on F(x + δ) − F(x) at each
// position, F = MLP ∘ ln_2 (then Gemma 2/3's post-norm) and x the clean input of its ln_2 (resid_mid, or
// resid_pre in a parallel-residual model).
//
// The embedding node ("embed", only a path's first): δ₁ is the change of the embeddings,
// blocks.0.hook_resid_pre (corrupted) − (clean), token and position embeddings together, at every position
// (non-zero where the tokens differ). It reaches each later node through the residual stream alone; as a path
// of its own it is the embeddings' direct path to the logits (zero unless the last tokens differ).
//
// A head at one source token s ("L.H@name", "@last", "@K"; source_token.h), resolved in each pair: as a first
// node, δ₁ is the change of what the head reads from s alone, (A_k[q,s]·v_k[s] − A_c[q,s]·v_c[s])·W_O^h at
// every query q (A the pattern, v the values, of the corrupted run k and the clean run c; summed over s it is
// the head's δ₁). As a later node it carries the change of s's value only: A_c[q,s]·Δv[s]·W_O^h. Its feature
// vector is the head's own (the OV circuit does not depend on the token).
//
// Beam search: score every single head (and MLP), keep the `beam_width` largest by |mean score|; then
// repeatedly prepend every node that may precede each kept path's first node (validate_path's order), score
// those, keep the best `beam_width` extensions; stop at `max_length` nodes. This follows how a path is built
// backward from the logits. With `token_nodes`, every head is also a candidate at each source token: the
// slot ("name"), the last token, and every index K below the shortest pair's length, each kept only where it
// names positions, pair by pair, that no earlier candidate names; the search keeps whichever token scores.
#pragma once

#include <functional>
#include <vector>

#include "obsprop/features.h"
#include "obsprop/prompts.h"

namespace obsprop {

struct PatchedPath {
    std::vector<PathNode> path; // earliest first: attention heads and MLPs
    double mean = 0;            // score averaged over the pairs
    double sd = 0;              // its standard deviation over the pairs (0 with one pair)
    int pairs = 0;              // pairs averaged over
    std::string label() const;  // "1.2 -> 3.4"
};

struct PathSearchOptions {
    int beam_width = 8;       // paths kept per length (>= 1)
    int max_length = 3;       // nodes per path (>= 1; capped at the number of layers)
    bool mlp_nodes = false;   // MLPs are nodes too (every layer's MLP beside its heads)
    bool embed_nodes = false; // the embeddings are a node too (a path's first)
    bool token_nodes = false; // heads at one source token are nodes too (beside each whole head)
};

struct PathSearch {
    std::string observable;
    std::vector<std::vector<PatchedPath>> beams; // beams[k-1]: the kept paths of k nodes, best first
    std::size_t scored = 0;                      // paths scored in total
    int pairs = 0;                               // pairs used (those whose prompts align)
    int pairs_given = 0;
    bool mlp_nodes = false;                  // MLPs were candidates
    bool embed_nodes = false;                // the embeddings were candidates
    bool token_nodes = false;                // heads at a source token were candidates
    std::vector<PatchedPath> ranked() const; // every kept path, by |mean| descending
};

// Scores given paths (heads, heads at a token, MLPs and the embeddings, in validate_path's order) for
// observable row `which` of `obs`. Only pairs whose clean and corrupted prompts have the same length take
// part (every position is patched); none aligning is an error, and so is a source token that some pair does
// not have (beyond its length, or "name" where a prompt has no slot). Throws std::invalid_argument.
std::vector<PatchedPath> score_paths(const model::Transformer& m, const PromptBatch& clean,
                                     const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                                     const std::vector<std::vector<PathNode>>& paths,
                                     const Progress& progress = {});

PathSearch beam_search_paths(const model::Transformer& m, const PromptBatch& clean,
                             const PromptBatch& corrupt, const ObservableMatrix& obs, int which,
                             const PathSearchOptions& opts = {}, const Progress& progress = {});

// Each path's data-free feature norm ‖y‖ for `obs` under `opts` with the norm-comparison rule, to set beside
// its patching score (one per path, in order). A path that starts at the embeddings has its remaining nodes'
// norm (the embeddings reach them unchanged), the embeddings alone ‖v_final‖, a head at one source token the
// head's. `inputs` gives a path's node
// inputs (needed for MLP nodes).
using PathInputs = std::function<std::vector<PathNodeInput>(const std::vector<PathNode>&)>;
std::vector<double> path_feature_norms(const model::Transformer& m, const Observable& obs,
                                       const std::vector<PatchedPath>& paths, FeatureOptions opts,
                                       const PathInputs& inputs = {});

} // namespace obsprop
