#include "analyses/tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace obsprop::analyses {

using nlohmann::json;

namespace {

json number(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string csv_cell(const json& v) {
    if (v.is_null()) return {};
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_float()) {
        std::ostringstream o;
        o.precision(17);
        o << v.get<double>();
        return o.str();
    }
    return v.dump();
}

// layer, head, then one column per grid.
Table head_table(std::string name, const std::vector<std::string>& columns,
                 const std::vector<const HeadGrid*>& grids) {
    Table t{std::move(name), {"layer", "head"}, {}};
    t.columns.insert(t.columns.end(), columns.begin(), columns.end());
    if (grids.empty()) return t;
    for (int l = 0; l < grids.front()->layers; ++l)
        for (int h = 0; h < grids.front()->heads; ++h) {
            std::vector<json> row{l, h};
            for (const HeadGrid* g : grids)
                row.push_back(number(g->at(l, h)));
            t.rows.push_back(std::move(row));
        }
    return t;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? sep : "") + v[i];
    return s;
}

json numbers(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v)
        a.push_back(number(x));
    return a;
}

json heads(const std::vector<HeadId>& path) {
    json a = json::array();
    for (const auto& h : path) {
        json n = h.is_embed() ? json("embed") : h.is_mlp() ? json{h.layer, "mlp"} : json{h.layer, h.head};
        if (h.at_token()) n.push_back(source_token::suffix(h.token).substr(1)); // [L, H, "name"|"last"|"K"]
        a.push_back(std::move(n));
    }
    return a;
}

} // namespace

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s)
        q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string Table::to_csv() const {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i)
        out += (i ? "," : "") + csv_field(columns[i]);
    out += "\n";
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i)
            out += (i ? "," : "") + csv_cell(r[i]);
        out += "\n";
    }
    return out;
}

json Table::to_json() const {
    json a = json::array();
    for (const auto& r : rows) {
        json o = json::object();
        for (std::size_t i = 0; i < columns.size() && i < r.size(); ++i)
            o[columns[i]] = r[i];
        a.push_back(o);
    }
    return a;
}

Table to_table(const FeaturesReport& r) {
    std::vector<std::string> cols;
    std::vector<const HeadGrid*> grids;
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        cols.push_back("norm_" + r.observables[k].name), grids.push_back(&r.norms[k]);
    if (!r.cosine.empty()) {
        cols.insert(cols.end(), {"cosine", "coupling_ab", "coupling_ba"});
        grids.insert(grids.end(), {&r.cosine, &r.coupling_ab, &r.coupling_ba});
    }
    return head_table("features", cols, grids);
}

Table to_table(const AttributionReport& r) {
    std::vector<std::string> cols;
    std::vector<const HeadGrid*> grids;
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        cols.push_back("attribution_" + r.observables[k]), grids.push_back(&r.mean[k]);
    // At another token than the last the file says which: attribution_subject_at_name, …_at_3.
    Table t = head_table("attribution_" + r.dataset + (r.position == "last" ? "" : "_at_" + r.position), cols,
                         grids);
    // The total effect's MLPs: a row per layer after the heads, head column "mlp".
    if (!r.mlp.empty())
        for (std::size_t l = 0; l < r.mlp.front().size(); ++l) {
            std::vector<json> row{static_cast<int>(l), "mlp"};
            for (const auto& per_layer : r.mlp)
                row.push_back(number(per_layer[l]));
            t.rows.push_back(std::move(row));
        }
    return t;
}

Table to_table(const CouplingReport& r) {
    std::vector<std::string> cols{"cosine", "coupling_ab", "coupling_ba", "norm_a",
                                  "norm_b", "residual_ab", "residual_ba"};
    std::vector<const HeadGrid*> grids{&r.cosine, &r.coupling_ab, &r.coupling_ba, &r.norm_a,
                                       &r.norm_b, &r.residual_ab, &r.residual_ba};
    if (!r.fit_slope.empty()) {
        cols.insert(cols.end(), {"fit_slope", "fit_intercept", "fit_r2"});
        grids.insert(grids.end(), {&r.fit_slope, &r.fit_intercept, &r.fit_r2});
    }
    return head_table("coupling_" + r.a + "_" + r.b, cols, grids);
}

