// The debiasing sweep (docs/debias.md): the heads ranked by the coupling report's C(raise→lower), and each
// candidate's steering vector run through the steering plan (steering.h) for every multiplier. Nothing here
// computes a feature, a coupling or a steered value itself.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "analyses/run.h"
#include "analyses/steering.h"
#include "analyses/workspace.h"

namespace obsprop::analyses {

namespace {

std::string number_text(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
}

std::size_t index_of(const std::vector<std::string>& names, const std::string& name) {
    for (std::size_t k = 0; k < names.size(); ++k)
        if (names[k] == name) return k;
    throw std::logic_error("steering report without observable '" + name + "'");
}

} // namespace

std::vector<double> default_debias_alphas(bool normalize) {
    if (normalize) return {-20, -5, -1, 1, 5, 20};
    return {-50, -20, -5, 5, 20, 50};
}

DebiasReport debias_report(const Analysis& a, const DebiasOptions& options, const Progress& progress) {
    const auto& w = a.workspace();
    const auto& cfg = w.model().config();
    if (options.raise.empty() || options.lower.empty())
        throw std::invalid_argument("the debiasing sweep needs an observable to raise and one to lower");
    DebiasReport r;
    r.raise = w.observable(options.raise).name;
    r.lower = w.observable(options.lower).name;
    if (r.raise == r.lower)
        throw std::invalid_argument("the observable to raise and the one to lower are both '" + r.raise +
                                    "': give two different observables");
    r.feature_of = w.observable(options.feature_of.empty() ? r.raise : options.feature_of).name;
    if (options.candidates < 1)
        throw std::invalid_argument("the number of candidate heads must be at least 1 (got " +
                                    std::to_string(options.candidates) + ")");
    r.alphas = options.alphas ? *options.alphas : default_debias_alphas(options.normalize);
    if (r.alphas.empty()) throw std::invalid_argument("give at least one multiplier α");
    for (double alpha : r.alphas) {
        if (const std::string why = multiplier_problem(alpha); !why.empty())
            throw std::invalid_argument("the multiplier α = " + number_text(alpha) + " " + why);
    }
    if (options.layer < -1 || options.layer >= cfg.n_layers)
        throw std::invalid_argument("no layer " + std::to_string(options.layer) + " in this model (" +
                                    std::to_string(cfg.n_layers) + " layers; -1: each head's own)");
    r.ln_mode = a.settings().ln_mode;
    r.dataset = a.settings().dataset;
    r.normalize = options.normalize;
    r.layer = options.layer;

    // The ranking: every head with a defined coupling, most negative first (ties in head order).
    r.coupling = coupling_report(a, r.raise, r.lower, false, sub_progress(progress, 0, 0.05)).coupling_ab;
    std::vector<HeadId> heads;
    for (int l = 0; l < r.coupling.layers; ++l)
        for (int h = 0; h < r.coupling.heads; ++h)
            if (std::isfinite(r.coupling.at(l, h))) heads.push_back({l, h});
    std::stable_sort(heads.begin(), heads.end(), [&](HeadId x, HeadId y) {
        return r.coupling.at(x.layer, x.head) < r.coupling.at(y.layer, y.head);
    });
    if (heads.empty())
        throw std::invalid_argument("no head has a coupling coefficient C(" + r.raise + "→" + r.lower +
                                    ") (every feature of '" + r.raise + "' is zero)");
    heads.resize(std::min<std::size_t>(heads.size(), static_cast<std::size_t>(options.candidates)));
    r.candidates = static_cast<int>(heads.size());

    // The sweep: one steering plan per candidate (its vector and baseline), run for every α; a plan run with
    // one vector is what steering_report(a, {vector with α}) computes.
    const double n = static_cast<double>(heads.size());
    for (std::size_t i = 0; i < heads.size(); ++i) {
        const double from = 0.05 + 0.95 * static_cast<double>(i) / n, span = 0.95 / n;
        SteeringVector v;
        v.observable = r.feature_of;
        v.path = {heads[i]};
        v.layer = options.layer;
        v.normalize = options.normalize;
        auto plan = SteeringPlan::prepare(a, {v}, sub_progress(progress, from, from + span * 0.3));
        const SteeringVector& applied = plan->vectors().front();
        r.position = applied.position;
        for (std::size_t j = 0; j < r.alphas.size(); ++j) {
            const double at = from + span * (0.3 + 0.7 * static_cast<double>(j) / r.alphas.size());
            const SteeringReport s =
                plan->run({r.alphas[j]}, sub_progress(progress, at, at + span * 0.7 / r.alphas.size()));
            const std::size_t up = index_of(s.observables, r.raise), down = index_of(s.observables, r.lower);
            if (i == 0 && j == 0) r.mean_raise = s.mean_before[up], r.mean_lower = s.mean_before[down];
            DebiasReport::Row row;
            row.rank = static_cast<int>(i) + 1;
            row.head = heads[i];
            row.coupling = r.coupling.at(heads[i].layer, heads[i].head);
            row.layer = applied.layer;
            row.vector_norm = s.vector_norms.front();
            row.alpha = r.alphas[j];
            row.change_raise = s.mean_change[up], row.change_lower = s.mean_change[down];
            row.predicted_raise = s.predicted[up], row.predicted_lower = s.predicted[down];
            row.separates = row.change_raise > 0 && row.change_lower < 0;
            row.score = row.change_raise - row.change_lower;
            r.rows.push_back(row);
        }
    }
    report(progress, 1.0, "debias");
    return r;
}

} // namespace obsprop::analyses
