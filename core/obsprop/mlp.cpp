#include "obsprop/mlp.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "model/transformer.h"

namespace obsprop {

using torch::Tensor;

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654; // √(2/π)
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327; // 1/√(2π)

model::LayerWeights layer_of(const model::Transformer& m, int layer) {
    if (layer < 0 || layer >= m.config().n_layers)
        throw std::invalid_argument("MLP layer " + std::to_string(layer) + " does not exist (the model has " +
                                    std::to_string(m.config().n_layers) + " layers)");
    return m.layer(layer, model::kMlp);
}

void check_vec(const Tensor& t, std::int64_t d, const char* what) {
    if (!t.defined() || t.size(-1) != d)
        throw std::invalid_argument(std::string(what) + " must have d_model = " + std::to_string(d) +
                                    " entries");
}

} // namespace

Tensor activation(io::Activation act, const Tensor& x) {
    switch (act) {
    case io::Activation::GeluTanh: {
        Tensor a = kSqrt2OverPi * (x + 0.044715 * x.pow(3));
        return 0.5 * x * (1 + a.tanh());
    }
    case io::Activation::GeluErf:
        return 0.5 * x * (1 + (x * kInvSqrt2).erf());
    case io::Activation::Relu:
        return x.clamp_min(0);
    case io::Activation::Silu:
        return x * x.sigmoid();
    }
    throw std::logic_error("unknown activation");
}

Tensor activation_derivative(io::Activation act, const Tensor& x) {
    switch (act) {
    case io::Activation::GeluTanh: {
        // d/dx ½x(1 + tanh a), a = k(x + 0.044715x³): ½(1 + tanh a) + ½x(1 − tanh²a)·k(1 + 3·0.044715x²)
        Tensor th = (kSqrt2OverPi * (x + 0.044715 * x.pow(3))).tanh();
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * kSqrt2OverPi * (1 + 3 * 0.044715 * x * x);
    }
    case io::Activation::GeluErf: // Φ(x) + x φ(x)
        return 0.5 * (1 + (x * kInvSqrt2).erf()) + x * kInvSqrt2Pi * (-0.5 * x * x).exp();
    case io::Activation::Relu:
        return (x > 0).to(x.scalar_type());
    case io::Activation::Silu: { // σ(x)(1 + x(1 − σ(x)))
        Tensor sg = x.sigmoid();
        return sg * (1 + x * (1 - sg));
    }
    }
    throw std::logic_error("unknown activation");
}

Tensor mlp_functionals(const model::Transformer& m, int layer, const Tensor& u, const Tensor& v) {
    const model::LayerWeights w = layer_of(m, layer);
    const auto d = m.config().d_model;
    check_vec(u, d, "u");
    check_vec(v, d, "v");
    torch::NoGradGuard ng;
    auto D = [](const Tensor& t) { return t.detach().to(torch::kDouble); };
    const auto act = m.config().activation;
    Tensor x = D(u).reshape({-1, d}); // [P, d]
    Tensor pre = at::matmul(x, D(w.W_in).t()) + D(w.b_in);
    Tensor hidden = m.config().gated_mlp ? activation(act, at::matmul(x, D(w.W_gate).t()) + D(w.b_gate)) * pre
                                         : activation(act, pre);
    Tensor out = at::matmul(hidden, D(w.W_out).t()) + D(w.b_out); // [P, d]
    return at::matmul(out, D(v).reshape({d}));
}

double mlp_functional(const model::Transformer& m, int layer, const Tensor& u, const Tensor& v) {
    if (u.defined() && u.numel() != m.config().d_model)
        throw std::invalid_argument("u must have d_model = " + std::to_string(m.config().d_model) +
                                    " entries");
    return mlp_functionals(m, layer, u, v)[0].item<double>();
}

