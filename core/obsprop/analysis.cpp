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
    const bool one = residuals.defined() && residuals.dim() == 2;
    if (!residuals.defined() || (residuals.dim() != 2 && residuals.dim() != 3) || residuals.size(-2) != L ||
        residuals.size(-1) != d || (!one && residuals.size(0) == 0))
        throw std::invalid_argument(
            "layernorm_check needs residuals [tokens, n_layers, d_model] or [n_layers, d_model]");
    torch::NoGradGuard ng;
    FeatureOptions o = opts;
    o.drop_earliest_rho = false;
    o.block_ln = LnMode::None; // head_inputs do not depend on the block treatment
    FeatureSet fs = compute_head_features(m, obs, o, sub_progress(progress, 0.0, 0.5));
    const Tensor x = (one ? residuals.unsqueeze(0) : residuals).detach().to(torch::kDouble); // [N, L, d]
    const std::int64_t N = x.size(0);
    const bool own_rho = opts.rho_ln1.empty() && opts.default_rho <= 0;
    LayerNormCheck r;
    r.tokens = N;
    r.cosine = torch::zeros({L, H}, torch::kDouble);
    r.cosine_min = torch::full({L, H}, 2.0, torch::kDouble);
    r.norm_exact = torch::zeros({L, H}, torch::kDouble);
    r.norm_approx = torch::zeros({L, H}, torch::kDouble);
    r.expected_cosine = expected_ln_cosine(d, !cfg.rms());
    // Tokens in chunks, so [chunk, H, d] stays small whatever the dataset.
    const std::int64_t chunk =
        std::max<std::int64_t>(1, (std::int64_t{1} << 22) / std::max<std::int64_t>(1, H * d));
    for (int l = 0; l < L; ++l) {
        report(progress, 0.5 + 0.5 * l / static_cast<double>(L), "LayerNorm check");
        const Tensor y = fs.head_inputs[l].to(torch::kDouble); // [H, d]
        const Tensor gamma = m.weights().layers[static_cast<std::size_t>(l)].ln1_w;
        // The approximate pull-back is (√d/ρ) γ⊙y: its direction does not depend on ρ.
        const Tensor ap = ln_approx_grad(gamma, y, 1.0).unsqueeze(0); // [1, H, d] at ρ = 1
        const Tensor na1 = ap.norm(2, {-1});                          // [1, H]
        const double rho = own_rho ? 0.0 : block_rho(opts, cfg, l, BlockLn::Ln1);
        for (std::int64_t t0 = 0; t0 < N; t0 += chunk) {
            const Tensor xl = x.index({torch::indexing::Slice(t0, std::min(N, t0 + chunk)), l}); // [n, d]
            const Tensor ex =
                ln_exact_grad(xl.unsqueeze(1), gamma, y.unsqueeze(0), cfg.ln_eps, false, !cfg.rms());
            const Tensor ne = ex.norm(2, {-1});                       // [n, H]
            const Tensor cos = safe_div((ex * ap).sum(-1), ne * na1); // [n, H]
            const Tensor rhos =
                own_rho ? xl.norm(2, {-1}, true) : torch::full({xl.size(0), 1}, rho, torch::kDouble);
            r.cosine[l] += cos.sum(0);
            r.cosine_min[l] = torch::minimum(r.cosine_min[l], std::get<0>(cos.min(0)));
            r.norm_exact[l] += ne.sum(0);
            r.norm_approx[l] += (na1 / rhos).sum(0); // na1 is the norm at ρ = 1
        }
    }
    const double n = static_cast<double>(N);
    r.cosine /= n, r.norm_exact /= n, r.norm_approx /= n;
    report(progress, 1.0, "LayerNorm check");
    return r;
}

} // namespace obsprop
