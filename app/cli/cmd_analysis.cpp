// obsprop features | attribute | couple | svd | head | attention | corpus | paths | dataset | steer | debias:
// their options. Each runs in the engine (engine/run_analysis.cpp), which computes one report of the analysis
// layer and prints it.
#include <memory>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "commands.h"
#include "project/dataset.h"

namespace obsprop::cli {

namespace {

void add_pair(CLI::App* c, std::vector<std::string>& pair) {
    c->add_option("--pair", pair, "The two observables by name, a,b (default: the first two)")
        ->expected(2)
        ->delimiter(',');
}

// --position: name, last or a token index.
void add_position(CLI::App* c, std::string& position, const std::string& what, bool every_token = true) {
    const std::string kinds = every_token
                                  ? "name, last, all (every token), or a token index (0 first, -1 last)"
                                  : "name, last, or a token index (0 first, -1 last)";
    c->add_option("--position", position, what + ": " + kinds)
        ->check(CLI::Validator(
            [every_token](std::string& v) -> std::string {
                const bool ok =
                    every_token ? project::is_token_position(v) : project::is_single_token_position(v);
                return ok ? std::string()
                          : "'" + v + "' is not a token position (name, last, " +
                                (every_token ? "all, " : "") + "or an index: 0, 1, … or -1, -2, …)";
            },
            "POSITION"));
}

// --layer: a layer index (checked against the model later).
CLI::Validator layer_index() {
    return CLI::Validator(
        [](std::string& v) -> std::string {
            const bool digits =
                !v.empty() && v.size() <= 6 && v.find_first_not_of("0123456789") == std::string::npos;
            return digits ? std::string() : "'" + v + "' is not a layer index (0, 1, ...)";
        },
        "LAYER");
}

// `run` is set to `action(args)` when the subcommand is the one given.
template <class Args>
void on_parse(CLI::App* cmd, Action& run, std::shared_ptr<Args> args, int (*action)(const Args&)) {
    cmd->callback([&run, args, action] { run = [args, action] { return action(*args); }; });
}

} // namespace

void add_analysis_commands(CLI::App& app, Action& run) {
    auto features = std::make_shared<FeaturesArgs>();
    auto* f = app.add_subcommand("features", "Feature-vector norms of every head (data-free)");
    features->o.add_to(f, false);
    add_pair(f, features->pair);
    on_parse(f, run, features, engine::features);

    auto attribute = std::make_shared<AttributeArgs>();
    auto* at = app.add_subcommand("attribute", "Attribution of observables to heads over prompt pairs");
    attribute->o.add_to(at, true, false);
    at->add_option("--method", attribute->method,
                   "patching (exact direct path), gradient (attribution patching) or total (total-effect "
                   "activation patching, heads and MLPs); default: the project's")
        ->check(CLI::IsMember({"patching", "gradient", "total"}));
    add_position(
        at, attribute->position,
        "The token whose next-token prediction is attributed (default: the project's, else last); each "
        "prompt is read there",
        /*every_token=*/false);
    on_parse(at, run, attribute, engine::attribute);

    auto couple = std::make_shared<CoupleArgs>();
    auto* c = app.add_subcommand("couple", "Cosines, coupling coefficients and fits of two observables "
                                           "per head; with --head, one head's token scores");
    couple->o.add_to(c);
    add_pair(c, couple->pair);
    c->add_option("--head", couple->head,
                  "One head's token scores, fitted line and Theorem-2 band, e.g. 1.4");
    on_parse(c, run, couple, engine::couple);

    auto svd = std::make_shared<SvdArgs>();
    auto* s = app.add_subcommand("svd", "Alignment of each head's feature with its OV singular vectors");
    svd->o.add_to(s, false);
    s->add_option("--top-k", svd->top_k, "Singular vectors listed per head (default: the project's)")
        ->check(CLI::PositiveNumber);
    s->add_option("--feature-of", svd->feature_of, "Observable (default: the first)");
    on_parse(s, run, svd, engine::svd);

    auto head = std::make_shared<HeadArgs>();
    auto* h = app.add_subcommand(
        "head", "One head: OV singular values, every feature's cosines with them, LayerNorm check");
    head->o.add_to(h, false);
    h->add_option("--head", head->head, "The head, e.g. 1.4")->required();
    on_parse(h, run, head, engine::head);

    auto attention = std::make_shared<AttentionArgs>();
    auto* att = app.add_subcommand(
        "attention", "One head's attention on a prompt of the dataset, and what each token sends to an "
                     "observable through the head at the last position");
    attention->o.add_to(att, true);
    att->add_option("--head", attention->head, "The head, e.g. 1.4")->required();
    att->add_option("--prompt", attention->prompt,
                    "Index of the prompt in the dataset (see `obsprop dataset`)")
        ->capture_default_str();
    att->add_option("--observable-of", attention->observable_of,
                    "Observable whose contributions to show (default: the first)");
    on_parse(att, run, attention, engine::attention);

    auto corpus = std::make_shared<CorpusArgs>();
    auto* co = app.add_subcommand(
        "corpus", "Score a head's or a path's feature on every token of a corpus: its distribution, the "
                  "maximum-activating tokens in context, how well it predicts the observable (r²), beside "
                  "two baselines trained on the observable's LayerNorm dataset (mean difference, logistic "
                  "probe)");
    corpus->o.add_to(co, false);
    co->add_option("--head", corpus->head, "The head, e.g. 1.4 (or --path)");
    co->add_option(
        "--path", corpus->path,
        "A path of heads and MLPs instead, e.g. '0.1 -> 1.4' or 'mlp0 -> 1.4': its feature is scored "
        "at the input of its first node");
    co->add_option("--feature-of", corpus->feature_of,
                   "Observable whose feature is scored and whose value it is compared with (default: the "
                   "first)");
    co->add_option("--corpus", corpus->corpus,
                   "Plain text (documents separated by blank lines) or JSONL (a \"text\" field a line); "
                   "default: the shipped corpus");
    co->add_option("--format", corpus->format, "auto (by the extension: .jsonl is JSONL), text or jsonl")
        ->check(CLI::IsMember({"auto", "text", "jsonl"}))
        ->capture_default_str();
    co->add_option("--prefix", corpus->prefix,
                   "Text put before every window and not scored, e.g. '<|endoftext|>' (default: none)");
    co->add_option("--max-tokens", corpus->max_tokens,
                   "Tokens of a document per window (default: the model's context less the prefix)")
        ->check(CLI::Range(1, 1000000));
    co->add_option("--top", corpus->top, "Maximum-activating tokens listed")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    co->add_option("--context", corpus->context, "Tokens shown on each side of an example")
        ->check(CLI::Range(0, 10000))
        ->capture_default_str();
    co->add_option("--bins", corpus->bins, "Histogram bins (even)")
        ->check(CLI::Range(2, 100000))
        ->capture_default_str();
    co->add_option("--max-documents", corpus->max_documents,
                   "Read at most this many documents (default: all)");
    co->add_option("--lambda", corpus->lambda,
                   "The probe's L2 regularisation λ, on activations scaled to unit mean squared norm")
        ->check(CLI::PositiveNumber & finite_number(1e6))
        ->capture_default_str();
    co->add_option("--export", corpus->export_dir,
                   "Also write the report's tables (CSV, JSON), the whole report (JSON) and a manifest into "
                   "this folder");
    on_parse(co, run, corpus, engine::corpus);

    auto paths = std::make_shared<PathsArgs>();
    auto* p = app.add_subcommand(
        "paths", "Rank every 2-head virtual head by feature norm (data-free); --beam searches paths of "
                 "heads (MLPs too with --mlp, starting at the embeddings with --embed) by path patching; "
                 "--compare compares one path's feature across "
                 "observables");
    paths->o.add_to(p);
    p->add_option("--feature-of", paths->feature_of, "Observable (default: the first)");
    p->add_option("--top", paths->top, "How many 2-head paths to list")->check(CLI::PositiveNumber);
    p->add_flag("--beam", paths->beam, "Beam search by path patching over the dataset's prompt pairs");
    p->add_option("--beam-width", paths->beam_width, "Paths kept per length (with --beam)")
        ->check(CLI::Range(1, 100000));
    p->add_option("--max-length", paths->max_length, "Nodes per path (with --beam)")
        ->check(CLI::Range(1, 1000));
    p->add_flag("--mlp", paths->mlp, "MLPs are nodes too, beside the heads (with --beam)");
    p->add_flag("--embed", paths->embed, "The embeddings are a node too, a path's first (with --beam)");
    p->add_flag("--tokens", paths->tokens,
                "Heads at one source token are nodes too, e.g. 1.4@name, 0.3@last, 0.2@5 (with --beam)");
    p->add_option("--compare", paths->compare,
                  "A path of heads and MLPs, e.g. '1.4 -> 2.6' or '0.3 -> mlp0 -> 1.4': its feature's "
                  "norm and cosine per observable (and where each MLP was linearised)");
    on_parse(p, run, paths, engine::paths);

    auto dataset = std::make_shared<AnalysisOptions>();
    auto* d = app.add_subcommand("dataset", "List a dataset's prompts and their observable values");
    dataset->add_to(d, true, false);
    on_parse(d, run, dataset, engine::dataset);

    auto steer = std::make_shared<SteerArgs>();
    auto* st =
        app.add_subcommand("steer", "Add multiples of feature vectors to the residual stream and rerun");
    steer->o.add_to(st);
    st->add_option("--vector", steer->vectors,
                   "A steering vector "
                   "'obs=subj;path=1.4;alpha=10[;position=name][;normalize=1][;layer=L]' (repeatable)");
    st->add_option("--feature-of", steer->feature_of,
                   "Observable whose feature vector steers (default: the first)");
    st->add_option("--head", steer->head, "Head whose feature vector steers, e.g. 3.1");
    st->add_option("--path", steer->path,
                   "Path (heads and MLPs) whose feature vector steers, e.g. '1.2 -> 3.1' or 'mlp0 -> 1.4'");
    st->add_option("--alpha", steer->alpha, "Multiplier (with --head or --path), |α| <= 1e6")
        ->check(finite_number(kMaxAlpha));
    st->add_option("--layer", steer->layer, "Layer whose resid_pre receives it (default: the head's own)")
        ->check(layer_index());
    add_position(st, steer->o.position, "Token position of every vector");
    st->add_flag("--normalize", steer->normalize, "Use the unit vector (with --head or --path)");
    on_parse(st, run, steer, engine::steer);

    auto debias = std::make_shared<DebiasArgs>();
    auto* db = app.add_subcommand(
        "debias", "Sweep steering vectors that raise one observable while lowering another: the heads with "
                  "the most negative coupling C(raise->lower), each at several multipliers (docs/debias.md)");
    debias->o.add_to(db);
    db->add_option("--raise", debias->raise, "Observable to raise, e.g. gram")->required();
    db->add_option("--lower", debias->lower, "Observable to lower, e.g. bias")->required();
    db->add_option("--feature-of", debias->feature_of,
                   "Observable whose head features steer (default: the one to raise)");
    db->add_option("--candidates", debias->candidates,
                   "Heads swept, most negative coupling first (default 8)")
        ->check(CLI::Range(1, 100000));
    db->add_option("--alpha", debias->alphas,
                   "Multipliers, a,b,c (default: -50,-20,-5,5,20,50; with --normalize -20,-5,-1,1,5,20), "
                   "|α| <= 1e6")
        ->delimiter(',')
        ->check(finite_number(kMaxAlpha));
    db->add_option("--layer", debias->layer,
                   "Layer whose resid_pre receives every vector (default: each head's own)")
        ->check(layer_index());
    add_position(db, debias->o.position, "Token position the vectors are added at (default: name)");
    db->add_flag("--normalize", debias->normalize, "Use unit vectors");
    on_parse(db, run, debias, engine::debias);
}

} // namespace obsprop::cli
