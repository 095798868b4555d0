// The public Tokenizer API (loading itself is in tokenizer_load.cpp, the pipeline in the other
// tokenizer_*.cpp files).
#include "io/tokenizer.h"

#include "io/tokenizer_detail.h"

#include <algorithm>

namespace obsprop::io {
namespace fs = std::filesystem;
using detail::TokenizerImpl;

// ---------------------------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_tokenizer_json_text(std::string_view json_text, const std::string& origin) {
    return Tokenizer(detail::parse_tokenizer_json(json_text, origin));
}

Tokenizer Tokenizer::from_tokenizer_json(const fs::path& file) {
    return Tokenizer(detail::parse_tokenizer_json(detail::read_file(file), file.string()));
}

Tokenizer Tokenizer::from_vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
    return Tokenizer(detail::load_vocab_merges(vocab_json, merges_txt));
}

Tokenizer Tokenizer::from_directory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw TokenizerError(dir.string() + ": tokenizer directory not found");
    if (fs::exists(dir / "tokenizer.json", ec)) return from_tokenizer_json(dir / "tokenizer.json");
    const bool vocab = fs::exists(dir / "vocab.json", ec), merges = fs::exists(dir / "merges.txt", ec);
    if (vocab && merges) return from_vocab_merges(dir / "vocab.json", dir / "merges.txt");
    if (vocab)
        throw TokenizerError((dir / "merges.txt").string() +
                             ": file not found (vocab.json is there, merges.txt is not)");
    throw TokenizerError(dir.string() +
                         ": no tokenizer found: expected tokenizer.json, or vocab.json and merges.txt");
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

std::vector<int> Tokenizer::encode_continuation(std::string_view text) const {
    static constexpr std::string_view kAnchor = "\n";
    const std::vector<int> anchor = encode(kAnchor);
    std::string joined(kAnchor);
    joined += text;
    const std::vector<int> ids = encode(joined);
    if (ids.size() >= anchor.size() && std::equal(anchor.begin(), anchor.end(), ids.begin()))
        return std::vector<int>(ids.begin() + static_cast<std::ptrdiff_t>(anchor.size()), ids.end());
    return encode(text);
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
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int id : ids) {
        check_id(*this, id);
        tokens.push_back(impl_->id_to_token[static_cast<std::size_t>(id)]);
    }
    std::string out;
    if (!impl_->has_decoder) {
        // Hugging Face joins the tokens with a space when there is no decoder.
        for (std::size_t i = 0; i < tokens.size(); ++i)
            out += (i > 0 ? " " : "") + tokens[i];
        return out;
    }
    for (const std::string& part : detail::decode_chain(impl_->decoders, std::move(tokens), false))
        out += part;
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
