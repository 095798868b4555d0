#include "results/session_convert.h"

#include "analyses/tables.h"

#include <cmath>

namespace obsprop::ui::convert {

FeatureResults features(const analyses::FeaturesReport& r, quint64 generation) {
    FeatureResults f;
    f.lnMode = qs(r.ln_mode);
    f.generation = generation;
    for (std::size_t k = 0; k < r.observables.size(); ++k) {
        const QString n = qs(r.observables[k].name);
        f.observables << n;
        f.norms.push_back(matrix(r.norms[k], QStringLiteral("Feature norm ‖y‖ — %1").arg(n),
                                 QStringLiteral("norm"), false));
    }
    if (!r.cosine.empty()) {
        const QString a = qs(r.a), b = qs(r.b);
        f.pairA = a, f.pairB = b;
        f.unembedCosine = r.unembed_cosine;
        f.cosine = matrix(r.cosine, QStringLiteral("cos(%1, %2)").arg(a, b), QStringLiteral("cosine"), true);
        f.couplingAB =
            matrix(r.coupling_ab, QStringLiteral("C(%1→%2)").arg(a, b), QStringLiteral("coupling"), true);
        f.couplingBA =
            matrix(r.coupling_ba, QStringLiteral("C(%1→%2)").arg(b, a), QStringLiteral("coupling"), true);
    }
    return f;
}

AttributionResults attribution(const analyses::AttributionReport& r, quint64 generation) {
    AttributionResults a;
    a.method = qs(r.method), a.dataset = qs(r.dataset), a.pairs = r.pairs, a.generation = generation;
    a.position = qs(r.position);
    for (std::size_t k = 0; k < r.observables.size(); ++k) {
        a.observables << qs(r.observables[k]);
        a.maps.push_back(matrix(r.mean[k],
                                QStringLiteral("Attribution (%1) — %2").arg(a.method, qs(r.observables[k])),
                                QStringLiteral("attribution"), true));
        if (k < r.mlp.size()) a.maps.back().mlp = r.mlp[k];
    }
    return a;
}

SvdResults headDetail(const analyses::HeadDetailReport& r) {
    SvdResults s;
    s.head = r.head;
    s.sigma = r.sigma;
    s.observables = names(r.observables);
    for (const auto& c : r.cosine) {
        std::vector<double> a;
        for (double x : c)
            a.push_back(std::abs(x)); // the view shows |cos|: the sign of v_i is arbitrary
        s.absCosine.push_back(std::move(a));
    }
    s.layerNormCheck = r.ln_check;
    s.layerNormCheckMin = r.ln_check_min;
    s.layerNormTokens = std::vector<int>(r.ln_check_tokens.begin(), r.ln_check_tokens.end());
    s.layerNormDatasets = names(r.ln_check_dataset);
    s.expectedLayerNormCosine = r.expected_ln_cosine;
    return s;
}

CouplingScatter scatter(const analyses::CouplingScatterReport& r) {
    CouplingScatter c;
    c.head = r.head, c.a = qs(r.a), c.b = qs(r.b), c.dataset = qs(r.dataset);
    c.s1 = r.s1, c.s2 = r.s2;
    c.slope = r.slope, c.intercept = r.intercept, c.r2 = r.r2, c.predicted = r.predicted;
    c.normA = r.norm_a, c.residualNorm = r.residual_norm, c.meanTokenNorm = r.mean_token_norm;
    c.bandK = r.band_k, c.bandLow = r.band_low, c.bandHigh = r.band_high;
    c.halfWidthAtZero = r.half_width_at_zero;
    return c;
}

PathResults paths(const analyses::PathsReport& r) {
    PathResults p;
    p.observable = qs(r.observable), p.patching = r.patching, p.dataset = qs(r.dataset);
    p.pairs = r.pairs, p.pairsGiven = r.pairs_given, p.scored = r.scored, p.beamWidth = r.beam_width;
    p.mlpNodes = r.mlp_nodes, p.embedNodes = r.embed_nodes, p.tokenNodes = r.token_nodes;
    for (const auto& e : r.paths)
        p.rows.push_back({pathText(e.nodes), e.nodes, e.value, e.sd, e.feature_norm});
    return p;
}

PathDetail pathDetail(const analyses::PathDetailReport& r) {
    PathDetail d;
    d.path = pathText(r.nodes), d.nodes = r.nodes, d.observable = qs(r.observable);
    d.observables = names(r.observables), d.norms = r.norms, d.cosines = r.cosines;
    for (std::size_t k = 0; k < r.observables.size() && k < r.mlp_points.size(); ++k)
        if (r.observables[k] == r.observable) d.mlpPoints = qs(analyses::mlp_points_text(r.mlp_points[k]));
    return d;
}

PromptResults prompts(const analyses::DatasetReport& r) {
    PromptResults p;
    p.observables = names(r.observables);
    for (const auto& row : r.rows) {
        PromptRow x;
        x.dataset = qs(r.dataset), x.text = qs(row.text), x.name = qs(row.name), x.gender = qs(row.gender);
        x.namePosition = row.name_position, x.tokens = names(row.tokens), x.values = row.values;
        x.index = row.index;
        p.rows.push_back(std::move(x));
    }
    return p;
}

AttentionResults attention(const analyses::AttentionReport& r) {
    AttentionResults a;
    a.head = r.head, a.dataset = qs(r.dataset), a.observable = qs(r.observable), a.lnMode = qs(r.ln_mode);
    a.prompt = r.prompt, a.query = r.query, a.tokens = names(r.tokens);
    a.pattern = r.pattern, a.contribution = r.contribution, a.total = r.total;
    return a;
}

SteeringResults steering(const analyses::SteeringReport& r, const std::vector<SteeringVectorSpec>& specs) {
    SteeringResults s;
    QStringList labels;
    for (std::size_t i = 0; i < r.vectors.size(); ++i)
        labels << QStringLiteral("%1 × %2")
                      .arg(i < specs.size() ? specs[i].name : qs(r.vectors[i].label()))
                      .arg(r.vectors[i].alpha);
    s.vectorName = labels.join(QStringLiteral(" + "));
    s.alpha = r.vectors.empty() ? 0 : r.vectors.front().alpha;
    s.exact = r.exact;
    s.observables = names(r.observables);
    s.meanChange = r.mean_change, s.predicted = r.predicted;
    s.prompts = names(r.prompts);
    s.before = r.before, s.after = r.after;
    return s;
}

std::vector<CouplingHeadPoint> couplingHeads(const analyses::CouplingHeadsReport& r) {
    std::vector<CouplingHeadPoint> out;
    for (const auto& p : r.points)
        out.push_back({p.head, p.coupling, p.attribution_a, p.attribution_b, p.ratio});
    return out;
}

} // namespace obsprop::ui::convert
