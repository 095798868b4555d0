#include "obsprop/head_detail.h"

#include <cmath>
#include <stdexcept>

#include "obsprop/analysis.h"
#include "obsprop/svd.h"

namespace obsprop {

using torch::Tensor;

HeadDetail head_detail(const Workspace& w, int layer, int head, const std::string& dataset, const Progress& progress) {
    const auto& c = w.model().config();
    if (layer < 0 || layer >= c.n_layers || head < 0 || head >= c.n_heads)
        throw std::invalid_argument("no head " + std::to_string(layer) + "." + std::to_string(head) + " in this model");
    HeadDetail d;
    d.layer = layer, d.head = head;
    d.expected_ln_cosine = std::sqrt(1.0 - 1.0 / (c.d_model - 1.0));
    report(progress, 0.0, "singular vectors");
    HeadSvd svd = head_svd(w.model(), layer);
    Tensor S = svd.S[head].to(torch::kDouble), V = svd.V[head].to(torch::kDouble);  // [dh], [d, dh]
    for (std::int64_t i = 0; i < S.size(0); ++i) d.sigma.push_back(S[i].item<double>());
    Tensor residuals;
    if (!dataset.empty()) residuals = residual_norms(w.model(), w.prompt_batch(dataset)).resid_at_position.mean(0);
    const auto& obs = w.observables();
    const auto sets = compute_head_features(w.model(), obs, {}, sub_progress(progress, 0.2, 0.6));  // one pass
    for (std::size_t k = 0; k < obs.size(); ++k) {
        report(progress, 0.6 + 0.4 * k / std::max<std::size_t>(1, obs.size()), "alignment");
        Tensor y = sets[k].head_inputs[layer][head].to(torch::kDouble);
        const double n = y.norm().item<double>();
        Tensor cos = n > 0 ? at::matmul(y, V) / n : torch::zeros({V.size(1)}, torch::kDouble);
        std::vector<double> row;
        for (std::int64_t i = 0; i < cos.size(0); ++i) row.push_back(cos[i].item<double>());
        d.cosine.push_back(std::move(row));
        if (residuals.defined()) {
            auto check = layernorm_check(w.model(), obs[k], residuals);
            d.ln_check.push_back(check.cosine[layer][head].item<double>());
        }
    }
    report(progress, 1.0, "alignment");
    return d;
}

}  // namespace obsprop
