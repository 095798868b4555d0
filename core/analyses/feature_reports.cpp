// The data-free reports (and the two that fit or check them on data): features, coupling, coupling scatter,
// SVD alignment, head detail.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "obsprop/analysis.h"
#include "obsprop/coupling_fit.h"

namespace obsprop::analyses {

using torch::Tensor;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ObservableInfo info(const Analysis& a, const Observable& o) {
    ObservableInfo i{o.name, o.expr, {}, {}, {}, o.warnings, a.settings().ln_dataset(o.name)};
    for (auto [id, w] : o.terms) {
        i.token_ids.push_back(id), i.weights.push_back(w);
        i.pieces.push_back(a.workspace().tokenizer().has_id(id) ? a.workspace().tokenizer().token_string(id)
                                                                : "");
    }
    return i;
}

void check_head(const Analysis& a, HeadId h) {
    const auto& c = a.workspace().model().config();
    if (h.layer < 0 || h.layer >= c.n_layers || h.head < 0 || h.head >= c.n_heads)
        throw std::invalid_argument("no head " + h.label() + " in this model (" + std::to_string(c.n_layers) +
                                    " layers × " + std::to_string(c.n_heads) + " heads)");
}

} // namespace

std::string observable_or_first(const Analysis& a, const std::string& wanted) {
    const auto& w = a.workspace();
    if (!wanted.empty()) return w.observable(wanted).name;
    if (w.observables().empty())
        throw std::invalid_argument("the project has no observable (add one with --observable)");
    return w.observables().front().name;
}

FeaturesReport features_report(const Analysis& a, const std::string& pair_a, const std::string& pair_b,
                               const Progress& progress) {
    const auto& w = a.workspace();
    if (w.observables().empty()) throw std::invalid_argument("feature norms need at least one observable");
    FeaturesReport r;
    r.ln_mode = a.settings().ln_mode;
    std::vector<std::string> names;
    for (const auto& o : w.observables()) {
        names.push_back(o.name);
        r.observables.push_back(info(a, o));
        LnUsed u{r.ln_mode, r.ln_mode == "none" ? std::string() : a.settings().ln_dataset(o.name), 0};
        if (r.ln_mode == "approx") {
            u.final_rho = ln_options(a, o.name, sub_progress(progress, 0, 0.2)).final_rho;
            if (a.settings().rho) u.dataset.clear();
        }
        r.ln.push_back(u);
    }
    for (const auto& fs : head_features(a, names, true, sub_progress(progress, 0.2, 0.7)))
        r.norms.push_back(to_grid(fs.norms));
    r.a = pair_a, r.b = pair_b;
    if (r.a.empty() && r.b.empty() && names.size() >= 2) r.a = names[0], r.b = names[1];
    if (!r.a.empty() || !r.b.empty()) {
        r.a = w.observable(r.a).name, r.b = w.observable(r.b).name;
        auto sets = head_features(a, {r.a, r.b}, false, sub_progress(progress, 0.7, 1));
        auto cmp = compare_features(sets[0], sets[1]);
        r.cosine = to_grid(cmp.cosine), r.coupling_ab = to_grid(cmp.coupling_ab),
        r.coupling_ba = to_grid(cmp.coupling_ba);
        r.unembed_cosine = cmp.unembed_cosine;
    }
    report(progress, 1.0, "features");
    require_finite(a.workspace(), r);
    return r;
}

