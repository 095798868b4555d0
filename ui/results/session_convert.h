// Core reports (analyses/reports.h) into the views' result types: copies and labels only, no arithmetic.
#pragma once

#include "analyses/reports.h"
#include "analyses/settings.h"
#include "results/results.h"

namespace obsprop::ui::convert {

inline QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
inline std::string ss(const QString& s) {
    return s.toStdString();
}
// A view's dataset choice as a settings override (none when empty: the project's rule).
inline analyses::SettingsOverrides onDataset(const QString& dataset) {
    analyses::SettingsOverrides o;
    if (!dataset.isEmpty()) o.dataset = ss(dataset);
    return o;
}

// A view's debiasing request as the core's options and setting overrides (dataset, position).
inline std::pair<analyses::DebiasOptions, analyses::SettingsOverrides> debiasOptions(const DebiasRequest& q) {
    analyses::DebiasOptions o;
    o.raise = ss(q.raise), o.lower = ss(q.lower), o.feature_of = ss(q.featureOf);
    o.candidates = q.candidates, o.normalize = q.normalize, o.layer = q.layer;
    if (!q.alphas.empty()) o.alphas = q.alphas;
    analyses::SettingsOverrides s = onDataset(q.dataset);
    if (!q.position.isEmpty()) s.position = ss(q.position);
    return {o, s};
}
inline QStringList names(const std::vector<std::string>& v) {
    QStringList out;
    for (const auto& s : v)
        out << qs(s);
    return out;
}
inline QString pathText(const std::vector<analyses::HeadId>& v) {
    QStringList parts;
    for (const auto& h : v)
        parts << QString::fromStdString(h.label());
    return parts.join(QStringLiteral(" → "));
}
inline HeadMatrix matrix(const analyses::HeadGrid& g, const QString& title, const QString& quantity,
                         bool diverging) {
    HeadMatrix m;
    m.title = title, m.quantity = quantity, m.layers = g.layers, m.heads = g.heads, m.values = g.values;
    m.diverging = diverging;
    return m;
}

FeatureResults features(const analyses::FeaturesReport& r, quint64 generation);
AttributionResults attribution(const analyses::AttributionReport& r, quint64 generation);
SvdResults headDetail(const analyses::HeadDetailReport& r);
CouplingScatter scatter(const analyses::CouplingScatterReport& r);
PathResults paths(const analyses::PathsReport& r);
PathDetail pathDetail(const analyses::PathDetailReport& r);
PromptResults prompts(const analyses::DatasetReport& r);
AttentionResults attention(const analyses::AttentionReport& r);
SteeringResults steering(const analyses::SteeringReport& r, const std::vector<SteeringVectorSpec>& specs);
std::vector<CouplingHeadPoint> couplingHeads(const analyses::CouplingHeadsReport& r);

} // namespace obsprop::ui::convert
