// Small inputs for the suites that patch prompt pairs: one observable as a matrix row, and token lists as a
// PromptBatch.
#pragma once

#include <utility>
#include <vector>

#include "obsprop/prompts.h"

namespace pair_fixtures {

// One observable "obs" over a vocabulary of `vocab` tokens, n given as (id, weight) terms.
inline obsprop::ObservableMatrix matrix(int vocab, const std::vector<std::pair<int, double>>& terms) {
    obsprop::ObservableMatrix m;
    m.names = {"obs"};
    m.n = torch::zeros({1, vocab});
    for (auto [id, w] : terms)
        m.n[0][id] += w;
    return m;
}

// The prompts, each with token 1 as its position.
inline obsprop::PromptBatch prompts(const std::vector<std::vector<int>>& ids) {
    obsprop::PromptBatch p;
    p.ids = ids;
    p.positions.assign(ids.size(), 1);
    return p;
}

} // namespace pair_fixtures
