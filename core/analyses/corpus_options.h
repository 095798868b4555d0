// How a corpus is read and scored (docs/corpus.md): the options every surface resolves, in plain C++ so the
// explorer and the command line's front end hold them without the corpus reader or the maths.
#pragma once

#include <cstdint>
#include <string>

namespace obsprop {

enum class CorpusFormat { Auto, Text, Jsonl };
// "auto", "text" or "jsonl"; throws std::invalid_argument naming anything else.
CorpusFormat parse_corpus_format(const std::string& text);
const char* corpus_format_name(CorpusFormat f); // "auto" | "text" | "jsonl"

// How a corpus is scored (obsprop/corpus.h, analyses' corpus_report).
struct CorpusOptions {
    CorpusFormat format = CorpusFormat::Auto;
    int max_tokens = 0; // tokens of a document per window; 0: the model's context less the prefix
    std::string prefix; // text put before every window and not scored (e.g. "<|endoftext|>"); may be empty
    int top = 20;       // maximum-activating examples kept
    int context = 8;    // tokens shown on each side of an example (within its window)
    int bins = 64;      // histogram bins (even)
    std::uint64_t max_documents = 0; // 0: every document
    double probe_lambda = 1e-2; // the probe's λ on rows scaled to unit mean squared norm (docs/corpus.md)

    // Throws std::invalid_argument naming a value out of range.
    void check() const;
};

} // namespace obsprop
