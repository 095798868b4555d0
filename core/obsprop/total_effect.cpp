// Total-effect activation patching of every head and MLP (attribution.h).
#include <algorithm>
#include <set>
#include <stdexcept>

#include "obsprop/attribution.h"

namespace obsprop {

using torch::Tensor;

namespace {

// The batch of `b`'s prompts each repeated `r` times in a row (prompt i's copies at rows i·r … i·r + r − 1).
model::Batch repeated(const model::Batch& b, std::int64_t r) {
    model::Batch out;
    out.ids = b.ids.repeat_interleave(r, 0);
    for (std::int64_t len : b.lengths)
        for (std::int64_t k = 0; k < r; ++k)
            out.lengths.push_back(len);
    return out;
}

} // namespace

Attribution total_effect_attribution(const model::Transformer& m, const PromptBatch& clean_in,
                                     const PromptBatch& corrupt_in, const ObservableMatrix& obs,
                                     const Progress& progress) {
    const std::vector<int> aligned = aligned_pairs(clean_in, corrupt_in, "total-effect patching");
    if (obs.size() == 0) throw std::invalid_argument("no observables to attribute");
    const PromptBatch clean = clean_in.subset(aligned), corrupt = corrupt_in.subset(aligned);

    torch::NoGradGuard ng;
    const auto& c = m.config();
    const int L = c.n_layers;
    const std::int64_t H = c.n_heads, dh = c.d_head, d = c.d_model, K = obs.size();
    const std::int64_t P = static_cast<std::int64_t>(clean.size()), R = H + 1; // H heads and the MLP
    const Readout readout(m, obs.n);
    const Tensor bias = at::matmul(obs.n.to(torch::kDouble), m.weights().b_U.to(torch::kDouble)); // [K]

    Attribution a;
    a.method = AttributionMethod::Total;
    a.observables = obs.names;
    a.pairs_given = static_cast<int>(clean_in.size());
    a.per_pair = torch::zeros({P, K, L, H}, torch::kDouble);
    a.mlp_per_pair = torch::zeros({P, K, L}, torch::kDouble);
    a.clean_values = torch::empty({P, K}, torch::kDouble);
    a.corrupt_values = torch::empty({P, K}, torch::kDouble);

    // Cost of one chunk in layer-rows: the two plain runs (2L), then layer l's patched run of R copies
    // through L − l layers. Progress moves in proportion.
    std::vector<double> until{2.0 * L};
    for (int l = 0; l < L; ++l)
        until.push_back(until.back() + static_cast<double>(R) * (L - l));
    const double chunk_cost = until.back();

    std::set<std::string> clean_names, corrupt_names;
    for (int l = 0; l < L; ++l) {
        clean_names.insert(model::hook_name(l, "hook_resid_pre"));
        corrupt_names.insert(model::hook_name(l, "attn.hook_z"));
        corrupt_names.insert(model::hook_name(l, "hook_mlp_out"));
    }
    const std::size_t chunk =
        static_cast<std::size_t>(std::max<int>(1, prompts_per_pass(c, clean) / static_cast<int>(R)));
    const double total = static_cast<double>(P);
    for (std::size_t first = 0; first < clean.size(); first += chunk) {
        const std::size_t last = std::min(clean.size(), first + chunk);
        const auto n = static_cast<std::int64_t>(last - first), at0 = static_cast<std::int64_t>(first);
        auto frac = [&](double units) { return (first + units / chunk_cost * n) / total; };
        report(progress, frac(0), "total effect: clean and corrupted runs");
        std::vector<int> which;
        for (std::size_t i = first; i < last; ++i)
            which.push_back(static_cast<int>(i));
        const PromptBatch cb = clean.subset(which), kb = corrupt.subset(which);
        const model::Batch batch = cb.batch();
        model::ActivationCache cc, kc;
        model::RunOptions co, ko; // no logits: the final residual at the last positions is scored
        co.cache = clean_names, ko.cache = corrupt_names;
        co.final_residual_only = ko.final_residual_only = true;
        co.last_logits_only = ko.last_logits_only = true;
        report_each_layer(co, m, progress, frac(0), frac(L), "total effect: clean and corrupted runs");
        report_each_layer(ko, m, progress, frac(L), frac(2.0 * L), "total effect: clean and corrupted runs");
        const Tensor base = readout(m.forward(batch, co, &cc).to(torch::kDouble)); // [n, K]
        const Tensor corrupt_final = m.forward(kb.batch(), ko, &kc).to(torch::kDouble);
        a.clean_values.narrow(0, at0, n).copy_(base + bias);
        a.corrupt_values.narrow(0, at0, n).copy_(readout(corrupt_final) + bias);

        const model::Batch copies = repeated(batch, R);
        const std::int64_t T = batch.ids.size(1);
        for (int l = 0; l < L; ++l) {
            report(progress, frac(until[static_cast<std::size_t>(l)]), "total effect: patched runs");
            const Tensor zc = kc.at(model::hook_name(l, "attn.hook_z"));  // [n, T, H, dh]
            const Tensor mc = kc.at(model::hook_name(l, "hook_mlp_out")); // [n, T, d]
            model::RunOptions o;
            o.final_residual_only = o.last_logits_only = true;
            // Copy j < H of each pair: head j's z is the corrupted run's; copy H: the MLP's output is.
            o.add_hook(model::hook_name(l, "attn.hook_z"),
                       [zc, n, R, T, H, dh](const Tensor& z, const std::string&) {
                           Tensor out = z.clone(at::MemoryFormat::Contiguous);
                           Tensor v = out.view({n, R, T, H, dh});
                           for (std::int64_t h = 0; h < H; ++h)
                               v.select(1, h).select(2, h).copy_(zc.select(2, h));
                           return out;
                       });
            o.add_hook(model::hook_name(l, "hook_mlp_out"),
                       [mc, n, R, T, H, d](const Tensor& x, const std::string&) {
                           Tensor out = x.clone(at::MemoryFormat::Contiguous);
                           out.view({n, R, T, d}).select(1, H).copy_(mc);
                           return out;
                       });
            report_each_layer(o, m, progress, frac(until[static_cast<std::size_t>(l)]),
                              frac(until[static_cast<std::size_t>(l) + 1]), "total effect: patched runs");
            const Tensor resid = cc.at(model::hook_name(l, "hook_resid_pre")).repeat_interleave(R, 0);
            const Tensor patched = readout(m.forward_from(l, resid, copies, o).to(torch::kDouble)); // [nR, K]
            const Tensor drop = base.view({n, 1, K}) - patched.view({n, R, K}); // [n, R, K]
            a.per_pair.narrow(0, at0, n).select(2, l).copy_(drop.narrow(1, 0, H).permute({0, 2, 1}));
            a.mlp_per_pair.narrow(0, at0, n).select(2, l).copy_(drop.select(1, H));
        }
    }
    a.mean = a.per_pair.mean(0);
    a.mlp_mean = a.mlp_per_pair.mean(0);
    report(progress, 1.0, "total effect");
    return a;
}

} // namespace obsprop
