// One head's attention on one prompt of a dataset, and what each source token sends to an observable through
// it.
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "model/hooks.h"
#include "model/transformer.h"

namespace obsprop::analyses {

using torch::Tensor;

AttentionReport attention_report(const Analysis& a, HeadId head, const std::string& observable, int prompt,
                                 const Progress& progress) {
    const auto& w = a.workspace();
    const auto& m = w.model();
    const auto& c = m.config();
    if (head.layer < 0 || head.layer >= c.n_layers || head.head < 0 || head.head >= c.n_heads)
        throw std::invalid_argument("no head " + head.label() + " in this model (" +
                                    std::to_string(c.n_layers) + " layers × " + std::to_string(c.n_heads) +
                                    " heads)");
    AttentionReport r;
    r.head = head;
    r.dataset = a.settings().dataset;
    r.observable = observable_or_first(a, observable);
    r.ln_mode = a.settings().ln_mode;
    r.prompt = prompt;
    const auto& d = w.dataset(r.dataset);
    if (prompt < 0 || static_cast<std::size_t>(prompt) >= d.prompts.size())
        throw std::invalid_argument("prompt " + std::to_string(prompt) + ": the dataset '" + r.dataset +
                                    "' has " + std::to_string(d.prompts.size()) + " prompts (0 to " +
                                    std::to_string(d.prompts.size() - 1) + ")");
    const auto& ids = d.prompts[static_cast<std::size_t>(prompt)].ids;
    const auto T = static_cast<std::int64_t>(ids.size());
    r.query = static_cast<int>(T - 1);
    for (int id : ids)
        r.tokens.push_back(w.tokenizer().token_text(id));

    // The head's feature at its input (after ln_1): the observable pulled back through W_O^h, W_V^h, the
    // final norm per the settings (and Gemma 2/3's post-attention norm).
    const FeatureSet fs = head_features(a, {r.observable}, false, sub_progress(progress, 0.0, 0.5)).front();
    const Tensor y = fs.head_inputs[head.layer][head.head].to(torch::kDouble); // [d]

    torch::NoGradGuard ng;
    model::RunOptions o;
    const std::string resid = model::hook_name(head.layer, "hook_resid_pre"),
                      pattern = model::hook_name(head.layer, "attn.hook_pattern");
    o.cache = {resid, pattern};
    o.stop_before_layer = head.layer + 1 < c.n_layers ? head.layer + 1 : -1;
    o.final_residual_only = true;
    model::ActivationCache cache;
    report(progress, 0.5, "attention");
    m.forward(model::Batch::from({ids}), o, &cache);
    const auto& lw = m.weights().layers[static_cast<std::size_t>(head.layer)]; // its norm (float32)
    const Tensor x = cache.at(resid)[0].to(torch::kDouble);                    // [T, d]
    const Tensor u = model::apply_norm(c, x, lw.ln1_w.to(torch::kDouble), lw.ln1_b.to(torch::kDouble));
    const Tensor p = cache.at(pattern)[0][head.head].to(torch::kDouble); // [T, T]
    // The head's output at the query is Σ_s p_qs W_O^h (W_V^h u_s + b_V^h): the observable's part through it
    // is Σ_s p_qs (y·u_s) plus the bias term y_b = (W_O^hᵀ v)·b_V^h, which is the same for every source (as
    // Σ_s p_qs = 1) and so belongs to no token: the contributions and their total leave it out.
    const Tensor per_source = at::matmul(u, y); // [T]
    for (std::int64_t q = 0; q < T; ++q) {
        std::vector<double> row(static_cast<std::size_t>(T));
        for (std::int64_t s = 0; s < T; ++s)
            row[static_cast<std::size_t>(s)] = p[q][s].item<double>();
        r.pattern.push_back(std::move(row));
    }
    for (std::int64_t s = 0; s < T; ++s) {
        const double v = p[T - 1][s].item<double>() * per_source[s].item<double>();
        r.contribution.push_back(v);
        r.total += v;
    }
    report(progress, 1.0, "attention");
    require_finite(a.workspace(), r);
    return r;
}

} // namespace obsprop::analyses
