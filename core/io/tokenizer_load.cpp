// Loading tokenizer.json (every section the supported pipelines use) and vocab.json + merges.txt.
// Anything not implemented is refused with a TokenizerError naming the file, the section and the value.
#include "io/tokenizer_detail.h"

#include "io/input_guard.h"

#include <nlohmann/json.hpp>

namespace obsprop::io::detail {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
    throw TokenizerError(origin + ": " + what);
}

// Nesting is limited (kMaxJsonDepth), so the recursive section parsers below (Sequence inside Sequence)
// recurse at most half as deep.
json parse_json(std::string_view text, const std::string& origin) {
    ParsedJson parsed = parse_json_limited(text);
    if (!parsed.error.empty()) fail(origin, "invalid JSON: " + parsed.error);
    return std::move(parsed.value);
}

std::string type_of(const json& section, const std::string& origin, const char* what) {
    if (!section.is_object()) fail(origin, std::string(what) + " must be an object or null");
    auto it = section.find("type");
    if (it == section.end() || !it->is_string()) fail(origin, std::string(what) + " has no \"type\" string");
    return it->get<std::string>();
}

bool flag(const json& obj, const char* key, bool fallback, const std::string& origin) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(origin, std::string("\"") + key + "\" must be true or false");
    return it->get<bool>();
}

// A string field that may be null or absent (returns "").
std::string optional_string(const json& obj, const char* key, const std::string& origin, const char* where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_string()) fail(origin, std::string(where) + " \"" + key + "\" must be a string or null");
    return it->get<std::string>();
}

std::string required_string(const json& obj, const char* key, const std::string& origin,
                            const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) fail(origin, where + " has no \"" + key + "\" string");
    return it->get<std::string>();
}

// A field holding exactly one character (Metaspace's replacement, Strip's content).
std::string one_char(const json& obj, const char* key, const std::string& origin, const std::string& where) {
    std::string s = required_string(obj, key, origin, where);
    if (s.empty() || decode_utf8_at(s, 0).len != s.size() || is_invalid_byte(decode_utf8_at(s, 0).cp))
        fail(origin, where + " \"" + key + "\" must be a single character, got \"" + s + "\"");
    return s;
}

// {"String": "..."} or {"Regex": "..."}; `where` names the section for messages.
Pattern parse_pattern(const json& obj, const std::string& origin, const std::string& where) {
    auto it = obj.find("pattern");
    if (it == obj.end() || !it->is_object() || it->size() != 1)
        fail(origin, where + " needs a \"pattern\" of the form {\"String\": ...} or {\"Regex\": ...}");
    // (Not `*it->items().begin()`: that proxy is a temporary, and a reference bound to it dangles.)
    const std::string kind = it->begin().key();
    const json& value = it->begin().value();
    if (!value.is_string()) fail(origin, where + " pattern " + kind + " must be a string");
    Pattern p;
    p.text = value.get<std::string>();
    if (kind == "String") {
        if (p.text.empty()) fail(origin, where + ": an empty String pattern is not supported");
    } else if (kind == "Regex") {
        try {
            p.regex = std::make_shared<const Regex>(Regex::compile(p.text));
        } catch (const RegexError& e) {
            fail(origin, where + ": regex \"" + p.text + "\" is not supported: " + e.what());
        }
    } else {
        fail(origin, where + ": unsupported pattern kind \"" + kind + "\" (supported: String, Regex)");
    }
    return p;
}

