// Pre-tokenisation: GPT-2's split pattern evaluated by hand, the Whitespace splitters, GPT-2's byte <->
// character mapping, and the search for added tokens.
#include "io/tokenizer_detail.h"

#include <algorithm>
#include <cstring>

namespace obsprop::io::detail {
namespace {

// The classes GPT-2's pattern distinguishes.
enum class Gpt2Class { Letter, Number, Space, Other };

Gpt2Class gpt2_class(char32_t c) {
    switch (char_class(c)) {
    case CharClass::Letter:
        return Gpt2Class::Letter;
    case CharClass::DecimalNumber:
    case CharClass::LetterNumber:
    case CharClass::OtherNumber:
        return Gpt2Class::Number;
    case CharClass::Space:
        return Gpt2Class::Space;
    default:
        return Gpt2Class::Other;
    }
}

// End of the longest run of characters of class `cls` starting at `pos`.
std::size_t run_end(std::string_view s, std::size_t pos, Gpt2Class cls) {
    while (pos < s.size()) {
        Utf8Char u = decode_utf8_at(s, pos);
        if (gpt2_class(u.cp) != cls) break;
        pos += u.len;
    }
    return pos;
}

// End of the match of GPT-2's pattern that starts at `pos` (< s.size()). The alternatives are tried in
// the pattern's order, as a backtracking regex engine does; the first that matches wins.
std::size_t gpt2_match(std::string_view s, std::size_t pos) {
    const std::size_t n = s.size();
    const Utf8Char first = decode_utf8_at(s, pos);

    // 's|'t|'re|'ve|'m|'ll|'d
    if (first.cp == U'\'' && pos + 1 < n) {
        const char a = s[pos + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
        if (pos + 2 < n) {
            const char b = s[pos + 2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
        }
    }

    const Gpt2Class cls = gpt2_class(first.cp);
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+` with the optional space taken.
    if (first.cp == U' ' && pos + 1 < n) {
        const Gpt2Class next = gpt2_class(decode_utf8_at(s, pos + 1).cp);
        if (next != Gpt2Class::Space) return run_end(s, pos + 1, next);
    }
    // The same three without the space.
    if (cls != Gpt2Class::Space) return run_end(s, pos + first.len, cls);

    // `\s+(?!\S)`: the whitespace run, backing off one character when a non-space follows it; a single
    // whitespace character followed by a non-space falls through to `\s+`, which takes it alone.
    std::size_t end = pos + first.len, last_start = pos;
    while (end < n) {
        Utf8Char u = decode_utf8_at(s, end);
        if (gpt2_class(u.cp) != Gpt2Class::Space) break;
        last_start = end;
        end += u.len;
    }
    if (end == n || last_start == pos) return end;
    return last_start;
}

// GPT-2's table: printable Latin-1 bytes stand for themselves, the other 68 bytes for U+0100.. in order.
bool printable_byte(char32_t b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}
constexpr int kUnprintableBytes = 68; // 256 - 94 - 12 - 82

struct ByteMap {
    std::array<std::string, 256> to_unicode;
    std::array<unsigned char, kUnprintableBytes> extra_to_byte{}; // (character - 256) -> byte
    ByteMap() {
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            char32_t c = char32_t(b);
            if (!printable_byte(c)) {
                extra_to_byte[static_cast<std::size_t>(extra)] = static_cast<unsigned char>(b);
                c = char32_t(256 + extra++);
            }
            append_utf8(to_unicode[static_cast<std::size_t>(b)], c);
        }
    }
};
const ByteMap& byte_map() {
    static const ByteMap m;
    return m;
}

} // namespace

void split_gpt2(std::string_view s, std::vector<std::string_view>& out) {
    for (std::size_t pos = 0; pos < s.size();) {
        const std::size_t end = gpt2_match(s, pos);
        out.push_back(s.substr(pos, end - pos));
        pos = end;
    }
}

void split_whitespace(std::string_view s, std::vector<std::string_view>& out) {
    for (std::size_t pos = 0; pos < s.size();) {
        Utf8Char u = decode_utf8_at(s, pos);
        if (is_space(u.cp)) {
            pos += u.len;
            continue;
        }
        const bool word = is_word_char(u.cp);
        std::size_t end = pos + u.len;
        while (end < s.size()) {
            Utf8Char v = decode_utf8_at(s, end);
            if (is_space(v.cp) || is_word_char(v.cp) != word) break;
            end += v.len;
        }
        out.push_back(s.substr(pos, end - pos));
        pos = end;
    }
}

void split_whitespace_split(std::string_view s, std::vector<std::string_view>& out) {
    std::size_t start = std::string_view::npos;
    for (std::size_t pos = 0; pos < s.size();) {
        Utf8Char u = decode_utf8_at(s, pos);
        if (is_space(u.cp)) {
            if (start != std::string_view::npos) out.push_back(s.substr(start, pos - start));
            start = std::string_view::npos;
        } else if (start == std::string_view::npos) {
            start = pos;
        }
        pos += u.len;
    }
    if (start != std::string_view::npos) out.push_back(s.substr(start));
}

const std::array<std::string, 256>& byte_to_unicode() {
    return byte_map().to_unicode;
}

int unicode_to_byte(char32_t c) {
    if (c < 256) return printable_byte(c) ? int(c) : -1;
    if (c < 256 + kUnprintableBytes) return byte_map().extra_to_byte[c - 256];
    return -1;
}

std::string byte_level_encode(std::string_view raw) {
    const auto& table = byte_map().to_unicode;
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char b : raw)
        out += table[b];
    return out;
}

std::string byte_level_decode(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (std::size_t pos = 0; pos < token.size();) {
        Utf8Char u = decode_utf8_at(token, pos);
        const int b = unicode_to_byte(u.cp);
        if (b < 0) return std::string(token);
        out.push_back(static_cast<char>(b));
        pos += u.len;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, bool normalized_ones) {
    for (auto& bucket : by_first_byte_)
        bucket.clear();
    count_ = 0;
    for (const AddedToken& t : tokens) {
        if (t.normalized != normalized_ones || t.content.empty()) continue;
        by_first_byte_[static_cast<unsigned char>(t.content[0])].push_back(&t);
        ++count_;
    }
    for (auto& bucket : by_first_byte_)
        std::stable_sort(bucket.begin(), bucket.end(), [](const AddedToken* a, const AddedToken* b) {
            return a->content.size() > b->content.size();
        });
}

namespace {
// The character that ends at s[end) and starts at or after `floor`; {invalid byte, 1} if the bytes
// there are not a well-formed character.
Utf8Char char_before(std::string_view s, std::size_t end, std::size_t floor) {
    std::size_t pos = end - 1;
    while (pos > floor && end - pos < 4 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80)
        --pos;
    Utf8Char u = decode_utf8_at(s, pos);
    if (pos + u.len != end) return {kInvalidByteBase | static_cast<unsigned char>(s[end - 1]), 1};
    return u;
}
} // namespace

std::vector<AddedTokenMatcher::Match> AddedTokenMatcher::find(std::string_view text) const {
    std::vector<Match> raw;
    if (count_ == 0) return raw;
    // Leftmost-longest, non-overlapping (what an Aho-Corasick automaton in that mode reports).
    for (std::size_t pos = 0; pos < text.size();) {
        const AddedToken* hit = nullptr;
        for (const AddedToken* t : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
            if (t->content.size() <= text.size() - pos &&
                std::memcmp(text.data() + pos, t->content.data(), t->content.size()) == 0) {
                hit = t; // buckets are longest first
                break;
            }
        }
        if (hit) {
            raw.push_back({pos, pos + hit->content.size(), hit});
            pos += hit->content.size();
        } else {
            ++pos;
        }
    }
    // Hugging Face's flags, applied to those matches in order.
    std::vector<Match> out;
    std::size_t covered = 0; // end of the previous accepted match (after rstrip)
    for (Match m : raw) {
        if (m.begin < covered) continue; // swallowed by the previous token's rstrip
        if (m.token->single_word) {
            const bool word_before = m.begin > 0 && is_word_char(char_before(text, m.begin, 0).cp);
            const bool word_after = m.end < text.size() && is_word_char(decode_utf8_at(text, m.end).cp);
            if (word_before || word_after) continue;
        }
        if (m.token->lstrip) {
            while (m.begin > covered) {
                Utf8Char u = char_before(text, m.begin, covered);
                if (!is_space(u.cp)) break;
                m.begin -= u.len;
            }
        }
        if (m.token->rstrip) {
            while (m.end < text.size()) {
                Utf8Char u = decode_utf8_at(text, m.end);
                if (!is_space(u.cp)) break;
                m.end += u.len;
            }
        }
        out.push_back(m);
        covered = m.end;
    }
    return out;
}

} // namespace obsprop::io::detail