CouplingReport coupling_report(const Analysis& a, const std::string& obs_a, const std::string& obs_b,
                               bool fits, const Progress& progress) {
    const auto& w = a.workspace();
    const auto& c = w.model().config();
    CouplingReport r;
    r.ln_mode = a.settings().ln_mode;
    r.a = w.observable(obs_a).name, r.b = w.observable(obs_b).name;
    auto sets = head_features(a, {r.a, r.b}, false, sub_progress(progress, 0, 0.2));
    auto cmp = compare_features(sets[0], sets[1]);
    r.cosine = to_grid(cmp.cosine), r.coupling_ab = to_grid(cmp.coupling_ab),
    r.coupling_ba = to_grid(cmp.coupling_ba);
    r.norm_a = to_grid(cmp.norm_a), r.norm_b = to_grid(cmp.norm_b);
    r.residual_ab = to_grid(cmp.residual_ab), r.residual_ba = to_grid(cmp.residual_ba);
    require_finite(a.workspace(), r);
    if (!fits) return r;
    r.dataset = a.settings().dataset;
    for (HeadGrid* g : {&r.fit_slope, &r.fit_intercept, &r.fit_r2})
        g->layers = c.n_layers, g->heads = c.n_heads,
        g->values.assign(static_cast<std::size_t>(c.n_layers * c.n_heads), kNaN);
    for (int l = 0; l < c.n_layers; ++l) {
        Tensor X = dataset_tokens(
            a, r.dataset, l,
            sub_progress(progress, 0.2 + 0.8 * l / c.n_layers, 0.2 + 0.8 * (l + 1) / c.n_layers));
        for (int h = 0; h < c.n_heads; ++h) {
            auto f = fit_coupling(X, sets[0].heads[l][h], sets[1].heads[l][h]);
            const auto i = static_cast<std::size_t>(l * c.n_heads + h);
            r.fit_slope.values[i] = f.slope, r.fit_intercept.values[i] = f.intercept,
            r.fit_r2.values[i] = f.r2;
        }
    }
    return r;
}

namespace {

CouplingHeadsReport combine(const std::string& a, const std::string& b, const HeadGrid& c,
                            const AttributionReport& at) {
    CouplingHeadsReport r{a, b, at.method, at.dataset, {}};
    auto index = [&](const std::string& n) -> std::size_t {
        for (std::size_t k = 0; k < at.observables.size(); ++k)
            if (at.observables[k] == n) return k;
        throw std::invalid_argument("the attribution report has no observable '" + n + "'");
    };
    const HeadGrid &ma = at.mean[index(a)], &mb = at.mean[index(b)];
    if (ma.layers != c.layers || ma.heads != c.heads)
        throw std::invalid_argument("reports of different models");
    for (int l = 0; l < c.layers; ++l)
        for (int h = 0; h < c.heads; ++h) {
            const CouplingHeadsReport::Point p{
                {l, h}, c.at(l, h), ma.at(l, h), mb.at(l, h), mb.at(l, h) / ma.at(l, h)};
            if (std::isfinite(p.coupling) && std::isfinite(p.ratio)) r.points.push_back(p);
        }
    return r;
}

} // namespace

CouplingHeadsReport coupling_heads(const FeaturesReport& f, const AttributionReport& at) {
    if (f.a.empty() || f.coupling_ab.empty())
        throw std::invalid_argument("the features report compares no pair");
    return combine(f.a, f.b, f.coupling_ab, at);
}

CouplingHeadsReport coupling_heads(const CouplingReport& c, const AttributionReport& at) {
    return combine(c.a, c.b, c.coupling_ab, at);
}

CouplingScatterReport coupling_scatter_report(const Analysis& a, HeadId head, const std::string& obs_a,
                                              const std::string& obs_b, const Progress& progress) {
    check_head(a, head);
    const auto& w = a.workspace();
    CouplingScatterReport r;
    r.ln_mode = a.settings().ln_mode;
    r.a = w.observable(obs_a).name, r.b = w.observable(obs_b).name;
    r.dataset = a.settings().dataset;
    r.head = head;
    auto sets = head_features(a, {r.a, r.b}, false, sub_progress(progress, 0, 0.5));
    const Tensor ya = sets[0].heads[head.layer][head.head], yb = sets[1].heads[head.layer][head.head];
    const Tensor X = dataset_tokens(a, r.dataset, head.layer, sub_progress(progress, 0.5, 1));
    auto fit = fit_coupling(X, ya, yb);
    auto cp = coupling(ya, yb);
    r.s1 = to_vector(fit.s1), r.s2 = to_vector(fit.s2);
    r.slope = fit.slope, r.intercept = fit.intercept, r.r2 = fit.r2, r.predicted = fit.predicted;
    r.norm_a = cp.norm_from, r.residual_norm = cp.residual_norm;
    r.mean_token_norm = X.to(torch::kDouble).norm(2, {1}).mean().item<double>();
    r.half_width_at_zero =
        r.norm_a > 0 ? cp.half_width(r.mean_token_norm, 0) : std::numeric_limits<double>::quiet_NaN();
    // Theorem 2's band over the tokens' range of s₁ where it exists (|k| <= r‖y_a‖).
    if (!r.s1.empty() && r.norm_a > 0) {
        const auto [mn, mx] = std::minmax_element(r.s1.begin(), r.s1.end());
        const double kmax = r.mean_token_norm * r.norm_a;
        const double k0 = std::max(*mn, -kmax), k1 = std::min(*mx, kmax);
        constexpr int kSteps = 120;
        for (int i = 0; k1 > k0 && i <= kSteps; ++i) {
            const double k = k0 + (k1 - k0) * i / kSteps;
            const double half = cp.half_width(r.mean_token_norm, std::clamp(k, -kmax, kmax));
            r.band_k.push_back(k);
            r.band_low.push_back(cp.expectation(k) - half);
            r.band_high.push_back(cp.expectation(k) + half);
        }
    }
    require_finite(a.workspace(), r);
    return r;
}