SplitBehavior parse_behavior(const json& obj, const char* fallback, const std::string& origin,
                             const std::string& where) {
    auto it = obj.find("behavior");
    std::string b;
    if (it == obj.end() || it->is_null()) {
        if (!fallback) fail(origin, where + " has no \"behavior\"");
        b = fallback;
    } else if (it->is_string()) {
        b = it->get<std::string>();
    } else {
        fail(origin, where + " \"behavior\" must be a string");
    }
    static const std::pair<const char*, SplitBehavior> kNames[] = {
        {"Removed", SplitBehavior::Removed},
        {"Isolated", SplitBehavior::Isolated},
        {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
        {"MergedWithNext", SplitBehavior::MergedWithNext},
        {"Contiguous", SplitBehavior::Contiguous}};
    for (const auto& [name, value] : kNames)
        if (b == name) return value;
    fail(origin, where + ": unsupported behavior \"" + b +
                     "\" (supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
}

// Metaspace's prepend_scheme, with the older add_prefix_space flag read as Hugging Face does.
PrependScheme parse_prepend_scheme(const json& obj, const std::string& origin, const std::string& where) {
    PrependScheme scheme = PrependScheme::Always;
    if (auto it = obj.find("prepend_scheme"); it != obj.end() && !it->is_null()) {
        const std::string s = it->is_string() ? it->get<std::string>() : json_preview(*it);
        if (s == "always")
            scheme = PrependScheme::Always;
        else if (s == "first")
            scheme = PrependScheme::First;
        else if (s == "never")
            scheme = PrependScheme::Never;
        else
            fail(origin,
                 where + ": unsupported prepend_scheme \"" + s + "\" (supported: always, first, never)");
    }
    if (auto it = obj.find("add_prefix_space"); it != obj.end() && it->is_boolean() && !it->get<bool>()) {
        if (scheme != PrependScheme::Never && obj.contains("prepend_scheme"))
            fail(origin, where + ": add_prefix_space false does not match prepend_scheme");
        scheme = PrependScheme::Never;
    }
    return scheme;
}

void parse_normalizer(const json& n, TokenizerImpl& t, const std::string& origin) {
    if (n.is_null()) return;
    const std::string type = type_of(n, origin, "normalizer");
    const std::string where = "normalizer " + type;
    NormStep step;
    if (type == "Sequence") {
        auto it = n.find("normalizers");
        if (it == n.end() || !it->is_array())
            fail(origin, "normalizer Sequence has no \"normalizers\" array");
        for (const json& sub : *it)
            parse_normalizer(sub, t, origin);
        return;
    } else if (type == "NFC") {
        step.kind = NormKind::NFC;
    } else if (type == "NFD") {
        step.kind = NormKind::NFD;
    } else if (type == "NFKC") {
        step.kind = NormKind::NFKC;
    } else if (type == "NFKD") {
        step.kind = NormKind::NFKD;
    } else if (type == "Lowercase") {
        step.kind = NormKind::Lowercase;
    } else if (type == "Strip") {
        step.kind = NormKind::Strip;
        step.left = flag(n, "strip_left", false, origin);
        step.right = flag(n, "strip_right", false, origin);
    } else if (type == "Prepend") {
        step.kind = NormKind::Prepend;
        step.text = required_string(n, "prepend", origin, where);
    } else if (type == "Replace") {
        step.kind = NormKind::Replace;
        step.pattern = parse_pattern(n, origin, where);
        step.text = required_string(n, "content", origin, where);
    } else {
        fail(origin,
             "unsupported normalizer type \"" + type +
                 "\" (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence)");
    }
    t.normalizers.push_back(std::move(step));
}

void parse_pre_tokenizer(const json& p, TokenizerImpl& t, const std::string& origin) {
    if (p.is_null()) return;
    const std::string type = type_of(p, origin, "pre_tokenizer");
    const std::string where = "pre_tokenizer " + type;
    PreTokStep step;
    if (type == "Sequence") {
        auto it = p.find("pretokenizers");
        if (it == p.end() || !it->is_array())
            fail(origin, "pre_tokenizer Sequence has no \"pretokenizers\" array");
        for (const json& sub : *it)
            parse_pre_tokenizer(sub, t, origin);
        return;
    } else if (type == "ByteLevel") {
        step.kind = PreTokKind::ByteLevel;
        step.add_prefix_space = flag(p, "add_prefix_space", true, origin);
        step.use_regex = flag(p, "use_regex", true, origin);
    } else if (type == "Whitespace") {
        step.kind = PreTokKind::Whitespace;
    } else if (type == "WhitespaceSplit") {
        step.kind = PreTokKind::WhitespaceSplit;
    } else if (type == "Split") {
        step.kind = PreTokKind::Split;
        step.pattern = parse_pattern(p, origin, where);
        step.behavior = parse_behavior(p, nullptr, origin, where);
        step.invert = flag(p, "invert", false, origin);
    } else if (type == "Metaspace") {
        step.kind = PreTokKind::Metaspace;
        step.replacement = one_char(p, "replacement", origin, where);
        step.prepend_scheme = parse_prepend_scheme(p, origin, where);
        step.split = flag(p, "split", true, origin);
    } else if (type == "Digits") {
        step.kind = PreTokKind::Digits;
        step.individual_digits = flag(p, "individual_digits", false, origin);
    } else if (type == "Punctuation") {
        step.kind = PreTokKind::Punctuation;
        step.behavior = parse_behavior(p, "Isolated", origin, where);
    } else {
        fail(origin, "unsupported pre_tokenizer type \"" + type +
                         "\" (supported: ByteLevel, Split, Metaspace, Digits, Punctuation, Whitespace, "
                         "WhitespaceSplit, Sequence)");
    }
    if (t.byte_level)
        fail(origin,
             "pre_tokenizer " + type + " after ByteLevel is not supported (ByteLevel must come last)");
    t.byte_level = step.kind == PreTokKind::ByteLevel;
    t.pre.push_back(std::move(step));
}

void parse_decoder(const json& d, TokenizerImpl& t, const std::string& origin) {
    if (d.is_null()) return;
    t.has_decoder = true;
    const std::string type = type_of(d, origin, "decoder");
    const std::string where = "decoder " + type;
    DecoderStep step;
    if (type == "Sequence") {
        auto it = d.find("decoders");
        if (it == d.end() || !it->is_array()) fail(origin, "decoder Sequence has no \"decoders\" array");
        for (const json& sub : *it)
            parse_decoder(sub, t, origin);
        return;
    } else if (type == "ByteLevel") {
        step.kind = DecoderKind::ByteLevel;
    } else if (type == "Metaspace") {
        step.kind = DecoderKind::Metaspace;
        step.replacement = one_char(d, "replacement", origin, where);
        step.prepend_scheme = parse_prepend_scheme(d, origin, where);
    } else if (type == "Replace") {
        step.kind = DecoderKind::Replace;
        step.pattern = parse_pattern(d, origin, where);
        step.content = required_string(d, "content", origin, where);
    } else if (type == "ByteFallback") {
        step.kind = DecoderKind::ByteFallback;
    } else if (type == "Fuse") {
        step.kind = DecoderKind::Fuse;
    } else if (type == "Strip") {
        step.kind = DecoderKind::Strip;
        step.content = one_char(d, "content", origin, where);
        for (const char* key : {"start", "stop"}) {
            auto it = d.find(key);
            if (it == d.end() || !it->is_number_unsigned())
                fail(origin, where + " needs a non-negative integer \"" + key + "\"");
            (key[2] == 'a' ? step.start : step.stop) = it->get<std::size_t>();
        }
    } else {
        fail(origin,
             "unsupported decoder type \"" + type +
                 "\" (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence, null)");
    }
    t.decoders.push_back(std::move(step));
}

void parse_vocab(const json& vocab, TokenizerImpl& t, const std::string& origin) {
    if (!vocab.is_object()) fail(origin, "the vocabulary must be a JSON object mapping token strings to ids");
    t.model_vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const json& id = it.value();
        if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() > (1LL << 30))
            fail(origin, "vocabulary entry \"" + it.key() + "\" has an invalid id " + json_preview(id));
        t.model_vocab[it.key()] = id.get<int>();
    }
}

