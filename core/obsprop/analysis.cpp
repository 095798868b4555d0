#include "obsprop/analysis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NaN where the denominator is zero.
Tensor safe_div(const Tensor& num, const Tensor& den) {
    return torch::where(den > 0, num / den, torch::full_like(num, kNaN));
}

double cos_of(const Tensor& a, const Tensor& b) {
    const double na = a.norm().item<double>(), nb = b.norm().item<double>();
    if (!(na > 0) || !(nb > 0)) return kNaN;
    return (a * b).sum().item<double>() / (na * nb);
}

} // namespace

Tensor head_feature_norms(const model::Transformer& m, const Observable& obs, const FeatureOptions& opts,
                          const Progress& progress) {
    FeatureOptions o = opts;
    o.drop_earliest_rho = true;
    return compute_head_features(m, obs, o, progress).norms;
}

Tensor head_feature_norms(const model::Transformer& m, const std::vector<Observable>& obs,
                          const FeatureOptions& opts, const Progress& progress) {
    FeatureOptions o = opts;
    o.drop_earliest_rho = true;
    std::vector<Tensor> norms;
    for (auto& fs : compute_head_features(m, obs, o, progress))
        norms.push_back(fs.norms);
    return torch::stack(norms);
}

double Coupling::half_width(double r, double k) const {
    const double inside = r * r - (k * k) / (norm_from * norm_from);
    if (inside < -1e-12 * r * r || !std::isfinite(inside))
        throw std::invalid_argument("no x with ‖x‖ = " + std::to_string(r) +
                                    " and y1·x = " + std::to_string(k) + " exists (needs |k| <= r‖y1‖)");
    return std::sqrt(std::max(0.0, inside)) * residual_norm;
}

Coupling coupling(const Tensor& y_from, const Tensor& y_to) {
    if (y_from.numel() != y_to.numel()) throw std::invalid_argument("coupling: vectors of different lengths");
    torch::NoGradGuard ng;
    const Tensor a = y_from.detach().to(torch::kDouble).reshape({-1});
    const Tensor b = y_to.detach().to(torch::kDouble).reshape({-1});
    Coupling c;
    c.norm_from = a.norm().item<double>();
    c.norm_to = b.norm().item<double>();
    const double dot = (a * b).sum().item<double>();
    if (c.norm_from > 0) {
        c.coefficient = dot / (c.norm_from * c.norm_from);
        c.residual_norm = (b - a * c.coefficient).norm().item<double>();
    } else {
        c.coefficient = kNaN;
        c.residual_norm = kNaN;
    }
    c.cosine = c.norm_from > 0 && c.norm_to > 0 ? dot / (c.norm_from * c.norm_to) : kNaN;
    return c;
}

Coupling HeadComparison::at(int layer, int head, bool a_to_b) const {
    Coupling c;
    c.coefficient = (a_to_b ? coupling_ab : coupling_ba)[layer][head].item<double>();
    c.cosine = cosine[layer][head].item<double>();
    c.norm_from = (a_to_b ? norm_a : norm_b)[layer][head].item<double>();
    c.norm_to = (a_to_b ? norm_b : norm_a)[layer][head].item<double>();
    c.residual_norm = (a_to_b ? residual_ab : residual_ba)[layer][head].item<double>();
    return c;
}

