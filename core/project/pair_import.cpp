#include "project/pair_import.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "io/input_guard.h"

namespace obsprop::project {

namespace {

[[noreturn]] void fail_at(const std::string& src, std::size_t line, const std::string& what) {
    throw PairFileError(src + ":" + std::to_string(line) + ": " + what);
}

[[noreturn]] void fail(const std::string& src, const std::string& what) {
    throw PairFileError(src + ": " + what);
}

std::string pairs_limit() {
    return "more than " + std::to_string(kMaxPairs) + " pairs (the most a pair file may hold)";
}

// The length of the UTF-8 sequence at s[i] (strict: no overlong forms, surrogates or code points above
// U+10FFFF), or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
        if (c == 0xED && b(1) >= 0xA0) return 0; // a surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
        if (c == 0xF4 && b(1) >= 0x90) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

// The whole text is valid UTF-8 and no line is longer than the limit; checked before either format is
// parsed, so both report these the same way.
void check_text(std::string_view t, const std::string& src) {
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i <= t.size();) {
        if (i == t.size() || t[i] == '\n') {
            if (i - line_start > kMaxPairLineBytes)
                fail_at(src, line, "the line is longer than " + std::to_string(kMaxPairLineBytes) + " bytes");
            if (i == t.size()) break;
            ++line, ++i, line_start = i;
            continue;
        }
        const std::size_t n = utf8_length(t, i);
        if (n == 0) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(t[i])));
            fail_at(src, line,
                    std::string("invalid UTF-8 (byte ") + hex + " at byte " +
                        std::to_string(i - line_start + 1) + " of the line); save the file as UTF-8");
        }
        i += n;
    }
}

std::string_view without_bom(std::string_view t) {
    constexpr std::string_view bom = "\xEF\xBB\xBF";
    return t.starts_with(bom) ? t.substr(bom.size()) : t;
}

// The pair made of one row's fields, checked; `line` is where the row starts.
PromptPair checked_pair(std::string clean, std::string corrupt, std::string label, const std::string& src,
                        std::size_t line) {
    if (clean.empty()) fail_at(src, line, "the clean prompt is empty");
    if (corrupt.empty()) fail_at(src, line, "the corrupted prompt is empty");
    if (clean == corrupt) fail_at(src, line, "the clean and corrupted prompts are the same text");
    return {std::move(clean), std::move(corrupt), std::move(label)};
}

struct CsvRecord {
    std::size_t line = 0; // where the record starts
    std::vector<std::string> fields;
};

// RFC 4180 records. A record ends at CRLF or LF outside quotes; a quoted field may hold commas, quotes
// (doubled) and line breaks; empty lines between records are skipped.
class CsvReader {
  public:
    CsvReader(std::string_view text, const std::string& src) : t_(text), src_(src) {}

    bool next(CsvRecord& r) {
        while (i_ < t_.size() && (t_[i_] == '\n' || (t_[i_] == '\r' && at_crlf(i_)))) { // empty lines
            i_ += t_[i_] == '\r' ? 2 : 1;
            ++line_;
        }
        if (i_ >= t_.size()) return false;
        r.line = line_;
        r.fields.clear();
        for (;;) {
            r.fields.push_back(field());
            if (i_ < t_.size() && t_[i_] == ',') {
                ++i_;
                continue;
            }
            break;
        }
        if (i_ < t_.size()) { // at the line end (field() stops only at ',', the line end or the text's end)
            i_ += t_[i_] == '\r' ? 2 : 1;
            ++line_;
        }
        return true;
    }

  private:
    bool at_crlf(std::size_t k) const { return k + 1 < t_.size() && t_[k] == '\r' && t_[k + 1] == '\n'; }

    void check_line_end() const {
        if (i_ < t_.size() && t_[i_] == '\r' && !at_crlf(i_))
            fail_at(src_, line_, "a carriage return that does not end a line (lines end with CRLF or LF)");
    }

    std::string field() {
        std::string f;
        if (i_ < t_.size() && t_[i_] == '"') {
            const std::size_t opened = line_;
            ++i_;
            for (;;) {
                if (i_ >= t_.size()) fail_at(src_, opened, "a quoted field is not closed");
                const char c = t_[i_];
                if (c == '"') {
                    if (i_ + 1 < t_.size() && t_[i_ + 1] == '"') {
                        f += '"';
                        i_ += 2;
                        continue;
                    }
                    ++i_;
                    break;
                }
                if (c == '\n') ++line_;
                f += c;
                ++i_;
            }
            check_line_end();
            if (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '\n' && t_[i_] != '\r')
                fail_at(src_, line_,
                        "text after the closing quote of a field (a quote inside a quoted field is written "
                        "\"\")");
            return f;
        }
        while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '\n' && t_[i_] != '\r') {
            if (t_[i_] == '"')
                fail_at(src_, line_,
                        "a quote inside an unquoted field (quote the whole field, and write each quote in it "
                        "as \"\")");
            f += t_[i_++];
        }
        check_line_end();
        return f;
    }

    std::string_view t_;
    const std::string& src_;
    std::size_t i_ = 0, line_ = 1;
};

std::string trimmed(const std::string& s) {
    const auto a = s.find_first_not_of(" \t");
    if (a == std::string::npos) return {};
    return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// nlohmann's message without its exception tag and the line number within the one line parsed:
// "[json.exception.parse_error.101] parse error at line 1, column 15: syntax error ..." becomes
// "not valid JSON (column 15: syntax error ...)"; the nesting limit's message is kept.
std::string json_problem(std::string e) {
    if (e.starts_with("[json.exception"))
        e.erase(0, e.find("] ") == std::string::npos ? 0 : e.find("] ") + 2);
    if (e.starts_with("parse error at line ")) {
        const auto comma = e.find(", ");
        if (comma != std::string::npos) e.erase(0, comma + 2);
    }
    if (e.find("nested more than") != std::string::npos) return e;
    return "not valid JSON (" + e + ")";
}

} // namespace

