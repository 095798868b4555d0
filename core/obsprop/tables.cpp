#include "obsprop/tables.h"

#include <cmath>
#include <sstream>

#include "obsprop/analysis.h"
#include "obsprop/attribution.h"
#include "obsprop/coupling_fit.h"
#include "obsprop/path_patching.h"
#include "obsprop/ranking.h"
#include "obsprop/svd.h"

namespace obsprop {

using nlohmann::json;
using torch::Tensor;

namespace {

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string csv_cell(const json& v) {
    if (v.is_null()) return {};
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }
    if (v.is_number_float()) {
        std::ostringstream o;
        o.precision(17);
        o << v.get<double>();
        return o.str();
    }
    return v.dump();
}

const Observable& require(const Workspace& w, const std::string& name) { return w.observable(name); }

void require_observables(const Workspace& w, std::size_t n) {
    if (w.observables().size() < n)
        throw std::invalid_argument("this needs at least " + std::to_string(n) + " observable" + (n > 1 ? "s" : ""));
}

}  // namespace

std::string Table::to_csv() const {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + csv_cell(columns[i]);
    out += "\n";
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + csv_cell(r[i]);
        out += "\n";
    }
    return out;
}

json Table::to_json() const {
    json a = json::array();
    for (const auto& r : rows) {
        json o = json::object();
        for (std::size_t i = 0; i < columns.size() && i < r.size(); ++i) o[columns[i]] = r[i];
        a.push_back(o);
    }
    return a;
}

Table features_table(const Workspace& w, const TableOptions& o, const Progress& progress) {
    require_observables(w, 1);
    const auto& c = w.model().config();
    const auto& obs = w.observables();
    FeatureOptions fo = w.feature_options(o.ln_mode, o.dataset, sub_progress(progress, 0.0, 0.2));
    Table t{"features", {"layer", "head"}, {}};
    const Tensor all = head_feature_norms(w.model(), obs, fo, sub_progress(progress, 0.2, 0.8)).to(torch::kDouble);
    std::vector<Tensor> norms;
    for (std::size_t k = 0; k < obs.size(); ++k) {
        norms.push_back(all[static_cast<std::int64_t>(k)]);
        t.columns.push_back("norm_" + obs[k].name);
    }
    std::vector<FeatureSet> sets;
    if (obs.size() >= 2)
        sets = compute_head_features(w.model(), std::vector<Observable>{obs[0], obs[1]}, fo, sub_progress(progress, 0.8, 1.0));
    std::optional<HeadComparison> cmp;
    if (sets.size() == 2) {
        cmp = compare_features(sets[0], sets[1]);
        t.columns.insert(t.columns.end(), {"cosine", "coupling_ab", "coupling_ba"});
    }
    for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_heads; ++h) {
            std::vector<json> r{l, h};
            for (const auto& n : norms) r.push_back(number(n[l][h].item<double>()));
            if (cmp) {
                r.push_back(number(cmp->cosine[l][h].item<double>()));
                r.push_back(number(cmp->coupling_ab[l][h].item<double>()));
                r.push_back(number(cmp->coupling_ba[l][h].item<double>()));
            }
            t.rows.push_back(std::move(r));
        }
    return t;
}

Table attribution_table(const Workspace& w, const TableOptions& o, const Progress& progress) {
    require_observables(w, 1);
    if (o.dataset.empty()) throw std::invalid_argument("attribution needs a dataset of prompt pairs");
    const auto method = o.attribution == "gradient" ? AttributionMethod::Gradient : AttributionMethod::Patching;
    if (o.attribution != "gradient" && o.attribution != "patching")
        throw std::invalid_argument("unknown attribution method '" + o.attribution + "' (patching or gradient)");
    auto [clean, corrupt] = w.pair_batches(o.dataset);
    auto a = attribute_heads(w.model(), clean, corrupt, w.observable_matrix(), method, progress);
    const auto& c = w.model().config();
    Table t{"attribution", {"layer", "head"}, {}};
    for (const auto& n : a.observables) t.columns.push_back("attribution_" + n);
    for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_heads; ++h) {
            std::vector<json> r{l, h};
            for (std::size_t k = 0; k < a.observables.size(); ++k)
                r.push_back(number(a.mean[static_cast<std::int64_t>(k)][l][h].item<double>()));
            t.rows.push_back(std::move(r));
        }
    return t;
}

