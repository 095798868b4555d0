#include "bpe.h"

#include <array>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "byte_level_bpe.h"
#include "io/tokenizer.h"

namespace obsprop::train_demo {

namespace {

using oj = nlohmann::ordered_json;

std::string tokenizer_json(const oj& vocab, const std::vector<std::string>& merges, int eot) {
    return tools::byte_level_tokenizer_json(vocab, merges, eot, 1);
}

using Pair = std::pair<std::string, std::string>;

// Greedy BPE over weighted words with incremental pair counts.
class Learner {
  public:
    void add(std::vector<std::string> symbols, double weight) {
        words_.push_back({std::move(symbols), weight});
    }

    void init() {
        for (std::size_t w = 0; w < words_.size(); ++w)
            count_pairs(w, +1);
    }

    // The best pair, or false when no pair is left.
    bool best(Pair& out) const {
        const std::pair<const Pair, double>* top = nullptr;
        for (const auto& e : counts_)
            if (e.second > 0.5 && (!top || e.second > top->second)) top = &e; // ties: first = smallest
        if (!top) return false;
        out = top->first;
        return true;
    }

    void merge(const Pair& p) {
        auto it = where_.find(p);
        if (it == where_.end()) return;
        const std::set<std::size_t> ws = it->second;
        for (std::size_t w : ws) {
            count_pairs(w, -1);
            auto& sym = words_[w].symbols;
            std::vector<std::string> merged;
            merged.reserve(sym.size());
            for (std::size_t i = 0; i < sym.size(); ++i) {
                if (i + 1 < sym.size() && sym[i] == p.first && sym[i + 1] == p.second) {
                    merged.push_back(p.first + p.second);
                    ++i;
                } else {
                    merged.push_back(sym[i]);
                }
            }
            sym = std::move(merged);
            count_pairs(w, +1);
        }
    }

  private:
    struct Word {
        std::vector<std::string> symbols;
        double weight;
    };

    // Adds (sign +1) or removes (-1) the pairs of word w. where_ may keep stale word indices (merging a
    // word that lacks the pair changes nothing); a pair whose count drops to zero is forgotten.
    void count_pairs(std::size_t w, int sign) {
        const auto& sym = words_[w].symbols;
        for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
            Pair p{sym[i], sym[i + 1]};
            double& c = counts_[p];
            c += sign * words_[w].weight;
            if (sign > 0) {
                where_[p].insert(w);
            } else if (c < 0.5) {
                counts_.erase(p);
                where_.erase(p);
            }
        }
    }

    std::vector<Word> words_;
    std::map<Pair, double> counts_;
    std::map<Pair, std::set<std::size_t>> where_;
};

} // namespace

BpeTokenizer learn_bpe(const std::vector<std::string>& texts, const std::vector<std::string>& forced,
                       int max_vocab) {
    if (max_vocab < 258) throw std::invalid_argument("tokenizer: vocabulary must have at least 258 entries");
    std::array<int, 256> order{}, cp{};
    tools::byte_alphabet(order, cp);

    oj vocab = oj::object();
    std::set<std::string> known;
    for (int id = 0; id < 256; ++id) {
        const std::string ch = tools::utf8(cp[order[id]]);
        vocab[ch] = id;
        known.insert(ch);
    }
    // The product's own pre-tokenizer, from a tokenizer that knows only the bytes.
    const io::Tokenizer bytes_only =
        io::Tokenizer::from_tokenizer_json_text(tokenizer_json(vocab, {}, 256), "bootstrap tokenizer");

    std::map<std::string, double> freq;
    for (const auto& t : texts)
        for (auto& piece : bytes_only.pre_tokenize(t))
            freq[piece] += 1.0;
    constexpr double kForced = 1e12; // outranks the whole corpus
    for (const auto& w : forced)
        freq[w] += kForced;

    Learner learner;
    for (const auto& [w, c] : freq) {
        std::vector<std::string> sym;
        for (unsigned char b : w)
            sym.push_back(tools::utf8(cp[b]));
        learner.add(std::move(sym), c);
    }
    learner.init();

    std::vector<std::string> merges;
    int next_id = 256;
    Pair p;
    while (next_id < max_vocab - 1 && learner.best(p)) {
        learner.merge(p);
        merges.push_back(p.first + " " + p.second);
        const std::string tok = p.first + p.second;
        if (known.insert(tok).second) vocab[tok] = next_id++;
    }
    const int eot = next_id;
    vocab["<|endoftext|>"] = eot;

    BpeTokenizer out;
    out.json = tokenizer_json(vocab, merges, eot);
    out.vocab_size = eot + 1;
    out.n_merges = static_cast<int>(merges.size());
    out.n_words = static_cast<int>(freq.size());

    const io::Tokenizer tok = io::Tokenizer::from_tokenizer_json_text(out.json, "learnt tokenizer");
    for (const auto& w : forced)
        if (tok.encode(w).size() != 1)
            throw std::runtime_error("tokenizer: '" + w + "' is not a single token with a vocabulary of " +
                                     std::to_string(max_vocab) + "; raise --vocab");
    if (tok.encode("<|endoftext|>") != std::vector<int>{eot})
        throw std::runtime_error("tokenizer: <|endoftext|> is not the special token " + std::to_string(eot));
    return out;
}

} // namespace obsprop::train_demo
