// Loading tokenizer.json / vocab.json + merges.txt, and the public Tokenizer API.
#include "io/tokenizer.h"

#include "io/tokenizer_detail.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace obsprop::io {
namespace fs = std::filesystem;
using detail::TokenizerImpl;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
    throw TokenizerError(origin + ": " + what);
}

std::string read_file(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path.string(), "file not found");
    if (fs::is_directory(path, ec)) fail(path.string(), "is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path.string(), "cannot open file for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail(path.string(), "read error");
    return std::move(ss).str();
}

json parse_json(std::string_view text, const std::string& origin) {
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        fail(origin, std::string("invalid JSON: ") + e.what());
    }
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

void parse_normalizer(const json& n, TokenizerImpl& t, const std::string& origin) {
    if (n.is_null()) return;
    const std::string type = type_of(n, origin, "normalizer");
    if (type == "NFC") {
        t.nfc = true;
    } else if (type == "Sequence") {
        auto it = n.find("normalizers");
        if (it == n.end() || !it->is_array())
            fail(origin, "normalizer Sequence has no \"normalizers\" array");
        for (const json& sub : *it)
            parse_normalizer(sub, t, origin);
    } else {
        fail(origin, "unsupported normalizer type \"" + type + "\" (supported: NFC, or a Sequence of NFC)");
    }
}

void parse_pre_tokenizer(const json& p, TokenizerImpl& t, const std::string& origin) {
    if (p.is_null()) return;
    const std::string type = type_of(p, origin, "pre_tokenizer");
    detail::PreTokStep step;
    if (type == "ByteLevel") {
        step.kind = detail::PreTokKind::ByteLevel;
        step.add_prefix_space = flag(p, "add_prefix_space", true, origin);
        step.use_regex = flag(p, "use_regex", true, origin);
    } else if (type == "Whitespace") {
        step.kind = detail::PreTokKind::Whitespace;
    } else if (type == "WhitespaceSplit") {
        step.kind = detail::PreTokKind::WhitespaceSplit;
    } else if (type == "Sequence") {
        auto it = p.find("pretokenizers");
        if (it == p.end() || !it->is_array())
            fail(origin, "pre_tokenizer Sequence has no \"pretokenizers\" array");
        for (const json& sub : *it)
            parse_pre_tokenizer(sub, t, origin);
        return;
    } else {
        fail(origin, "unsupported pre_tokenizer type \"" + type +
                         "\" (supported: ByteLevel, Whitespace, WhitespaceSplit, Sequence of these)");
    }
    if (t.byte_level)
        fail(origin,
             "pre_tokenizer " + type + " after ByteLevel is not supported (ByteLevel must come last)");
    t.byte_level = step.kind == detail::PreTokKind::ByteLevel;
    t.pre.push_back(step);
}

void parse_decoder(const json& d, TokenizerImpl& t, const std::string& origin) {
    if (d.is_null()) {
        t.decoder = detail::DecoderKind::None;
        return;
    }
    const std::string type = type_of(d, origin, "decoder");
    if (type != "ByteLevel")
        fail(origin, "unsupported decoder type \"" + type + "\" (supported: ByteLevel, null)");
    t.decoder = detail::DecoderKind::ByteLevel;
}

void parse_vocab(const json& vocab, TokenizerImpl& t, const std::string& origin) {
    if (!vocab.is_object()) fail(origin, "the vocabulary must be a JSON object mapping token strings to ids");
    t.model_vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const json& id = it.value();
        if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() > (1LL << 30))
            fail(origin, "vocabulary entry \"" + it.key() + "\" has an invalid id " + id.dump());
        t.model_vocab[it.key()] = id.get<int>();
    }
}

using MergeList = std::vector<std::pair<std::string, std::string>>;

void build_merges(const MergeList& list, TokenizerImpl& t, const std::string& origin) {
    t.merges.reserve(list.size());
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
        const int ia = lookup(a, rank, a, b), ib = lookup(b, rank, a, b), merged = lookup(a + b, rank, a, b);
        const std::uint64_t key = (std::uint64_t(std::uint32_t(ia)) << 32) | std::uint32_t(ib);
        t.merges[key] = {static_cast<int>(rank), merged}; // a repeated pair keeps its last rank, like HF
    }
}

void parse_bpe_model(const json& m, TokenizerImpl& t, const std::string& origin) {
    t.model = detail::ModelKind::BPE;
    auto dropout = m.find("dropout");
    if (dropout != m.end() && !dropout->is_null() && !(dropout->is_number() && dropout->get<double>() == 0.0))
        fail(origin, "BPE dropout is not supported (it makes encoding random)");
    if (flag(m, "byte_fallback", false, origin)) fail(origin, "BPE byte_fallback is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (!optional_string(m, key, origin, "BPE").empty())
            fail(origin, std::string("BPE \"") + key + "\" is not supported");
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
            fail(origin,
                 "merge #" + std::to_string(i + 1) + " must be \"a b\" or [\"a\", \"b\"], got " + e.dump());
        }
    }
    build_merges(list, t, origin);
}

void parse_word_level_model(const json& m, TokenizerImpl& t, const std::string& origin) {
    t.model = detail::ModelKind::WordLevel;
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
        detail::AddedToken a;
        a.id = id->get<int>();
        a.content = content->get<std::string>();
        a.special = flag(e, "special", false, origin);
        a.single_word = flag(e, "single_word", false, origin);
        a.lstrip = flag(e, "lstrip", false, origin);
        a.rstrip = flag(e, "rstrip", false, origin);
        a.normalized = flag(e, "normalized", !a.special, origin);
        t.added.push_back(std::move(a));
    }
}

