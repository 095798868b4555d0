// Internals of obsprop::io::Tokenizer, shared by tokenizer*.cpp. Not part of the public API.
#pragma once

#include "io/tokenizer.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <forward_list>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
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
enum class UnicodeForm { NFC, NFD, NFKC, NFKD };
std::string normalize_form(std::string_view s, UnicodeForm form);

// General_Category (tokenizer_unicode_props.cpp), in the order of the generated table's names.
enum class Gc : std::uint8_t {
    Cn,
    Lu,
    Ll,
    Lt,
    Lm,
    Lo,
    Mn,
    Mc,
    Me,
    Nd,
    Nl,
    No,
    Pc,
    Pd,
    Ps,
    Pe,
    Pi,
    Pf,
    Po,
    Sm,
    Sc,
    Sk,
    So,
    Zs,
    Zl,
    Zp,
    Cc,
    Cf,
    Cs,
    Co
};
Gc general_category(char32_t c);
constexpr std::uint32_t gc_bit(Gc g) {
    return 1u << static_cast<unsigned>(g);
}
inline constexpr std::uint32_t kGcPunctuation = gc_bit(Gc::Pc) | gc_bit(Gc::Pd) | gc_bit(Gc::Ps) |
                                                gc_bit(Gc::Pe) | gc_bit(Gc::Pi) | gc_bit(Gc::Pf) |
                                                gc_bit(Gc::Po);
// Rust's char::is_ascii_punctuation() || unicode_categories' is_punctuation() (General_Category P*).
bool is_punctuation(char32_t c);
// Rust's char::to_lowercase, character by character (so no final-sigma rule), appended as UTF-8.
void append_lowercase(std::string& out, char32_t c);
std::string lowercase(std::string_view s);
// Appends the full NFKD of `c` and returns true when it differs from its NFD; else returns false.
bool compat_decomposition(char32_t c, std::vector<char32_t>& out);

// ---------------------------------------------------------------------------------------------------
// Regular expressions (tokenizer_regex.cpp): the subset of Oniguruma's syntax that tokenizer.json
// patterns use; see the comment at the top of tokenizer_regex.cpp.

class RegexError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct RegexClass {
    enum Kind : std::uint8_t { Range, WhiteSpace, Category };
    struct Item {
        Kind kind;
        char32_t lo, hi;    // Range
        std::uint32_t mask; // Category: gc_bit()s
        bool negated;       // \S, \P{..}
    };
    std::vector<Item> items;
    bool negated = false; // [^...]
    bool matches(char32_t c) const;
};

struct RegexInst {
    enum Op : std::uint8_t { Char, CharFold, Class, Any, Split, Jmp, PosLook, NegLook, Match };
    Op op;
    char32_t c; // Char; CharFold: the lower-case ASCII letter
    int x;      // Split: preferred branch; Jmp: target; Class: class index; *Look: sub-program
    int y;      // Split: other branch; *Look: continuation
};

struct RegexThread { // a backtracking entry: resume at instruction pc, code point pos
    int pc;
    std::size_t pos;
};

class Regex {
  public:
    // Throws RegexError naming the construct and its position for anything outside the subset.
    static Regex compile(std::string_view pattern);
    // Appends the byte ranges of all matches, as the `onig` crate's find_iter reports them.
    void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
    const std::string& source() const { return source_; }

  private:
    bool run(const std::vector<char32_t>& cps, int pc, std::size_t pos, std::size_t& end,
             std::vector<RegexThread>& stack) const;
    std::string source_;
    std::vector<RegexInst> prog_;
    std::vector<RegexClass> classes_;
};

// A Split / Replace pattern: {"String": ...} (matched literally) or {"Regex": ...}.
struct Pattern {
    std::string text;
    std::shared_ptr<const Regex> regex; // null for a literal string
    void find_all(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const;
};

// ---------------------------------------------------------------------------------------------------
// Pre-tokenisation (tokenizer_pretok.cpp)

// GPT-2's bytes_to_unicode: byte -> the UTF-8 of the printable character standing for it.
const std::array<std::string, 256>& byte_to_unicode();
// Inverse: the byte a character stands for, or -1 if it is not one of the 256.
int unicode_to_byte(char32_t c);
// Maps every byte of `raw` through byte_to_unicode.
std::string byte_level_encode(std::string_view raw);
// The ByteLevel decoder for one token string: its bytes if every character is in the mapping, else the
// string unchanged (what Hugging Face does).
std::string byte_level_decode(std::string_view token);

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ : appends the
// consecutive matches covering `s` (the pattern matches every character, so they tile the input).
void split_gpt2(std::string_view s, std::vector<std::string_view>& out);
// Hugging Face's Whitespace pre-tokenizer: the matches of \w+|[^\w\s]+ (whitespace dropped).
void split_whitespace(std::string_view s, std::vector<std::string_view>& out);
// Hugging Face's WhitespaceSplit: runs of non-White_Space characters.
void split_whitespace_split(std::string_view s, std::vector<std::string_view>& out);

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

// Leftmost-longest matcher over a set of added tokens: at each position, the contents of the lengths
// that tokens starting with that byte have are looked up, longest first (Gemma has 6000 added tokens, but
// only a few dozen distinct lengths).
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
    std::array<std::vector<std::size_t>, 256> lengths_by_first_byte_{}; // distinct, longest first
    std::unordered_map<std::string_view, const AddedToken*> by_content_;
    std::size_t count_ = 0;
};

