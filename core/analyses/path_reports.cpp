// Path reports: the data-free ranking of two-head virtual heads, the beam search by path patching, and one
// path's feature vector compared across observables.
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "obsprop/path_patching.h"
#include "obsprop/ranking.h"

namespace obsprop::analyses {

using torch::Tensor;

namespace {

std::vector<MlpPoint> mlp_points(const PathFeature& pf, const std::vector<PathNode>& nodes) {
    std::vector<MlpPoint> out;
    std::size_t j = 0;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
        if (!nodes[k].is_mlp()) continue;
        const MlpLinearisation& l = pf.mlp.at(j++);
        out.push_back({HeadId::mlp(nodes[k].layer), mlp_node_token(nodes, k), l.prompt_plus, l.prompt_minus,
                       l.value_plus, l.value_minus, l.t_star});
    }
    return out;
}

} // namespace

PathsReport path_ranking_report(const Analysis& a, const std::string& observable, const Progress& progress) {
    const auto& w = a.workspace();
    PathsReport r;
    r.ln_mode = a.settings().ln_mode;
    r.observable = w.observable(observable).name;
    RankingOptions ro;
    ro.keep = static_cast<std::size_t>(a.settings().top_paths);
    auto rk = rank_virtual_heads(w.model(), w.observable(r.observable),
                                 ln_options(a, r.observable, sub_progress(progress, 0, 0.1)), ro,
                                 sub_progress(progress, 0.1, 1));
    r.scored = rk.n_pairs;
    for (const auto& s : rk.top) {
        PathEntry e;
        e.nodes = {{s.layer1, s.head1}, {s.layer2, s.head2}};
        e.value = e.feature_norm = s.norm;
        r.paths.push_back(e);
    }
    require_finite(a.workspace(), r);
    return r;
}

PathsReport path_search_report(const Analysis& a, const std::string& observable, const Progress& progress) {
    const auto& w = a.workspace();
    const auto& s = a.settings();
    PathsReport r;
    r.ln_mode = s.ln_mode;
    r.observable = w.observable(observable).name;
    r.patching = true;
    r.dataset = s.dataset;
    r.beam_width = s.beam_width, r.max_length = s.max_length, r.mlp_nodes = s.mlp_nodes;
    r.embed_nodes = s.embed_nodes, r.token_nodes = s.token_nodes;
    auto [clean, corrupt] = w.pair_batches(r.dataset);
    ObservableMatrix all = w.observable_matrix();
    auto search = beam_search_paths(w.model(), clean, corrupt, all, all.row(r.observable),
                                    {s.beam_width, s.max_length, s.mlp_nodes, s.embed_nodes, s.token_nodes},
                                    sub_progress(progress, 0, 0.9));
    const auto ranked = search.ranked();
    const auto norms = path_feature_norms(
        w.model(), w.observable(r.observable), ranked,
        ln_options(a, r.observable, sub_progress(progress, 0.9, 1)),
        [&](const std::vector<PathNode>& nodes) { return path_inputs(a, r.observable, nodes); });
    r.pairs = search.pairs, r.pairs_given = search.pairs_given, r.scored = search.scored;
    for (std::size_t i = 0; i < ranked.size(); ++i)
        r.paths.push_back(
            {to_heads(ranked[i].path), ranked[i].mean, ranked[i].sd, ranked[i].pairs, norms[i]});
    require_finite(a.workspace(), r);
    return r;
}

PathDetailReport path_detail_report(const Analysis& a, const std::vector<HeadId>& path,
                                    const std::string& observable, const Progress& progress) {
    const auto& w = a.workspace();
    const auto nodes = to_nodes(path);
    if (nodes.empty()) throw std::invalid_argument("a path needs at least one node");
    validate_path(w.model().config(), nodes);
    PathDetailReport r;
    r.ln_mode = a.settings().ln_mode;
    r.observable = w.observable(observable).name;
    r.nodes = path;
    std::vector<Tensor> ys;
    const auto& obs = w.observables();
    for (std::size_t k = 0; k < obs.size(); ++k) {
        FeatureOptions fo = ln_options(
            a, obs[k].name, sub_progress(progress, double(k) / obs.size(), double(k + 1) / obs.size()));
        fo.drop_earliest_rho = true; // the norm-comparison rule, as in the ranking
        const auto in = path_inputs(a, obs[k].name, nodes);
        PathFeature pf = compute_path_feature(w.model(), obs[k], nodes, fo, in);
        ys.push_back(pf.feature.to(torch::kDouble));
        r.mlp_points.push_back(mlp_points(pf, nodes));
        r.observables.push_back(obs[k].name);
    }
    const Tensor& chosen = ys[static_cast<std::size_t>(w.observable_matrix().row(r.observable))];
    const double nc = chosen.norm().item<double>();
    for (const Tensor& y : ys) {
        const double n = y.norm().item<double>();
        r.norms.push_back(n);
        r.cosines.push_back(n > 0 && nc > 0 ? (y * chosen).sum().item<double>() / (n * nc)
                                            : std::numeric_limits<double>::quiet_NaN());
    }
    require_finite(a.workspace(), r);
    return r;
}

} // namespace obsprop::analyses