std::shared_ptr<TokenizerImpl> parse_tokenizer_json(std::string_view text, const std::string& origin) {
    const json j = parse_json(text, origin);
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
    t->finalise();
    return t;
}

} // namespace

// ---------------------------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_tokenizer_json_text(std::string_view json_text, const std::string& origin) {
    return Tokenizer(parse_tokenizer_json(json_text, origin));
}

Tokenizer Tokenizer::from_tokenizer_json(const fs::path& file) {
    return Tokenizer(parse_tokenizer_json(read_file(file), file.string()));
}

Tokenizer Tokenizer::from_vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
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
    t->model = detail::ModelKind::BPE;
    t->pre.push_back({detail::PreTokKind::ByteLevel, false, true});
    t->byte_level = true;
    t->decoder = detail::DecoderKind::ByteLevel;
    if (auto it = t->model_vocab.find("<|endoftext|>"); it != t->model_vocab.end()) {
        detail::AddedToken eot;
        eot.id = it->second;
        eot.content = it->first;
        eot.special = true;
        eot.normalized = false;
        t->added.push_back(eot);
    }
    t->finalise();
    return Tokenizer(std::move(t));
}

Tokenizer Tokenizer::from_directory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir.string(), "tokenizer directory not found");
    if (fs::exists(dir / "tokenizer.json", ec)) return from_tokenizer_json(dir / "tokenizer.json");
    const bool vocab = fs::exists(dir / "vocab.json", ec), merges = fs::exists(dir / "merges.txt", ec);
    if (vocab && merges) return from_vocab_merges(dir / "vocab.json", dir / "merges.txt");
    if (vocab) fail((dir / "merges.txt").string(), "file not found (vocab.json is there, merges.txt is not)");
    fail(dir.string(), "no tokenizer found: expected tokenizer.json, or vocab.json and merges.txt");
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
    std::vector<int> ids;
    ids.reserve(text.size() / 3 + 1);
    impl_->segment(text, [&](std::string_view piece, int added_id) {
        if (added_id >= 0)
            ids.push_back(added_id);
        else
            impl_->encode_piece(piece, ids);
    });
    return ids;
}

std::vector<std::string> Tokenizer::encode_to_strings(std::string_view text) const {
    std::vector<std::string> out;
    for (int id : encode(text))
        out.push_back(token_string(id));
    return out;
}

std::vector<std::string> Tokenizer::pre_tokenize(std::string_view text) const {
    std::vector<std::string> out;
    impl_->segment(text, [&](std::string_view piece, int) { out.emplace_back(piece); });
    return out;
}

bool Tokenizer::has_id(int id) const {
    return id >= 0 && id < vocab_size() &&
           (impl_->id_flags[static_cast<std::size_t>(id)] & TokenizerImpl::kPresent);
}

namespace {
void check_id(const Tokenizer& t, int id) {
    if (!t.has_id(id))
        throw TokenizerError("token id " + std::to_string(id) + " is not in the vocabulary of " +
                             t.source().string() + " (size " + std::to_string(t.vocab_size()) + ")");
}
} // namespace

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        check_id(*this, ids[i]);
        const auto id = static_cast<std::size_t>(ids[i]);
        if (impl_->decoder == detail::DecoderKind::ByteLevel) {
            out += impl_->id_to_text[id];
        } else {
            if (i > 0) out += ' ';
            out += impl_->id_to_token[id];
        }
    }
    return out;
}

std::string Tokenizer::token_text(int id) const {
    check_id(*this, id);
    return impl_->id_to_text[static_cast<std::size_t>(id)];
}

std::string Tokenizer::token_string(int id) const {
    check_id(*this, id);
    return impl_->id_to_token[static_cast<std::size_t>(id)];
}

std::optional<int> Tokenizer::token_to_id(std::string_view raw_token) const {
    if (auto it = impl_->added_by_content.find(raw_token); it != impl_->added_by_content.end())
        return it->second;
    if (auto it = impl_->model_vocab.find(raw_token); it != impl_->model_vocab.end()) return it->second;
    return std::nullopt;
}

int Tokenizer::vocab_size() const {
    return static_cast<int>(impl_->id_to_token.size());
}

bool Tokenizer::is_special(int id) const {
    return has_id(id) && (impl_->id_flags[static_cast<std::size_t>(id)] & TokenizerImpl::kSpecial);
}

bool Tokenizer::is_added(int id) const {
    return has_id(id) && (impl_->id_flags[static_cast<std::size_t>(id)] & TokenizerImpl::kAdded);
}

std::vector<int> Tokenizer::added_token_ids() const {
    std::vector<int> ids;
    for (int id = 0; id < vocab_size(); ++id)
        if (impl_->id_flags[static_cast<std::size_t>(id)] & TokenizerImpl::kAdded) ids.push_back(id);
    return ids;
}

std::string Tokenizer::model_type() const {
    return impl_->model == detail::ModelKind::BPE ? "BPE" : "WordLevel";
}

bool Tokenizer::byte_level() const {
    return impl_->byte_level;
}

const fs::path& Tokenizer::source() const {
    return impl_->source;
}

} // namespace obsprop::io
