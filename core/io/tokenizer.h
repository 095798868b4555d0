// Hugging Face compatible tokenizer: byte-level BPE (GPT-2, GPT-Neo, Pythia/GPT-NeoX) and WordLevel.
//
// Sources it reads:
//   - tokenizer.json, the `tokenizers` library's serialisation: model BPE or WordLevel, normalizer
//     null / NFC (or a Sequence of those), pre_tokenizer ByteLevel / Whitespace / WhitespaceSplit (or a
//     Sequence of them, ByteLevel last), decoder null / ByteLevel, and `added_tokens`.
//   - vocab.json + merges.txt as GPT-2 ships them: treated like Hugging Face's GPT2TokenizerFast, i.e.
//     byte-level BPE without prefix space, with `<|endoftext|>` (when the vocabulary has it) as an added
//     special token.
//
// Encoding follows the `tokenizers` pipeline step by step, so ids equal what Hugging Face produces:
//   1. added tokens are found anywhere in the text (leftmost-longest, honouring single_word / lstrip /
//      rstrip; first those with normalized=false on the raw text, then those with normalized=true on the
//      normalised remainder) and map straight to their ids;
//   2. every other segment is normalised (NFC is implemented in full, see tokenizer_unicode.cpp),
//   3. pre-tokenised (ByteLevel: optional prefix space, then GPT-2's split pattern, evaluated by hand
//      with Unicode 14 letter/number/White_Space classes; Whitespace: \w+|[^\w\s]+),
//   4. and handed to the model (BPE with merge ranks, cached per piece; or a WordLevel lookup).
// No BOS/EOS is ever added: the post_processor section is not applied.
//
// Decoding maps each token through the ByteLevel decoder (GPT-2's bytes_to_unicode inverse) and keeps the
// resulting bytes as they are: unlike Hugging Face, invalid UTF-8 (a token holding half a character) is not
// replaced by U+FFFD, so decode(encode(s)) == s byte for byte. Without a decoder, tokens are joined by a
// space (Hugging Face's behaviour for a null decoder).
//
// A Tokenizer is an immutable value (copies share one implementation) and is safe to use from several
// threads at once; the BPE cache inside is guarded by a lock.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace obsprop::io {

// Any problem loading a tokenizer (the message names the file and the problem) or using one (e.g. an id
// outside the vocabulary).
class TokenizerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

namespace detail {
struct TokenizerImpl;
}

class Tokenizer {
  public:
    // Loads <dir>/tokenizer.json if present, else <dir>/vocab.json + <dir>/merges.txt.
    static Tokenizer from_directory(const std::filesystem::path& dir);
    static Tokenizer from_tokenizer_json(const std::filesystem::path& file);
    static Tokenizer from_vocab_merges(const std::filesystem::path& vocab_json,
                                       const std::filesystem::path& merges_txt);
    // The contents of a tokenizer.json held in memory; `origin` names it in error messages.
    static Tokenizer from_tokenizer_json_text(std::string_view json_text,
                                              const std::string& origin = "tokenizer.json");

    // Token ids exactly as Hugging Face's tokenizer gives them for `text` (no BOS/EOS added).
    std::vector<int> encode(std::string_view text) const;
    // The raw vocabulary strings of encode(text), e.g. {"Hello", "Ġworld"}.
    std::vector<std::string> encode_to_strings(std::string_view text) const;
    // Bytes back; invalid UTF-8 is kept as bytes. Throws TokenizerError for an id not in the vocabulary.
    std::string decode(const std::vector<int>& ids) const;

    std::string token_text(int id) const;   // decoded text of one token, e.g. " she"
    std::string token_string(int id) const; // raw vocabulary string, e.g. "Ġshe"
    std::optional<int> token_to_id(std::string_view raw_token) const; // by raw vocabulary string
    bool has_id(int id) const;                                        // true if some token has this id

    int vocab_size() const;                   // 1 + the largest id, added tokens included
    bool is_special(int id) const;            // an added token marked "special" (e.g. <|endoftext|>)
    bool is_added(int id) const;              // any added token, special or not
    std::vector<int> added_token_ids() const; // ascending

    std::string model_type() const;              // "BPE" or "WordLevel"
    bool byte_level() const;                     // ByteLevel pre-tokenizer (GPT-2 style)
    const std::filesystem::path& source() const; // file it was loaded from (tokenizer.json or vocab.json)

    // The pieces the model receives for `text` before BPE, as raw text (not byte-mapped); an added token
    // appears as one piece. For diagnostics and tests.
    std::vector<std::string> pre_tokenize(std::string_view text) const;

  private:
    explicit Tokenizer(std::shared_ptr<const detail::TokenizerImpl> impl);
    std::shared_ptr<const detail::TokenizerImpl> impl_;
};

} // namespace obsprop::io
