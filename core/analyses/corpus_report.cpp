// Corpus-scale validation of a head's or a path's feature (docs/corpus.md): the streamed corpus pass
// (obsprop/corpus.h) with the feature and its two baselines, trained on the observable's LayerNorm dataset.
#include <cmath>
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "model/finite.h"
#include "model/hooks.h"
#include "obsprop/corpus.h"
#include "obsprop/linear_probe.h"

namespace obsprop::analyses {

using torch::Tensor;

namespace {

double cosine(const Tensor& a, const Tensor& b) {
    const double na = a.norm().item<double>(), nb = b.norm().item<double>();
    return na > 0 && nb > 0 ? (a * b).sum().item<double>() / (na * nb) : std::nan("");
}

Tensor to_tensor(const std::vector<double>& v) {
    return torch::tensor(v, torch::kDouble);
}

} // namespace

int corpus_window(const Analysis& a, const CorpusOptions& options) {
    return corpus_window(a.workspace().model(), a.workspace().tokenizer(), options);
}

CorpusReport corpus_report(const Analysis& a, const std::vector<HeadId>& path, const std::string& observable,
                           const std::string& corpus_file, const CorpusOptions& options,
                           const Progress& progress) {
    options.check();
    const auto& w = a.workspace();
    const auto& c = w.model().config();
    if (path.empty()) throw std::invalid_argument("corpus scores need a head or a path");
    const std::vector<PathNode> nodes = to_nodes(path);
    validate_path(c, nodes); // layers and heads the model has, in order; no embeddings (they have no feature)
    CorpusReport r;
    r.path = path;
    r.observable = observable_or_first(a, observable);
    r.ln_mode = a.settings().ln_mode;
    r.ln_dataset = a.settings().ln_dataset(r.observable);
    r.corpus = corpus_file;
    r.prefix = options.prefix;
    r.context = options.context;
    r.probe_lambda = options.probe_lambda;
    const std::string what = path_title(path);

    // The feature: as every other analysis computes it (no norm-comparison rule: it scores activations). A
    // single head's comes from the head features every view shows; a path's is pulled back as the Paths view
    // and steering pull it back, its MLP nodes linearised on the LayerNorm dataset's prompts.
    const PathNode& first = nodes.front();
    Tensor y;
    if (nodes.size() == 1 && !first.is_mlp()) {
        y = head_features(a, {r.observable}, false, sub_progress(progress, 0, 0.05))[0]
                .heads[first.layer][first.head]
                .to(torch::kDouble);
        r.hook = model::hook_name(first.layer, "hook_resid_pre");
    } else {
        const PathFeature pf =
            compute_path_feature(w.model(), w.observable(r.observable), nodes, ln_options(a, r.observable),
                                 path_inputs(a, r.observable, nodes, sub_progress(progress, 0, 0.05)));
        y = pf.feature.to(torch::kDouble);
        r.hook = pf.hook;
    }
    if (!std::isfinite(y.norm().item<double>()))
        throw NonFiniteResult("the feature of " + what + " for observable '" + r.observable +
                              "' is not finite" + model::nonfinite_weights_note(w.model()));

    // The baselines: the LayerNorm dataset's activations at the feature's hook, at the token the first node
    // reads there (path_inputs' rule for an MLP).
    const auto& ds = w.dataset(r.ln_dataset);
    const ResidualNorms& res = dataset_residuals(a, r.ln_dataset, sub_progress(progress, 0.05, 0.1));
    const Tensor at = !first.is_mlp()                      ? res.resid_at_position
                      : mlp_node_token(nodes, 0) == "name" ? res.ln2_at_position
                                                           : res.ln2_last;
    const Tensor X = at.select(1, first.layer).to(torch::kDouble).contiguous();
    LabelledRows rows;
    double mean_sq = 0;
    const Tensor centred = X - X.mean(0);
    mean_sq = (centred * centred).sum(1).mean().item<double>();
    for (std::int64_t i = 0; i < X.size(0); ++i) {
        const Tensor row = X[i];
        rows.x.emplace_back(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
        const bool positive = ds.prompts[static_cast<std::size_t>(i)].gender == project::Gender::Female;
        rows.labels.push_back(positive ? 1 : 0);
        (positive ? r.train_positive : r.train_negative) += 1;
    }
    if (r.train_positive == 0 || r.train_negative == 0)
        throw std::invalid_argument("the baselines need prompts of both kinds in the LayerNorm dataset '" +
                                    r.ln_dataset + "' of observable '" + r.observable + "' (it has " +
                                    std::to_string(r.train_positive) + " female and " +
                                    std::to_string(r.train_negative) + " male prompts)");
    const Tensor mean_diff = to_tensor(mean_difference(rows));
    // λ for rows scaled to unit mean squared (centred) norm: the same minimiser on the raw rows with λ·r².
    const LogisticProbe probe = train_logistic_probe(rows, options.probe_lambda * std::max(mean_sq, 1e-300));
    const Tensor probe_w = to_tensor(probe.w);
    r.probe_accuracy = probe.accuracy;
    r.probe_iterations = probe.iterations;
    report(progress, 0.12, "baselines");

    ObservableMatrix one;
    one.names = {r.observable};
    one.n = w.observable(r.observable).vector(c.d_vocab).unsqueeze(0);
    const Tensor vectors = torch::stack({y, mean_diff, probe_w});
    const CorpusScan scan = scan_corpus(w.model(), w.tokenizer(), corpus_file, r.hook, vectors, one, options,
                                        sub_progress(progress, 0.12, 1));
    r.format = corpus_format_name(scan.format);
    r.max_tokens = scan.max_tokens;
    r.documents = scan.documents, r.windows = scan.windows, r.tokens = scan.tokens;
    r.value_mean = scan.value.mean, r.value_sd = scan.value.sd();
    r.hist_lo = scan.histogram.lo, r.hist_width = scan.histogram.width, r.hist_counts = scan.histogram.counts;
    const char* names[] = {"feature", "mean_difference", "probe"};
    for (std::int64_t k = 0; k < 3; ++k) {
        const auto ku = static_cast<std::size_t>(k);
        CorpusReport::Vector v;
        v.name = names[k];
        v.norm = vectors[k].norm().item<double>();
        v.cos_feature = cosine(vectors[k], y);
        v.mean = scan.scores[ku].mean, v.sd = scan.scores[ku].sd();
        v.min = scan.scores[ku].min, v.max = scan.scores[ku].max;
        v.r = scan.fits[ku].r(), v.r2 = scan.fits[ku].r2();
        v.slope = scan.fits[ku].slope(), v.intercept = scan.fits[ku].intercept();
        v.values = to_vector(vectors[k]);
        r.vectors.push_back(v);
    }
    r.cos_mean_difference_probe = cosine(mean_diff, probe_w);
    int rank = 0;
    for (const auto& item : scan.top) {
        const CorpusExample& e = item.payload;
        r.examples.push_back(
            {++rank, e.document, e.line, e.position, e.score, e.value, e.tokens, e.scores, e.focus});
    }
    return r;
}

} // namespace obsprop::analyses
