// Attribution of an observable to attention heads, with data (DESIGN §3.7).
//
// Direct-path patching (exact): for a prompt pair (clean, corrupted), head (l,h)'s output at the clean
// prompt's last position, o = W_O^h z^h (bias excluded), is replaced in the clean FINAL residual by its
// output at the corrupted prompt's last position; ln_f is recomputed and the drop in n·z is recorded:
//   A_{l,h} = n·z(clean) − n·z(r_clean − o_clean + o_corr).
// The gradient approximation linearises the same quantity at the clean residual:
//   A'_{l,h} = −(o_corr − o_clean) · ∇_r [n·W_U ln_f(r)] at r_clean.
// Both are averaged over the pairs. Only the last position matters for the direct path.
#pragma once

#include "obsprop/prompts.h"

namespace obsprop {

enum class AttributionMethod { Patching, Gradient };
const char* attribution_method_name(AttributionMethod m); // "patching", "gradient (attribution patching)"

struct Attribution {
    AttributionMethod method = AttributionMethod::Patching;
    std::vector<std::string> observables;
    torch::Tensor mean;           // [K, L, H] float64, averaged over pairs
    torch::Tensor per_pair;       // [pairs, K, L, H] float64
    torch::Tensor clean_values;   // [pairs, K] n·z on the clean prompts
    torch::Tensor corrupt_values; // [pairs, K] n·z on the corrupted prompts
};

// `clean` and `corrupt` hold the pairs in the same order (only their token ids are used).
Attribution attribute_heads(const model::Transformer& m, const PromptBatch& clean, const PromptBatch& corrupt,
                            const ObservableMatrix& obs, AttributionMethod method,
                            const Progress& progress = {});

} // namespace obsprop