Table to_table(const CouplingScatterReport& r) {
    Table t{"coupling_tokens_" + std::to_string(r.head.layer) + "_" + std::to_string(r.head.head) + "_" +
                r.a + "_" + r.b,
            {"token", "s1", "s2"},
            {}};
    for (std::size_t i = 0; i < r.s1.size(); ++i)
        t.rows.push_back({static_cast<int>(i), number(r.s1[i]), number(r.s2[i])});
    return t;
}

Table band_table(const CouplingScatterReport& r) {
    Table t{"coupling_band_" + std::to_string(r.head.layer) + "_" + std::to_string(r.head.head) + "_" + r.a +
                "_" + r.b,
            {"k", "low", "high"},
            {}};
    for (std::size_t i = 0; i < r.band_k.size(); ++i)
        t.rows.push_back({number(r.band_k[i]), number(r.band_low[i]), number(r.band_high[i])});
    return t;
}

Table to_table(const SvdReport& r) {
    Table t{"svd_" + r.observable, {"layer", "head", "rank", "index", "sigma", "cosine", "in_span"}, {}};
    for (const auto& e : r.entries)
        t.rows.push_back({e.head.layer, e.head.head, e.rank, e.index, number(e.sigma), number(e.cosine),
                          number(e.in_span)});
    return t;
}