Table coupling_table(const Workspace& w, const std::string& a, const std::string& b, const TableOptions& o,
                     const Progress& progress) {
    const auto& c = w.model().config();
    FeatureOptions fo = w.feature_options(o.ln_mode, o.dataset, sub_progress(progress, 0.0, 0.2));
    auto fa = compute_head_features(w.model(), require(w, a), fo);
    auto fb = compute_head_features(w.model(), require(w, b), fo);
    auto cmp = compare_features(fa, fb);
    Table t{"coupling_" + a + "_" + b, {"layer", "head", "cosine", "coupling_ab", "coupling_ba"}, {}};
    const bool fit = !o.dataset.empty();
    if (fit) t.columns.insert(t.columns.end(), {"fit_slope", "fit_intercept", "fit_r2"});
    PromptBatch prompts;
    if (fit) prompts = w.prompt_batch(o.dataset);
    for (int l = 0; l < c.n_layers; ++l) {
        Tensor X;
        if (fit) X = token_activations(w.model(), prompts, l, sub_progress(progress, 0.2 + 0.8 * l / c.n_layers,
                                                                          0.2 + 0.8 * (l + 1) / c.n_layers));
        for (int h = 0; h < c.n_heads; ++h) {
            std::vector<json> r{l, h, number(cmp.cosine[l][h].item<double>()), number(cmp.coupling_ab[l][h].item<double>()),
                                number(cmp.coupling_ba[l][h].item<double>())};
            if (fit) {
                auto f = fit_coupling(X, fa.heads[l][h], fb.heads[l][h]);
                r.insert(r.end(), {number(f.slope), number(f.intercept), number(f.r2)});
            }
            t.rows.push_back(std::move(r));
        }
    }
    return t;
}

Table svd_table(const Workspace& w, const std::string& observable, const TableOptions& o, const Progress& progress) {
    const auto& c = w.model().config();
    FeatureOptions fo = w.feature_options(o.ln_mode, o.dataset);
    auto fs = compute_head_features(w.model(), require(w, observable), fo, sub_progress(progress, 0.0, 0.3));
    auto al = svd_alignment(w.model(), fs, o.top_k, sub_progress(progress, 0.3, 1.0));
    Table t{"svd_" + observable, {"layer", "head", "rank", "index", "sigma", "cosine", "in_span"}, {}};
    for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_heads; ++h)
            for (int k = 0; k < al.top_k; ++k)
                t.rows.push_back({l, h, k + 1, al.indices[l][h][k].item<std::int64_t>(),
                                  number(al.top_sigma[l][h][k].item<double>()), number(al.cosines[l][h][k].item<double>()),
                                  number(al.in_span[l][h].item<double>())});
    return t;
}

Table path_search_table(const Workspace& w, const std::string& observable, const TableOptions& o,
                        const Progress& progress) {
    if (o.dataset.empty()) throw std::invalid_argument("the path search needs a dataset of prompt pairs");
    const Observable& ob = require(w, observable);
    auto [clean, corrupt] = w.pair_batches(o.dataset);
    ObservableMatrix all = w.observable_matrix();
    auto s = beam_search_paths(w.model(), clean, corrupt, all, all.row(ob.name), {o.beam_width, o.max_length},
                               sub_progress(progress, 0, 0.9));
    const auto ranked = s.ranked();
    const auto norms = path_feature_norms(w.model(), ob, ranked,
                                          w.feature_options(o.ln_mode, o.dataset, sub_progress(progress, 0.9, 1.0)));
    Table t{"path_search_" + o.dataset + "_" + observable,
            {"rank", "path", "length", "layer1", "head1", "score", "sd", "pairs", "feature_norm"}, {}};
    for (std::size_t i = 0; i < ranked.size(); ++i) {
        const auto& p = ranked[i];
        t.rows.push_back({static_cast<int>(i + 1), p.label(), static_cast<int>(p.path.size()), p.path.front().layer,
                          p.path.front().head, number(p.mean), number(p.sd), p.pairs, number(norms[i])});
    }
    return t;
}

Table paths_table(const Workspace& w, const std::string& observable, const TableOptions& o, const Progress& progress) {
    FeatureOptions fo = w.feature_options(o.ln_mode, o.dataset);
    RankingOptions ro;
    ro.keep = o.top_paths;
    auto r = rank_virtual_heads(w.model(), require(w, observable), fo, ro, progress);
    Table t{"paths_" + observable, {"rank", "path", "layer1", "head1", "layer2", "head2", "norm"}, {}};
    int rank = 0;
    for (const auto& s : r.top)
        t.rows.push_back({++rank, std::to_string(s.layer1) + "." + std::to_string(s.head1) + " -> " +
                                      std::to_string(s.layer2) + "." + std::to_string(s.head2),
                          s.layer1, s.head1, s.layer2, s.head2, number(s.norm)});
    return t;
}

Table dataset_table(const Workspace& w, const std::string& dataset, const Progress& progress) {
    const auto& d = w.dataset(dataset);
    Table t{"dataset_" + dataset, {"index", "template", "name", "gender", "text", "name_position"}, {}};
    Tensor values;
    if (!w.observables().empty()) {
        values = observable_values(w.model(), w.prompt_batch(dataset), w.observable_matrix(), progress);
        for (const auto& o : w.observables()) t.columns.push_back("value_" + o.name);
    }
    for (std::size_t i = 0; i < d.prompts.size(); ++i) {
        const auto& p = d.prompts[i];
        std::vector<json> r{static_cast<int>(i), p.template_index, p.name,
                            p.gender == project::Gender::Female ? "female" : "male", p.text, p.name_position};
        for (std::size_t k = 0; k < w.observables().size(); ++k)
            r.push_back(number(values[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(k)].item<double>()));
        t.rows.push_back(std::move(r));
    }
    return t;
}

}  // namespace obsprop
