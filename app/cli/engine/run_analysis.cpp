// obsprop features | attribute | couple | svd | head | attention | paths | dataset | steer | debias in the
// engine: each computes one report of the analysis layer (analyses/run.h) and prints it; nothing is computed
// here.
#include <iostream>
#include <tuple>

#include "analyses/command.h"
#include "analyses/run.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "analysis_options.h"
#include "cli.h"
#include "commands.h"
#include "obsprop/features.h"
#include "obsprop/steering.h"

namespace obsprop::cli {

using namespace obsprop::analyses;

namespace {

// --head L.H, checked against the model.
HeadId head_of(const Analysis& a, const std::string& text) {
    const HeadId h = parse_head_arg("--head", text);
    check_heads_arg(a.workspace(), "--head", text, {h});
    return h;
}

// A path option ("1.2 -> 3.4"), checked against the model.
std::vector<HeadId> path_of(const Analysis& a, const std::string& option, const std::string& text) {
    auto heads = parse_path_arg(option, text);
    check_heads_arg(a.workspace(), option, text, heads);
    return heads;
}

std::pair<std::string, std::string> pair_of(const Analysis& a, const std::vector<std::string>& pair) {
    const auto& obs = a.workspace().observables();
    if (pair.size() == 2) {
        if (pair[0] == pair[1])
            throw UsageError("--pair '" + pair[0] + "," + pair[1] + "': give two different observables");
        return {observable_arg(a.workspace(), "--pair", pair[0]),
                observable_arg(a.workspace(), "--pair", pair[1])};
    }
    if (obs.size() < 2) throw UsageError("this needs two observables (or --pair a,b)");
    return {obs[0].name, obs[1].name};
}

} // namespace

namespace engine {

int features(const FeaturesArgs& f) {
    Analysis a = open_analysis(f.o);
    std::string pa, pb;
    if (f.pair.size() == 2) std::tie(pa, pb) = pair_of(a, f.pair);
    const auto r = features_report(a, pa, pb);
    if (f.o.json)
        print_json(to_json(r));
    else
        print_table(to_table(r), f.o);
    return 0;
}

int attribute(const AttributeArgs& at) {
    SettingsOverrides m;
    if (!at.method.empty()) m.attribution = at.method;
    if (!at.position.empty()) m.attribution_position = at.position;
    print_table(to_table(attribution_report(open_analysis(at.o, m))), at.o);
    return 0;
}

int couple(const CoupleArgs& c) {
    if (!c.head.empty()) parse_head_arg("--head", c.head); // syntax first, before loading the model
    Analysis a = open_analysis(c.o);
    const auto [pa, pb] = pair_of(a, c.pair);
    if (c.head.empty()) {
        print_table(to_table(coupling_report(a, pa, pb, true)), c.o);
        return 0;
    }
    const auto r = coupling_scatter_report(a, head_of(a, c.head), pa, pb);
    if (c.o.json)
        print_json(to_json(r));
    else
        print_table(to_table(r), c.o);
    return 0;
}

int svd(const SvdArgs& s) {
    SettingsOverrides t;
    if (s.top_k > 0) t.svd_top_k = s.top_k;
    Analysis a = open_analysis(s.o, t);
    print_table(to_table(svd_report(a, observable_arg(a.workspace(), "--feature-of", s.feature_of))), s.o);
    return 0;
}

int head(const HeadArgs& h) {
    parse_head_arg("--head", h.head); // syntax first, before loading the model
    const Analysis a = open_analysis(h.o);
    const auto r = head_detail_report(a, head_of(a, h.head));
    if (h.o.json)
        print_json(to_json(r));
    else
        print_table(to_table(r), h.o), print_table(ln_check_table(r), h.o);
    return 0;
}

int attention(const AttentionArgs& at) {
    parse_head_arg("--head", at.head); // syntax first, before loading the model
    const Analysis a = open_analysis(at.o);
    const auto r =
        attention_report(a, head_of(a, at.head),
                         observable_arg(a.workspace(), "--observable-of", at.observable_of), at.prompt);
    if (at.o.json)
        print_json(to_json(r));
    else
        print_table(to_table(r), at.o);
    return 0;
}

int paths(const PathsArgs& p) {
    SettingsOverrides s;
    s.top_paths = p.top, s.beam_width = p.beam_width, s.max_length = p.max_length;
    if (p.mlp && !p.beam) throw UsageError("--mlp goes with --beam (the path search by patching)");
    if (p.mlp) s.mlp_nodes = true;
    if (p.embed && !p.beam) throw UsageError("--embed goes with --beam (the path search by patching)");
    if (p.embed) s.embed_nodes = true;
    if (p.tokens && !p.beam) throw UsageError("--tokens goes with --beam (the path search by patching)");
    if (p.tokens) s.token_nodes = true;
    if (!p.compare.empty()) parse_path_arg("--compare", p.compare); // syntax first
    Analysis a = open_analysis(p.o, s);
    const std::string obs = observable_arg(a.workspace(), "--feature-of", p.feature_of);
    if (!p.compare.empty()) {
        const auto r = path_detail_report(a, path_of(a, "--compare", p.compare), obs);
        if (p.o.json)
            print_json(to_json(r));
        else
            print_table(to_table(r), p.o);
        return 0;
    }
    print_table(to_table(p.beam ? path_search_report(a, obs) : path_ranking_report(a, obs)), p.o);
    return 0;
}

int dataset(const AnalysisOptions& o) {
    print_table(to_table(dataset_report(open_analysis(o))), o);
    return 0;
}

int steer(const SteerArgs& s) {
    const AnalysisOptions& o = s.o;
    if (!s.head.empty() && !s.path.empty())
        throw UsageError("give one of --head L.H and --path 'L.H -> L.H'");
    const bool own = !s.head.empty() || !s.path.empty();
    if (!own && (s.alpha != 0 || s.layer >= 0 || s.normalize || !s.feature_of.empty()))
        throw UsageError("--alpha, --layer, --normalize and --feature-of go with --head or --path");
    if (!s.head.empty()) parse_head_arg("--head", s.head); // syntax first, before loading the model
    if (!s.path.empty()) parse_path_arg("--path", s.path);
    std::vector<SteeringVector> vectors;
    for (const auto& spec : s.vectors) {
        try {
            vectors.push_back(parse_vector_spec(spec));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }
    Analysis a = open_analysis(o);
    const Workspace& w = a.workspace();
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        SteeringVector& v = vectors[i];
        const std::string spec = "--vector '" + s.vectors[i] + "'";
        if (v.observable.empty()) throw UsageError(spec + ": give obs=NAME");
        v.observable = observable_arg(w, spec + ": obs", v.observable);
        check_heads_arg(w, spec + ": path", path_label(v.path), v.path);
        if (v.layer >= 0) check_layer_arg(w, spec + ": layer", v.layer);
    }
    if (own) {
        SteeringVector v;
        v.observable = observable_arg(w, "--feature-of", s.feature_of);
        v.path = s.head.empty() ? path_of(a, "--path", s.path) : std::vector<HeadId>{head_of(a, s.head)};
        if (s.layer >= 0) check_layer_arg(w, "--layer", s.layer);
        v.layer = s.layer;
        v.normalize = s.normalize;
        v.alpha = s.alpha;
        vectors.push_back(v);
    }
    if (vectors.empty())
        throw UsageError(
            "give a steering vector: --vector 'obs=subj;path=1.4;alpha=10' or --head L.H --alpha A");
    const SteeringReport r = steering_report(a, vectors);
    if (o.json) {
        print_json(to_json(r));
        return 0;
    }
    if (o.csv) {
        std::cout << to_table(r).to_csv();
        return 0;
    }
    std::cout << "steering " << r.prompts.size() << " prompts of '" << r.dataset << "' with:\n";
    for (const auto& v : r.vectors)
        std::cout << "  " << v.label() << " x " << v.alpha << " at blocks." << v.layer << ".hook_resid_pre ("
                  << v.position << (v.normalize ? ", unit" : "") << ")\n";
    for (std::size_t k = 0; k < r.observables.size(); ++k)
        std::cout << "  " << r.observables[k] << ": mean change " << r.mean_change[k]
                  << " (linear prediction " << r.predicted[k] << ")\n";
    return 0;
}

int debias(const DebiasArgs& d) {
    if (d.raise == d.lower)
        throw UsageError("--raise and --lower are both '" + d.raise + "': give two different observables");
    Analysis a = open_analysis(d.o);
    const Workspace& w = a.workspace();
    DebiasOptions o;
    o.raise = observable_arg(w, "--raise", d.raise);
    o.lower = observable_arg(w, "--lower", d.lower);
    if (o.raise == o.lower)
        throw UsageError("--raise and --lower name the same observable '" + o.raise + "'");
    o.feature_of = observable_arg(w, "--feature-of", d.feature_of.empty() ? o.raise : d.feature_of);
    o.candidates = d.candidates;
    if (!d.alphas.empty()) o.alphas = d.alphas;
    o.normalize = d.normalize;
    if (d.layer >= 0) check_layer_arg(w, "--layer", d.layer);
    o.layer = d.layer;
    const DebiasReport r = debias_report(a, o);
    if (d.o.json) {
        print_json(to_json(r));
        return 0;
    }
    if (d.o.csv) {
        std::cout << to_table(r).to_csv();
        return 0;
    }
    std::cout << "raising '" << r.raise << "' (mean " << r.mean_raise << ") while lowering '" << r.lower
              << "' (mean " << r.mean_lower << ") over "
              << "'" << r.dataset << "': the " << r.candidates << " heads with the most negative C("
              << r.raise << "->" << r.lower << "), each steering with its '" << r.feature_of << "' feature"
              << (r.normalize ? " (unit)" : "") << " at the "
              << (r.position.empty() ? std::string("name") : r.position) << " token of "
              << (r.layer < 0 ? std::string("its own layer") : "layer " + std::to_string(r.layer)) << "\n";
    print_table(to_table(r), d.o);
    int separating = 0;
    for (const auto& row : r.rows)
        separating += row.separates ? 1 : 0;
    std::cout << separating << " of " << r.rows.size() << " (head, alpha) separate them (change_raise > 0, "
              << "change_lower < 0)\n";
    return 0;
}

} // namespace engine

} // namespace obsprop::cli
