#include "obsprop/linear_probe.h"

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace obsprop {

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        s += a[i] * b[i];
    return s;
}

// log(1 + exp(t)), without overflow.
double softplus(double t) {
    return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
}

double sigmoid(double t) {
    if (t >= 0) return 1 / (1 + std::exp(-t));
    const double e = std::exp(t);
    return e / (1 + e);
}

std::size_t check(const LabelledRows& d) {
    if (d.x.size() != d.labels.size())
        throw std::invalid_argument("probe data: " + std::to_string(d.x.size()) + " rows but " +
                                    std::to_string(d.labels.size()) + " labels");
    std::size_t ones = 0, zeros = 0;
    for (int l : d.labels) {
        if (l != 0 && l != 1) throw std::invalid_argument("probe data: a label is not 0 or 1");
        (l ? ones : zeros) += 1;
    }
    if (ones == 0 || zeros == 0)
        throw std::invalid_argument("probe data: both classes need at least one row (" +
                                    std::to_string(ones) + " and " + std::to_string(zeros) + ")");
    const std::size_t dim = d.x.front().size();
    if (dim == 0) throw std::invalid_argument("probe data: rows are empty");
    for (const auto& r : d.x) {
        if (r.size() != dim) throw std::invalid_argument("probe data: rows of different lengths");
        for (double v : r)
            if (!std::isfinite(v)) throw std::invalid_argument("probe data: a value is not finite");
    }
    return dim;
}

} // namespace

std::vector<double> mean_difference(const LabelledRows& data) {
    const std::size_t dim = check(data);
    Vec m1(dim, 0), m0(dim, 0);
    double n1 = 0, n0 = 0;
    for (std::size_t i = 0; i < data.x.size(); ++i) {
        Vec& m = data.labels[i] ? m1 : m0;
        (data.labels[i] ? n1 : n0) += 1;
        for (std::size_t j = 0; j < dim; ++j)
            m[j] += data.x[i][j];
    }
    Vec out(dim);
    for (std::size_t j = 0; j < dim; ++j)
        out[j] = m1[j] / n1 - m0[j] / n0;
    return out;
}

LogisticProbe train_logistic_probe(const LabelledRows& data, double lambda, double tol, int max_iter) {
    if (!(lambda > 0) || !std::isfinite(lambda))
        throw std::invalid_argument("the probe's regularisation λ must be a positive number");
    const std::size_t d = check(data), n = data.x.size();
    const double nn = static_cast<double>(n);
    // Centred rows: the intercept absorbs the mean, b = b̃ − w·x̄.
    Vec mean(d, 0);
    for (const auto& r : data.x)
        for (std::size_t j = 0; j < d; ++j)
            mean[j] += r[j] / nn;
    std::vector<Vec> x(n, Vec(d));
    Vec t(n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < d; ++j)
            x[i][j] = data.x[i][j] - mean[j];
        t[i] = data.labels[i] ? 1.0 : -1.0;
    }
    // θ = (w, b̃): d + 1 numbers.
    auto margins = [&](const Vec& th) {
        Vec z(n);
        for (std::size_t i = 0; i < n; ++i)
            z[i] = dot(x[i], th) + th[d]; // dot reads the first d entries of th (x[i] has d)
        return z;
    };
    auto objective = [&](const Vec& th) {
        const Vec z = margins(th);
        double s = 0;
        for (std::size_t i = 0; i < n; ++i)
            s += softplus(-t[i] * z[i]);
        double ww = 0;
        for (std::size_t j = 0; j < d; ++j)
            ww += th[j] * th[j];
        return s / nn + 0.5 * lambda * ww;
    };
    auto gradient = [&](const Vec& th, const Vec& z) {
        Vec g(d + 1, 0);
        for (std::size_t i = 0; i < n; ++i) {
            const double c = -t[i] * sigmoid(-t[i] * z[i]) / nn;
            for (std::size_t j = 0; j < d; ++j)
                g[j] += c * x[i][j];
            g[d] += c;
        }
        for (std::size_t j = 0; j < d; ++j)
            g[j] += lambda * th[j];
        return g;
    };
    Vec th(d + 1, 0);
    LogisticProbe p;
    double g0 = -1;
    for (int it = 0; it <= max_iter; ++it) {
        const Vec z = margins(th);
        const Vec g = gradient(th, z);
        const double gn = std::sqrt(dot(g, g) + 0.0);
        if (g0 < 0) g0 = std::max(1.0, gn);
        if (gn <= tol * g0) {
            p.converged = true;
            break;
        }
        if (it == max_iter) break;
        // Newton step: H p = −g by conjugate gradients, H v = (1/n) Σ Dᵢ ([xᵢ;1]·v) [xᵢ;1] + λ [v_w; 0].
        Vec D(n);
        for (std::size_t i = 0; i < n; ++i) {
            const double s = sigmoid(z[i]);
            D[i] = s * (1 - s) / nn;
        }
        auto hess = [&](const Vec& v) {
            Vec out(d + 1, 0);
            for (std::size_t i = 0; i < n; ++i) {
                const double c = D[i] * (dot(x[i], v) + v[d]);
                for (std::size_t j = 0; j < d; ++j)
                    out[j] += c * x[i][j];
                out[d] += c;
            }
            for (std::size_t j = 0; j < d; ++j)
                out[j] += lambda * v[j];
            return out;
        };
        Vec step(d + 1, 0), r(d + 1), q;
        for (std::size_t j = 0; j <= d; ++j)
            r[j] = -g[j];
        q = r;
        double rr = dot(r, r);
        const double stop = rr * 1e-24;
        for (std::size_t k = 0; k < 2 * (d + 1) && rr > stop; ++k) {
            const Vec Hq = hess(q);
            const double qHq = dot(q, Hq);
            if (!(qHq > 0)) break;
            const double alpha = rr / qHq;
            for (std::size_t j = 0; j <= d; ++j)
                step[j] += alpha * q[j], r[j] -= alpha * Hq[j];
            const double rr2 = dot(r, r);
            for (std::size_t j = 0; j <= d; ++j)
                q[j] = r[j] + (rr2 / rr) * q[j];
            rr = rr2;
        }
        if (dot(step, g) >= 0) // not a descent direction (CG stopped at once): fall back to the gradient
            for (std::size_t j = 0; j <= d; ++j)
                step[j] = -g[j];
        // Backtracking (Armijo).
        const double f = objective(th), slope = dot(step, g);
        double a = 1;
        Vec next(d + 1);
        for (int k = 0; k < 60; ++k, a *= 0.5) {
            for (std::size_t j = 0; j <= d; ++j)
                next[j] = th[j] + a * step[j];
            // Near the minimum f changes by less than its rounding: a step that keeps f within that is taken.
            if (objective(next) <= f + 1e-4 * a * slope + 1e-15 * std::abs(f)) break;
        }
        th = next;
        p.iterations = it + 1;
    }
    p.w.assign(th.begin(), th.begin() + static_cast<std::ptrdiff_t>(d));
    p.b = th[d] - dot(p.w, mean);
    p.loss = objective(th);
    std::size_t right = 0;
    for (std::size_t i = 0; i < n; ++i)
        right += ((dot(p.w, data.x[i]) + p.b > 0) == (data.labels[i] == 1)) ? 1 : 0;
    p.accuracy = static_cast<double>(right) / nn;
    return p;
}

} // namespace obsprop