using MergeList = std::vector<std::pair<std::string, std::string>>;

void build_merges(const MergeList& list, TokenizerImpl& t, const std::string& origin) {
    t.merges.reserve(list.size());
    const std::size_t prefix_len = t.continuing_subword_prefix.size();
    const auto lookup = [&](const std::string& tok, std::size_t rank, const std::string& a,
                            const std::string& b) {
        auto it = t.model_vocab.find(tok);
        if (it == t.model_vocab.end())
            fail(origin, "merge #" + std::to_string(rank + 1) + " \"" + a + " " + b + "\": \"" + tok +
                             "\" is not in the vocabulary");
        return it->second;
    };
    for (std::size_t rank = 0; rank < list.size(); ++rank) {
        const auto& [a, b] = list[rank];
        // The merged token drops the right part's continuing_subword_prefix, as Hugging Face does.
        if (b.size() < prefix_len || b.compare(0, prefix_len, t.continuing_subword_prefix) != 0)
            fail(origin, "merge #" + std::to_string(rank + 1) + " \"" + a + " " + b +
                             "\": the right part does not start with the continuing_subword_prefix");
        const int ia = lookup(a, rank, a, b), ib = lookup(b, rank, a, b),
                  merged = lookup(a + b.substr(prefix_len), rank, a, b);
        const std::uint64_t key = (std::uint64_t(std::uint32_t(ia)) << 32) | std::uint32_t(ib);
        t.merges[key] = {static_cast<int>(rank), merged}; // a repeated pair keeps its last rank, like HF
    }
}

