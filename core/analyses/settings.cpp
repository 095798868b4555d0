#include "analyses/settings.h"

#include <cmath>
#include <stdexcept>

#include "project/dataset.h"

namespace obsprop::analyses {

namespace {

std::vector<std::string> dataset_names(const project::Project& p) {
    std::vector<std::string> out;
    for (const auto& d : p.datasets)
        out.push_back(d.name);
    return out;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "none" : s;
}

void require_dataset(const project::Project& p, const std::string& name, const std::string& what) {
    for (const auto& d : p.datasets)
        if (d.name == name) return;
    throw std::invalid_argument(what + ": no dataset named '" + name +
                                "' (the project has: " + join(dataset_names(p)) + ")");
}

void require_observable(const project::Project& p, const std::string& name, const std::string& what) {
    for (const auto& o : p.observables)
        if (o.name == name) return;
    std::vector<std::string> known;
    for (const auto& o : p.observables)
        known.push_back(o.name);
    throw std::invalid_argument(what + ": no observable named '" + name +
                                "' (the project has: " + join(known) + ")");
}

} // namespace

const std::string& AnalysisSettings::ln_dataset(const std::string& observable) const {
    auto it = ln_datasets.find(observable);
    if (it == ln_datasets.end()) throw std::invalid_argument("no observable named '" + observable + "'");
    return it->second;
}

AnalysisSettings apply_overrides(const project::Project& p, AnalysisSettings s, const SettingsOverrides& o) {
    if (o.ln_mode) s.ln_mode = *o.ln_mode;
    if (s.ln_mode == "approximate") s.ln_mode = "approx";
    if (s.ln_mode != "none" && s.ln_mode != "approx" && s.ln_mode != "exact")
        throw std::invalid_argument("unknown LayerNorm mode '" + s.ln_mode + "' (none, approx or exact)");
    if (o.rho) {
        if (!(*o.rho > 0) || !std::isfinite(*o.rho))
            throw std::invalid_argument("rho must be a positive number (got " + std::to_string(*o.rho) + ")");
        s.rho = o.rho;
    }
    if (p.datasets.empty()) throw std::invalid_argument("the project has no dataset");
    const std::string first = p.datasets.front().name;
    // LayerNorm datasets: per-observable override, override for all, the observable's own, the first dataset.
    for (const auto& [name, d] : o.observable_ln_datasets)
        require_observable(p, name, "--ln-dataset " + name + "=" + d);
    std::map<std::string, std::string> ln;
    for (const auto& ob : p.observables) {
        std::string d = ob.dataset.empty() ? first : ob.dataset;
        if (auto it = s.ln_datasets.find(ob.name); it != s.ln_datasets.end() && !o.ln_dataset) d = it->second;
        if (!ob.dataset.empty()) require_dataset(p, ob.dataset, "observable '" + ob.name + "'");
        if (o.ln_dataset) d = *o.ln_dataset;
        if (auto it = o.observable_ln_datasets.find(ob.name); it != o.observable_ln_datasets.end())
            d = it->second;
        require_dataset(p, d, "the LayerNorm dataset of '" + ob.name + "'");
        ln[ob.name] = d;
    }
    s.ln_datasets = std::move(ln);
    if (o.dataset) s.dataset = *o.dataset;
    if (s.dataset.empty()) s.dataset = first;
    require_dataset(p, s.dataset, "--dataset");
    if (o.attribution) s.attribution = *o.attribution;
    if (s.attribution != "patching" && s.attribution != "gradient" && s.attribution != "total")
        throw std::invalid_argument("unknown attribution method '" + s.attribution +
                                    "' (patching, gradient or total)");
    if (o.svd_top_k) s.svd_top_k = *o.svd_top_k;
    if (s.svd_top_k < 1) throw std::invalid_argument("top-k must be at least 1");
    if (o.position) s.position = *o.position;
    if (s.position && !project::is_token_position(*s.position))
        throw std::invalid_argument(
            "unknown token position '" + *s.position +
            "' (name, last, all, or a token index: 0, 1, … from the start, -1, … from the end)");
    if (o.attribution_position) s.attribution_position = *o.attribution_position;
    if (!project::is_single_token_position(s.attribution_position))
        throw std::invalid_argument(
            "unknown attribution token '" + s.attribution_position +
            "' (name, last, or a token index: 0, 1, … from the start, -1, … from the end)");
    if (o.beam_width) s.beam_width = *o.beam_width;
    if (o.max_length) s.max_length = *o.max_length;
    if (o.top_paths) s.top_paths = *o.top_paths;
    if (o.mlp_nodes) s.mlp_nodes = *o.mlp_nodes;
    if (o.embed_nodes) s.embed_nodes = *o.embed_nodes;
    if (o.token_nodes) s.token_nodes = *o.token_nodes;
    if (s.beam_width < 1) throw std::invalid_argument("the beam width must be at least 1");
    if (s.max_length < 1) throw std::invalid_argument("a path needs at least one head (max length >= 1)");
    if (s.top_paths < 1) throw std::invalid_argument("list at least one path (top >= 1)");
    return s;
}

AnalysisSettings resolve_settings(const project::Project& p, const SettingsOverrides& o) {
    AnalysisSettings s;
    s.ln_mode = p.settings.ln_mode;
    s.rho = p.settings.rho;
    s.attribution = p.settings.attribution;
    s.svd_top_k = p.settings.svd_top_k;
    s.attribution_position = p.settings.attribution_position;
    return apply_overrides(p, s, o);
}

void parse_ln_dataset_option(const std::string& text, SettingsOverrides& o) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        if (text.empty()) throw std::invalid_argument("--ln-dataset needs a dataset name");
        o.ln_dataset = text;
        return;
    }
    const std::string obs = text.substr(0, eq), d = text.substr(eq + 1);
    if (obs.empty() || d.empty())
        throw std::invalid_argument("--ln-dataset takes D or OBSERVABLE=D (got '" + text + "')");
    o.observable_ln_datasets[obs] = d;
}

} // namespace obsprop::analyses
