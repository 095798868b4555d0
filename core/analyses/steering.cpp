#include "analyses/steering.h"

#include <cmath>
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "model/hooks.h"
#include "obsprop/steering.h"
#include "obsprop/steering_limits.h"

namespace obsprop::analyses {

std::string multiplier_problem(double alpha) {
    if (!std::isfinite(alpha)) return "is not a finite number";
    if (std::abs(alpha) > kMaxSteeringMultiplier) return "is absurd (|α| must be at most 1e6)";
    return {};
}

using torch::Tensor;

struct SteeringPlan::Impl {
    std::shared_ptr<const Workspace> ws;
    std::string ln_mode, dataset;
    PromptBatch prompts; // name-slot positions; each vector carries its own
    ObservableMatrix obs;
    std::vector<std::string> texts;
    std::vector<SteeringVector> vectors;
    std::vector<Tensor> ys; // [d] float32 as added
    std::vector<std::vector<int>> positions;
    std::vector<SteeringBaseline> bases;
};

std::string SteeringVector::label() const {
    return path_title(path) + " (" + observable + ")";
}

std::shared_ptr<const SteeringPlan> SteeringPlan::prepare(const Analysis& a,
                                                          const std::vector<SteeringVector>& vectors,
                                                          const Progress& progress) {
    const auto& w = a.workspace();
    if (w.observables().empty()) throw std::invalid_argument("steering needs at least one observable");
    auto p = std::make_shared<Impl>();
    p->ws = a.workspace_ptr();
    p->ln_mode = a.settings().ln_mode;
    p->dataset = a.settings().dataset;
    p->prompts = w.prompt_batch(p->dataset, "name");
    p->obs = w.observable_matrix();
    for (const auto& pr : w.dataset(p->dataset).prompts)
        p->texts.push_back(pr.text);
    const double n = static_cast<double>(std::max<std::size_t>(1, vectors.size()));
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        SteeringVector v = vectors[i];
        const std::string what = "steering vector " + std::to_string(i + 1) + " (" + v.label() + ")";
        try {
            v.observable = w.observable(v.observable).name;
            if (a.settings().position) v.position = *a.settings().position;
            const auto nodes = to_nodes(v.path);
            if (nodes.empty()) throw std::invalid_argument("it names no head or MLP");
            validate_path(w.model().config(), nodes);
            if (v.layer < 0) v.layer = nodes.front().layer;
            FeatureOptions fo = ln_options(a, v.observable);
            Tensor y = compute_path_feature(w.model(), w.observable(v.observable), nodes, fo,
                                            path_inputs(a, v.observable, nodes))
                           .feature.to(torch::kFloat);
            if (v.normalize) {
                const double norm = y.norm().item<double>();
                if (!(norm > 0))
                    throw std::invalid_argument("its feature vector is zero and cannot be normalised");
                y = y / norm;
            }
            const PromptBatch at = w.prompt_batch(p->dataset, v.position);
            p->bases.push_back(steering_baseline(w.model(), at, v.layer, p->obs,
                                                 sub_progress(progress, i / n, (i + 1) / n)));
            p->positions.push_back(at.positions);
            p->ys.push_back(y);
            p->vectors.push_back(v);
        } catch (const Cancelled&) {
            throw;
        } catch (const std::exception& e) {
            throw std::invalid_argument(what + ": " + e.what());
        }
    }
    return std::make_shared<const SteeringPlan>(p);
}

const std::vector<SteeringVector>& SteeringPlan::vectors() const {
    return impl_->vectors;
}

SteeringReport SteeringPlan::predict(const std::vector<double>& alphas) const {
    const Impl& p = *impl_;
    if (alphas.size() != p.vectors.size())
        throw std::invalid_argument("one multiplier per steering vector is needed (" +
                                    std::to_string(p.vectors.size()) + ")");
    SteeringReport r;
    r.ln_mode = p.ln_mode;
    r.dataset = p.dataset;
    r.vectors = p.vectors;
    r.observables = p.obs.names;
    r.prompts = p.texts;
    r.positions = p.positions;
    r.exact = false;
    Tensor total = torch::zeros({p.obs.size()}, torch::kDouble);
    Tensor before = torch::zeros({p.obs.size()}, torch::kDouble);
    for (std::size_t i = 0; i < p.vectors.size(); ++i) {
        r.vectors[i].alpha = alphas[i];
        r.vector_norms.push_back(p.ys[i].norm().item<double>());
        total += predict_steering(p.bases[i], p.ys[i], alphas[i]);
    }
    r.predicted = to_vector(total);
    if (!p.bases.empty()) r.mean_before = to_vector(p.bases.front().values.mean(0));
    require_finite(*p.ws, r);
    return r;
}

SteeringReport SteeringPlan::run(const std::vector<double>& alphas, const Progress& progress) const {
    const Impl& p = *impl_;
    SteeringReport r = predict(alphas);
    if (p.vectors.empty()) return r;
    std::vector<SteeringTerm> terms;
    const SteeringBaseline* resume = nullptr; // resume from the cached residual of the earliest layer
    for (std::size_t i = 0; i < p.vectors.size(); ++i) {
        terms.push_back({p.vectors[i].layer, p.ys[i], alphas[i], p.positions[i]});
        if (!resume || p.bases[i].layer < resume->layer) resume = &p.bases[i];
    }
    const Tensor after = steered_values(p.ws->model(), p.prompts, terms, p.obs, progress, resume);
    const Tensor before = p.bases.front().values;
    r.exact = true;
    r.mean_change = to_vector((after - before).mean(0));
    for (std::int64_t i = 0; i < after.size(0); ++i) {
        r.before.push_back(to_vector(before[i]));
        r.after.push_back(to_vector(after[i]));
    }
    require_finite(*p.ws, r);
    return r;
}

SteeringReport steering_report(const Analysis& a, const std::vector<SteeringVector>& vectors,
                               const Progress& progress) {
    if (vectors.empty()) throw std::invalid_argument("give at least one steering vector");
    auto plan = SteeringPlan::prepare(a, vectors, sub_progress(progress, 0, 0.5));
    std::vector<double> alphas;
    for (const auto& v : vectors)
        alphas.push_back(v.alpha);
    return plan->run(alphas, sub_progress(progress, 0.5, 1));
}

} // namespace obsprop::analyses
