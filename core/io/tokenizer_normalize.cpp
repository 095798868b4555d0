// Normalizers (NFC/NFD/NFKC/NFKD, Lowercase, Strip, Prepend, Replace) and decoders (ByteLevel,
// Metaspace, Replace, ByteFallback, Fuse, Strip), each as Hugging Face's `tokenizers` defines it.
#include "io/tokenizer_detail.h"

namespace obsprop::io::detail {

namespace {

std::size_t char_len_at(std::string_view s, std::size_t pos) {
    return decode_utf8_at(s, pos).len;
}

// Replaces every match of `pattern` by `content`. With `from_start`, also updates the count of leading bytes
// aligned with the input's start: Hugging Face aligns a replacement with the last character it replaces
// (with the character before it for an empty match, with offset 0 at the very start).
std::string replace_all(const Pattern& pattern, std::string_view s, std::string_view content,
                        std::size_t* from_start = nullptr) {
    std::vector<Span> spans;
    pattern_spans(pattern, s, spans);
    std::string out;
    out.reserve(s.size());
    std::size_t lead = 0;
    bool leading = from_start && *from_start > 0;
    for (const Span& sp : spans) {
        if (!sp.match) {
            out.append(s.substr(sp.begin, sp.end - sp.begin));
            if (leading) {
                const std::size_t in = *from_start > sp.begin ? std::min(*from_start, sp.end) - sp.begin : 0;
                lead += in;
                leading = in == sp.end - sp.begin;
            }
            continue;
        }
        out.append(content);
        if (leading) {
            const std::size_t aligned = sp.end > sp.begin ? sp.end - 1 : (sp.begin > 0 ? sp.begin - 1 : 0);
            leading = aligned < *from_start;
            if (leading) lead += content.size();
        }
    }
    if (from_start) *from_start = lead;
    return out;
}

} // namespace

std::string normalize(const std::vector<NormStep>& steps, std::string_view s, std::size_t& from_start) {
    std::string cur(s);
    for (const NormStep& step : steps) {
        switch (step.kind) {
        case NormKind::NFC:
        case NormKind::NFD:
        case NormKind::NFKC:
        case NormKind::NFKD: {
            const UnicodeForm form = step.kind == NormKind::NFC    ? UnicodeForm::NFC
                                     : step.kind == NormKind::NFD  ? UnicodeForm::NFD
                                     : step.kind == NormKind::NFKC ? UnicodeForm::NFKC
                                                                   : UnicodeForm::NFKD;
            std::string next = normalize_form(cur, form);
            // What the leading characters become stays aligned with them (an expansion such as
            // "½" -> "1⁄2" too); when a composition reaches past them, only the first character.
            if (from_start >= cur.size()) {
                from_start = next.size();
            } else if (from_start > 0) {
                const std::string head = normalize_form(std::string_view(cur).substr(0, from_start), form);
                from_start = next.compare(0, head.size(), head) == 0 ? head.size()
                             : next.empty()                          ? 0
                                                                     : decode_utf8_at(next, 0).len;
            }
            cur = std::move(next);
            break;
        }
        case NormKind::Lowercase:
            if (from_start > 0) from_start = lowercase(std::string_view(cur).substr(0, from_start)).size();
            cur = lowercase(cur);
            break;
        case NormKind::Strip: {
            // White_Space (Rust's char::is_whitespace) at either end.
            std::size_t begin = 0, end = cur.size();
            if (step.left)
                while (begin < end) {
                    const Utf8Char u = decode_utf8_at(cur, begin);
                    if (!is_space(u.cp)) break;
                    begin += u.len;
                }
            if (step.right)
                while (end > begin) {
                    std::size_t pos = end - 1;
                    while (pos > begin && (static_cast<unsigned char>(cur[pos]) & 0xC0) == 0x80)
                        --pos;
                    const Utf8Char u = decode_utf8_at(cur, pos);
                    if (pos + u.len != end || !is_space(u.cp)) break;
                    end = pos;
                }
            from_start = from_start > begin ? std::min(from_start, end) - begin : 0;
            cur = cur.substr(begin, end - begin);
            break;
        }
        case NormKind::Prepend:
            if (!cur.empty()) {
                cur.insert(0, step.text);
                if (from_start > 0) from_start += step.text.size();
            }
            break;
        case NormKind::Replace:
            cur = replace_all(step.pattern, cur, step.text, &from_start);
            break;
        }
    }
    return cur;
}

std::vector<std::string> decode_chain(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens,
                                      bool single) {
    for (const DecoderStep& step : steps) {
        switch (step.kind) {
        case DecoderKind::ByteLevel: {
            std::string all;
            for (const std::string& t : tokens)
                all += byte_level_decode(t);
            tokens.assign(1, std::move(all));
            break;
        }
        case DecoderKind::Metaspace:
            for (std::size_t i = 0; i < tokens.size(); ++i) {
                const bool drop = i == 0 && !single && step.prepend_scheme != PrependScheme::Never;
                std::string out;
                const std::string& t = tokens[i];
                for (std::size_t pos = 0; pos < t.size();) {
                    if (t.compare(pos, step.replacement.size(), step.replacement) == 0) {
                        if (!drop) out.push_back(' ');
                        pos += step.replacement.size();
                    } else {
                        const std::size_t len = char_len_at(t, pos);
                        out.append(t, pos, len);
                        pos += len;
                    }
                }
                tokens[i] = std::move(out);
            }
            break;
        case DecoderKind::Replace:
            for (std::string& t : tokens)
                t = replace_all(step.pattern, t, step.content);
            break;
        case DecoderKind::ByteFallback: {
            // Runs of <0xXX> tokens become their bytes (kept as they are even when they are not UTF-8).
            std::vector<std::string> out;
            std::string bytes;
            bool in_run = false;
            for (std::string& t : tokens) {
                const auto hex = [](char h) {
                    if (h >= '0' && h <= '9') return h - '0';
                    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                    return -1;
                };
                if (t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && hex(t[3]) >= 0 &&
                    hex(t[4]) >= 0) {
                    bytes.push_back(static_cast<char>(hex(t[3]) * 16 + hex(t[4])));
                    in_run = true;
                    continue;
                }
                if (in_run) out.push_back(std::move(bytes)), bytes.clear(), in_run = false;
                out.push_back(std::move(t));
            }
            if (in_run) out.push_back(std::move(bytes));
            tokens = std::move(out);
            break;
        }
        case DecoderKind::Fuse: {
            std::string all;
            for (const std::string& t : tokens)
                all += t;
            tokens.assign(1, std::move(all));
            break;
        }
        case DecoderKind::Strip:
            if (single) break;
            for (std::string& t : tokens) {
                std::size_t begin = 0, end = t.size();
                for (std::size_t i = 0; i < step.start && begin < end; ++i) {
                    if (t.compare(begin, step.content.size(), step.content) != 0) break;
                    begin += step.content.size();
                }
                for (std::size_t i = 0; i < step.stop && end >= begin + step.content.size(); ++i) {
                    if (t.compare(end - step.content.size(), step.content.size(), step.content) != 0) break;
                    end -= step.content.size();
                }
                t = t.substr(begin, end - begin);
            }
            break;
        }
    }
    return tokens;
}

} // namespace obsprop::io::detail
