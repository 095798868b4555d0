#include "analyses/analysis.h"

#include <algorithm>

#include "analyses/cache.h"

#include "obsprop/analysis.h"

namespace obsprop::analyses {

using torch::Tensor;

Analysis::Analysis(std::shared_ptr<const Workspace> ws, const SettingsOverrides& o)
    : Analysis(ws, resolve_settings(ws->project(), o)) {}

Analysis::Analysis(std::shared_ptr<const Workspace> ws, AnalysisSettings settings)
    : ws_(std::move(ws)), settings_(std::move(settings)), cache_(std::make_shared<Cache>()) {}

Analysis Analysis::with(const SettingsOverrides& o) const {
    Analysis a = *this; // shares the snapshot and the cache
    a.settings_ = apply_overrides(ws_->project(), settings_, o);
    return a;
}

namespace {

std::string ln_key(const AnalysisSettings& s, const std::string& dataset) {
    if (s.ln_mode == "none") return "none";
    if (s.ln_mode == "approx" && s.rho) return "approx|rho=" + std::to_string(*s.rho) + "|" + dataset;
    return s.ln_mode + "|" + dataset;
}

} // namespace

const ResidualNorms& dataset_residuals(const Analysis& a, const std::string& dataset,
                                       const Progress& progress) {
    auto& c = a.cache();
    return cached(c.mu, c.residuals, dataset, [&] {
        return residual_norms(a.workspace().model(), a.workspace().prompt_batch(dataset), progress);
    });
}

FeatureOptions ln_options(const Analysis& a, const std::string& observable, const Progress& progress) {
    const auto& s = a.settings();
    const std::string& dataset = s.ln_dataset(observable);
    auto& c = a.cache();
    return cached(c.mu, c.options, ln_key(s, dataset), [&] {
        FeatureOptions o;
        LnMode mode = LnMode::None;
        parse_ln_mode(s.ln_mode, mode);
        o.final_ln = mode;
        o.block_ln = mode;
        if (mode == LnMode::None) return o;
        const bool softcap = a.workspace().model().config().final_softcap > 0;
        if (mode == LnMode::Approximate && s.rho) {
            o.final_rho = *s.rho;
            o.default_rho = *s.rho;
            // A final soft-cap is still linearised at the dataset's first final residual.
            if (softcap) o.final_residual = dataset_residuals(a, dataset, progress).final_residuals[0];
            return o;
        }
        const ResidualNorms& n = dataset_residuals(a, dataset, progress);
        o.final_rho = n.final_rho;
        o.rho_ln1 = n.ln1_rho;
        o.rho_ln2 = n.ln2_rho;
        if (softcap) o.final_residual = n.final_residuals[0];
        o.rho_post_attn = n.post_attn_rho;
        o.rho_post_mlp = n.post_mlp_rho;
        if (mode == LnMode::Exact) {
            if (n.post_attn_last.defined()) {
                o.post_attn_points = n.post_attn_last[0];
                o.post_mlp_points = n.post_mlp_last[0];
            }
            // Linearised at the dataset's first prompt: its final residual and its residuals at the name
            // slot.
            o.final_residual = n.final_residuals[0];
            o.residuals = n.resid_at_position[0];
        }
        return o;
    });
}

std::string mlp_node_token(const std::vector<PathNode>& nodes, std::size_t k) {
    const bool head_after = std::any_of(nodes.begin() + static_cast<std::ptrdiff_t>(k) + 1, nodes.end(),
                                        [](const PathNode& n) { return !n.is_mlp(); });
    return head_after ? "name" : "last";
}

std::vector<PathNodeInput> path_inputs(const Analysis& a, const std::string& observable,
                                       const std::vector<PathNode>& nodes, const Progress& progress) {
    if (std::none_of(nodes.begin(), nodes.end(), [](const PathNode& n) { return n.is_mlp(); })) return {};
    const ResidualNorms& r = dataset_residuals(a, a.settings().ln_dataset(observable), progress);
    std::vector<PathNodeInput> in(nodes.size());
    for (std::size_t k = 0; k < nodes.size(); ++k) {
        if (!nodes[k].is_mlp()) continue;
        const bool at_name = mlp_node_token(nodes, k) == "name";
        in[k].ln2_inputs = (at_name ? r.ln2_at_position : r.ln2_last).select(1, nodes[k].layer);
    }
    return in;
}

std::vector<FeatureSet> head_features(const Analysis& a, const std::vector<std::string>& observables,
                                      bool norm_rule, const Progress& progress) {
    const auto& s = a.settings();
    auto& c = a.cache();
    auto key = [&](const std::string& ob) {
        return ln_key(s, s.ln_dataset(ob)) + (norm_rule ? "|rule|" : "|plain|") + ob;
    };
    // Missing entries, grouped by their LayerNorm options: one pass over the weights per group.
    std::map<std::string, std::vector<std::string>> missing;
    {
        std::lock_guard lock(c.mu);
        for (const auto& ob : observables)
            if (!c.features.count(key(ob))) missing[ln_key(s, s.ln_dataset(ob))].push_back(ob);
    }
    double done = 0;
    for (const auto& [k, names] : missing) {
        auto p = sub_progress(progress, done / missing.size(), (done + 1) / missing.size());
        done += 1;
        FeatureOptions o = ln_options(a, names.front(), sub_progress(p, 0, 0.3));
        o.drop_earliest_rho = norm_rule;
        std::vector<Observable> obs;
        for (const auto& n : names)
            obs.push_back(a.workspace().observable(n));
        auto sets = compute_head_features(a.workspace().model(), obs, o, sub_progress(p, 0.3, 1));
        std::lock_guard lock(c.mu);
        for (std::size_t i = 0; i < names.size(); ++i)
            c.features.emplace(key(names[i]), std::move(sets[i]));
    }
    std::vector<FeatureSet> out;
    std::lock_guard lock(c.mu);
    for (const auto& ob : observables)
        out.push_back(c.features.at(key(ob)));
    return out;
}

Tensor dataset_tokens(const Analysis& a, const std::string& dataset, int layer, const Progress& progress) {
    auto& c = a.cache();
    return cached(c.mu, c.tokens, std::make_pair(dataset, layer), [&] {
        return token_activations(a.workspace().model(), a.workspace().prompt_batch(dataset), layer, progress);
    });
}

const std::vector<HeadSvd>& head_svds(const Analysis& a, const Progress& progress) {
    auto& c = a.cache();
    {
        std::lock_guard lock(c.mu);
        if (!c.svds.empty()) return c.svds;
    }
    auto svds = all_head_svds(a.workspace().model(), false, progress);
    std::lock_guard lock(c.mu);
    if (c.svds.empty()) c.svds = std::move(svds);
    return c.svds;
}

const LayerNormCheck& ln_check(const Analysis& a, const std::string& observable, const Progress& progress) {
    const auto& s = a.settings();
    const std::string& dataset = s.ln_dataset(observable);
    auto& c = a.cache();
    return cached(c.mu, c.ln_checks, ln_key(s, dataset) + "|" + observable, [&] {
        // At every prompt's token the heads read (not at their mean): the Jacobian differs token by token.
        const Tensor x = dataset_residuals(a, dataset, progress).resid_at_position;
        FeatureOptions fo = ln_options(a, observable);
        fo.rho_ln1.clear(), fo.default_rho = 0; // ρ = the residual's own norm: the check compares directions
        return layernorm_check(a.workspace().model(), a.workspace().observable(observable), x, fo);
    });
}

HeadGrid to_grid(const Tensor& lh) {
    HeadGrid g;
    g.layers = static_cast<int>(lh.size(0));
    g.heads = static_cast<int>(lh.size(1));
    g.values = to_vector(lh);
    return g;
}

std::vector<double> to_vector(const Tensor& t) {
    Tensor d = t.detach().to(torch::kDouble).contiguous().reshape({-1});
    return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

std::vector<HeadId> to_heads(const std::vector<PathNode>& path) {
    std::vector<HeadId> out;
    for (const auto& n : path)
        out.push_back(n.is_embed() ? HeadId::embed()
                      : n.is_mlp() ? HeadId::mlp(n.layer)
                                   : HeadId{n.layer, n.head, n.token});
    return out;
}

std::vector<PathNode> to_nodes(const std::vector<HeadId>& path) {
    std::vector<PathNode> out;
    for (const auto& h : path)
        out.push_back(h.is_embed() ? PathNode::embed()
                      : h.is_mlp() ? PathNode::mlp(h.layer)
                                   : PathNode::attn(h.layer, h.head, h.token));
    return out;
}

std::vector<HeadId> whole_path(std::vector<HeadId> path) {
    for (auto& h : path)
        h = h.whole();
    return path;
}

std::vector<HeadId> parse_path_label(const std::string& text) {
    return to_heads(parse_path(text));
}

std::string path_label(const std::vector<HeadId>& path) {
    std::string s;
    for (const auto& h : path)
        s += (s.empty() ? "" : " -> ") + h.label();
    return s;
}

std::string path_title(const std::vector<HeadId>& path) {
    if (path.size() == 1) return path.front().valid() ? "head " + path.front().label() : path.front().label();
    return "path " + path_label(path);
}

} // namespace obsprop::analyses
