// The generated checkpoints' tokenizer.json (byte-level BPE learnt from a built-in English text) and the
// vocabulary check of a given tokenizer.json. See checkpoint_gen.h.
#include "checkpoint_gen.h"

#include "byte_level_bpe.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <stdexcept>

namespace obsprop::tools {

using nlohmann::json;

// --------------------------------------------------------------------------------------- tokenizer

namespace {

// Training text for the merges: plain English in the register of the prompts the explorer studies.
constexpr const char* kEnglish =
    "So, Mary really is a great friend, isn't she? What do I think about John? Well, to be honest, I love "
    "him. My friend Sarah is an excellent nurse, and her brother David is a programmer who works from home. "
    "Man, Jack is so funny, isn't he? Really, Lisa always works so hard, doesn't she? When it comes to Paul, "
    "I have to say that I really do not like the way he talks. This is a present for Amy. Tomorrow, I am "
    "going to give it to her, and then we will all have dinner together at the house by the river.\n"
    "The model reads the words of a sentence one after another and tries to guess the next word. It has "
    "learned that people often write about their friends, their work and the weather, so the most likely "
    "words are the common ones: the, and, of, to, a, in, that, is, was, he, she, it, for, on, with, as, at, "
    "by, this, from, they, we, you, but, not, have, had, has, what, when, where, which, who, there, their, "
    "would, could, should, about, after, before, because, people, time, year, day, world, life, work.\n"
    "Researchers want to know which parts of the network are responsible for a behaviour. They write the "
    "behaviour as a difference between two logits and follow it back through the weights of every layer "
    "and every attention head. A head whose feature vector is long matters more than a head whose vector "
    "is short, and two tasks that share a direction are likely to be handled by the same part of the model.\n"
    "In the morning the children walked to school while their parents went to work in the city. In the "
    "evening they came back, talked about the day, read a book and went to sleep early. On the weekend the "
    "family often visited the old town, where there is a small market, a large park and a quiet library.\n"
    "Numbers appear too: 1, 2, 3, 10, 20, 100, 2024, and the year 1999. Recently, Clara has been recognized "
    "as a great teacher; Judy, Carol, Annie and Jennifer were recognized as great writers, and Ryan, Gary, "
    "Mark, Andy, Joe and Arnold as great actors. The actress thanked the actor, and the nurse thanked the "
    "programmer. He said that she was right, and she said that he was kind. They thanked him and her.\n";

// GPT-2's reversible byte -> printable character map. Returns the 256 bytes in GPT-2's id order and
// each byte's code point.
bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// ASCII version of GPT-2's split: 's|'t|'re|'ve|'m|'ll|'d| ?L+| ?N+| ?[^\sLN]+|\s+(?!\S)|\s+
std::vector<std::string> pretokenize(const std::string& t) {
    std::vector<std::string> out;
    const std::size_t n = t.size();
    std::size_t i = 0;
    while (i < n) {
        if (t[i] == '\'') {
            bool matched = false;
            for (const char* c : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}) {
                if (t.compare(i, std::strlen(c), c) == 0) {
                    out.emplace_back(c);
                    i += std::strlen(c);
                    matched = true;
                    break;
                }
            }
            if (matched) continue;
        }
        std::size_t j = (t[i] == ' ' && i + 1 < n && !is_space(t[i + 1])) ? i + 1 : i;
        std::size_t k = j;
        if (is_space(t[j])) {
            while (k < n && is_space(t[k]))
                ++k;
            if (k < n && k - i > 1) --k; // leave the last space to prefix the next word
        } else {
            auto cls = [](char c) { return is_alpha(c) ? 0 : is_digit(c) ? 1 : is_space(c) ? 3 : 2; };
            const int c0 = cls(t[j]);
            while (k < n && cls(t[k]) == c0)
                ++k;
        }
        out.push_back(t.substr(i, k - i));
        i = k;
    }
    return out;
}

} // namespace

std::string make_tokenizer_json(int vocab) {
    if (vocab < 257)
        throw std::invalid_argument("tokenizer: vocab must be at least 257, got " + std::to_string(vocab));
    std::array<int, 256> order{}, cp{};
    byte_alphabet(order, cp);

    nlohmann::ordered_json v = nlohmann::ordered_json::object();
    std::map<std::string, int> ids;
    for (int id = 0; id < 256; ++id) {
        const std::string ch = utf8(cp[order[id]]);
        v[ch] = id;
        ids[ch] = id;
    }

    // Words as sequences of byte characters, with their frequencies (std::map: deterministic order).
    std::map<std::string, long> freq;
    for (const auto& w : pretokenize(kEnglish))
        ++freq[w];
    std::vector<std::pair<std::vector<std::string>, long>> words;
    for (const auto& [w, c] : freq) {
        std::vector<std::string> sym;
        for (unsigned char b : w)
            sym.push_back(utf8(cp[b]));
        words.emplace_back(std::move(sym), c);
    }

    std::vector<std::string> merges;
    while (int(ids.size()) < vocab - 1) {
        std::map<std::pair<std::string, std::string>, long> pairs;
        for (const auto& [sym, c] : words)
            for (std::size_t i = 0; i + 1 < sym.size(); ++i)
                pairs[{sym[i], sym[i + 1]}] += c;
        if (pairs.empty()) break;
        auto best = pairs.begin(); // most frequent; ties go to the smallest pair
        for (auto it = pairs.begin(); it != pairs.end(); ++it)
            if (it->second > best->second) best = it;
        const auto [a, b] = best->first;
        for (auto& [sym, c] : words) {
            std::vector<std::string> merged;
            for (std::size_t i = 0; i < sym.size(); ++i) {
                if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
                    merged.push_back(a + b);
                    ++i;
                } else {
                    merged.push_back(sym[i]);
                }
            }
            sym = std::move(merged);
        }
        merges.push_back(a + " " + b);
        if (ids.emplace(a + b, int(ids.size())).second) v[a + b] = int(ids.size()) - 1;
    }
    v["<|endoftext|>"] = vocab - 1;

    return byte_level_tokenizer_json(v, merges, vocab - 1, 2);
}

std::int64_t tokenizer_max_id(const std::string& text) {
    const json t = json::parse(text, nullptr, false);
    if (t.is_discarded() || !t.is_object())
        throw std::invalid_argument("tokenizer.json is not a JSON object");
    if (!t.contains("model") || !t["model"].is_object() || !t["model"].contains("vocab")) {
        throw std::invalid_argument("tokenizer.json has no model.vocab");
    }
    std::int64_t top = -1;
    const json& v = t["model"]["vocab"];
    if (v.is_object()) { // BPE, WordPiece, WordLevel: token -> id
        for (const auto& [token, id] : v.items()) {
            if (!id.is_number_integer()) throw std::invalid_argument("tokenizer.json: id of '" + token + "'");
            top = std::max(top, id.get<std::int64_t>());
        }
    } else if (v.is_array()) { // Unigram: [token, score] pairs, the index is the id
        top = std::int64_t(v.size()) - 1;
    } else {
        throw std::invalid_argument("tokenizer.json: model.vocab is neither an object nor a list");
    }
    if (t.contains("added_tokens") && t["added_tokens"].is_array()) {
        for (const auto& a : t["added_tokens"])
            if (a.contains("id") && a["id"].is_number_integer())
                top = std::max(top, a["id"].get<std::int64_t>());
    }
    return top;
}

} // namespace obsprop::tools
