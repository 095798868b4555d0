// Byte-level BPE learning for the demo model's tokenizer, written as a Hugging Face tokenizer.json that
// behaves like GPT-2's: ids 0..255 are GPT-2's byte characters in GPT-2's order, then the learnt merges,
// then <|endoftext|> (the last id, a special added token). GPT-2's pre-tokenizer (the product's own,
// io::Tokenizer::pre_tokenize) splits the text, so " she" and " Clara" are words with their space.
#pragma once

#include <string>
#include <vector>

namespace obsprop::train_demo {

struct BpeTokenizer {
    std::string json;   // tokenizer.json contents
    int vocab_size = 0; // ids 0 .. vocab_size-1, <|endoftext|> = vocab_size - 1
    int n_merges = 0;
    int n_words = 0; // distinct pre-tokenised words the merges were learnt from
};

// Learns merges from the words of `texts`. Every word of `forced` (e.g. " Clara") is made a single token
// first: its pairs outrank any corpus pair. Then the most frequent pairs of the corpus are merged (ties:
// the smallest pair in byte order) until the vocabulary, <|endoftext|> included, has `max_vocab` entries
// or nothing is left to merge. Deterministic. Throws std::runtime_error if a forced word does not end up
// as one token (max_vocab too small), checked with the product's tokenizer.
BpeTokenizer learn_bpe(const std::vector<std::string>& texts, const std::vector<std::string>& forced,
                       int max_vocab);

} // namespace obsprop::train_demo
