#include "obsprop/corpus.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "io/tokenizer.h"
#include "model/hooks.h"
#include "model/transformer.h"
#include "obsprop/coupling_fit.h"

namespace obsprop {

using torch::Tensor;

namespace {

struct Window {
    std::uint64_t document = 0;
    std::size_t line = 0;
    std::uint64_t start = 0; // the index of its first token in the document
    std::vector<int> ids;    // the prefix, then the document's tokens
};

// corpus_window for a prefix of P tokens.
int window_after_prefix(const io::ModelConfig& c, std::size_t P, const CorpusOptions& options) {
    if (c.n_ctx > 0 && P >= static_cast<std::size_t>(c.n_ctx))
        throw std::invalid_argument("the prefix '" + options.prefix + "' is " + std::to_string(P) +
                                    " tokens: it leaves no room in the model's context of " +
                                    std::to_string(c.n_ctx));
    int window = options.max_tokens > 0 ? options.max_tokens : c.n_ctx - static_cast<int>(P);
    if (window <= 0) window = 512; // a model without a context limit
    if (c.n_ctx > 0 && P + static_cast<std::size_t>(window) > static_cast<std::size_t>(c.n_ctx))
        throw std::invalid_argument("windows of " + std::to_string(window) + " tokens" +
                                    (P ? " after a prefix of " + std::to_string(P) : std::string()) +
                                    " do not fit the model's context of " + std::to_string(c.n_ctx) +
                                    " tokens");
    return window;
}

std::vector<int> prefix_tokens(const io::Tokenizer& tokenizer, const CorpusOptions& options) {
    return options.prefix.empty() ? std::vector<int>{} : tokenizer.encode(options.prefix);
}

} // namespace

int corpus_window(const model::Transformer& m, const io::Tokenizer& tokenizer, const CorpusOptions& options) {
    options.check();
    return window_after_prefix(m.config(), prefix_tokens(tokenizer, options).size(), options);
}

CorpusScan scan_corpus(const model::Transformer& m, const io::Tokenizer& tokenizer,
                       const std::filesystem::path& file, const std::string& hook, const Tensor& vectors,
                       const ObservableMatrix& obs, const CorpusOptions& options, const Progress& progress) {
    options.check();
    const auto& c = m.config();
    const auto hooks = model::all_hook_names(c);
    const bool residual = hook.ends_with(".hook_resid_pre") || hook.ends_with(".hook_resid_mid") ||
                          hook.ends_with(".hook_resid_post");
    if (!residual || std::find(hooks.begin(), hooks.end(), hook) == hooks.end())
        throw std::invalid_argument("corpus scores are read on the residual stream: this model has no hook " +
                                    hook);
    if (vectors.dim() != 2 || vectors.size(0) < 1 || vectors.size(1) != c.d_model)
        throw std::invalid_argument("corpus scores need feature vectors [V, d_model]");
    if (obs.size() != 1 || obs.n.dim() != 2) throw std::invalid_argument("corpus scores need one observable");
    const std::vector<int> prefix = prefix_tokens(tokenizer, options);
    const auto P = prefix.size();
    const int window = window_after_prefix(c, P, options);

    CorpusReader reader(file, options.format);
    const auto V = vectors.size(0);
    CorpusScan out;
    out.max_tokens = window;
    out.format = reader.format();
    out.scores.resize(static_cast<std::size_t>(V));
    out.fits.resize(static_cast<std::size_t>(V));
    StreamingHistogram hist(options.bins);
    TopK<CorpusExample> top(static_cast<std::size_t>(options.top));
    const Tensor Y = vectors.detach().to(torch::kDouble);
    const std::string& name = hook;

    PromptBatch shape;
    shape.ids = {std::vector<int>(P + static_cast<std::size_t>(window), 0)};
    shape.positions = {0};
    const auto per_pass = static_cast<std::size_t>(prompts_per_pass(c, shape, 32));
    auto fraction = [&] {
        return reader.size() ? static_cast<double>(reader.bytes_read()) / static_cast<double>(reader.size())
                             : 1.0;
    };

    std::vector<Window> pending;
    torch::NoGradGuard ng;
    auto run = [&] {
        if (pending.empty()) return;
        std::vector<std::vector<int>> ids;
        for (const auto& w : pending)
            ids.push_back(w.ids);
        model::RunOptions o;
        o.cache = {name};
        o.final_residual_only = true;
        const double f = fraction();
        report_each_layer(o, m, progress, f, f, "scoring the corpus");
        model::ActivationCache cache;
        const Tensor final = m.forward(model::Batch::from(ids), o, &cache); // [B, T, d]
        const Tensor& X = cache.at(name);
        const auto B = X.size(0), T = X.size(1);
        const Tensor S = token_scores(X.reshape({B * T, X.size(2)}), Y).reshape({B, T, V}).contiguous();
        const Tensor values = observable_scores(m, final, obs).reshape({B, T}).contiguous();
        const auto s = S.accessor<double, 3>();
        const auto v = values.accessor<double, 2>();
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const Window& w = pending[i];
            const auto bi = static_cast<std::int64_t>(i);
            const auto len = static_cast<std::int64_t>(w.ids.size());
            for (auto t = static_cast<std::int64_t>(P); t < len; ++t) {
                const double value = v[bi][t];
                const std::uint64_t position = w.start + static_cast<std::uint64_t>(t) - P;
                if (!std::isfinite(value))
                    throw std::runtime_error("the observable's value is not finite at token " +
                                             std::to_string(position) + " of document " +
                                             std::to_string(w.document) + " (NaN or infinite weights?)");
                out.value.add(value);
                for (std::int64_t k = 0; k < V; ++k) {
                    const double sk = s[bi][t][k];
                    if (!std::isfinite(sk))
                        throw std::runtime_error("a feature score is not finite at token " +
                                                 std::to_string(position) + " of document " +
                                                 std::to_string(w.document) + " (NaN or infinite weights?)");
                    out.scores[static_cast<std::size_t>(k)].add(sk);
                    out.fits[static_cast<std::size_t>(k)].add(sk, value);
                }
                const double s0 = s[bi][t][0];
                hist.add(s0);
                const std::uint64_t order = out.tokens++;
                if (!top.wants(s0, order)) continue;
                CorpusExample e;
                e.document = w.document, e.line = w.line, e.position = position;
                e.score = s0, e.value = value;
                const auto lo = std::max<std::int64_t>(static_cast<std::int64_t>(P), t - options.context);
                const auto hi = std::min<std::int64_t>(len - 1, t + options.context);
                for (auto u = lo; u <= hi; ++u) {
                    e.tokens.push_back(tokenizer.token_text(w.ids[static_cast<std::size_t>(u)]));
                    e.scores.push_back(s[bi][u][0]);
                }
                e.focus = static_cast<int>(t - lo);
                top.push(s0, order, std::move(e));
            }
        }
        out.windows += pending.size();
        pending.clear();
    };

    CorpusDocument doc;
    while ((options.max_documents == 0 || out.documents < options.max_documents) && reader.next(doc)) {
        ++out.documents;
        report(progress, fraction(), "scoring the corpus");
        const std::vector<int> ids = tokenizer.encode(doc.text);
        for (std::size_t start = 0; start < ids.size(); start += static_cast<std::size_t>(window)) {
            Window w;
            w.document = doc.index, w.line = doc.line, w.start = start;
            w.ids = prefix;
            const std::size_t end = std::min(ids.size(), start + static_cast<std::size_t>(window));
            w.ids.insert(w.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(start),
                         ids.begin() + static_cast<std::ptrdiff_t>(end));
            pending.push_back(std::move(w));
            if (pending.size() >= per_pass) run();
        }
    }
    run();
    if (out.tokens == 0)
        throw CorpusError(file.string() + ": no tokens to score (the corpus has no text" +
                          (out.documents
                               ? std::string(" in its ") + std::to_string(out.documents) + " documents"
                               : std::string()) +
                          ")");
    out.histogram = hist.result();
    out.top = top.sorted();
    report(progress, 1.0, "scoring the corpus");
    return out;
}

} // namespace obsprop
