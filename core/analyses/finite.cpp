#include "analyses/finite.h"

#include <cmath>
#include <functional>
#include <string>

#include "analyses/workspace.h"
#include "model/finite.h"

namespace obsprop::analyses {

namespace {

[[noreturn]] void fail(const Workspace& w, const std::string& what, double v) {
    const std::string kind = std::isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf";
    throw NonFiniteResult(what + " is " + kind + model::nonfinite_weights_note(w.model()));
}

void check(const Workspace& w, double v, const std::function<std::string()>& what) {
    if (!std::isfinite(v)) fail(w, what(), v);
}

void check(const Workspace& w, const std::vector<double>& v,
           const std::function<std::string(std::size_t)>& what) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i])) fail(w, what(i), v[i]);
}

void check(const Workspace& w, const HeadGrid& g,
           const std::function<std::string(const std::string&)>& what) {
    for (int l = 0; l < g.layers; ++l)
        for (int h = 0; h < g.heads; ++h)
            if (!std::isfinite(g.at(l, h))) fail(w, what(HeadId{l, h}.label()), g.at(l, h));
}

std::string q(const std::string& s) {
    return "'" + s + "'";
}

std::string feature_norm(const std::string& head, const std::string& obs) {
    return "the feature norm of head " + head + " for observable " + q(obs);
}

} // namespace

void require_finite(const Workspace& w, const FeaturesReport& r) {
    for (std::size_t k = 0; k < r.norms.size() && k < r.observables.size(); ++k) {
        const std::string& name = r.observables[k].name;
        check(w, r.norms[k], [&](const std::string& h) { return feature_norm(h, name); });
        if (k < r.ln.size())
            check(w, r.ln[k].final_rho, [&] { return "ρ of the final LayerNorm for observable " + q(name); });
    }
}

void require_finite(const Workspace& w, const AttributionReport& r) {
    for (std::size_t k = 0; k < r.mean.size() && k < r.observables.size(); ++k)
        check(w, r.mean[k], [&](const std::string& h) {
            return "the attribution (" + r.method + " over " + q(r.dataset) + ") of head " + h +
                   " to observable " + q(r.observables[k]);
        });
    for (std::size_t k = 0; k < r.mlp.size() && k < r.observables.size(); ++k)
        for (std::size_t l = 0; l < r.mlp[k].size(); ++l)
            check(w, r.mlp[k][l], [&] {
                return "the attribution (" + r.method + " over " + q(r.dataset) + ") of mlp" +
                       std::to_string(l) + " to observable " + q(r.observables[k]);
            });
}

void require_finite(const Workspace& w, const CouplingReport& r) {
    check(w, r.norm_a, [&](const std::string& h) { return feature_norm(h, r.a); });
    check(w, r.norm_b, [&](const std::string& h) { return feature_norm(h, r.b); });
}

void require_finite(const Workspace& w, const CouplingScatterReport& r) {
    const std::string head = r.head.label();
    check(w, r.norm_a, [&] { return feature_norm(head, r.a); });
    check(w, r.mean_token_norm,
          [&] { return "the mean token norm of " + q(r.dataset) + " at head " + head; });
    const auto score = [&](const std::string& obs) {
        return [&, obs](std::size_t i) {
            return "the score of token " + std::to_string(i) + " of " + q(r.dataset) + " for observable " +
                   q(obs) + " at head " + head;
        };
    };
    check(w, r.s1, score(r.a));
    check(w, r.s2, score(r.b));
}

void require_finite(const Workspace& w, const SvdReport& r) {
    for (const auto& e : r.entries)
        check(w, e.sigma, [&] {
            return "singular value " + std::to_string(e.index) + " of head " + e.head.label() +
                   "'s OV circuit";
        });
}

void require_finite(const Workspace& w, const HeadDetailReport& r) {
    const std::string head = r.head.label();
    check(w, r.sigma, [&](std::size_t i) {
        return "singular value " + std::to_string(i) + " of head " + head + "'s OV circuit";
    });
    for (std::size_t k = 0; k < r.cosine.size() && k < r.observables.size(); ++k)
        check(w, r.cosine[k], [&](std::size_t i) {
            return "the cosine of observable " + q(r.observables[k]) + "'s feature at head " + head +
                   " with singular vector " + std::to_string(i);
        });
}

void require_finite(const Workspace& w, const PathsReport& r) {
    for (const auto& p : r.paths) {
        check(w, p.value, [&] {
            return std::string(r.patching ? "the patching effect" : "the feature norm") + " of path " +
                   path_label(p.nodes) + " for observable " + q(r.observable);
        });
        check(w, p.feature_norm, [&] {
            return "the feature norm of path " + path_label(p.nodes) + " for observable " + q(r.observable);
        });
    }
}

void require_finite(const Workspace& w, const PathDetailReport& r) {
    check(w, r.norms, [&](std::size_t k) {
        return "the feature norm of path " + path_label(r.nodes) + " for observable " +
               q(k < r.observables.size() ? r.observables[k] : std::to_string(k));
    });
}

void require_finite(const Workspace& w, const SteeringReport& r) {
    const auto obs = [&](std::size_t k) {
        return q(k < r.observables.size() ? r.observables[k] : std::to_string(k));
    };
    check(w, r.vector_norms, [&](std::size_t i) {
        return "the norm of steering vector " +
               (i < r.vectors.size() ? r.vectors[i].label() : std::to_string(i));
    });
    check(w, r.mean_before,
          [&](std::size_t k) { return "the mean unsteered value of observable " + obs(k); });
    check(w, r.predicted,
          [&](std::size_t k) { return "the predicted steering change of observable " + obs(k); });
    check(w, r.mean_change, [&](std::size_t k) { return "the steering change of observable " + obs(k); });
    for (std::size_t i = 0; i < r.after.size(); ++i)
        check(w, r.after[i], [&](std::size_t k) {
            return "the steered value of observable " + obs(k) + " on prompt " + std::to_string(i);
        });
    for (std::size_t i = 0; i < r.before.size(); ++i)
        check(w, r.before[i], [&](std::size_t k) {
            return "the unsteered value of observable " + obs(k) + " on prompt " + std::to_string(i);
        });
}

void require_finite(const Workspace& w, const AttentionReport& r) {
    check(w, r.contribution, [&](std::size_t s) {
        return "the contribution of token " + std::to_string(s) + " through head " + r.head.label() + " to " +
               q(r.observable) + " on prompt " + std::to_string(r.prompt) + " of " + q(r.dataset);
    });
    for (const auto& row : r.pattern)
        check(w, row, [&](std::size_t s) {
            return "the attention of head " + r.head.label() + " to token " + std::to_string(s) +
                   " on prompt " + std::to_string(r.prompt) + " of " + q(r.dataset);
        });
}

void require_finite(const Workspace& w, const DatasetReport& r) {
    for (const auto& row : r.rows)
        check(w, row.values, [&](std::size_t k) {
            return "the value of observable " +
                   q(k < r.observables.size() ? r.observables[k] : std::to_string(k)) + " on prompt " +
                   std::to_string(row.index) + " of " + q(r.dataset) + " (\"" + row.text + "\")";
        });
}

} // namespace obsprop::analyses
