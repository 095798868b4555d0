// Reports that run the model on a dataset: attribution and the dataset's observable values.
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "obsprop/attribution.h"

namespace obsprop::analyses {

using torch::Tensor;

AttributionReport attribution_report(const Analysis& a, const Progress& progress) {
    const auto& w = a.workspace();
    if (w.observables().empty()) throw std::invalid_argument("attribution needs at least one observable");
    auto& c = a.cache();
    // The Heads and Coupling views both ask for it: computed once per snapshot, dataset and method.
    const auto& s = a.settings();
    auto r =
        cached(c.mu, c.attributions, s.dataset + "|" + s.attribution + "|" + s.attribution_position, [&] {
            AttributionReport r;
            r.method = s.attribution;
            r.dataset = s.dataset;
            r.position = s.attribution_position;
            // At another token than the last, each prompt is cut after it: its prediction there is
            // attributed.
            auto [clean, corrupt] = w.pair_batches(r.dataset, r.position);
            const auto method = r.method == "gradient" ? AttributionMethod::Gradient
                                : r.method == "total"  ? AttributionMethod::Total
                                                       : AttributionMethod::Patching;
            auto at = attribute_heads(w.model(), clean, corrupt, w.observable_matrix(), method, progress);
            r.pairs = static_cast<int>(at.per_pair.size(0));
            r.pairs_given = static_cast<int>(clean.size());
            r.observables = at.observables;
            for (std::size_t k = 0; k < at.observables.size(); ++k) {
                const auto row = static_cast<std::int64_t>(k);
                r.mean.push_back(to_grid(at.mean[row]));
                if (at.mlp_mean.defined()) {
                    const Tensor v = at.mlp_mean[row].to(torch::kDouble).contiguous();
                    r.mlp.emplace_back(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
                }
            }
            return r;
        });
    require_finite(a.workspace(), r);
    return r;
}

DatasetReport dataset_report(const Analysis& a, const Progress& progress) {
    const auto& w = a.workspace();
    DatasetReport r;
    r.dataset = a.settings().dataset;
    const auto& d = w.dataset(r.dataset);
    r.pairs = d.recipe.is_pairs();
    Tensor values;
    if (!w.observables().empty())
        values = observable_values(w.model(), w.prompt_batch(r.dataset), w.observable_matrix(), progress);
    for (const auto& o : w.observables())
        r.observables.push_back(o.name);
    for (std::size_t i = 0; i < d.prompts.size(); ++i) {
        const auto& p = d.prompts[i];
        DatasetReport::Row row;
        row.index = static_cast<int>(i);
        row.template_index = p.template_index;
        row.name_position = p.name_position;
        row.name = p.name;
        const bool female = p.gender == project::Gender::Female; // a pair's clean prompt
        row.gender = r.pairs ? (female ? "clean" : "corrupt") : (female ? "female" : "male");
        row.label = p.label;
        row.text = p.text;
        for (int id : p.ids)
            row.tokens.push_back(w.tokenizer().token_text(id));
        for (std::size_t k = 0; k < r.observables.size(); ++k)
            row.values.push_back(
                values[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(k)].item<double>());
        r.rows.push_back(std::move(row));
    }
    require_finite(a.workspace(), r);
    return r;
}

} // namespace obsprop::analyses