std::vector<PromptPair> parse_pairs_csv(std::string_view text, const std::string& src) {
    text = without_bom(text);
    check_text(text, src);
    CsvReader reader(text, src);
    CsvRecord r;
    if (!reader.next(r))
        fail_at(src, 1,
                "the file is empty (a CSV pair file starts with the header row clean,corrupt[,label])");
    // The header: clean and corrupt, label optional, in any order.
    std::optional<std::size_t> clean, corrupt, label;
    for (std::size_t k = 0; k < r.fields.size(); ++k) {
        const std::string name = trimmed(r.fields[k]);
        auto* slot = name == "clean"     ? &clean
                     : name == "corrupt" ? &corrupt
                     : name == "label"   ? &label
                                         : nullptr;
        if (!slot)
            fail_at(src, r.line,
                    "unknown column " + io::json_preview(nlohmann::json(name), 40) +
                        " (the columns are clean, corrupt and an optional label)");
        if (*slot) fail_at(src, r.line, "column '" + name + "' appears twice");
        *slot = k;
    }
    if (!clean) fail_at(src, r.line, "missing column 'clean' (the header row is clean,corrupt[,label])");
    if (!corrupt) fail_at(src, r.line, "missing column 'corrupt' (the header row is clean,corrupt[,label])");
    const std::size_t columns = r.fields.size();
    std::vector<PromptPair> out;
    while (reader.next(r)) {
        if (r.fields.size() != columns)
            fail_at(src, r.line,
                    "the row has " + std::to_string(r.fields.size()) + " fields, the header " +
                        std::to_string(columns) + " (quote a field that holds a comma)");
        if (out.size() == kMaxPairs) fail_at(src, r.line, pairs_limit());
        out.push_back(checked_pair(std::move(r.fields[*clean]), std::move(r.fields[*corrupt]),
                                   label ? std::move(r.fields[*label]) : std::string(), src, r.line));
    }
    if (out.empty()) fail(src, "no pairs after the header row");
    return out;
}

std::vector<PromptPair> parse_pairs_jsonl(std::string_view text, const std::string& src) {
    text = without_bom(text);
    check_text(text, src);
    std::vector<PromptPair> out;
    std::size_t line = 0;
    for (std::size_t start = 0; start < text.size();) {
        ++line;
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view l = text.substr(start, end - start);
        start = end + 1;
        if (l.ends_with('\r')) l.remove_suffix(1);
        if (l.find_first_not_of(" \t") == std::string_view::npos) continue; // blank lines are skipped
        const io::ParsedJson parsed = io::parse_json_limited(l, kMaxPairJsonDepth);
        if (!parsed.error.empty()) fail_at(src, line, json_problem(parsed.error));
        if (!parsed.duplicate_key.empty())
            fail_at(src, line,
                    "field " + io::json_preview(nlohmann::json(parsed.duplicate_key), 40) + " appears twice");
        const auto& j = parsed.value;
        if (!j.is_object())
            fail_at(src, line,
                    std::string("expected a JSON object {\"clean\": ..., \"corrupt\": ...}, not ") +
                        io::json_kind(j));
        for (const auto& [key, value] : j.items())
            if (key != "clean" && key != "corrupt" && key != "label")
                fail_at(src, line,
                        "unknown field " + io::json_preview(nlohmann::json(key), 40) +
                            " (the fields are clean, corrupt and an optional label)");
        auto get = [&](const char* key, bool required) -> std::string {
            const auto it = j.find(key);
            if (it == j.end() || (!required && it->is_null())) {
                if (required) fail_at(src, line, std::string("missing field '") + key + "'");
                return {};
            }
            if (!it->is_string())
                fail_at(src, line,
                        std::string("field '") + key + "' must be a string, not " + io::json_kind(*it));
            return it->get<std::string>();
        };
        if (out.size() == kMaxPairs) fail_at(src, line, pairs_limit());
        std::string clean = get("clean", true), corrupt = get("corrupt", true), label = get("label", false);
        out.push_back(checked_pair(std::move(clean), std::move(corrupt), std::move(label), src, line));
    }
    if (out.empty()) fail(src, "no pairs (a JSONL pair file has one {\"clean\", \"corrupt\"} object a line)");
    return out;
}

std::vector<PromptPair> read_pair_file(const std::filesystem::path& file) {
    const std::string src = file.string();
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    if (ext != ".csv" && ext != ".jsonl")
        fail(src, "not a pair file: the name must end in .csv or .jsonl (the format is read from it)");
    std::string text;
    try {
        text = io::read_regular_file(file, kMaxPairFileBytes);
    } catch (const io::ReadError& e) {
        fail(src, e.what());
    }
    return ext == ".csv" ? parse_pairs_csv(text, src) : parse_pairs_jsonl(text, src);
}

Dataset import_pair_dataset(const std::string& name, const std::filesystem::path& file,
                            const std::vector<Dataset>& existing) {
    check_dataset_name(file.string(), name);
    for (const auto& d : existing)
        if (d.name == name)
            throw ProjectError(file.string() + ": a dataset named '" + name +
                               "' already exists; give the imported pairs another name");
    Dataset d;
    d.name = name;
    d.prompt_pairs = read_pair_file(file);
    return d;
}

std::pair<std::string, std::string> split_pairs_option(const std::string& option) {
    const auto eq = option.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == option.size())
        throw std::invalid_argument("'" + option +
                                    "' is not NAME=FILE (a dataset name, '=', a .csv or .jsonl file)");
    return {option.substr(0, eq), option.substr(eq + 1)};
}

} // namespace obsprop::project
