#include "obsprop/steering.h"

#include <cmath>
#include <stdexcept>

#include <torch/csrc/autograd/autograd.h>

namespace obsprop {

using torch::Tensor;

namespace {

void check_layer(const model::Transformer& m, int layer) {
    if (layer < 0 || layer >= m.config().n_layers)
        throw std::invalid_argument("steering layer " + std::to_string(layer) +
                                    " does not exist (the model has " + std::to_string(m.config().n_layers) +
                                    " layers)");
}

std::vector<std::int64_t> positions64(const PromptBatch& p) {
    return {p.positions.begin(), p.positions.end()};
}

} // namespace

SteeringBaseline steering_baseline(const model::Transformer& m, const PromptBatch& prompts, int layer,
                                   const ObservableMatrix& obs, const Progress& progress) {
    prompts.check(/*every_token=*/true);
    check_layer(m, layer);
    if (obs.size() == 0) throw std::invalid_argument("no observables to steer");
    const auto N = static_cast<std::int64_t>(prompts.size()),
               d = static_cast<std::int64_t>(m.config().d_model);
    SteeringBaseline b;
    b.layer = layer;
    b.observables = obs.names;
    b.gradients = torch::empty({obs.size(), N, d}, torch::kDouble);

    // One forward with a zero vector added at the steering point; its gradient is ∇_x(n·z) there.
    report(progress, 0.0, "steering gradients");
    at::AutoGradMode enable(true);
    Tensor delta = torch::zeros({N, d}, torch::requires_grad());
    model::RunOptions o;
    o.last_logits_only = true;
    Tensor resid;
    o.add_hook(model::hook_name(layer, "hook_resid_pre"), [&](const Tensor& x, const std::string&) {
        resid = x.detach().clone();
        // One delta per prompt, added at its position or at every token (kEveryToken): the gradient with
        // respect to it is the sum of the gradients at the tokens it is added at.
        Tensor mask = torch::zeros({N, x.size(1), 1}, x.options());
        for (std::int64_t i = 0; i < N; ++i) {
            const int p = prompts.positions[static_cast<std::size_t>(i)];
            if (p < 0)
                mask[i].fill_(1.0);
            else
                mask[i][p][0] = 1.0;
        }
        return x + mask * delta.unsqueeze(1);
    });
    report_each_layer(o, m, progress, 0.0, 0.5, "steering gradients");
    o.final_residual_only = true;
    Tensor values = observable_scores(m, m.forward(prompts.batch(), o), obs); // [N, K]
    for (int k = 0; k < obs.size(); ++k) {
        report(progress, 0.5 + 0.5 * static_cast<double>(k) / obs.size(), "steering gradients");
        Tensor g = torch::autograd::grad({values.select(1, k).sum()}, {delta}, {}, /*retain_graph=*/true)[0];
        b.gradients[k] = g.to(torch::kDouble);
    }
    b.values = values.detach();
    b.resid = resid;
    report(progress, 1.0, "steering gradients");
    return b;
}

Tensor predict_steering(const SteeringBaseline& base, const Tensor& y, double alpha) {
    if (y.dim() != 1 || y.size(0) != base.gradients.size(2))
        throw std::invalid_argument("steering vector has the wrong size");
    return alpha * at::matmul(base.gradients, y.to(torch::kDouble)).mean(1); // [K]
}

namespace {

void check_term(const model::Transformer& m, const Tensor& y, double alpha) {
    if (!std::isfinite(alpha)) throw std::invalid_argument("the steering multiplier is not a finite number");
    if (std::abs(alpha) > kMaxSteeringMultiplier)
        throw std::invalid_argument("steering multiplier " + std::to_string(alpha) +
                                    " is absurd (|α| must be at most 1e6)");
    if (y.dim() != 1 || y.size(0) != m.config().d_model)
        throw std::invalid_argument("steering vector has " + std::to_string(y.numel()) +
                                    " entries; the model's d_model is " + std::to_string(m.config().d_model));
    if (!torch::isfinite(y).all().item<bool>())
        throw std::invalid_argument("the steering vector contains NaN or infinity");
}

} // namespace

Tensor steered_values(const model::Transformer& m, const PromptBatch& prompts,
                      const std::vector<SteeringTerm>& terms, const ObservableMatrix& obs,
                      const Progress& progress, const SteeringBaseline* resume) {
    prompts.check(/*every_token=*/true);
    torch::NoGradGuard ng;
    report(progress, 0.0, "steering");
    model::RunOptions o;
    o.last_logits_only = true;
    for (const auto& t : terms) {
        check_layer(m, t.layer);
        check_term(m, t.y, t.alpha);
        if (!t.positions.empty() && t.positions.size() != prompts.size())
            throw std::invalid_argument("a steering term needs one position per prompt");
        for (std::size_t i = 0; i < t.positions.size(); ++i)
            if (t.positions[i] < -1 || t.positions[i] >= static_cast<int>(prompts.ids[i].size()))
                throw std::invalid_argument("steering position " + std::to_string(t.positions[i]) +
                                            " is outside prompt " + std::to_string(i));
        const auto pos = t.positions.empty()
                             ? positions64(prompts)
                             : std::vector<std::int64_t>(t.positions.begin(), t.positions.end());
        o.add_hook(model::hook_name(t.layer, "hook_resid_pre"),
                   model::add_vector_at((t.alpha * t.y.to(torch::kFloat)).contiguous(), pos));
    }
    int earliest = m.config().n_layers;
    for (const auto& t : terms)
        earliest = std::min(earliest, t.layer);
    report_each_layer(o, m, progress, 0.0, 1.0, "steering");
    const bool resumable = resume && resume->resid.defined() && resume->layer == earliest &&
                           resume->resid.size(0) == static_cast<std::int64_t>(prompts.size());
    o.final_residual_only = true;
    Tensor final = resumable ? m.forward_from(earliest, resume->resid, prompts.batch(), o)
                             : m.forward(prompts.batch(), o);
    Tensor v = observable_scores(m, final, obs);
    report(progress, 1.0, "steering");
    return v;
}

SteeringResult steer(const model::Transformer& m, const PromptBatch& prompts, const SteeringBaseline& base,
                     const ObservableMatrix& obs, const Tensor& y, double alpha, const Progress& progress) {
    prompts.check(/*every_token=*/true);
    check_layer(m, base.layer);
    check_term(m, y, alpha);
    if (base.values.size(0) != static_cast<std::int64_t>(prompts.size()) || base.values.size(1) != obs.size())
        throw std::invalid_argument("the steering baseline was computed for other prompts or observables");
    SteeringResult r;
    r.alpha = alpha;
    r.values = steered_values(m, prompts, {{base.layer, y, alpha, {}}}, obs, progress, &base);
    r.change = r.values - base.values;
    r.mean_change = r.change.mean(0);
    r.predicted = predict_steering(base, y, alpha);
    return r;
}

} // namespace obsprop
