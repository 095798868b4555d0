// The corpus report (reports.h, CorpusReport) as tables and JSON: what `obsprop corpus` prints, what its
// --export writes and what the explorer's Corpus view copies.
#include <cmath>

#include "analyses/tables.h"

namespace obsprop::analyses {

using nlohmann::json;

namespace {

json number(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json numbers(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v)
        a.push_back(number(x));
    return a;
}

// corpus_1_4_subj for head 1.4; corpus_0_1-mlp1-1_4_subj for the path 0.1 -> mlp1 -> 1.4.
std::string stem(const CorpusReport& r) {
    std::string nodes;
    for (const auto& h : r.path) {
        if (!nodes.empty()) nodes += "-";
        nodes += h.is_mlp() ? h.label() : std::to_string(h.layer) + "_" + std::to_string(h.head);
    }
    return "corpus_" + nodes + "_" + r.observable;
}

} // namespace

Table to_table(const CorpusReport& r) {
    Table t{
        stem(r), {"rank", "document", "line", "position", "token", "score", "value", "before", "after"}, {}};
    for (const auto& e : r.examples) {
        std::string before, after;
        for (int i = 0; i < static_cast<int>(e.tokens.size()); ++i)
            (i < e.focus ? before : after) += i == e.focus ? "" : e.tokens[static_cast<std::size_t>(i)];
        t.rows.push_back({e.rank, e.document, e.line, e.position, e.tokens[static_cast<std::size_t>(e.focus)],
                          number(e.score), number(e.value), before, after});
    }
    return t;
}

Table baselines_table(const CorpusReport& r) {
    Table t{stem(r) + "_baselines",
            {"vector", "norm", "cos_feature", "score_mean", "score_sd", "score_min", "score_max", "r", "r2",
             "slope", "intercept"},
            {}};
    for (const auto& v : r.vectors)
        t.rows.push_back({v.name, number(v.norm), number(v.cos_feature), number(v.mean), number(v.sd),
                          number(v.min), number(v.max), number(v.r), number(v.r2), number(v.slope),
                          number(v.intercept)});
    return t;
}

Table histogram_table(const CorpusReport& r) {
    Table t{stem(r) + "_histogram", {"bin", "lo", "hi", "count"}, {}};
    for (std::size_t i = 0; i < r.hist_counts.size(); ++i) {
        const double lo = r.hist_lo + static_cast<double>(i) * r.hist_width;
        t.rows.push_back({static_cast<int>(i), number(lo), number(lo + r.hist_width), r.hist_counts[i]});
    }
    return t;
}

std::vector<Table> corpus_tables(const CorpusReport& r) {
    return {to_table(r), baselines_table(r), histogram_table(r)};
}

json to_json(const CorpusReport& r) {
    json vectors = json::array();
    for (const auto& v : r.vectors)
        vectors.push_back({{"name", v.name},
                           {"norm", number(v.norm)},
                           {"cos_feature", number(v.cos_feature)},
                           {"score_mean", number(v.mean)},
                           {"score_sd", number(v.sd)},
                           {"score_min", number(v.min)},
                           {"score_max", number(v.max)},
                           {"r", number(v.r)},
                           {"r2", number(v.r2)},
                           {"slope", number(v.slope)},
                           {"intercept", number(v.intercept)},
                           {"values", numbers(v.values)}});
    json examples = json::array();
    for (const auto& e : r.examples)
        examples.push_back({{"rank", e.rank},
                            {"document", e.document},
                            {"line", e.line},
                            {"position", e.position},
                            {"score", number(e.score)},
                            {"value", number(e.value)},
                            {"tokens", e.tokens},
                            {"scores", numbers(e.scores)},
                            {"focus", e.focus}});
    json out = {{"path", path_label(r.path)},
                {"hook", r.hook},
                {"observable", r.observable},
                {"ln", r.ln_mode},
                {"ln_dataset", r.ln_dataset},
                {"corpus", r.corpus},
                {"format", r.format},
                {"prefix", r.prefix},
                {"max_tokens", r.max_tokens},
                {"context", r.context},
                {"documents", r.documents},
                {"windows", r.windows},
                {"tokens", r.tokens},
                {"value_mean", number(r.value_mean)},
                {"value_sd", number(r.value_sd)},
                {"histogram",
                 {{"lo", number(r.hist_lo)}, {"width", number(r.hist_width)}, {"counts", r.hist_counts}}},
                {"vectors", vectors},
                {"cos_mean_difference_probe", number(r.cos_mean_difference_probe)},
                {"train_positive", r.train_positive},
                {"train_negative", r.train_negative},
                {"probe_lambda", number(r.probe_lambda)},
                {"probe_accuracy", number(r.probe_accuracy)},
                {"probe_iterations", r.probe_iterations},
                {"examples", examples}};
    if (r.path.size() == 1 && r.path.front().valid()) out["head"] = r.path.front().label();
    return out;
}

} // namespace obsprop::analyses
