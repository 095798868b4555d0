// obsprop features | attribute | couple | svd | paths | steer | dataset
#include <iostream>

#include <CLI/CLI.hpp>
#include <torch/types.h>

#include "analysis_options.h"
#include "cli.h"
#include "obsprop/analysis.h"
#include "obsprop/steering.h"

namespace obsprop::cli {

namespace {

std::string single_observable(const Workspace& w, const std::string& wanted) {
    if (!wanted.empty()) return w.observable(wanted).name;
    if (w.observables().empty()) throw UsageError("give an observable with --observable");
    return w.observables().front().name;
}

// The features contract: {"observables": [{"name","expr","token_ids","weights"}], "heads": [{"layer","head",
// "norm": [...], "cosine", "coupling"}]} with cosine/coupling of the first two observables (null otherwise).
int cmd_features(const AnalysisOptions& o) {
    Workspace w = o.open();
    Table t = features_table(w, o.table_options());
    if (!o.json) {
        print_table(t, o);
        return 0;
    }
    nlohmann::json out = {{"ln", o.ln}, {"observables", nlohmann::json::array()}, {"heads", nlohmann::json::array()}};
    for (const auto& ob : w.observables()) {
        nlohmann::json ids = nlohmann::json::array(), weights = nlohmann::json::array();
        for (auto [id, wt] : ob.terms) ids.push_back(id), weights.push_back(wt);
        out["observables"].push_back(
            {{"name", ob.name}, {"expr", ob.expr}, {"token_ids", ids}, {"weights", weights}, {"warnings", ob.warnings}});
    }
    const std::size_t K = w.observables().size();
    for (const auto& r : t.rows) {
        nlohmann::json norms = nlohmann::json::array();
        for (std::size_t k = 0; k < K; ++k) norms.push_back(r[2 + k]);
        out["heads"].push_back({{"layer", r[0]},
                                {"head", r[1]},
                                {"norm", norms},
                                {"cosine", K >= 2 ? r[2 + K] : nullptr},
                                {"coupling", K >= 2 ? r[3 + K] : nullptr},
                                {"coupling_reverse", K >= 2 ? r[4 + K] : nullptr}});
    }
    print_json(out);
    return 0;
}

struct SteerOptions {
    std::string feature_of, head, path;
    double alpha = 0;
    int layer = -1;
    bool normalize = false;
};

int cmd_steer(const AnalysisOptions& o, const SteerOptions& s) {
    Workspace w = o.open();
    if (w.observables().empty()) throw UsageError("give at least one observable with --observable");
    const std::string dataset = o.dataset.empty() ? w.datasets().front().recipe.name : o.dataset;
    const std::string of = single_observable(w, s.feature_of);
    if (s.head.empty() == s.path.empty()) throw UsageError("give exactly one of --head L.H and --path 'L.H -> L.H'");
    FeatureOptions fo = w.feature_options(o.ln, dataset);
    torch::Tensor y;
    int layer = 0;
    if (!s.head.empty()) {
        auto nodes = parse_path(s.head);
        if (nodes.size() != 1 || nodes[0].is_mlp()) throw UsageError("--head takes one head, e.g. 3.1");
        validate_path(w.model().config(), nodes);
        auto fs = compute_head_features(w.model(), w.observable(of), fo);
        y = fs.heads[nodes[0].layer][nodes[0].head];
        layer = nodes[0].layer;
    } else {
        auto nodes = parse_path(s.path);
        validate_path(w.model().config(), nodes);
        auto pf = compute_path_feature(w.model(), w.observable(of), nodes, fo);
        y = pf.feature;
        layer = nodes.front().layer;
    }
    if (s.layer >= 0) layer = s.layer;
    if (s.normalize) {
        const double n = y.norm().item<double>();
        if (!(n > 0)) throw std::invalid_argument("the feature vector is zero: it cannot be normalised");
        y = y / n;
    }
    auto prompts = w.prompt_batch(dataset, o.position);
    auto obs = w.observable_matrix();
    auto base = steering_baseline(w.model(), prompts, layer, obs);
    auto r = steer(w.model(), prompts, base, obs, y.to(torch::kFloat), s.alpha);
    const auto& d = w.dataset(dataset);
    nlohmann::json out = {{"alpha", s.alpha},           {"layer", layer},
                          {"hook", model::hook_name(layer, "hook_resid_pre")},
                          {"position", o.position},     {"dataset", dataset},
                          {"feature_of", of},           {"normalized", s.normalize},
                          {"vector_norm", y.norm().item<double>()},
                          {"observables", nlohmann::json::array()}, {"prompts", nlohmann::json::array()}};
    for (int k = 0; k < obs.size(); ++k)
        out["observables"].push_back({{"name", obs.names[k]},
                                      {"mean_before", base.values.select(1, k).mean().item<double>()},
                                      {"mean_change", r.mean_change[k].item<double>()},
                                      {"predicted", r.predicted[k].item<double>()}});
    for (std::size_t p = 0; p < prompts.size(); ++p) {
        nlohmann::json before = nlohmann::json::array(), after = nlohmann::json::array();
        for (int k = 0; k < obs.size(); ++k) {
            before.push_back(base.values[static_cast<std::int64_t>(p)][k].item<double>());
            after.push_back(r.values[static_cast<std::int64_t>(p)][k].item<double>());
        }
        out["prompts"].push_back({{"text", d.prompts[p].text}, {"position", prompts.positions[p]},
                                  {"before", before}, {"after", after}});
    }
    if (o.json) {
        print_json(out);
        return 0;
    }
    std::cout << "steering with " << (s.head.empty() ? s.path : s.head) << " (" << of << ") x " << s.alpha << " at "
              << out["hook"].get<std::string>() << ", " << prompts.size() << " prompts of '" << dataset << "'\n";
    for (const auto& e : out["observables"])
        std::cout << "  " << e["name"].get<std::string>() << ": mean change " << e["mean_change"].get<double>()
                  << " (linear prediction " << e["predicted"].get<double>() << ")\n";
    return 0;
}

}  // namespace

void add_analysis_commands(CLI::App& app, Action& run) {
    auto o = std::make_shared<AnalysisOptions>();
    auto top = std::make_shared<int>(5);

    auto* features = app.add_subcommand("features", "Feature-vector norms of every head (data-free)");
    o->add_to(features);
    features->callback([o, &run] { run = [o] { return cmd_features(*o); }; });

    auto* attribute = app.add_subcommand("attribute", "Attribution by direct-path patching over prompt pairs");
    o->add_to(attribute, true, false);
    auto method = std::make_shared<std::string>("patching");
    attribute->add_option("--method", *method, "patching (exact) or gradient (attribution patching)")
        ->check(CLI::IsMember({"patching", "gradient"}));
    attribute->callback([o, method, &run] {
        run = [o, method] {
            Workspace w = o->open();
            auto t = o->table_options();
            if (t.dataset.empty()) t.dataset = w.datasets().front().recipe.name;
            t.attribution = *method;
            print_table(attribution_table(w, t), *o);
            return 0;
        };
    });

    auto* couple = app.add_subcommand("couple", "Cosines and coupling coefficients of two observables per head");
    o->add_to(couple);
    auto pair = std::make_shared<std::vector<std::string>>();
    couple->add_option("--pair", *pair, "The two observables by name (default: the first two)")->expected(2)->delimiter(',');
    couple->callback([o, pair, &run] {
        run = [o, pair] {
            Workspace w = o->open();
            if (w.observables().size() < 2) throw UsageError("couple needs two observables");
            const std::string a = pair->size() == 2 ? w.observable((*pair)[0]).name : w.observables()[0].name;
            const std::string b = pair->size() == 2 ? w.observable((*pair)[1]).name : w.observables()[1].name;
            print_table(coupling_table(w, a, b, o->table_options()), *o);
            return 0;
        };
    });

    auto* svd = app.add_subcommand("svd", "Alignment of each head's feature with its OV singular vectors");
    o->add_to(svd, false);
    svd->add_option("--top-k", *top, "Singular vectors listed per head")->check(CLI::PositiveNumber);
    svd->callback([o, top, &run] {
        run = [o, top] {
            Workspace w = o->open();
            auto t = o->table_options();
            t.top_k = *top;
            print_table(svd_table(w, single_observable(w, {}), t), *o);
            return 0;
        };
    });

    auto* paths = app.add_subcommand(
        "paths", "Rank every 2-head virtual head by feature norm (data-free), or with --beam search head paths by path patching");
    o->add_to(paths);
    auto keep = std::make_shared<int>(20);
    auto beam = std::make_shared<bool>(false);
    auto search = std::make_shared<TableOptions>();
    paths->add_option("--top", *keep, "How many 2-head paths to list")->check(CLI::PositiveNumber);
    paths->add_flag("--beam", *beam, "Beam search by path patching over the dataset's prompt pairs");
    paths->add_option("--beam-width", search->beam_width, "Paths kept per length (with --beam)")->check(CLI::Range(1, 100000));
    paths->add_option("--max-length", search->max_length, "Heads per path (with --beam)")->check(CLI::Range(1, 1000));
    paths->callback([o, keep, beam, search, &run] {
        run = [o, keep, beam, search] {
            Workspace w = o->open();
            auto t = o->table_options();
            if (!*beam) {
                t.top_paths = static_cast<std::size_t>(*keep);
                print_table(paths_table(w, single_observable(w, {}), t), *o);
                return 0;
            }
            if (t.dataset.empty()) t.dataset = w.datasets().front().recipe.name;
            t.beam_width = search->beam_width;
            t.max_length = search->max_length;
            print_table(path_search_table(w, single_observable(w, {}), t), *o);
            return 0;
        };
    });

    auto* dataset = app.add_subcommand("dataset", "List a dataset's prompts and their observable values");
    o->add_to(dataset, true, false);
    dataset->callback([o, &run] {
        run = [o] {
            Workspace w = o->open();
            print_table(dataset_table(w, o->dataset.empty() ? w.datasets().front().recipe.name : o->dataset), *o);
            return 0;
        };
    });

    auto* steer = app.add_subcommand("steer", "Add a multiple of a feature vector to the residual stream and rerun");
    o->add_to(steer);
    auto s = std::make_shared<SteerOptions>();
    steer->add_option("--feature-of", s->feature_of, "Observable whose feature vector steers (default: the first)");
    steer->add_option("--head", s->head, "Head whose feature vector steers, e.g. 3.1");
    steer->add_option("--path", s->path, "Virtual head whose feature vector steers, e.g. '1.2 -> 3.1'");
    steer->add_option("--alpha", s->alpha, "Multiplier")->required();
    steer->add_option("--layer", s->layer, "Layer whose resid_pre receives it (default: the head's own)");
    steer->add_option("--position", o->position, "Token position: name or last")->check(CLI::IsMember({"name", "last"}));
    steer->add_flag("--normalize", s->normalize, "Use the unit vector");
    steer->callback([o, s, &run] { run = [o, s] { return cmd_steer(*o, *s); }; });
}

}  // namespace obsprop::cli
