// Internal to the naive reference (tests/reference): config access, the tensor bank and the elementary
// operations shared by naive_transformer.cpp (GPT-2, GPT-Neo, GPT-NeoX) and naive_decoder.cpp (the
// Llama-style families).
#pragma once

#include "naive_transformer.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace obsprop::naive::detail {

using json = nlohmann::json;
using Vec = std::vector<double>;

[[noreturn]] inline void fail(const std::string& message) {
    throw std::runtime_error("naive reference: " + message);
}

inline bool endsWith(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

inline std::string shapeText(const std::vector<std::int64_t>& shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        out += (i ? ", " : "") + std::to_string(shape[i]);
    }
    return out + "]";
}

// ---------------------------------------------------------------------------------------------------------
// config.json access. A key that is absent or null takes Hugging Face's default for that config class.
// Where HF accepts two spellings (attribute_map aliases such as n_embd / hidden_size) both are read and
// must agree when both are present.
// ---------------------------------------------------------------------------------------------------------
class Config {
  public:
    using Keys = std::vector<std::string>;

    explicit Config(const json& j) : j_(j) {
        if (!j_.is_object()) fail("config is not a JSON object");
    }

    bool has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }
    const json& raw(const std::string& key) const { return j_.at(key); }

    std::int64_t integer(const Keys& keys, std::int64_t fallback) const { return value(keys, fallback); }
    double number(const Keys& keys, double fallback) const { return value(keys, fallback); }
    bool flag(const std::string& key, bool fallback) const { return value({key}, fallback); }
    std::string text(const std::string& key, const std::string& fallback) const {
        return value({key}, fallback);
    }

  private:
    template <class T> T value(const Keys& keys, T fallback) const {
        const json* v = pick(keys);
        if (!v) return fallback;
        bool ok = v->is_string();
        if constexpr (std::is_same_v<T, bool>) ok = v->is_boolean();
        if constexpr (std::is_same_v<T, std::int64_t>) ok = v->is_number_integer();
        if constexpr (std::is_same_v<T, double>) ok = v->is_number();
        if (!ok) fail("config key '" + keys.front() + "' has the wrong type");
        return v->get<T>();
    }

    const json* pick(const Keys& keys) const {
        const json* found = nullptr;
        for (const auto& key : keys) {
            if (!has(key)) continue;
            const json* v = &j_.at(key);
            if (found && *found != *v) fail("config keys '" + keys.front() + "' and '" + key + "' disagree");
            found = v;
        }
        return found;
    }

    const json& j_;
};

// ---------------------------------------------------------------------------------------------------------
// The tensors of one checkpoint, looked up by name without the base-model prefix, shape-checked on use.
// ---------------------------------------------------------------------------------------------------------
class Bank {
  public:
    Bank(const Weights& weights, const std::string& prefix) {
        for (const auto& [name, tensor] : weights) {
            std::string key = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
            std::int64_t count = 1;
            for (auto extent : tensor.shape) {
                if (extent < 0) fail("tensor '" + name + "' has a negative extent");
                count *= extent;
            }
            if (count != static_cast<std::int64_t>(tensor.values.size())) {
                fail("tensor '" + name + "' has shape " + shapeText(tensor.shape) + " but " +
                     std::to_string(tensor.values.size()) + " values");
            }
            if (!byName_.emplace(key, &tensor).second) {
                fail("tensor '" + key + "' is present both with and without the '" + prefix + "' prefix");
            }
        }
    }

    bool has(const std::string& name) const { return byName_.count(name) != 0; }

    const Tensor& get(const std::string& name, const std::vector<std::int64_t>& shape) {
        auto it = byName_.find(name);
        if (it == byName_.end()) fail("missing tensor '" + name + "'");
        if (it->second->shape != shape) {
            fail("tensor '" + name + "' has shape " + shapeText(it->second->shape) + ", expected " +
                 shapeText(shape));
        }
        used_.insert(name);
        return *it->second;
    }

    // Every tensor must have been used, except buffers HF registers but that carry no parameters: the
    // causal masks ("attn.bias", "attn.attention.bias", "attention.bias"), "masked_bias", and rotary caches.
    void requireAllUsed() const {
        static const char* const buffers[] = {
            ".attn.bias",          ".attn.masked_bias",     ".attention.bias",      ".attention.masked_bias",
            "rotary_emb.inv_freq", "rotary_emb.cos_cached", "rotary_emb.sin_cached"};
        for (const auto& [name, tensor] : byName_) {
            if (used_.count(name)) continue;
            bool buffer = false;
            for (const char* tail : buffers) {
                buffer = buffer || endsWith(name, tail);
            }
            if (!buffer) fail("unexpected tensor '" + name + "' (not used by this model)");
        }
    }

  private:
    std::map<std::string, const Tensor*> byName_;
    std::set<std::string> used_;
};

// torch nn.Linear: weight stored [out, in]; y[o] = b[o] + sum_i W[o][i] * x[i]. `b` may be null.
inline Vec linear(const Tensor& w, const Tensor* b, const Vec& x) {
    const auto out = static_cast<std::size_t>(w.shape[0]);
    const auto in = static_cast<std::size_t>(w.shape[1]);
    Vec y(out);
    for (std::size_t o = 0; o < out; ++o) {
        double sum = b ? static_cast<double>(b->values[o]) : 0.0;
        for (std::size_t i = 0; i < in; ++i) {
            sum += static_cast<double>(w.values[o * in + i]) * x[i];
        }
        y[o] = sum;
    }
    return y;
}

inline Vec addVec(const Vec& a, const Vec& b) {
    Vec out(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        out[i] = a[i] + b[i];
    }
    return out;
}

// The Llama-style families (naive_decoder.cpp): llama, mistral, qwen2, qwen3, gemma, gemma2, gemma3_text.
bool isDecoderType(const std::string& modelType);
Trace runDecoder(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids);

} // namespace obsprop::naive::detail
