// The encoding pipeline: added-token extraction, normalisation, pre-tokenisation, and the models (BPE with
// merge ranks and a cache, WordLevel).
#include "io/tokenizer_detail.h"

#include <algorithm>
#include <forward_list>
#include <functional>
#include <mutex>

namespace obsprop::io::detail {

void TokenizerImpl::finalise() {
    int max_id = -1;
    for (const auto& [tok, id] : model_vocab)
        max_id = std::max(max_id, id);
    for (const AddedToken& t : added)
        max_id = std::max(max_id, t.id);
    const auto n = static_cast<std::size_t>(max_id + 1);
    id_to_token.assign(n, {});
    id_flags.assign(n, 0);
    for (const auto& [tok, id] : model_vocab) {
        id_to_token[static_cast<std::size_t>(id)] = tok;
        id_flags[static_cast<std::size_t>(id)] |= kPresent;
    }
    for (AddedToken& t : added) {
        const auto i = static_cast<std::size_t>(t.id);
        id_to_token[i] = t.content;
        id_flags[i] |= kPresent | kAdded | (t.special ? kSpecial : 0);
        added_by_content.emplace(t.content, t.id);
        // Tokens marked `normalized` are looked for in the normalised text, so match their normal form
        // (Hugging Face runs the whole normalizer over their content).
        if (t.normalized && !normalizers.empty()) {
            std::size_t from_start = 0;
            t.content = normalize(normalizers, t.content, from_start);
        }
    }
    id_to_text.assign(n, {});
    for (std::size_t i = 0; i < n; ++i)
        if (id_flags[i] & kPresent) id_to_text[i] = single_token_text(id_to_token[i]);

    byte_ids.fill(-1);
    if (byte_level) {
        const auto& table = byte_to_unicode();
        for (std::size_t b = 0; b < 256; ++b) {
            auto it = model_vocab.find(table[b]);
            if (it != model_vocab.end()) byte_ids[b] = it->second;
        }
    }
    byte_fallback_ids.fill(-1);
    if (byte_fallback) {
        static const char kHex[] = "0123456789ABCDEF";
        for (std::size_t b = 0; b < 256; ++b) {
            const std::string name = std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
            auto it = model_vocab.find(name);
            if (it != model_vocab.end()) byte_fallback_ids[b] = it->second;
        }
    }
    if (!unk_token.empty()) {
        auto it = model_vocab.find(unk_token);
        unk_id = it == model_vocab.end() ? -1 : it->second;
    }
    raw_matcher.build(added, false);
    normalized_matcher.build(added, true);
}

std::string TokenizerImpl::single_token_text(const std::string& token) const {
    if (!has_decoder) return token;
    std::string out;
    for (const std::string& part : decode_chain(decoders, {token}, true))
        out += part;
    return out;
}

namespace {

using PieceCallback = std::function<void(std::string_view, int)>;

// Calls `on_gap(text, offset)` for the text between matches and `on_match` for each match.
template <typename Gap>
void split_on_matches(std::string_view text, const AddedTokenMatcher& matcher, Gap&& on_gap,
                      const PieceCallback& on_match) {
    std::size_t pos = 0;
    for (const AddedTokenMatcher::Match& m : matcher.find(text)) {
        if (m.begin > pos) on_gap(text.substr(pos, m.begin - pos), pos);
        on_match(text.substr(m.begin, m.end - m.begin), m.token->id);
        pos = m.end;
    }
    if (pos < text.size()) on_gap(text.substr(pos), pos);
}

} // namespace

void TokenizerImpl::segment(std::string_view text, const PieceCallback& piece_cb) const {
    // Pre-tokenises one segment free of added tokens (already normalised).
    const auto pre_tokenize = [&](std::string_view seg, std::size_t from_start) {
        std::forward_list<std::string> storage; // strings the views below point into (stable addresses)
        std::vector<Piece> cur{{seg, from_start}}, next;
        for (const PreTokStep& step : pre) {
            next.clear();
            for (const Piece& piece : cur)
                pre_tokenize_step(step, piece, next, storage);
            cur.swap(next);
        }
        for (const Piece& piece : cur)
            if (!piece.text.empty()) piece_cb(piece.text, -1);
    };

    // Added tokens that match the raw text come out first; the rest is normalised (each segment on its
    // own, as Hugging Face does), searched for the added tokens that match normalised text, and
    // pre-tokenised. `from_start` follows the input's first character for Metaspace's prepend_scheme
    // "first" (see normalize()).
    split_on_matches(
        text, raw_matcher,
        [&](std::string_view gap, std::size_t offset) {
            std::size_t from_start = offset == 0 ? decode_utf8_at(gap, 0).len : 0;
            std::string normalised;
            if (!normalizers.empty()) {
                normalised = normalize(normalizers, gap, from_start);
                gap = normalised;
            }
            split_on_matches(
                gap, normalized_matcher,
                [&](std::string_view seg, std::size_t seg_offset) {
                    pre_tokenize(seg,
                                 from_start > seg_offset ? std::min(from_start - seg_offset, seg.size()) : 0);
                },
                piece_cb);
        },
        piece_cb);
}

void TokenizerImpl::encode_piece(std::string_view raw, std::vector<int>& out) const {
    if (raw.empty()) return;
    if (model == ModelKind::WordLevel) {
        const std::string key = byte_level ? byte_level_encode(raw) : std::string(raw);
        auto it = model_vocab.find(key);
        if (it != model_vocab.end()) {
            out.push_back(it->second);
        } else if (unk_id >= 0) {
            out.push_back(unk_id);
        } else {
            throw TokenizerError(source.string() + ": WordLevel: \"" + std::string(raw) +
                                 "\" is not in the vocabulary and " +
                                 (unk_token.empty() ? std::string("there is no unk_token")
                                                    : "neither is the unk_token \"" + unk_token + "\""));
        }
        return;
    }

    const bool cacheable = raw.size() <= kCacheMaxKeyBytes;
    if (cacheable) {
        std::shared_lock lock(cache_mutex);
        auto it = cache.find(raw);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }

    std::vector<int> ids;
    bool done = false;
    if (ignore_merges) {
        // A piece that is a whole token of the vocabulary is taken as is (Llama 3).
        auto it = model_vocab.find(byte_level ? byte_level_encode(raw) : std::string(raw));
        if (it != model_vocab.end()) ids.push_back(it->second), done = true;
    }
    if (!done) {
        std::vector<int> symbols;
        bpe_symbols(raw, symbols);
        bpe(symbols, ids);
    }

    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::unique_lock lock(cache_mutex);
        if (cache.size() < kCacheCapacity) cache.emplace(std::string(raw), std::move(ids));
    }
}

