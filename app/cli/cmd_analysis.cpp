// obsprop features | attribute | couple | svd | head | paths | steer | dataset: each computes one report of
// the analysis layer (analyses/run.h) and prints it; nothing is computed here.
#include <iostream>
#include <tuple>

#include <CLI/CLI.hpp>

#include "analyses/command.h"
#include "analyses/run.h"
#include "analyses/tables.h"
#include "analyses/workspace.h"
#include "analysis_options.h"
#include "cli.h"
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

void print(const nlohmann::json& j) {
    print_json(j);
}

struct SteerOptions {
    std::vector<std::string> vectors; // --vector specs
    std::string feature_of, head, path;
    double alpha = 0;
    int layer = -1;
    bool normalize = false;
};

int cmd_steer(const AnalysisOptions& o, const SteerOptions& s) {
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
    Analysis a = o.open();
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
        print(to_json(r));
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

} // namespace

void add_analysis_commands(CLI::App& app, Action& run) {
    auto o = std::make_shared<AnalysisOptions>();
    auto pair = std::make_shared<std::vector<std::string>>();
    auto feature_of = std::make_shared<std::string>();
    auto head = std::make_shared<std::string>();
    auto add_pair = [pair](CLI::App* c) {
        c->add_option("--pair", *pair, "The two observables by name, a,b (default: the first two)")
            ->expected(2)
            ->delimiter(',');
    };

    auto* features = app.add_subcommand("features", "Feature-vector norms of every head (data-free)");
    o->add_to(features, false);
    add_pair(features);
    features->callback([o, pair, &run] {
        run = [o, pair] {
            Analysis a = o->open();
            std::string pa, pb;
            if (pair->size() == 2) std::tie(pa, pb) = pair_of(a, *pair);
            const auto r = features_report(a, pa, pb);
            if (o->json)
                print(to_json(r));
            else
                print_table(to_table(r), *o);
            return 0;
        };
    });

    auto* attribute =
        app.add_subcommand("attribute", "Attribution by direct-path patching over prompt pairs");
    o->add_to(attribute, true, false);
    auto method = std::make_shared<std::string>();
    attribute
        ->add_option("--method", *method,
                     "patching (exact) or gradient (attribution patching); default: the project's")
        ->check(CLI::IsMember({"patching", "gradient"}));
    attribute->callback([o, method, &run] {
        run = [o, method] {
            SettingsOverrides m;
            if (!method->empty()) m.attribution = *method;
            print_table(to_table(attribution_report(o->open(m))), *o);
            return 0;
        };
    });

    auto* couple = app.add_subcommand("couple", "Cosines, coupling coefficients and fits of two observables "
                                                "per head; with --head, one head's token scores");
    o->add_to(couple);
    add_pair(couple);
    couple->add_option("--head", *head, "One head's token scores, fitted line and Theorem-2 band, e.g. 1.4");
    couple->callback([o, pair, head, &run] {
        run = [o, pair, head] {
            if (!head->empty()) parse_head_arg("--head", *head); // syntax first, before loading the model
            Analysis a = o->open();
            const auto [pa, pb] = pair_of(a, *pair);
            if (head->empty()) {
                print_table(to_table(coupling_report(a, pa, pb, true)), *o);
                return 0;
            }
            const auto r = coupling_scatter_report(a, head_of(a, *head), pa, pb);
            if (o->json)
                print(to_json(r));
            else
                print_table(to_table(r), *o);
            return 0;
        };
    });

    auto* svd = app.add_subcommand("svd", "Alignment of each head's feature with its OV singular vectors");
    o->add_to(svd, false);
    auto top = std::make_shared<int>(0);
    svd->add_option("--top-k", *top, "Singular vectors listed per head (default: the project's)")
        ->check(CLI::PositiveNumber);
    svd->add_option("--feature-of", *feature_of, "Observable (default: the first)");
    svd->callback([o, top, feature_of, &run] {
        run = [o, top, feature_of] {
            SettingsOverrides t;
            if (*top > 0) t.svd_top_k = *top;
            Analysis a = o->open(t);
            print_table(to_table(svd_report(a, observable_arg(a.workspace(), "--feature-of", *feature_of))),
                        *o);
            return 0;
        };
    });

    auto* hd = app.add_subcommand(
        "head", "One head: OV singular values, every feature's cosines with them, LayerNorm check");
    o->add_to(hd, false);
    hd->add_option("--head", *head, "The head, e.g. 1.4")->required();
    hd->callback([o, head, &run] {
        run = [o, head] {
            parse_head_arg("--head", *head); // syntax first, before loading the model
            const Analysis a = o->open();
            const auto r = head_detail_report(a, head_of(a, *head));
            if (o->json)
                print(to_json(r));
            else
                print_table(to_table(r), *o), print_table(ln_check_table(r), *o);
            return 0;
        };
    });

    auto att_head = std::make_shared<std::string>();
    auto att_prompt = std::make_shared<int>(0);
    auto att_obs = std::make_shared<std::string>();
    auto* att = app.add_subcommand(
        "attention", "One head's attention on a prompt of the dataset, and what each token sends to an "
                     "observable through the head at the last position");
    o->add_to(att, true);
    att->add_option("--head", *att_head, "The head, e.g. 1.4")->required();
    att->add_option("--prompt", *att_prompt, "Index of the prompt in the dataset (see `obsprop dataset`)")
        ->capture_default_str();
    att->add_option("--observable-of", *att_obs,
                    "Observable whose contributions to show (default: the first)");
    att->callback([o, att_head, att_prompt, att_obs, &run] {
        run = [o, att_head, att_prompt, att_obs] {
            parse_head_arg("--head", *att_head); // syntax first, before loading the model
            const Analysis a = o->open();
            const auto r =
                attention_report(a, head_of(a, *att_head),
                                 observable_arg(a.workspace(), "--observable-of", *att_obs), *att_prompt);
            if (o->json)
                print(to_json(r));
            else
                print_table(to_table(r), *o);
            return 0;
        };
    });

    auto* paths = app.add_subcommand(
        "paths", "Rank every 2-head virtual head by feature norm (data-free); --beam searches head paths "
                 "by path patching; --compare compares one path's feature across observables");
    o->add_to(paths);
    auto keep = std::make_shared<int>(20);
    auto beam = std::make_shared<bool>(false);
    auto width = std::make_shared<int>(8), length = std::make_shared<int>(3);
    auto compare = std::make_shared<std::string>();
    paths->add_option("--feature-of", *feature_of, "Observable (default: the first)");
    paths->add_option("--top", *keep, "How many 2-head paths to list")->check(CLI::PositiveNumber);
    paths->add_flag("--beam", *beam, "Beam search by path patching over the dataset's prompt pairs");
    paths->add_option("--beam-width", *width, "Paths kept per length (with --beam)")
        ->check(CLI::Range(1, 100000));
    paths->add_option("--max-length", *length, "Heads per path (with --beam)")->check(CLI::Range(1, 1000));
    paths->add_option("--compare", *compare,
                      "A path, e.g. '1.4 -> 2.6': its feature's norm and cosine per observable");
    paths->callback([o, keep, beam, width, length, compare, feature_of, &run] {
        run = [o, keep, beam, width, length, compare, feature_of] {
            SettingsOverrides s;
            s.top_paths = *keep, s.beam_width = *width, s.max_length = *length;
            if (!compare->empty()) parse_path_arg("--compare", *compare); // syntax first
            Analysis a = o->open(s);
            const std::string obs = observable_arg(a.workspace(), "--feature-of", *feature_of);
            if (!compare->empty()) {
                const auto r = path_detail_report(a, path_of(a, "--compare", *compare), obs);
                if (o->json)
                    print(to_json(r));
                else
                    print_table(to_table(r), *o);
                return 0;
            }
            print_table(to_table(*beam ? path_search_report(a, obs) : path_ranking_report(a, obs)), *o);
            return 0;
        };
    });

    auto* dataset = app.add_subcommand("dataset", "List a dataset's prompts and their observable values");
    o->add_to(dataset, true, false);
    dataset->callback([o, &run] {
        run = [o] {
            print_table(to_table(dataset_report(o->open())), *o);
            return 0;
        };
    });

    auto* steer =
        app.add_subcommand("steer", "Add multiples of feature vectors to the residual stream and rerun");
    o->add_to(steer);
    auto s = std::make_shared<SteerOptions>();
    steer->add_option("--vector", s->vectors,
                      "A steering vector "
                      "'obs=subj;path=1.4;alpha=10[;position=name][;normalize=1][;layer=L]' (repeatable)");
    steer->add_option("--feature-of", s->feature_of,
                      "Observable whose feature vector steers (default: the first)");
    steer->add_option("--head", s->head, "Head whose feature vector steers, e.g. 3.1");
    steer->add_option("--path", s->path, "Virtual head whose feature vector steers, e.g. '1.2 -> 3.1'");
    steer->add_option("--alpha", s->alpha, "Multiplier (with --head or --path), |α| <= 1e6")
        ->check(finite_number(kMaxSteeringMultiplier));
    steer->add_option("--layer", s->layer, "Layer whose resid_pre receives it (default: the head's own)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                const bool digits =
                    !v.empty() && v.size() <= 6 && v.find_first_not_of("0123456789") == std::string::npos;
                return digits ? std::string() : "'" + v + "' is not a layer index (0, 1, ...)";
            },
            "LAYER"));
    steer->add_option("--position", o->position, "Token position of every vector: name or last")
        ->check(CLI::IsMember({"name", "last"}));
    steer->add_flag("--normalize", s->normalize, "Use the unit vector (with --head or --path)");
    steer->callback([o, s, &run] { run = [o, s] { return cmd_steer(*o, *s); }; });
}

} // namespace obsprop::cli
