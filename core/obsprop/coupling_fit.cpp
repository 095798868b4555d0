#include "obsprop/coupling_fit.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace obsprop {

using torch::Tensor;

Tensor token_activations(const model::Transformer& m, const PromptBatch& prompts, int layer,
                         const Progress& progress) {
    prompts.check();
    if (layer < 0 || layer >= m.config().n_layers)
        throw std::invalid_argument("no layer " + std::to_string(layer));
    torch::NoGradGuard ng;
    const std::string name = model::hook_name(layer, "hook_resid_pre");
    std::vector<Tensor> rows;
    const std::size_t chunk = static_cast<std::size_t>(prompts_per_pass(m.config(), prompts));
    for (std::size_t a = 0; a < prompts.size(); a += chunk) {
        report(progress, static_cast<double>(a) / static_cast<double>(prompts.size()), "token activations");
        std::vector<int> which;
        for (std::size_t i = a; i < std::min(prompts.size(), a + chunk); ++i)
            which.push_back(static_cast<int>(i));
        auto sub = prompts.subset(which);
        model::ActivationCache cache;
        model::RunOptions o;
        o.cache = {name};
        o.stop_before_layer = layer; // nothing after this layer's input is needed
        const double n = static_cast<double>(prompts.size());
        report_each_layer(o, m, progress, a / n, (a + which.size()) / n, "token activations");
        m.forward(sub.batch(), o, &cache);
        const Tensor& x = cache.at(name);
        for (std::size_t i = 0; i < sub.size(); ++i)
            rows.push_back(
                x[static_cast<std::int64_t>(i)].narrow(0, 0, static_cast<std::int64_t>(sub.ids[i].size())));
    }
    report(progress, 1.0, "token activations");
    return torch::cat(rows, 0);
}

Tensor token_scores(const Tensor& X, const Tensor& y) {
    if (X.dim() != 2 || (y.dim() != 1 && y.dim() != 2) || y.size(-1) != X.size(1))
        throw std::invalid_argument("feature vectors do not match the activations' width");
    const Tensor yd = y.to(torch::kDouble);
    return at::matmul(X.to(torch::kDouble), y.dim() == 1 ? yd : yd.t());
}

CouplingFit fit_coupling(const Tensor& X, const Tensor& y1, const Tensor& y2) {
    if (X.dim() != 2 || X.size(0) < 2) throw std::invalid_argument("coupling fit needs at least two tokens");
    if (y1.numel() != X.size(1) || y2.numel() != X.size(1))
        throw std::invalid_argument("feature vectors do not match the activations' width");
    Tensor Xd = X.to(torch::kDouble), a = y1.to(torch::kDouble).reshape({-1}),
           b = y2.to(torch::kDouble).reshape({-1});
    CouplingFit f;
    f.s1 = token_scores(Xd, a);
    f.s2 = token_scores(Xd, b);
    const double n = static_cast<double>(X.size(0));
    const double m1 = f.s1.sum().item<double>() / n, m2 = f.s2.sum().item<double>() / n;
    Tensor d1 = f.s1 - m1, d2 = f.s2 - m2;
    const double sxx = (d1 * d1).sum().item<double>(), sxy = (d1 * d2).sum().item<double>(),
                 syy = (d2 * d2).sum().item<double>();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    f.slope = sxx > 0 ? sxy / sxx : nan;
    f.intercept = m2 - f.slope * m1;
    f.r2 = (sxx > 0 && syy > 0) ? (sxy * sxy) / (sxx * syy) : nan;
    const double aa = (a * a).sum().item<double>();
    f.predicted = aa > 0 ? (a * b).sum().item<double>() / aa : nan;
    return f;
}

} // namespace obsprop