// The initial symbols of a word, as Hugging Face's BPE::merge_word makes them: one per character (of the
// byte-mapped piece when byte-level), with continuing_subword_prefix on all but the first and
// end_of_word_suffix on the last. A character not in the vocabulary becomes its <0xXX> byte tokens
// (byte_fallback, when all exist) or the unk_token (consecutive ones fused into one when fuse_unk); without
// an unk_token it is dropped. A pending unk token is only written when the next known character comes, so
// byte-fallback tokens can precede it, exactly as there.
void TokenizerImpl::bpe_symbols(std::string_view raw, std::vector<int>& symbols) const {
    symbols.reserve(raw.size());
    int pending_unk = -1;
    const auto known = [&](int id) {
        if (pending_unk >= 0) symbols.push_back(pending_unk), pending_unk = -1;
        symbols.push_back(id);
    };
    const auto unknown = [&](std::string_view s) {
        if (byte_fallback) {
            bool all = true;
            for (unsigned char b : s)
                all = all && byte_fallback_ids[b] >= 0;
            if (all) {
                for (unsigned char b : s)
                    symbols.push_back(byte_fallback_ids[b]);
                return;
            }
        }
        if (unk_token.empty()) return;
        if (unk_id < 0)
            throw TokenizerError(source.string() + ": BPE: \"" + std::string(s) + "\" needs unk_token \"" +
                                 unk_token + "\", which is not in the vocabulary");
        if (pending_unk >= 0 && fuse_unk) return;
        if (pending_unk >= 0) symbols.push_back(pending_unk);
        pending_unk = unk_id;
    };

    if (byte_level && continuing_subword_prefix.empty() && end_of_word_suffix.empty()) {
        for (unsigned char b : raw) {
            if (const int id = byte_ids[b]; id >= 0)
                known(id);
            else
                unknown(byte_to_unicode()[b]);
        }
    } else {
        std::string mapped;
        if (byte_level) mapped = byte_level_encode(raw);
        const std::string_view word = byte_level ? std::string_view(mapped) : raw;
        const bool affixes = !continuing_subword_prefix.empty() || !end_of_word_suffix.empty();
        std::string s;
        for (std::size_t pos = 0; pos < word.size();) {
            const std::uint32_t len = decode_utf8_at(word, pos).len;
            std::string_view ch = word.substr(pos, len);
            if (affixes) {
                s.clear();
                if (pos > 0) s += continuing_subword_prefix;
                s += ch;
                if (pos + len == word.size()) s += end_of_word_suffix;
                ch = s;
            }
            auto it = model_vocab.find(ch);
            if (it != model_vocab.end())
                known(it->second);
            else
                unknown(ch);
            pos += len;
        }
    }
    if (pending_unk >= 0) symbols.push_back(pending_unk);
}