void parse_bpe_model(const json& m, TokenizerImpl& t, const std::string& origin) {
    t.model = ModelKind::BPE;
    auto dropout = m.find("dropout");
    if (dropout != m.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0))
        fail(origin, "BPE dropout " + json_preview(*dropout) +
                         " is not supported (it makes encoding random); only null is");
    t.byte_fallback = flag(m, "byte_fallback", false, origin);
    t.continuing_subword_prefix = optional_string(m, "continuing_subword_prefix", origin, "BPE");
    t.end_of_word_suffix = optional_string(m, "end_of_word_suffix", origin, "BPE");
    t.unk_token = optional_string(m, "unk_token", origin, "BPE");
    t.fuse_unk = flag(m, "fuse_unk", false, origin);
    t.ignore_merges = flag(m, "ignore_merges", false, origin);

    auto vocab = m.find("vocab");
    if (vocab == m.end() || vocab->is_null()) fail(origin, "BPE model has no \"vocab\"");
    parse_vocab(*vocab, t, origin);

    MergeList list;
    auto merges = m.find("merges");
    if (merges == m.end() || merges->is_null()) fail(origin, "BPE model has no \"merges\"");
    if (!merges->is_array()) fail(origin, "BPE \"merges\" must be an array");
    list.reserve(merges->size());
    for (std::size_t i = 0; i < merges->size(); ++i) {
        const json& e = (*merges)[i];
        if (e.is_string()) {
            const std::string& s = e.get_ref<const std::string&>();
            const auto space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
                fail(origin, "merge #" + std::to_string(i + 1) + " \"" + s +
                                 "\" is not two tokens separated by a space");
            list.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
            list.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else {
            fail(origin, "merge #" + std::to_string(i + 1) + " must be \"a b\" or [\"a\", \"b\"], got " +
                             json_preview(e));
        }
    }
    build_merges(list, t, origin);
}

void parse_word_level_model(const json& m, TokenizerImpl& t, const std::string& origin) {
    t.model = ModelKind::WordLevel;
    auto vocab = m.find("vocab");
    if (vocab == m.end() || vocab->is_null()) fail(origin, "WordLevel model has no \"vocab\"");
    parse_vocab(*vocab, t, origin);
    t.unk_token = optional_string(m, "unk_token", origin, "WordLevel");
}

void parse_added_tokens(const json& list, TokenizerImpl& t, const std::string& origin) {
    if (list.is_null()) return;
    if (!list.is_array()) fail(origin, "\"added_tokens\" must be an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json& e = list[i];
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        if (!e.is_object()) fail(origin, where + " must be an object");
        auto id = e.find("id");
        auto content = e.find("content");
        if (id == e.end() || !id->is_number_integer() || id->get<long long>() < 0 ||
            id->get<long long>() > (1LL << 30))
            fail(origin, where + " has no valid \"id\"");
        if (content == e.end() || !content->is_string() || content->get_ref<const std::string&>().empty())
            fail(origin, where + " has no \"content\" string");
        AddedToken a;
        a.id = id->get<int>();
        a.content = content->get<std::string>();
        // Hugging Face gives a token that the model's vocabulary holds the model's id.
        if (auto in_vocab = t.model_vocab.find(a.content); in_vocab != t.model_vocab.end())
            a.id = in_vocab->second;
        a.special = flag(e, "special", false, origin);
        a.single_word = flag(e, "single_word", false, origin);
        a.lstrip = flag(e, "lstrip", false, origin);
        a.rstrip = flag(e, "rstrip", false, origin);
        a.normalized = flag(e, "normalized", !a.special, origin);
        t.added.push_back(std::move(a));
    }
}

// Tables indexed by id are sized by the largest id, so an id far beyond the number of tokens the file
// defines would allocate for nothing (an id of 2e8 in a 2 048-token vocabulary took 12 GB). Real
// vocabularies are dense; ids up to twice the number of tokens plus 262 144 (Gemma 3's whole vocabulary, so
// a small test tokenizer may stand in for any model's) are accepted.
// A tokenizer defines at least one token, and no id far beyond the number it defines.
void check_id_range(const TokenizerImpl& t, const std::string& origin) {
    const std::uint64_t tokens = t.model_vocab.size() + t.added.size();
    if (tokens == 0) fail(origin, "the tokenizer defines no tokens (an empty vocabulary)");
    const std::uint64_t limit = 2 * tokens + 262144;
    const std::string* worst = nullptr;
    int max_id = -1;
    const char* kind = "";
    for (const auto& [tok, id] : t.model_vocab)
        if (id > max_id) max_id = id, worst = &tok, kind = "vocabulary entry";
    for (const AddedToken& a : t.added)
        if (a.id > max_id) max_id = a.id, worst = &a.content, kind = "added token";
    if (worst && static_cast<std::uint64_t>(max_id) >= limit)
        fail(origin, std::string(kind) + " " + json_preview(json(*worst)) + " has id " +
                         std::to_string(max_id) + ", far beyond the " + std::to_string(tokens) +
                         " tokens the file defines (ids below " + std::to_string(limit) + " are accepted)");
}

