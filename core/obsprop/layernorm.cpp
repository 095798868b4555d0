#include "obsprop/layernorm.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace obsprop {

using torch::Tensor;

const char* ln_mode_name(LnMode m) {
    switch (m) {
    case LnMode::None:
        return "none";
    case LnMode::Approximate:
        return "approximate";
    case LnMode::Exact:
        return "exact";
    }
    return "?";
}

bool parse_ln_mode(std::string_view text, LnMode& out) {
    if (text == "none")
        out = LnMode::None;
    else if (text == "approximate" || text == "approx")
        out = LnMode::Approximate;
    else if (text == "exact")
        out = LnMode::Exact;
    else
        return false;
    return true;
}

Tensor ln_exact_grad(const Tensor& x, const Tensor& gamma, const Tensor& v, double eps, bool drop_scale,
                     bool centred) {
    const auto d = x.size(-1);
    if (v.size(-1) != d || gamma.size(-1) != d)
        throw std::invalid_argument("ln_exact_grad: x, v and gamma must share the last dimension");
    const auto dtype = torch::promote_types(x.scalar_type(), v.scalar_type());
    const Tensor xc = centred ? x.to(dtype) - x.to(dtype).mean(-1, true) : x.to(dtype); // Px (RMSNorm: P = I)
    const Tensor gv = v.to(dtype) * gamma.to(dtype);                                    // γ⊙v
    const Tensor sq = (xc * xc).sum(-1, true);                                          // ‖Px‖²
    const Tensor s2 = sq / static_cast<double>(d) + eps;                                // s²
    // (P − c uuᵀ)(γ⊙v) = P(γ⊙v) − Px·(Px·γv)/(d s²)   since c uuᵀ = Px Pxᵀ/(d s²)
    const Tensor pgv = centred ? gv - gv.mean(-1, true) : gv;
    const Tensor proj = pgv - xc * ((xc * gv).sum(-1, true) / (s2 * static_cast<double>(d)));
    if (drop_scale) return proj * std::sqrt(static_cast<double>(d));
    return proj / s2.sqrt();
}

Tensor ln_approx_grad(const Tensor& gamma, const Tensor& v, double rho) {
    if (!(rho > 0) || !std::isfinite(rho))
        throw std::invalid_argument("LayerNorm approximation needs a positive input norm rho, got " +
                                    std::to_string(rho));
    const double d = static_cast<double>(v.size(-1));
    return v * gamma.to(v.scalar_type()) * (std::sqrt(d) / rho);
}

double expected_ln_cosine(std::int64_t d, bool centred) {
    if (d < 3) throw std::invalid_argument("expected_ln_cosine needs d >= 3, got " + std::to_string(d));
    const double n = static_cast<double>(d), k = centred ? n - 2 : n - 1;
    return std::exp(std::lgamma((k + 1) / 2) + std::lgamma(n / 2) - std::lgamma(k / 2) -
                    std::lgamma((n + 1) / 2));
}

namespace {

double g_of(const Tensor& r, const Tensor& gamma, const Tensor& beta, const Tensor& v, double offset,
            double eps, bool centred) {
    const double d = static_cast<double>(r.size(0));
    Tensor rc = centred ? r - r.mean() : r;
    Tensor s = ((rc * rc).sum() / d + eps).sqrt();
    return ((rc / s * gamma + beta) * v).sum().item<double>() + offset;
}

} // namespace

double ln_functional(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& v, double offset,
                     double eps, bool centred) {
    auto D = [](const Tensor& t) { return t.detach().to(torch::kDouble).reshape({-1}); };
    return g_of(D(x), D(gamma), D(beta), D(v), offset, eps, centred);
}

BoundaryProjection project_to_boundary(const Tensor& r0, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& v, double offset, double eps, double tol, int max_iter,
                                       bool centred) {
    auto D = [](const Tensor& t) { return t.detach().to(torch::kDouble).reshape({-1}); };
    const Tensor g_ = D(gamma), b_ = D(beta), v_ = D(v);
    Tensor r = D(r0).clone();
    const double d = static_cast<double>(r.size(0));
    if (g_.size(0) != r.size(0) || b_.size(0) != r.size(0) || v_.size(0) != r.size(0))
        throw std::invalid_argument("project_to_boundary: r0, gamma, beta and v must have the same length");

    // The range of g over all inputs (ε = 0 bound): v·β + offset ± √d ‖P(γ⊙v)‖ (RMSNorm: P = I).
    const Tensor gv = g_ * v_;
    const double reach = std::sqrt(d) * (centred ? gv - gv.mean() : gv).norm().item<double>();
    const double centre = (b_ * v_).sum().item<double>() + offset;
    if (!(reach > std::abs(centre)))
        throw std::runtime_error(
            "the observable cannot change sign through the final LayerNorm (its value stays "
            "within " +
            std::to_string(centre) + " ± " + std::to_string(reach) +
            "), so there is no decision boundary to project onto");

    BoundaryProjection out;
    double g = g_of(r, g_, b_, v_, offset, eps, centred);
    out.g_start = g;
    const double stop = tol * (1.0 + std::abs(g));
    int it = 0;
    while (std::abs(g) > stop) {
        if (it >= max_iter)
            throw std::runtime_error(
                "projecting the final residual onto the decision boundary did not converge: "
                "|g| = " +
                std::to_string(std::abs(g)) + " after " + std::to_string(it) + " steps");
        Tensor grad = ln_exact_grad(r, g_, v_, eps, false, centred);
        const double gn2 = (grad * grad).sum().item<double>();
        if (!(gn2 > 0))
            throw std::runtime_error("the observable's gradient through the final LayerNorm vanishes");
        Tensor step = grad * (g / gn2);
        double scale = 1.0, g_new = 0;
        Tensor r_new;
        for (int halvings = 0; halvings < 40; ++halvings, scale *= 0.5) {
            r_new = r - step * scale;
            g_new = g_of(r_new, g_, b_, v_, offset, eps, centred);
            if (std::abs(g_new) < std::abs(g)) break;
        }
        r = r_new;
        g = g_new;
        ++it;
    }
    out.r_star = r;
    out.grad = ln_exact_grad(r, g_, v_, eps, false, centred);
    out.g_end = g;
    out.iterations = it;
    return out;
}

} // namespace obsprop
