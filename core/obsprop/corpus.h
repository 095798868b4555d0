// Corpus-scale validation of feature vectors (docs/corpus.md): every token of a corpus scored by feature
// vectors at a residual-stream hook (token_scores, the coupling fits' definition), beside the
// observable's value n·logits at the same token, in one streamed pass: documents are read one at a time,
// cut into windows, run in batches, and only running statistics are kept (obsprop/corpus_stats.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

#include "obsprop/corpus_reader.h"
#include "obsprop/corpus_stats.h"
#include "obsprop/prompts.h"

namespace obsprop::io {
class Tokenizer;
}

namespace obsprop {

// A maximum-activating token with its context (within its window).
struct CorpusExample {
    std::uint64_t document = 0; // index in the corpus
    std::size_t line = 0;       // the line the document starts on
    std::uint64_t position = 0; // the token's index in the document's tokens (the prefix not counted)
    double score = 0, value = 0;
    std::vector<std::string> tokens; // the context's tokens as text
    std::vector<double> scores;      // their scores
    int focus = 0;                   // the token's index in `tokens`
};

struct CorpusScan {
    std::uint64_t documents = 0, windows = 0, tokens = 0;
    int max_tokens = 0;                         // tokens of a document per window, as used
    CorpusFormat format = CorpusFormat::Text;   // as read
    std::vector<Moments> scores;                // per vector
    std::vector<CoMoments> fits;                // per vector: (score, value) over every token
    Moments value;                              // the observable's value
    StreamingHistogram::Result histogram;       // of the first vector's scores
    std::vector<TopK<CorpusExample>::Item> top; // by the first vector's score, best first
};

// The document tokens of one window: options.max_tokens, else what the model's context leaves after the
// prefix's tokens. Throws std::invalid_argument naming the sizes when the prefix, or a window after it, does
// not fit the context.
int corpus_window(const model::Transformer& m, const io::Tokenizer& tokenizer, const CorpusOptions& options);

// Scores every token of `file` with the rows of `vectors` [V, d] at the residual-stream hook `hook`
// (blocks.{l}.hook_resid_pre, hook_resid_mid or hook_resid_post) and records the observable (the single row
// of `obs`) at each token. The first row ranks the examples and fills the histogram. Throws CorpusError for
// the file (and for a corpus with no token), std::invalid_argument for bad options, shapes or hooks,
// Cancelled when `progress` says so.
CorpusScan scan_corpus(const model::Transformer& m, const io::Tokenizer& tokenizer,
                       const std::filesystem::path& file, const std::string& hook,
                       const torch::Tensor& vectors, const ObservableMatrix& obs,
                       const CorpusOptions& options, const Progress& progress = {});

} // namespace obsprop
