// Internals of obsprop::io::Tokenizer, shared by tokenizer*.cpp. Not part of the public API.
#pragma once

#include "io/tokenizer.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace obsprop::io::detail {

// ---------------------------------------------------------------------------------------------------
// Unicode (tokenizer_unicode.cpp)

// The character classes the pre-tokenisers need, from unicode_tables.inc.
enum class CharClass : std::uint8_t {
    Other,
    Letter,           // General_Category L*
    DecimalNumber,    // Nd
    LetterNumber,     // Nl
    OtherNumber,      // No
    Mark,             // M*
    ConnectorPunct,   // Pc
    AlphabeticSymbol, // So with Other_Alphabetic (circled letters)
    Space,            // White_Space property
};

// Stands for one byte of ill-formed UTF-8 (the byte is in the low 8 bits). Never a valid code point.
inline constexpr char32_t kInvalidByteBase = 0x80000000u;
inline bool is_invalid_byte(char32_t c) {
    return (c & kInvalidByteBase) != 0;
}

CharClass char_class(char32_t c);
inline bool is_letter(char32_t c) {
    return char_class(c) == CharClass::Letter;
} // \p{L}
inline bool is_number(char32_t c) { // \p{N}
    CharClass k = char_class(c);
    return k == CharClass::DecimalNumber || k == CharClass::LetterNumber || k == CharClass::OtherNumber;
}
inline bool is_space(char32_t c) {
    return char_class(c) == CharClass::Space;
} // \s (White_Space)
// \w of Rust's regex crate: Alphabetic, M, Nd, Pc, Join_Control (Alphabetic approximated by L, Nl and
// the Other_Alphabetic symbols; the Other_Alphabetic marks are in M anyway).
bool is_word_char(char32_t c);
const char* unicode_version();

struct Utf8Char {
    char32_t cp;       // code point, or kInvalidByteBase | byte
    std::uint32_t len; // bytes it occupies (1..4)
};
// Decodes the character starting at s[pos] (pos < s.size()). Ill-formed sequences (bad lead or
// continuation byte, overlong form, surrogate, > U+10FFFF, truncation) yield one invalid byte.
Utf8Char decode_utf8_at(std::string_view s, std::size_t pos);
void append_utf8(std::string& out, char32_t cp); // appends the raw byte for an invalid-byte marker

// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition).
// Ill-formed bytes are kept as they are and block composition across them.
std::string nfc(std::string_view s);

// ---------------------------------------------------------------------------------------------------
// Pre-tokenisation (tokenizer_pretok.cpp)

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ : appends the
// consecutive matches covering `s` (the pattern matches every character, so they tile the input).
void split_gpt2(std::string_view s, std::vector<std::string_view>& out);
// Hugging Face's Whitespace pre-tokenizer: the matches of \w+|[^\w\s]+ (whitespace dropped).
void split_whitespace(std::string_view s, std::vector<std::string_view>& out);
// Hugging Face's WhitespaceSplit: runs of non-White_Space characters.
void split_whitespace_split(std::string_view s, std::vector<std::string_view>& out);

// GPT-2's bytes_to_unicode: byte -> the UTF-8 of the printable character standing for it.
const std::array<std::string, 256>& byte_to_unicode();
// Inverse: the byte a character stands for, or -1 if it is not one of the 256.
int unicode_to_byte(char32_t c);
// Maps every byte of `raw` through byte_to_unicode.
std::string byte_level_encode(std::string_view raw);
// The ByteLevel decoder for one token string: its bytes if every character is in the mapping, else the
// string unchanged (what Hugging Face does).
std::string byte_level_decode(std::string_view token);

// ---------------------------------------------------------------------------------------------------
// Configuration and state

struct AddedToken {
    int id = -1;
    std::string content; // as matched: normalised already when `normalized` and a normalizer exists
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

// Leftmost-longest matcher over a set of added tokens (few, so buckets by first byte suffice).
class AddedTokenMatcher {
  public:
    void build(const std::vector<AddedToken>& tokens, bool normalized_ones);
    bool empty() const { return count_ == 0; }
    struct Match {
        std::size_t begin, end;
        const AddedToken* token;
    };
    // Non-overlapping leftmost-longest matches, then Hugging Face's single_word / lstrip / rstrip rules.
    std::vector<Match> find(std::string_view text) const;

  private:
    std::array<std::vector<const AddedToken*>, 256> by_first_byte_{}; // longest first
    std::size_t count_ = 0;
};

enum class PreTokKind { ByteLevel, Whitespace, WhitespaceSplit };
struct PreTokStep {
    PreTokKind kind = PreTokKind::ByteLevel;
    bool add_prefix_space = false; // ByteLevel
    bool use_regex = true;         // ByteLevel
};

enum class ModelKind { BPE, WordLevel };
enum class DecoderKind { None, ByteLevel };

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

struct TokenizerImpl {
    std::filesystem::path source;
    ModelKind model = ModelKind::BPE;
    bool nfc = false;
    std::vector<PreTokStep> pre;
    bool byte_level = false; // a ByteLevel step is present: pieces reach the model byte-mapped
    DecoderKind decoder = DecoderKind::None;

    // Vocabulary. model_vocab is what the model looks symbols up in; id_to_token covers every id (the
    // model's and the added tokens'), with holes marked absent.
    StringIdMap model_vocab;
    StringIdMap added_by_content; // raw content -> id
    std::vector<std::string> id_to_token;
    std::vector<std::string> id_to_text; // decoder output for each single id
    std::vector<std::uint8_t> id_flags;  // kPresent | kAdded | kSpecial
    static constexpr std::uint8_t kPresent = 1, kAdded = 2, kSpecial = 4;

    // BPE. merges: (left id << 32 | right id) -> (rank, merged id).
    struct Merge {
        int rank;
        int merged;
    };
    std::unordered_map<std::uint64_t, Merge> merges;
    std::array<int, 256> byte_ids{}; // byte-level: id of each byte's character, -1 if absent
    int unk_id = -1;                 // BPE and WordLevel
    std::string unk_token;
    bool fuse_unk = false;
    bool ignore_merges = false;

    std::vector<AddedToken> added;
    AddedTokenMatcher raw_matcher;        // added tokens with normalized = false
    AddedTokenMatcher normalized_matcher; // normalized = true

    // Cache of the model's output per pre-tokenised piece (raw bytes).
    mutable std::shared_mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int>, StringHash, std::equal_to<>> cache;
    static constexpr std::size_t kCacheCapacity = 1 << 16;
    static constexpr std::size_t kCacheMaxKeyBytes = 256;

    // Called once loading has filled the fields above: builds matchers, id tables, byte_ids.
    void finalise();

    // The pipeline (tokenizer_model.cpp). `piece_cb(raw_piece, added_id)` gets every piece in order;
    // added_id >= 0 for an added token.
    void segment(std::string_view text, const std::function<void(std::string_view, int)>& piece_cb) const;
    void encode_piece(std::string_view raw_piece, std::vector<int>& out) const;
    void bpe(const std::vector<int>& symbols, std::vector<int>& out) const;
};

} // namespace obsprop::io::detail
