#include "obsprop/attribution.h"

#include <stdexcept>

#include <torch/csrc/autograd/autograd.h>

#include "obsprop/features.h"

namespace obsprop {

using torch::Tensor;

const char* attribution_method_name(AttributionMethod m) {
    switch (m) {
    case AttributionMethod::Patching:
        return "patching";
    case AttributionMethod::Gradient:
        return "gradient (attribution patching)";
    case AttributionMethod::Total:
        return "total effect (activation patching)";
    }
    return "patching";
}

namespace {

// Per prompt: every head's output at the last position [N, L, H, d] and the final residual there [N, d].
struct LastOutputs {
    Tensor heads;
    Tensor final_residual;
};

LastOutputs last_outputs(const model::Transformer& m, const PromptBatch& p, const Progress& progress) {
    const auto& c = m.config();
    const std::int64_t N = static_cast<std::int64_t>(p.size()), d = c.d_model, H = c.n_heads, dh = c.d_head;
    LastOutputs out{torch::empty({N, c.n_layers, H, d}), torch::empty({N, d})};
    model::RunOptions o;
    o.last_logits_only = true;
    o.final_residual_only = true; // the direct path needs no logits
    for (int l = 0; l < c.n_layers; ++l)
        o.cache.insert(model::hook_name(l, "attn.hook_z"));
    const std::size_t chunk = static_cast<std::size_t>(prompts_per_pass(c, p));
    for (std::size_t a = 0; a < p.size(); a += chunk) {
        report(progress, static_cast<double>(a) / static_cast<double>(p.size()), "head outputs");
        std::vector<int> which;
        for (std::size_t i = a; i < std::min(p.size(), a + chunk); ++i)
            which.push_back(static_cast<int>(i));
        auto sub = p.subset(which);
        model::ActivationCache cache;
        const auto batch = sub.batch();
        const double n = static_cast<double>(p.size());
        report_each_layer(o, m, progress, a / n, std::min(p.size(), a + chunk) / n, "head outputs");
        Tensor final_last = m.forward(batch, o, &cache); // [n, d]
        report(progress, std::min(p.size(), a + chunk) / n, "head outputs");
        Tensor last = batch.last_positions();
        Tensor rows = torch::arange(static_cast<std::int64_t>(sub.size()), torch::kLong);
        const auto first = static_cast<std::int64_t>(a), count = static_cast<std::int64_t>(sub.size());
        out.final_residual.narrow(0, first, count).copy_(final_last);
        for (int l = 0; l < c.n_layers; ++l) {
            Tensor z = cache.at(model::hook_name(l, "attn.hook_z")).index({rows, last}); // [n, H, dh]
            Tensor WO = m.layer(l, model::kOutput).W_O.view({d, H, dh});
            out.heads.narrow(0, first, count).select(1, l).copy_(at::einsum("nhe,dhe->nhd", {z, WO}));
        }
    }
    return out;
}

} // namespace

Attribution attribute_heads(const model::Transformer& m, const PromptBatch& clean, const PromptBatch& corrupt,
                            const ObservableMatrix& obs, AttributionMethod method, const Progress& progress) {
    if (clean.size() != corrupt.size())
        throw std::invalid_argument("clean and corrupted prompt lists differ in length");
    if (clean.ids.empty()) throw std::invalid_argument("no prompt pairs to attribute over");
    if (obs.size() == 0) throw std::invalid_argument("no observables to attribute");
    if (method == AttributionMethod::Total) return total_effect_attribution(m, clean, corrupt, obs, progress);
    torch::NoGradGuard ng;
    const auto& c = m.config();
    const auto& w = m.weights();
    const std::int64_t P = static_cast<std::int64_t>(clean.size()), K = obs.size();

    LastOutputs oc = last_outputs(m, clean, sub_progress(progress, 0.0, 0.45));
    LastOutputs ok = last_outputs(m, corrupt, sub_progress(progress, 0.45, 0.9));
    report(progress, 0.9, "patching");

    const Readout readout(m, obs.n);    // the unembedding rows the observables use, read once
    auto score = [&](const Tensor& r) { // r [..., d] -> [..., K]: n·z up to the constant n·b_U
        return readout(r);
    };
    Tensor r_clean = oc.final_residual.to(torch::kDouble);   // [P, d]
    Tensor delta = (ok.heads - oc.heads).to(torch::kDouble); // [P, L, H, d]
    Tensor base = score(r_clean);                            // [P, K]
    if (c.post_norms) {
        // Gemma 2/3: a head's change reaches the residual stream through its layer's post-attention norm, at
        // the clean attention output A = Σ_h o_h + b_O (last position): N(A + δ) − N(A) when patching,
        // J_N(A)δ for the gradient method.
        for (int l = 0; l < c.n_layers; ++l) {
            const auto& lw = w.layers[static_cast<std::size_t>(l)];
            const Tensor A =
                (oc.heads.select(1, l).sum(1) + lw.b_O).to(torch::kDouble).unsqueeze(1); // [P, 1, d]
            const Tensor dl = delta.select(1, l);                                        // [P, H, d]
            const Tensor g = lw.post_attn_w.to(torch::kDouble);
            delta.select(1, l).copy_(method == AttributionMethod::Patching
                                         ? model::apply_norm(c, A + dl, g, g) - model::apply_norm(c, A, g, g)
                                         : post_norm_jvp(m, l, PostNorm::Attn, A, dl));
        }
    }

    Attribution a;
    a.method = method;
    a.observables = obs.names;
    a.pairs_given = static_cast<int>(P);
    a.clean_values = base + at::matmul(obs.n.to(torch::kDouble), w.b_U.to(torch::kDouble)).unsqueeze(0);
    a.corrupt_values = score(ok.final_residual.to(torch::kDouble)) +
                       at::matmul(obs.n.to(torch::kDouble), w.b_U.to(torch::kDouble)).unsqueeze(0);
    if (method == AttributionMethod::Patching) {
        Tensor patched = score(r_clean.view({P, 1, 1, -1}) + delta);                         // [P, L, H, K]
        a.per_pair = (base.view({P, 1, 1, K}) - patched).permute({0, 3, 1, 2}).contiguous(); // [P, K, L, H]
    } else {
        // ∇_r n_k·W_U ln_f(r) at r_clean, one backward per observable.
        Tensor grads = torch::empty({K, P, c.d_model}, torch::kDouble);
        for (std::int64_t k = 0; k < K; ++k) {
            at::AutoGradMode enable(true);
            Tensor r = r_clean.clone().requires_grad_(true);
            Tensor s = score(r).select(1, k).sum();
            grads[k] = torch::autograd::grad({s}, {r})[0];
        }
        // −delta · grad: [P, L, H, d] x [K, P, d] -> [P, K, L, H]
        a.per_pair = -at::einsum("plhd,kpd->pklh", {delta, grads});
    }
    a.mean = a.per_pair.mean(0);
    report(progress, 1.0, "patching");
    return a;
}

} // namespace obsprop