std::shared_ptr<TokenizerImpl> parse_tokenizer(const json& j, const std::string& origin) {
    if (!j.is_object()) fail(origin, "not a tokenizer.json: the top level is not a JSON object");
    auto model = j.find("model");
    if (model == j.end() || !model->is_object()) fail(origin, "no \"model\" section");

    auto t = std::make_shared<TokenizerImpl>();
    t->source = origin;
    std::string type;
    if (auto it = model->find("type"); it != model->end()) {
        if (!it->is_string()) fail(origin, "model \"type\" must be a string");
        type = it->get<std::string>();
    } else {
        // Files written by old versions of `tokenizers` carry no type: tell the models apart by shape.
        type = model->contains("merges") ? "BPE" : "WordLevel";
    }
    if (type == "BPE")
        parse_bpe_model(*model, *t, origin);
    else if (type == "WordLevel")
        parse_word_level_model(*model, *t, origin);
    else
        fail(origin, "unsupported model type \"" + type + "\" (supported: BPE, WordLevel)");

    parse_normalizer(j.value("normalizer", json()), *t, origin);
    parse_pre_tokenizer(j.value("pre_tokenizer", json()), *t, origin);
    parse_decoder(j.value("decoder", json()), *t, origin);
    parse_added_tokens(j.value("added_tokens", json()), *t, origin);
    check_id_range(*t, origin);
    t->finalise();
    return t;
}

} // namespace

std::string read_file(const fs::path& path) {
    try {
        return read_regular_file(path, kMaxTokenizerBytes);
    } catch (const ReadError& e) {
        fail(path.string(), e.what());
    }
}

std::shared_ptr<TokenizerImpl> parse_tokenizer_json(std::string_view text, const std::string& origin) {
    try {
        return parse_tokenizer(parse_json(text, origin), origin);
    } catch (const json::exception& e) {
        // Fields are type-checked before they are read; this is the last line of defence.
        fail(origin, std::string("unexpected value: ") + e.what());
    }
}

namespace {

std::shared_ptr<TokenizerImpl> vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
    auto t = std::make_shared<TokenizerImpl>();
    t->source = vocab_json;
    const std::string vocab_origin = vocab_json.string(), merges_origin = merges_txt.string();
    const std::string vocab_text = read_file(vocab_json);
    const std::string merges_text = read_file(merges_txt);
    parse_vocab(parse_json(vocab_text, vocab_origin), *t, vocab_origin);
    if (t->model_vocab.empty()) fail(vocab_origin, "the vocabulary is empty");

    // merges.txt: an optional "#version" line, then one "a b" pair per line, highest priority first.
    MergeList list;
    std::size_t line_no = 0;
    for (std::size_t pos = 0; pos < merges_text.size();) {
        std::size_t end = merges_text.find('\n', pos);
        if (end == std::string::npos) end = merges_text.size();
        std::string_view line(merges_text.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.starts_with("#version")) continue;
        const auto space = line.find(' ');
        if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos)
            fail(merges_origin,
                 "line " + std::to_string(line_no) + " is not two tokens separated by a space");
        list.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    }
    build_merges(list, *t, merges_origin);

    // GPT2TokenizerFast's set-up: byte-level, no prefix space, <|endoftext|> as a special token.
    t->model = ModelKind::BPE;
    PreTokStep byte_level;
    byte_level.kind = PreTokKind::ByteLevel;
    t->pre.push_back(byte_level);
    t->byte_level = true;
    t->has_decoder = true;
    t->decoders.push_back(DecoderStep{});
    if (auto it = t->model_vocab.find("<|endoftext|>"); it != t->model_vocab.end()) {
        AddedToken eot;
        eot.id = it->second;
        eot.content = it->first;
        eot.special = true;
        eot.normalized = false;
        t->added.push_back(eot);
    }
    check_id_range(*t, vocab_origin);
    t->finalise();
    return t;
}

} // namespace

std::shared_ptr<TokenizerImpl> load_vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
    try {
        return vocab_merges(vocab_json, merges_txt);
    } catch (const json::exception& e) {
        fail(vocab_json.string(), std::string("unexpected value: ") + e.what());
    }
}

} // namespace obsprop::io::detail