HeadComparison compare_features(const FeatureSet& a, const FeatureSet& b) {
    if (!a.heads.defined() || !b.heads.defined() || a.heads.sizes() != b.heads.sizes())
        throw std::invalid_argument("compare_features: feature sets of different models or shapes");
    torch::NoGradGuard ng;
    const Tensor ya = a.heads.to(torch::kDouble), yb = b.heads.to(torch::kDouble); // [L, H, d]
    HeadComparison r;
    r.a = a.observable;
    r.b = b.observable;
    r.norm_a = ya.norm(2, {-1});
    r.norm_b = yb.norm(2, {-1});
    const Tensor dot = (ya * yb).sum(-1);
    r.cosine = safe_div(dot, r.norm_a * r.norm_b);
    r.coupling_ab = safe_div(dot, r.norm_a * r.norm_a);
    r.coupling_ba = safe_div(dot, r.norm_b * r.norm_b);
    r.residual_ab = (yb - ya * r.coupling_ab.unsqueeze(-1)).norm(2, {-1});
    r.residual_ba = (ya - yb * r.coupling_ba.unsqueeze(-1)).norm(2, {-1});
    r.unembed_cosine = cos_of(a.final.v_unembed.to(torch::kDouble), b.final.v_unembed.to(torch::kDouble));
    r.final_cosine = cos_of(a.final.v_final.to(torch::kDouble), b.final.v_final.to(torch::kDouble));
    return r;
}

HeadComparison compare_observables(const model::Transformer& m, const Observable& a, const Observable& b,
                                   const FeatureOptions& opts, const Progress& progress) {
    FeatureSet fa = compute_head_features(m, a, opts, sub_progress(progress, 0.0, 0.5));
    FeatureSet fb = compute_head_features(m, b, opts, sub_progress(progress, 0.5, 1.0));
    return compare_features(fa, fb);
}

LayerNormCheck layernorm_check(const model::Transformer& m, const Observable& obs, const Tensor& residuals,
                               const FeatureOptions& opts, const Progress& progress) {
    const auto& cfg = m.config();
    const std::int64_t L = cfg.n_layers, H = cfg.n_heads, d = cfg.d_model;
    if (!residuals.defined() || residuals.dim() != 2 || residuals.size(0) != L || residuals.size(1) != d)
        throw std::invalid_argument("layernorm_check needs residuals [n_layers, d_model]");
    torch::NoGradGuard ng;
    FeatureOptions o = opts;
    o.drop_earliest_rho = false;
    o.block_ln = LnMode::None; // head_inputs do not depend on the block treatment
    FeatureSet fs = compute_head_features(m, obs, o, sub_progress(progress, 0.0, 0.5));
    const Tensor x = residuals.detach().to(torch::kDouble);
    const bool own_rho = opts.rho_ln1.empty() && opts.default_rho <= 0;
    LayerNormCheck r;
    r.cosine = torch::empty({L, H}, torch::kDouble);
    r.norm_exact = torch::empty({L, H}, torch::kDouble);
    r.norm_approx = torch::empty({L, H}, torch::kDouble);
    // A random direction keeps √(1 − 1/(d−1)) of itself under the LayerNorm Jacobian's projection as checked
    // so far, √(1 − 1/d) under RMSNorm's (I − uuᵀ) (no mean removal).
    r.expected_cosine = std::sqrt(1.0 - 1.0 / static_cast<double>(cfg.rms() ? d : d - 1));
    for (int l = 0; l < L; ++l) {
        report(progress, 0.5 + 0.5 * l / static_cast<double>(L), "LayerNorm check");
        const Tensor y = fs.head_inputs[l].to(torch::kDouble); // [H, d]
        const Tensor gamma = m.weights().layers[static_cast<std::size_t>(l)].ln1_w;
        const Tensor ex = ln_exact_grad(x[l], gamma, y, cfg.ln_eps, false, !cfg.rms());
        const double rho = own_rho ? x[l].norm().item<double>() : block_rho(opts, cfg, l, BlockLn::Ln1);
        const Tensor ap = ln_approx_grad(gamma, y, rho);
        const Tensor ne = ex.norm(2, {-1}), na = ap.norm(2, {-1});
        r.norm_exact[l].copy_(ne);
        r.norm_approx[l].copy_(na);
        r.cosine[l].copy_(safe_div((ex * ap).sum(-1), ne * na));
    }
    report(progress, 1.0, "LayerNorm check");
    return r;
}

} // namespace obsprop
