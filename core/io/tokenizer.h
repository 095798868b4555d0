// Hugging Face compatible tokenizer: BPE (byte-level as GPT-2, GPT-NeoX, Llama 3 and Qwen use it, or over
// characters with byte fallback as Llama 2, Mistral and Gemma use it) and WordLevel.
//
// Sources it reads:
//   - tokenizer.json, the `tokenizers` library's serialisation, with
//       normalizer      null, NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace (String or Regex
//                       pattern), or a Sequence of these;
//       pre_tokenizer   null, ByteLevel (with or without its regex; it must come last), Split (String or
//                       Regex pattern, every behavior, invert), Metaspace (prepend_scheme always / first /
//                       never, split), Digits, Punctuation, Whitespace, WhitespaceSplit, or a Sequence;
//       model           BPE (byte_fallback, ignore_merges, unk_token, fuse_unk, continuing_subword_prefix,
//                       end_of_word_suffix; merges as "a b" or ["a", "b"]; dropout null or 0) or WordLevel;
//       decoder         null, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, or a Sequence;
//       added_tokens    special or not, with single_word / lstrip / rstrip / normalized.
//     Anything else (another type, an option value not implemented, a regex construct outside the
//     supported subset, see tokenizer_regex.cpp) is refused with a TokenizerError naming the file, the
//     section and the value: nothing is tokenised approximately. post_processor is ignored (no BOS/EOS is
//     ever added).
//   - vocab.json + merges.txt as GPT-2 ships them: treated like Hugging Face's GPT2TokenizerFast, i.e.
//     byte-level BPE without prefix space, with `<|endoftext|>` (when the vocabulary has it) as an added
//     special token.
//
// Encoding follows the `tokenizers` pipeline step by step, so ids equal what Hugging Face produces (the
// test suite compares them with the library itself on Llama 3, Qwen 3, Gemma 3 and Mistral's files):
//   1. added tokens are found anywhere in the text (leftmost-longest, honouring single_word / lstrip /
//      rstrip; first those with normalized=false on the raw text, then those with normalized=true on the
//      normalised remainder) and map straight to their ids;
//   2. every other segment is normalised on its own (so a Prepend normalizer applies after each added
//      token, as in Hugging Face),
//   3. pre-tokenised (GPT-2's pattern is evaluated by hand; Split patterns by a small regex engine with
//      Oniguruma's semantics; Unicode 14 classes, White_Space for \s),
//   4. and handed to the model (BPE with merge ranks, cached per piece; or a WordLevel lookup).
//
// Decoding runs the decoder chain as Hugging Face does, except that bytes which do not form UTF-8 (a token
// holding half a character, or lone <0xXX> byte tokens) are kept as they are instead of becoming U+FFFD,
// so decode(encode(s)) == s byte for byte wherever Hugging Face's decode gives s back. Without a decoder,
// tokens are joined by a space (Hugging Face's behaviour for a null decoder).
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
    // The tokens `text` becomes when it continues a text that is already there: what a model predicts next
    // for an observable such as " she". encode(text) treats `text` as the start of an input, and
    // SentencePiece-style tokenizers (Llama 2, Mistral) put a word-boundary marker there, so " she" gives
    // "▁" + "▁she"; as a continuation it is the single token "▁she" (and "she" glued to the previous word
    // is "she", not "▁she").
    // Rule: encode("\n" + text); when the tokens of "\n" alone are an exact prefix of the result, return
    // what follows them, else (the newline merged with the start of `text`, e.g. text "\n\n") return
    // encode(text). A newline is a boundary in every supported family (its own pre-token in byte-level
    // ones, an added token in Gemma, a byte-fallback token in Llama 2 / Mistral), so for byte-level
    // tokenizers (GPT-2, Llama 3, Qwen) this equals encode(text), and " she" gives "Ġshe" there.
    std::vector<int> encode_continuation(std::string_view text) const;
    // The raw vocabulary strings of encode(text), e.g. {"Hello", "Ġworld"}.
    std::vector<std::string> encode_to_strings(std::string_view text) const;
    // Bytes back; invalid UTF-8 is kept as bytes. Throws TokenizerError for an id not in the vocabulary.
    std::string decode(const std::vector<int>& ids) const;

    // Decoded text of one token, e.g. " she" for GPT-2's "Ġshe" and for SentencePiece's "▁she". It is the
    // token read in the middle of a text: Hugging Face's decode drops the marker of the first token of a
    // sequence (Metaspace decoder, Strip decoder of Llama 2 / Mistral), token_text keeps it as a space so
    // users see " she". A lone byte token (<0xE2>, or a byte-level token holding part of a character)
    // gives its raw byte.
    std::string token_text(int id) const;
    std::string token_string(int id) const;                           // raw vocabulary string, e.g. "Ġshe"
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