SvdReport svd_report(const Analysis& a, const std::string& observable, const Progress& progress) {
    const auto& c = a.workspace().model().config();
    SvdReport r;
    r.ln_mode = a.settings().ln_mode;
    r.observable = a.workspace().observable(observable).name;
    auto sets = head_features(a, {r.observable}, false, sub_progress(progress, 0, 0.2));
    const auto& svds = head_svds(a, sub_progress(progress, 0.2, 1));
    auto al = svd_alignment(a.workspace().model(), svds, sets[0], a.settings().svd_top_k);
    r.top_k = al.top_k;
    for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_heads; ++h)
            for (int k = 0; k < al.top_k; ++k)
                r.entries.push_back({{l, h},
                                     k + 1,
                                     static_cast<int>(al.indices[l][h][k].item<std::int64_t>()),
                                     al.top_sigma[l][h][k].item<double>(),
                                     al.cosines[l][h][k].item<double>(),
                                     al.in_span[l][h].item<double>()});
    require_finite(a.workspace(), r);
    return r;
}

HeadDetailReport head_detail_report(const Analysis& a, HeadId head, const Progress& progress) {
    check_head(a, head);
    const auto& w = a.workspace();
    const auto& c = w.model().config();
    HeadDetailReport d;
    d.head = head;
    d.expected_ln_cosine = expected_ln_cosine(c.d_model, !c.rms());
    report(progress, 0.0, "singular vectors");
    HeadSvd svd = head_svd(w.model(), head.layer);
    Tensor V = svd.V[head.head].to(torch::kDouble); // [d, dh]
    d.sigma = to_vector(svd.S[head.head]);
    const auto& obs = w.observables();
    // The features at the head's input do not depend on the block LayerNorms; ln_f per the settings.
    std::vector<std::string> names;
    for (const auto& o : obs)
        names.push_back(o.name);
    auto sets = head_features(a, names, false, sub_progress(progress, 0.2, 0.6));
    for (std::size_t k = 0; k < obs.size(); ++k) {
        report(progress, 0.6 + 0.4 * k / std::max<std::size_t>(1, obs.size()), "alignment");
        d.observables.push_back(obs[k].name);
        Tensor y = sets[k].head_inputs[head.layer][head.head].to(torch::kDouble);
        const double n = y.norm().item<double>();
        d.cosine.push_back(
            to_vector(n > 0 ? at::matmul(y, V) / n : torch::zeros({V.size(1)}, torch::kDouble)));
        const LayerNormCheck& chk = ln_check(a, obs[k].name);
        d.ln_check.push_back(chk.cosine[head.layer][head.head].item<double>());
        d.ln_check_min.push_back(chk.cosine_min[head.layer][head.head].item<double>());
        d.ln_check_tokens.push_back(static_cast<int>(chk.tokens));
        d.ln_check_dataset.push_back(a.settings().ln_dataset(obs[k].name));
    }
    report(progress, 1.0, "alignment");
    require_finite(a.workspace(), d);
    return d;
}

} // namespace obsprop::analyses
