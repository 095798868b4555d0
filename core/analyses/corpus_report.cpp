// Corpus-scale validation of a head's feature (docs/corpus.md): the streamed corpus pass (obsprop/corpus.h)
// with the feature and its two baselines, trained on the observable's LayerNorm dataset.
#include <cmath>
#include <stdexcept>

#include "analyses/cache.h"
#include "analyses/finite.h"
#include "analyses/run.h"
#include "model/finite.h"
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

CorpusReport corpus_report(const Analysis& a, HeadId head, const std::string& observable,
                           const std::string& corpus_file, const CorpusOptions& options,
                           const Progress& progress) {
    options.check();
    const auto& w = a.workspace();
    const auto& c = w.model().config();
    if (head.layer < 0 || head.layer >= c.n_layers || head.head < 0 || head.head >= c.n_heads)
        throw std::invalid_argument("no head " + head.label() + " in this model (" +
                                    std::to_string(c.n_layers) + " layers × " + std::to_string(c.n_heads) +
                                    " heads)");
    CorpusReport r;
    r.head = head;
    r.observable = observable_or_first(a, observable);
    r.ln_mode = a.settings().ln_mode;
    r.ln_dataset = a.settings().ln_dataset(r.observable);
    r.corpus = corpus_file;
    r.prefix = options.prefix;
    r.context = options.context;
    r.probe_lambda = options.probe_lambda;

    // The feature: as every other analysis computes it (no norm-comparison rule: it scores activations).
    const Tensor y = head_features(a, {r.observable}, false, sub_progress(progress, 0, 0.05))[0]
                         .heads[head.layer][head.head]
                         .to(torch::kDouble);
    if (!std::isfinite(y.norm().item<double>()))
        throw NonFiniteResult("the feature of head " + head.label() + " for observable '" + r.observable +
                              "' is not finite" + model::nonfinite_weights_note(w.model()));

    // The baselines: the LayerNorm dataset's activations at the head's input, at the name slot.
    const auto& ds = w.dataset(r.ln_dataset);
    const Tensor X = dataset_residuals(a, r.ln_dataset, sub_progress(progress, 0.05, 0.1))
                         .resid_at_position.select(1, head.layer)
                         .to(torch::kDouble)
                         .contiguous();
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
    const CorpusScan scan = scan_corpus(w.model(), w.tokenizer(), corpus_file, head.layer, vectors, one,
                                        options, sub_progress(progress, 0.12, 1));
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
