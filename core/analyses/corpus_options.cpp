#include "analyses/corpus_options.h"

#include <cmath>
#include <stdexcept>

namespace obsprop {

CorpusFormat parse_corpus_format(const std::string& text) {
    if (text == "auto") return CorpusFormat::Auto;
    if (text == "text") return CorpusFormat::Text;
    if (text == "jsonl") return CorpusFormat::Jsonl;
    throw std::invalid_argument("unknown corpus format '" + text +
                                "' (the formats are auto, text and jsonl)");
}

const char* corpus_format_name(CorpusFormat f) {
    switch (f) {
    case CorpusFormat::Auto:
        return "auto";
    case CorpusFormat::Text:
        return "text";
    case CorpusFormat::Jsonl:
        return "jsonl";
    }
    return "auto";
}

void CorpusOptions::check() const {
    auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
    if (max_tokens < 0 || max_tokens > 1000000)
        bad("tokens per window must be between 1 and 1000000 (or 0 for the model's context), not " +
            std::to_string(max_tokens));
    if (top < 0 || top > 100000)
        bad("examples kept must be between 0 and 100000, not " + std::to_string(top));
    if (context < 0 || context > 10000)
        bad("context tokens must be between 0 and 10000, not " + std::to_string(context));
    if (bins < 2 || bins > 100000 || bins % 2 != 0)
        bad("histogram bins must be an even number between 2 and 100000, not " + std::to_string(bins));
    if (!(probe_lambda > 0) || !std::isfinite(probe_lambda) || probe_lambda > 1e6)
        bad("the probe's λ must be a positive number up to 1e6");
}

} // namespace obsprop