// Hugging Face's split delimiter behaviours (NormalizedString::split).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
struct Span {
    std::size_t begin, end;
    bool match;
};
// Turns the spans of a pattern (tiling the text, each flagged as a match or not) into the pieces `behavior`
// keeps; empty pieces are dropped, as PreTokenizedString::split does.
void apply_split_behavior(const std::vector<Span>& spans, SplitBehavior behavior, std::vector<Span>& out);
// The spans of a character predicate: every matching character is a match of its own.
template <typename Pred> void predicate_spans(std::string_view s, Pred pred, std::vector<Span>& out) {
    std::size_t last = 0;
    for (std::size_t pos = 0; pos < s.size();) {
        const Utf8Char u = decode_utf8_at(s, pos);
        if (pred(u.cp)) {
            if (last < pos) out.push_back({last, pos, false});
            out.push_back({pos, pos + u.len, true});
            last = pos + u.len;
        }
        pos += u.len;
    }
    if (last < s.size()) out.push_back({last, s.size(), false});
}
// The spans of a pattern's matches and of the text between them.
void pattern_spans(const Pattern& p, std::string_view s, std::vector<Span>& out);

enum class NormKind { NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace };
struct NormStep {
    NormKind kind = NormKind::NFC;
    bool left = false, right = false; // Strip
    std::string text;                 // Prepend: the prefix; Replace: the replacement
    Pattern pattern;                  // Replace
};
// Applies the normalizers to `s`. `from_start` counts the bytes at the beginning of the text that Hugging
// Face aligns with the start of the input (original offset 0): on entry the first character's bytes when
// `s` begins the input, else 0; updated as each normalizer rewrites the text (an expansion such as NFKC's
// "½" -> "1⁄2" stays at offset 0, a removed first character does not). Metaspace's prepend_scheme
// "first" prepends to a piece exactly when its first byte is one of them.
std::string normalize(const std::vector<NormStep>& steps, std::string_view s, std::size_t& from_start);

enum class PrependScheme { Always, First, Never };
enum class PreTokKind { ByteLevel, Whitespace, WhitespaceSplit, Split, Metaspace, Digits, Punctuation };
struct PreTokStep {
    PreTokKind kind = PreTokKind::ByteLevel;
    bool add_prefix_space = false;                    // ByteLevel
    bool use_regex = true;                            // ByteLevel
    Pattern pattern;                                  // Split
    bool invert = false;                              // Split
    SplitBehavior behavior = SplitBehavior::Isolated; // Split, Punctuation
    std::string replacement;                          // Metaspace (one character, UTF-8)
    PrependScheme prepend_scheme = PrependScheme::Always;
    bool split = true;              // Metaspace
    bool individual_digits = false; // Digits
};
// One pre-token; `from_start` as in normalize().
struct Piece {
    std::string_view text;
    std::size_t from_start;
};
// Applies one pre-tokenizer to `piece`, appending the resulting pieces; new strings live in `storage`.
// ByteLevel only splits here (the byte mapping happens in the model).
void pre_tokenize_step(const PreTokStep& step, Piece piece, std::vector<Piece>& out,
                       std::forward_list<std::string>& storage);

enum class DecoderKind { ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip };
struct DecoderStep {
    DecoderKind kind = DecoderKind::ByteLevel;
    std::string replacement;                              // Metaspace
    PrependScheme prepend_scheme = PrependScheme::Always; // Metaspace
    Pattern pattern;                                      // Replace
    std::string content;                                  // Replace: the replacement; Strip: the character
    std::size_t start = 0, stop = 0;                      // Strip
};
// Hugging Face's decode_chain over every step in order. With `single`, the tokens are read as one token
// in the middle of a text: Metaspace keeps a leading replacement as a space and Strip is skipped.
// Bytes that do not form UTF-8 are kept as they are (Hugging Face writes U+FFFD instead).
std::vector<std::string> decode_chain(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens,
                                      bool single);

enum class ModelKind { BPE, WordLevel };

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

struct TokenizerImpl {
    std::filesystem::path source;
    ModelKind model = ModelKind::BPE;
    std::vector<NormStep> normalizers;
    std::vector<PreTokStep> pre;
    bool byte_level = false; // a ByteLevel step is present: pieces reach the model byte-mapped
    bool has_decoder = false;
    std::vector<DecoderStep> decoders; // flattened Sequence

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
    bool byte_fallback = false;
    std::array<int, 256> byte_fallback_ids{}; // id of "<0xXX>" for each byte, -1 if absent
    std::string continuing_subword_prefix, end_of_word_suffix;

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
    // The text of one token as decode_chain(single) gives it.
    std::string single_token_text(const std::string& token) const;

    // The pipeline (tokenizer_model.cpp). `piece_cb(raw_piece, added_id)` gets every piece in order;
    // added_id >= 0 for an added token.
    void segment(std::string_view text, const std::function<void(std::string_view, int)>& piece_cb) const;
    void encode_piece(std::string_view raw_piece, std::vector<int>& out) const;
    void bpe_symbols(std::string_view raw_piece, std::vector<int>& symbols) const;
    void bpe(const std::vector<int>& symbols, std::vector<int>& out) const;
};

// Loading (tokenizer_load.cpp).
std::string read_file(const std::filesystem::path& path);
std::shared_ptr<TokenizerImpl> parse_tokenizer_json(std::string_view text, const std::string& origin);
std::shared_ptr<TokenizerImpl> load_vocab_merges(const std::filesystem::path& vocab_json,
                                                 const std::filesystem::path& merges_txt);

} // namespace obsprop::io::detail
