// The search for added tokens in the text: leftmost-longest matches, as the Aho-Corasick automaton of
// Hugging Face's AddedVocabulary reports them, then its single_word / lstrip / rstrip rules.
#include "io/tokenizer_detail.h"

#include <algorithm>
#include <functional>

namespace obsprop::io::detail {

void AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, bool normalized_ones) {
    for (auto& lengths : lengths_by_first_byte_)
        lengths.clear();
    by_content_.clear();
    count_ = 0;
    for (const AddedToken& t : tokens) {
        if (t.normalized != normalized_ones || t.content.empty()) continue;
        // Two tokens with the same content: the first one listed wins, as in the automaton.
        if (!by_content_.emplace(std::string_view(t.content), &t).second) continue;
        lengths_by_first_byte_[static_cast<unsigned char>(t.content[0])].push_back(t.content.size());
        ++count_;
    }
    for (auto& lengths : lengths_by_first_byte_) {
        std::sort(lengths.begin(), lengths.end(), std::greater<>());
        lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
    }
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
        for (std::size_t len : lengths_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
            if (len > text.size() - pos) continue;
            auto it = by_content_.find(text.substr(pos, len));
            if (it != by_content_.end()) {
                hit = it->second; // lengths are longest first
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