// Applies the merges to a word the way Hugging Face's BPE does: repeatedly the pair with the lowest rank
// (leftmost on ties), found through a min-heap over a doubly linked list of symbols, so long words cost
// O(n log n) rather than O(n^2).
void TokenizerImpl::bpe(const std::vector<int>& symbols, std::vector<int>& out) const {
    const int n = static_cast<int>(symbols.size());
    if (n <= 1 || merges.empty()) {
        out.insert(out.end(), symbols.begin(), symbols.end());
        return;
    }
    struct Sym {
        int id, prev, next;
        bool alive;
    };
    std::vector<Sym> sym(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        sym[static_cast<std::size_t>(i)] = {symbols[static_cast<std::size_t>(i)], i - 1,
                                            i + 1 < n ? i + 1 : -1, true};
    struct Candidate {
        int rank, pos, merged;
    };
    // std::push_heap builds a max-heap: "less" means lower priority, i.e. higher rank or later position.
    const auto lower_priority = [](const Candidate& a, const Candidate& b) {
        return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    std::vector<Candidate> heap;
    heap.reserve(static_cast<std::size_t>(n));
    const auto pair_key = [](int a, int b) {
        return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
    };
    const auto push_pair = [&](int left) {
        const Sym& l = sym[static_cast<std::size_t>(left)];
        if (l.next < 0) return;
        auto it = merges.find(pair_key(l.id, sym[static_cast<std::size_t>(l.next)].id));
        if (it == merges.end()) return;
        heap.push_back({it->second.rank, left, it->second.merged});
        std::push_heap(heap.begin(), heap.end(), lower_priority);
    };
    for (int i = 0; i + 1 < n; ++i)
        push_pair(i);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), lower_priority);
        const Candidate c = heap.back();
        heap.pop_back();
        Sym& left = sym[static_cast<std::size_t>(c.pos)];
        if (!left.alive || left.next < 0) continue;
        Sym& right = sym[static_cast<std::size_t>(left.next)];
        // Skip entries made stale by earlier merges (same check as Hugging Face: the pair now at this
        // position must still merge into the same token).
        auto it = merges.find(pair_key(left.id, right.id));
        if (it == merges.end() || it->second.merged != c.merged) continue;
        left.id = c.merged;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[static_cast<std::size_t>(right.next)].prev = c.pos;
        if (left.prev >= 0) push_pair(left.prev);
        push_pair(c.pos);
    }
    for (int i = 0; i >= 0; i = sym[static_cast<std::size_t>(i)].next)
        out.push_back(sym[static_cast<std::size_t>(i)].id);
}

} // namespace obsprop::io::detail
