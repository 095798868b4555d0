// Pre-tokenisation: GPT-2's split pattern evaluated by hand, the Whitespace splitters, GPT-2's byte <->
// character mapping, Hugging Face's split behaviours and the pre-tokenizers built on them (Split,
// Metaspace, Digits, Punctuation).
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
// Patterns and split behaviours

void Pattern::find_all(std::string_view s, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
    if (regex) {
        regex->find_all(s, out);
        return;
    }
    // A literal (Hugging Face escapes it into a regex): non-overlapping occurrences, left to right.
    for (std::size_t pos = s.find(text); pos != std::string_view::npos; pos = s.find(text, pos + text.size()))
        out.emplace_back(pos, pos + text.size());
}

void pattern_spans(const Pattern& p, std::string_view s, std::vector<Span>& out) {
    if (s.empty()) {
        out.push_back({0, 0, false});
        return;
    }
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    p.find_all(s, matches);
    std::size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (prev != b) out.push_back({prev, b, false});
        out.push_back({b, e, true});
        prev = e;
    }
    if (prev != s.size()) out.push_back({prev, s.size(), false});
}

void apply_split_behavior(const std::vector<Span>& spans, SplitBehavior behavior, std::vector<Span>& out) {
    // The folds of NormalizedString::split; `match` in the result means "remove".
    std::vector<Span> kept;
    bool previous_match = false;
    switch (behavior) {
    case SplitBehavior::Removed:
        kept = spans;
        break;
    case SplitBehavior::Isolated:
        for (const Span& s : spans)
            kept.push_back({s.begin, s.end, false});
        break;
    case SplitBehavior::Contiguous:
        for (const Span& s : spans) {
            if (s.match == previous_match && !kept.empty())
                kept.back().end = s.end;
            else
                kept.push_back({s.begin, s.end, false});
            previous_match = s.match;
        }
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const Span& s : spans) {
            if (s.match && !previous_match && !kept.empty())
                kept.back().end = s.end;
            else
                kept.push_back({s.begin, s.end, false});
            previous_match = s.match;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
            if (it->match && !previous_match && !kept.empty())
                kept.back().begin = it->begin;
            else
                kept.push_back({it->begin, it->end, false});
            previous_match = it->match;
        }
        std::reverse(kept.begin(), kept.end());
        break;
    }
    for (const Span& s : kept)
        if (!s.match && s.end > s.begin) out.push_back(s);
}

// ---------------------------------------------------------------------------------------------------
// Pre-tokenizers

void pre_tokenize_step(const PreTokStep& step, Piece piece, std::vector<Piece>& out,
                       std::forward_list<std::string>& storage) {
    // A sub-piece [begin, end) of a text whose first `from_start` bytes are at the input's start.
    const auto sub = [&](std::string_view text, std::size_t from_start, std::size_t begin, std::size_t end) {
        out.push_back(
            {text.substr(begin, end - begin), from_start > begin ? std::min(from_start, end) - begin : 0});
    };
    const auto emit_views = [&](const std::vector<std::string_view>& views) {
        for (std::string_view v : views) {
            const auto begin = static_cast<std::size_t>(v.data() - piece.text.data());
            if (!v.empty()) sub(piece.text, piece.from_start, begin, begin + v.size());
        }
    };
    const auto emit_spans = [&](std::string_view text, std::size_t from_start, const std::vector<Span>& spans,
                                SplitBehavior b) {
        std::vector<Span> kept;
        apply_split_behavior(spans, b, kept);
        for (const Span& s : kept)
            sub(text, from_start, s.begin, s.end);
    };
    std::vector<std::string_view> views;
    std::vector<Span> spans;
    switch (step.kind) {
    case PreTokKind::ByteLevel:
        if (step.add_prefix_space && !piece.text.empty() && piece.text.front() != ' ') {
            storage.push_front(" " + std::string(piece.text));
            piece.text = storage.front();
            if (piece.from_start > 0) ++piece.from_start;
        }
        if (step.use_regex)
            split_gpt2(piece.text, views);
        else
            views.push_back(piece.text);
        emit_views(views);
        return;
    case PreTokKind::Whitespace:
        split_whitespace(piece.text, views);
        emit_views(views);
        return;
    case PreTokKind::WhitespaceSplit:
        split_whitespace_split(piece.text, views);
        emit_views(views);
        return;
    case PreTokKind::Split:
        pattern_spans(step.pattern, piece.text, spans);
        if (step.invert)
            for (Span& s : spans)
                s.match = !s.match;
        emit_spans(piece.text, piece.from_start, spans, step.behavior);
        return;
    case PreTokKind::Digits:
        predicate_spans(piece.text, is_number, spans);
        emit_spans(piece.text, piece.from_start, spans,
                   step.individual_digits ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
        return;
    case PreTokKind::Punctuation:
        predicate_spans(piece.text, is_punctuation, spans);
        emit_spans(piece.text, piece.from_start, spans, step.behavior);
        return;
    case PreTokKind::Metaspace: {
        // Every ' ' becomes the replacement (keeping its place), then the prefix by the scheme (taking the
        // place of the first character), then a split in front of every replacement character.
        std::string text;
        std::size_t from_start = 0;
        text.reserve(piece.text.size() + step.replacement.size());
        for (std::size_t i = 0; i < piece.text.size(); ++i) {
            if (piece.text[i] == ' ')
                text += step.replacement;
            else
                text.push_back(piece.text[i]);
            if (i + 1 == piece.from_start) from_start = text.size();
        }
        const bool starts = text.compare(0, step.replacement.size(), step.replacement) == 0;
        if (!starts && (step.prepend_scheme == PrependScheme::Always ||
                        (step.prepend_scheme == PrependScheme::First && from_start > 0))) {
            text.insert(0, step.replacement);
            if (from_start > 0) from_start += step.replacement.size();
        }
        storage.push_front(std::move(text));
        const std::string_view stored = storage.front();
        if (!step.split) {
            if (!stored.empty()) out.push_back({stored, from_start});
            return;
        }
        const char32_t rep = decode_utf8_at(step.replacement, 0).cp;
        predicate_spans(
            stored, [rep](char32_t c) { return c == rep; }, spans);
        emit_spans(stored, from_start, spans, SplitBehavior::MergedWithNext);
        return;
    }
    }
}

} // namespace obsprop::io::detail