Table to_table(const HeadDetailReport& r) {
    Table t{
        "head_" + std::to_string(r.head.layer) + "_" + std::to_string(r.head.head), {"index", "sigma"}, {}};
    for (const auto& o : r.observables)
        t.columns.push_back("cos_" + o);
    for (std::size_t i = 0; i < r.sigma.size(); ++i) {
        std::vector<json> row{static_cast<int>(i), number(r.sigma[i])};
        for (const auto& c : r.cosine)
            row.push_back(number(i < c.size() ? c[i] : NAN));
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table ln_check_table(const HeadDetailReport& r) {
    Table t{"head_" + std::to_string(r.head.layer) + "_" + std::to_string(r.head.head) + "_ln_check",
            {"observable", "dataset", "tokens", "cosine", "cosine_min", "expected"},
            {}};
    for (std::size_t k = 0; k < r.ln_check.size(); ++k)
        t.rows.push_back({r.observables[k], r.ln_check_dataset[k], std::to_string(r.ln_check_tokens[k]),
                          number(r.ln_check[k]), number(r.ln_check_min[k]), number(r.expected_ln_cosine)});
    return t;
}

Table to_table(const PathsReport& r) {
    if (!r.patching) {
        Table t{"paths_" + r.observable, {"rank", "path", "layer1", "head1", "layer2", "head2", "norm"}, {}};
        int rank = 0;
        for (const auto& p : r.paths)
            t.rows.push_back({++rank, path_label(p.nodes), p.nodes[0].layer, p.nodes[0].head,
                              p.nodes[1].layer, p.nodes[1].head, number(p.value)});
        return t;
    }
    Table t{"path_search_" + r.dataset + "_" + r.observable,
            {"rank", "path", "length", "layer1", "head1", "score", "sd", "pairs", "feature_norm"},
            {}};
    int rank = 0;
    for (const auto& p : r.paths)
        t.rows.push_back({++rank, path_label(p.nodes), static_cast<int>(p.nodes.size()),
                          p.nodes.front().is_embed() ? json(nullptr) : json(p.nodes.front().layer),
                          p.nodes.front().is_embed() ? json("embed")
                          : p.nodes.front().is_mlp() ? json("mlp")
                                                     : json(p.nodes.front().head),
                          number(p.value), number(p.sd), p.pairs, number(p.feature_norm)});
    return t;
}

std::string mlp_points_text(const std::vector<MlpPoint>& points) {
    std::string s;
    for (const auto& m : points) {
        char t[32];
        std::snprintf(t, sizeof t, "%.4g", m.t_star);
        s += (s.empty() ? "" : "; ") + m.node.label() + " at " + m.token + ": prompts " +
             std::to_string(m.prompt_plus) + "+ " + std::to_string(m.prompt_minus) + "-, t* " + t;
    }
    return s;
}

Table to_table(const PathDetailReport& r) {
    std::string stem = "path";
    for (const auto& h : r.nodes)
        stem += h.is_mlp() ? "_mlp" + std::to_string(h.layer)
                           : "_" + std::to_string(h.layer) + "_" + std::to_string(h.head);
    Table t{stem, {"observable", "norm", "cosine"}, {}};
    const bool mlp = std::any_of(r.nodes.begin(), r.nodes.end(), [](const HeadId& h) { return h.is_mlp(); });
    if (mlp) t.columns.push_back("mlp_linearised_at");
    for (std::size_t k = 0; k < r.observables.size(); ++k) {
        std::vector<json> row{r.observables[k], number(r.norms[k]), number(r.cosines[k])};
        if (mlp)
            row.push_back(
                mlp_points_text(k < r.mlp_points.size() ? r.mlp_points[k] : std::vector<MlpPoint>{}));
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table to_table(const SteeringReport& r) {
    Table t{"steering", {"observable", "mean_before", "mean_change", "predicted"}, {}};
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        t.rows.push_back({r.observables[k], number(k < r.mean_before.size() ? r.mean_before[k] : NAN),
                          r.exact ? number(r.mean_change[k]) : json(nullptr), number(r.predicted[k])});
    return t;
}

Table prompts_table(const SteeringReport& r) {
    Table t{"steering_prompts", {"prompt"}, {}};
    for (const auto& o : r.observables)
        t.columns.insert(t.columns.end(), {o + "_before", o + "_after", o + "_change"});
    for (std::size_t p = 0; p < r.before.size(); ++p) {
        std::vector<json> row{p < r.prompts.size() ? r.prompts[p] : std::string()};
        for (std::size_t k = 0; k < r.observables.size(); ++k)
            row.insert(row.end(), {number(r.before[p][k]), number(r.after[p][k]),
                                   number(r.after[p][k] - r.before[p][k])});
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table to_table(const DebiasReport& r) {
    Table t{"debias_" + r.raise + "_" + r.lower,
            {"rank", "layer", "head", "coupling", "steer_layer", "vector_norm", "alpha", "change_raise",
             "change_lower", "predicted_raise", "predicted_lower", "separates", "score"},
            {}};
    for (const auto& x : r.rows)
        t.rows.push_back({x.rank, x.head.layer, x.head.head, number(x.coupling), x.layer,
                          number(x.vector_norm), number(x.alpha), number(x.change_raise),
                          number(x.change_lower), number(x.predicted_raise), number(x.predicted_lower),
                          x.separates ? 1 : 0, number(x.score)});
    return t;
}

Table to_table(const DatasetReport& r) {
    // A pair dataset: each pair's clean and corrupted prompt, the differing span, the slot and the note.
    Table t{"dataset_" + r.dataset,
            r.pairs
                ? std::vector<std::string>{"index", "pair", "side", "span", "text", "slot", "label"}
                : std::vector<std::string>{"index", "template", "name", "gender", "text", "name_position"},
            {}};
    for (const auto& o : r.observables)
        t.columns.push_back("value_" + o);
    t.columns.push_back("tokens");
    for (const auto& p : r.rows) {
        std::vector<json> row =
            r.pairs ? std::vector<json>{p.index, p.template_index, p.gender, p.name,
                                        p.text,  p.name_position,  p.label}
                    : std::vector<json>{p.index, p.template_index, p.name, p.gender, p.text, p.name_position};
        for (double v : p.values)
            row.push_back(number(v));
        row.push_back(join(p.tokens, "|"));
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table to_table(const AttentionReport& r) {
    Table t{"attention_" + std::to_string(r.head.layer) + "_" + std::to_string(r.head.head) + "_" +
                r.dataset + "_" + std::to_string(r.prompt),
            {"position", "token", "attention", "contribution_" + r.observable},
            {}};
    for (std::size_t s = 0; s < r.tokens.size(); ++s)
        t.rows.push_back({static_cast<int>(s), r.tokens[s],
                          number(r.pattern[static_cast<std::size_t>(r.query)][s]),
                          number(r.contribution[s])});
    return t;
}

json to_json(const AttentionReport& r) {
    json pattern = json::array();
    for (const auto& row : r.pattern) {
        json j = json::array();
        for (double v : row)
            j.push_back(number(v));
        pattern.push_back(std::move(j));
    }
    json contribution = json::array();
    for (double v : r.contribution)
        contribution.push_back(number(v));
    return {{"head", r.head.label()},     {"dataset", r.dataset}, {"prompt", r.prompt},
            {"observable", r.observable}, {"ln", r.ln_mode},      {"query", r.query},
            {"tokens", r.tokens},         {"pattern", pattern},   {"contribution", contribution},
            {"total", number(r.total)}};
}

json to_json(const FeaturesReport& r) {
    json out = {{"ln", r.ln_mode}, {"observables", json::array()}, {"heads", json::array()}};
    for (std::size_t k = 0; k < r.observables.size(); ++k) {
        const auto& o = r.observables[k];
        out["observables"].push_back(
            {{"name", o.name},
             {"expr", o.expr},
             {"token_ids", o.token_ids},
             {"tokens", o.pieces},
             {"weights", o.weights},
             {"warnings", o.warnings},
             {"ln_dataset", r.ln[k].dataset},
             {"final_rho", r.ln[k].mode == "approx" ? number(r.ln[k].final_rho) : json(nullptr)}});
    }
    out["pair"] = r.a.empty() ? json(nullptr) : json::array({r.a, r.b});
    out["unembed_cosine"] = r.a.empty() ? json(nullptr) : number(r.unembed_cosine);
    if (r.norms.empty()) return out;
    const bool pair = !r.cosine.empty();
    for (int l = 0; l < r.norms[0].layers; ++l)
        for (int h = 0; h < r.norms[0].heads; ++h) {
            json norms = json::array();
            for (const auto& g : r.norms)
                norms.push_back(number(g.at(l, h)));
            out["heads"].push_back(
                {{"layer", l},
                 {"head", h},
                 {"norm", norms},
                 {"cosine", pair ? number(r.cosine.at(l, h)) : json(nullptr)},
                 {"coupling", pair ? number(r.coupling_ab.at(l, h)) : json(nullptr)},
                 {"coupling_reverse", pair ? number(r.coupling_ba.at(l, h)) : json(nullptr)}});
        }
    return out;
}

json to_json(const CouplingScatterReport& r) {
    return {
        {"ln", r.ln_mode},
        {"a", r.a},
        {"b", r.b},
        {"dataset", r.dataset},
        {"head", {r.head.layer, r.head.head}},
        {"tokens", r.s1.size()},
        {"slope", number(r.slope)},
        {"intercept", number(r.intercept)},
        {"r2", number(r.r2)},
        {"predicted", number(r.predicted)},
        {"norm_a", number(r.norm_a)},
        {"residual_norm", number(r.residual_norm)},
        {"mean_token_norm", number(r.mean_token_norm)},
        {"half_width_at_zero", number(r.half_width_at_zero)},
        {"s1", numbers(r.s1)},
        {"s2", numbers(r.s2)},
        {"band", {{"k", numbers(r.band_k)}, {"low", numbers(r.band_low)}, {"high", numbers(r.band_high)}}}};
}

json to_json(const HeadDetailReport& r) {
    json out = {{"head", {r.head.layer, r.head.head}},
                {"sigma", numbers(r.sigma)},
                {"expected_ln_cosine", number(r.expected_ln_cosine)},
                {"observables", json::array()}};
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        out["observables"].push_back({{"name", r.observables[k]},
                                      {"cosine", numbers(r.cosine[k])},
                                      {"ln_check", number(r.ln_check[k])},
                                      {"ln_check_min", number(r.ln_check_min[k])},
                                      {"ln_check_tokens", r.ln_check_tokens[k]},
                                      {"ln_check_dataset", r.ln_check_dataset[k]}});
    return out;
}

json to_json(const PathDetailReport& r) {
    json out = {{"ln", r.ln_mode},
                {"path", path_label(r.nodes)},
                {"nodes", heads(r.nodes)},
                {"observable", r.observable},
                {"observables", json::array()}};
    for (std::size_t k = 0; k < r.observables.size(); ++k) {
        json o = {{"name", r.observables[k]}, {"norm", number(r.norms[k])}, {"cosine", number(r.cosines[k])}};
        if (k < r.mlp_points.size() && !r.mlp_points[k].empty()) {
            o["mlp"] = json::array();
            for (const auto& m : r.mlp_points[k])
                o["mlp"].push_back({{"node", m.node.label()},
                                    {"token", m.token},
                                    {"prompt_plus", m.prompt_plus},
                                    {"prompt_minus", m.prompt_minus},
                                    {"value_plus", number(m.value_plus)},
                                    {"value_minus", number(m.value_minus)},
                                    {"t_star", number(m.t_star)}});
        }
        out["observables"].push_back(std::move(o));
    }
    return out;
}

json to_json(const SteeringReport& r) {
    json out = {{"ln", r.ln_mode},          {"dataset", r.dataset},         {"exact", r.exact},
                {"vectors", json::array()}, {"observables", json::array()}, {"prompts", json::array()}};
    for (std::size_t i = 0; i < r.vectors.size(); ++i) {
        const auto& v = r.vectors[i];
        out["vectors"].push_back(
            {{"label", v.label()},
             {"observable", v.observable},
             {"path", heads(v.path)},
             {"layer", v.layer},
             {"hook", "blocks." + std::to_string(v.layer) + ".hook_resid_pre"},
             {"position", v.position},
             {"normalize", v.normalize},
             {"alpha", v.alpha},
             {"vector_norm", i < r.vector_norms.size() ? number(r.vector_norms[i]) : json(nullptr)}});
    }
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        out["observables"].push_back(
            {{"name", r.observables[k]},
             {"mean_before", k < r.mean_before.size() ? number(r.mean_before[k]) : json(nullptr)},
             {"mean_change", r.exact ? number(r.mean_change[k]) : json(nullptr)},
             {"predicted", number(r.predicted[k])}});
    for (std::size_t p = 0; p < r.before.size(); ++p) {
        json positions = json::array();
        for (const auto& v : r.positions)
            positions.push_back(v[p] < 0 ? json("all") : json(v[p])); // every token, or one
        out["prompts"].push_back({{"text", p < r.prompts.size() ? r.prompts[p] : std::string()},
                                  {"positions", positions},
                                  {"before", numbers(r.before[p])},
                                  {"after", numbers(r.after[p])}});
    }
    return out;
}

json to_json(const DebiasReport& r) {
    json out = {{"raise", r.raise},
                {"lower", r.lower},
                {"feature_of", r.feature_of},
                {"ln", r.ln_mode},
                {"dataset", r.dataset},
                {"position", r.position},
                {"normalize", r.normalize},
                {"layer", r.layer},
                {"candidates", r.candidates},
                {"alphas", numbers(r.alphas)},
                {"mean_before", {{"raise", number(r.mean_raise)}, {"lower", number(r.mean_lower)}}},
                {"rows", to_table(r).to_json()}};
    for (auto& row : out["rows"])
        row["separates"] = row["separates"] == 1;
    return out;
}

} // namespace obsprop::analyses