Tensor mlp_gradient(const model::Transformer& m, int layer, const Tensor& u, const Tensor& v) {
    const model::LayerWeights w = layer_of(m, layer);
    const auto d = m.config().d_model;
    check_vec(u, d, "u");
    check_vec(v, d, "v");
    torch::NoGradGuard ng;
    const auto dt = torch::promote_types(u.scalar_type(), v.scalar_type());
    const auto act = m.config().activation;
    Tensor W_in = w.W_in.to(dt), W_out = w.W_out.to(dt);
    Tensor x = u.detach().to(dt);
    Tensor pre = at::matmul(x, W_in.t()) + w.b_in.to(dt); // [..., d_mlp]
    Tensor back = at::matmul(v.detach().to(dt), W_out);   // W_outᵀ v, [..., d_mlp]
    if (!m.config().gated_mlp) return at::matmul(activation_derivative(act, pre) * back, W_in); // W_inᵀ(...)
    // Gated: both branches, W_gateᵀ(σ'(g) ⊙ up ⊙ W_outᵀv) + W_upᵀ(σ(g) ⊙ W_outᵀv).
    Tensor W_gate = w.W_gate.to(dt);
    Tensor g = at::matmul(x, W_gate.t()) + w.b_gate.to(dt);
    return at::matmul(activation_derivative(act, g) * pre * back, W_gate) +
           at::matmul(activation(act, g) * back, W_in);
}

MlpLinearisation linearise_mlp(const model::Transformer& m, int layer, const Tensor& u_plus,
                               const Tensor& u_minus, const Tensor& v, double t_tol) {
    const auto d = m.config().d_model;
    check_vec(u_plus, d, "u_plus");
    check_vec(u_minus, d, "u_minus");
    check_vec(v, d, "v");
    torch::NoGradGuard ng;
    const Tensor up = u_plus.detach().to(torch::kDouble).reshape({-1});
    const Tensor um = u_minus.detach().to(torch::kDouble).reshape({-1});
    const Tensor vv = v.detach().to(torch::kDouble).reshape({-1});
    auto point = [&](double t) { return um * (1.0 - t) + up * t; };
    // On the segment u(t) = u₋ + t(u₊ − u₋) the pre-activations are affine in t and v·MLP(u) is
    // (W_outᵀv)·act(pre(t)) + v·b_out, so the wide products are taken once, not at every bisection step
    // (mlp_functional's value, summed in another order).
    const model::LayerWeights w = layer_of(m, layer);
    auto D = [](const Tensor& t) { return t.detach().to(torch::kDouble); };
    const bool gated = m.config().gated_mlp;
    const auto act = m.config().activation;
    const Tensor W_in = D(w.W_in), du = up - um;
    const Tensor pre_0 = at::mv(W_in, um) + D(w.b_in), pre_1 = at::mv(W_in, du);
    Tensor gate_0, gate_1;
    if (gated) {
        const Tensor W_gate = D(w.W_gate);
        gate_0 = at::mv(W_gate, um) + D(w.b_gate), gate_1 = at::mv(W_gate, du);
    }
    const Tensor wv = at::mv(D(w.W_out).t(), vv); // W_outᵀ v, [d_mlp]
    const double bv = at::dot(D(w.b_out), vv).item<double>();
    auto f = [&](double t) {
        const Tensor pre = pre_0 + t * pre_1;
        const Tensor hidden = gated ? activation(act, gate_0 + t * gate_1) * pre : activation(act, pre);
        return at::dot(hidden, wv).item<double>() + bv;
    };

    MlpLinearisation r;
    r.layer = layer;
    r.value_minus = f(0.0);
    r.value_plus = f(1.0);
    r.target = (r.value_minus > 0) == (r.value_plus > 0) && r.value_minus != 0 && r.value_plus != 0
                   ? 0.5 * (r.value_minus + r.value_plus)
                   : 0.0;
    // Bisection on h(t) = f(t) − target, which has opposite signs (or a zero) at the ends.
    double lo = 0, hi = 1, h_lo = r.value_minus - r.target;
    double t = 0.5, h_t = 0;
    if (h_lo == 0) {
        t = 0;
    } else if (r.value_plus - r.target == 0) {
        t = 1;
    } else {
        while (hi - lo > t_tol && r.iterations < 200) {
            t = 0.5 * (lo + hi);
            h_t = f(t) - r.target;
            ++r.iterations;
            if (h_t == 0) break;
            if ((h_t > 0) == (h_lo > 0))
                lo = t, h_lo = h_t;
            else
                hi = t;
        }
        if (h_t != 0) t = 0.5 * (lo + hi);
    }
    r.t_star = t;
    r.u_star = point(t);
    r.value_at_star = f(t);
    r.gradient = mlp_gradient(m, layer, r.u_star, vv).to(torch::kFloat);
    return r;
}

} // namespace obsprop
