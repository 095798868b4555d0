// Small loop-level helpers shared by the tests that recompute the engine's numbers by hand, in double
// precision and without LibTorch arithmetic.
#pragma once

#include <cmath>
#include <vector>

namespace loop_reference {

using Vec = std::vector<double>;

// (x − mean) / √(var + eps) · g + b, the variance biased as LayerNorm takes it. G and B index like vectors.
template <typename G, typename B> Vec layer_norm(const Vec& x, const G& g, const B& b, double eps) {
    double mean = 0, var = 0;
    for (double v : x)
        mean += v;
    mean /= static_cast<double>(x.size());
    for (double v : x)
        var += (v - mean) * (v - mean);
    var /= static_cast<double>(x.size());
    Vec out(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        out[i] = (x[i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
    return out;
}

} // namespace loop_reference
