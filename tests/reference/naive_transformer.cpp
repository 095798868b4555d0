// Naive reference forward pass; see naive_transformer.h. Written from the semantics of Hugging Face
// transformers' src/transformers/models/{gpt2,gpt_neo,gpt_neox}/modeling_*.py and configuration_*.py and
// src/transformers/activations.py. Comments marked "HF:" name the behaviour each piece reproduces.
#include "naive_transformer.h"
#include "naive_internal.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace obsprop::naive {
namespace {

using namespace detail;

// ---------------------------------------------------------------------------------------------------------
// What the forward pass needs to know, read from config.json.
// ---------------------------------------------------------------------------------------------------------
enum class Family { Gpt2, GptNeo, GptNeoX };

struct Plan {
    Family family = Family::Gpt2;
    std::string prefix; // base_model_prefix
    std::int64_t dModel = 0, heads = 0, dHead = 0, layers = 0, dMlp = 0, vocab = 0;
    std::int64_t positions = 0; // rows of the learned position table (0: none, NeoX)
    double eps = 1e-5;
    std::string act;
    bool tied = true;
    std::vector<double> scoreScale;   // per layer: factor applied to q·k
    std::vector<std::int64_t> window; // per layer: 0 = global causal, w > 0 = keys i-w < j <= i
    std::int64_t rotaryDims = 0;      // NeoX
    double rotaryBase = 10000.0;      // NeoX
    bool parallel = false;            // NeoX use_parallel_residual
    bool attentionBias = true;        // NeoX attention_bias
};

void checkHeads(Plan& p) {
    if (p.dModel <= 0 || p.heads <= 0 || p.layers < 0 || p.vocab <= 0 || p.dMlp <= 0) {
        fail("config has a non-positive size");
    }
    if (p.dModel % p.heads != 0) {
        fail("hidden size " + std::to_string(p.dModel) + " is not divisible by " + std::to_string(p.heads) +
             " heads");
    }
    p.dHead = p.dModel / p.heads;
}

Plan planGpt2(const Config& c) {
    // HF: GPT2Config defaults and attribute_map (hidden_size->n_embd, num_attention_heads->n_head,
    // num_hidden_layers->n_layer, max_position_embeddings->n_positions).
    Plan p;
    p.family = Family::Gpt2;
    p.prefix = "transformer.";
    p.dModel = c.integer({"n_embd", "hidden_size"}, 768);
    p.heads = c.integer({"n_head", "num_attention_heads"}, 12);
    p.layers = c.integer({"n_layer", "num_hidden_layers"}, 12);
    p.positions = c.integer({"n_positions", "max_position_embeddings"}, 1024);
    p.vocab = c.integer({"vocab_size"}, 50257);
    // HF: GPT2Block inner_dim = n_inner if not None else 4 * hidden_size.
    p.dMlp = c.integer({"n_inner"}, 4 * p.dModel);
    p.act = c.text("activation_function", "gelu_new");
    p.eps = c.number({"layer_norm_epsilon"}, 1e-5);
    p.tied = c.flag("tie_word_embeddings", true);
    if (c.flag("add_cross_attention", false)) fail("gpt2 with add_cross_attention is not supported");
    checkHeads(p);
    // HF: GPT2Attention._attn divides by value.size(-1) ** 0.5 when scale_attn_weights (default True), and
    // additionally by float(layer_idx + 1) when scale_attn_by_inverse_layer_idx (default False).
    // reorder_and_upcast_attn only changes the order of float operations, not the result.
    const bool scale = c.flag("scale_attn_weights", true);
    const bool byLayer = c.flag("scale_attn_by_inverse_layer_idx", false);
    for (std::int64_t l = 0; l < p.layers; ++l) {
        double divisor = 1.0;
        if (scale) {
            divisor *= std::sqrt(static_cast<double>(p.dHead));
        }
        if (byLayer) {
            divisor *= static_cast<double>(l + 1);
        }
        p.scoreScale.push_back(1.0 / divisor);
        p.window.push_back(0);
    }
    return p;
}

Plan planGptNeo(const Config& c) {
    // HF: GPTNeoConfig defaults; attribute_map num_attention_heads->num_heads, num_hidden_layers->num_layers.
    Plan p;
    p.family = Family::GptNeo;
    p.prefix = "transformer.";
    p.dModel = c.integer({"hidden_size"}, 2048);
    p.heads = c.integer({"num_heads", "num_attention_heads"}, 16);
    p.layers = c.integer({"num_layers", "num_hidden_layers"}, 24);
    p.positions = c.integer({"max_position_embeddings"}, 2048);
    p.vocab = c.integer({"vocab_size"}, 50257);
    // HF: GPTNeoBlock inner_dim = intermediate_size if not None else 4 * hidden_size.
    p.dMlp = c.integer({"intermediate_size"}, 4 * p.dModel);
    p.act = c.text("activation_function", "gelu_new");
    p.eps = c.number({"layer_norm_epsilon"}, 1e-5);
    p.tied = c.flag("tie_word_embeddings", true);
    checkHeads(p);
    const std::int64_t windowSize = c.integer({"window_size"}, 256);

    // HF: GPTNeoConfig.attention_layers = expand_attention_types_params(attention_types), i.e. for each
    // [[types...], n] repeat the list `types` n times. An explicit attention_layers must agree with it.
    auto expand = [](const json& types) {
        std::vector<std::string> out;
        if (!types.is_array()) fail("gpt_neo attention_types must be a list");
        for (const auto& item : types) {
            if (!item.is_array() || item.size() != 2 || !item[0].is_array() || !item[1].is_number_integer()) {
                fail("gpt_neo attention_types entries must look like [[\"global\", \"local\"], n]");
            }
            for (std::int64_t r = 0; r < item[1].get<std::int64_t>(); ++r) {
                for (const auto& t : item[0]) {
                    if (!t.is_string()) fail("gpt_neo attention type must be a string");
                    out.push_back(t.get<std::string>());
                }
            }
        }
        return out;
    };
    std::vector<std::string> kinds;
    if (c.has("attention_layers")) {
        const json& layers = c.raw("attention_layers");
        if (!layers.is_array()) fail("gpt_neo attention_layers must be a list");
        for (const auto& t : layers) {
            if (!t.is_string()) fail("gpt_neo attention type must be a string");
            kinds.push_back(t.get<std::string>());
        }
        if (c.has("attention_types") && expand(c.raw("attention_types")) != kinds) {
            fail("gpt_neo attention_layers and attention_types disagree");
        }
    } else {
        kinds = expand(c.has("attention_types") ? c.raw("attention_types")
                                                : json::parse(R"([[["global", "local"], 12]])"));
    }
    if (static_cast<std::int64_t>(kinds.size()) != p.layers) {
        fail("gpt_neo has " + std::to_string(kinds.size()) + " attention types for " +
             std::to_string(p.layers) + " layers");
    }
    for (const auto& kind : kinds) {
        // HF: GPTNeoSelfAttention keeps the causal mask for "global"; for "local" it XORs away
        // tril(mask, -window_size), i.e. drops keys j <= i - window_size. No 1/sqrt(d_head) scaling at all.
        if (kind == "global") {
            p.window.push_back(0);
        } else if (kind == "local") {
            if (windowSize < 1) fail("gpt_neo window_size must be at least 1");
            p.window.push_back(windowSize);
        } else {
            fail("unknown gpt_neo attention type '" + kind + "'");
        }
        p.scoreScale.push_back(1.0);
    }
    return p;
}

Plan planGptNeoX(const Config& c) {
    // HF: GPTNeoXConfig defaults (hidden_act "gelu", rotary_pct 0.25, rotary_emb_base 10000,
    // use_parallel_residual True, tie_word_embeddings False, attention_bias True, layer_norm_eps 1e-5).
    Plan p;
    p.family = Family::GptNeoX;
    p.prefix = "gpt_neox.";
    p.dModel = c.integer({"hidden_size"}, 6144);
    p.heads = c.integer({"num_attention_heads"}, 64);
    p.layers = c.integer({"num_hidden_layers"}, 44);
    p.dMlp = c.integer({"intermediate_size"}, 24576);
    p.vocab = c.integer({"vocab_size"}, 50432);
    p.positions = 0;
    p.act = c.text("hidden_act", "gelu");
    p.eps = c.number({"layer_norm_eps"}, 1e-5);
    p.tied = c.flag("tie_word_embeddings", false);
    p.parallel = c.flag("use_parallel_residual", true);
    p.attentionBias = c.flag("attention_bias", true);
    checkHeads(p);
    if (c.integer({"head_dim"}, p.dHead) != p.dHead) {
        fail("gpt_neox head_dim differs from hidden_size / num_attention_heads");
    }

    // Rotary parameters: older configs say rotary_pct / rotary_emb_base; newer ones may carry
    // rope_parameters (or rope_scaling) {rope_type, rope_theta, partial_rotary_factor}, whose values win.
    double pct = c.number({"rotary_pct", "partial_rotary_factor"}, 0.25);
    double base = c.number({"rotary_emb_base", "rope_theta"}, 10000.0);
    for (const char* key : {"rope_scaling", "rope_parameters"}) {
        if (!c.has(key)) continue;
        const json& rope = c.raw(key);
        if (!rope.is_object()) fail(std::string("gpt_neox ") + key + " must be an object");
        for (const char* typeKey : {"rope_type", "type"}) {
            if (rope.contains(typeKey) && rope.at(typeKey) != "default") {
                fail(std::string("gpt_neox RoPE scaling '") + rope.at(typeKey).dump() + "' is not supported");
            }
        }
        for (const auto& [k, v] : rope.items()) {
            if (k == "rope_theta" && v.is_number()) {
                base = v.get<double>();
            } else if (k == "partial_rotary_factor" && v.is_number()) {
                pct = v.get<double>();
            } else if (k != "rope_type" && k != "type") {
                fail("gpt_neox RoPE parameter '" + k + "' is not supported");
            }
        }
    }
    // HF: rotary_ndims = int(head_size * rotary_pct) (truncation), inv_freq = 1 / base^(arange(0, r, 2) / r).
    p.rotaryDims = static_cast<std::int64_t>(static_cast<double>(p.dHead) * pct);
    if (pct < 0.0 || p.rotaryDims > p.dHead || p.rotaryDims % 2 != 0) {
        fail("gpt_neox rotary dimension " + std::to_string(p.rotaryDims) + " is not usable");
    }
    if (!(base > 0.0)) fail("gpt_neox rotary base must be positive");
    p.rotaryBase = base;
    for (std::int64_t l = 0; l < p.layers; ++l) {
        // HF: GPTNeoXAttention norm_factor / scaling = head_size ** -0.5.
        p.scoreScale.push_back(1.0 / std::sqrt(static_cast<double>(p.dHead)));
        p.window.push_back(0);
    }
    return p;
}

Plan makePlan(const json& config) {
    Config c(config);
    if (!c.has("model_type") || !c.raw("model_type").is_string()) fail("config has no model_type");
    const std::string type = c.raw("model_type").get<std::string>();
    Plan p;
    if (type == "gpt2") {
        p = planGpt2(c);
    } else if (type == "gpt_neo") {
        p = planGptNeo(c);
    } else if (type == "gpt_neox") {
        p = planGptNeoX(c);
    } else {
        fail("unknown model_type '" + type + "'");
    }
    activation(p.act, 0.0); // rejects unknown activation names before any work
    return p;
}

// ---------------------------------------------------------------------------------------------------------
// Elementary operations, each one an explicit loop.
// ---------------------------------------------------------------------------------------------------------

// HF Conv1D (GPT-2): weight stored [in, out]; y[o] = b[o] + sum_i x[i] * W[i][o].
Vec conv1d(const Tensor& w, const Tensor& b, const Vec& x) {
    const auto in = static_cast<std::size_t>(w.shape[0]);
    const auto out = static_cast<std::size_t>(w.shape[1]);
    Vec y(out);
    for (std::size_t o = 0; o < out; ++o) {
        y[o] = b.values[o];
    }
    for (std::size_t i = 0; i < in; ++i) {
        for (std::size_t o = 0; o < out; ++o) {
            y[o] += x[i] * static_cast<double>(w.values[i * out + o]);
        }
    }
    return y;
}

// torch nn.LayerNorm over the last dimension: biased variance, eps inside the square root.
Vec layerNorm(const Vec& x, const Tensor& gamma, const Tensor& beta, double eps) {
    const std::size_t n = x.size();
    double mean = 0.0;
    for (double v : x) {
        mean += v;
    }
    mean /= static_cast<double>(n);
    double var = 0.0;
    for (double v : x) {
        var += (v - mean) * (v - mean);
    }
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    Vec y(n);
    for (std::size_t i = 0; i < n; ++i) {
        y[i] =
            (x[i] - mean) * inv * static_cast<double>(gamma.values[i]) + static_cast<double>(beta.values[i]);
    }
    return y;
}

// Per position, per head, a d_head vector.
using PerHead = std::vector<std::vector<Vec>>; // [T][H][d_head]

PerHead emptyPerHead(std::size_t T, const Plan& p) {
    const Vec head(static_cast<std::size_t>(p.dHead), 0.0);
    return PerHead(T, std::vector<Vec>(static_cast<std::size_t>(p.heads), head));
}

// Scores, mask, softmax and weighted values for one layer; fills trace.pattern[layer] and trace.z[layer] and
// returns z. Masked keys get probability exactly 0 (HF fills them with the dtype's minimum, or -1e9 in
// GPT-Neo, before the softmax, which underflows to 0).
PerHead attend(const Plan& p, std::size_t layer, const PerHead& q, const PerHead& k, const PerHead& v,
               Trace& trace) {
    const std::size_t T = q.size();
    const auto H = static_cast<std::size_t>(p.heads);
    const auto dh = static_cast<std::size_t>(p.dHead);
    const double scale = p.scoreScale[layer];
    const std::int64_t window = p.window[layer];
    auto allowed = [&](std::size_t i, std::size_t j) {
        const auto ii = static_cast<std::int64_t>(i);
        const auto jj = static_cast<std::int64_t>(j);
        return jj <= ii && (window == 0 || jj > ii - window);
    };

    std::vector<std::vector<Vec>> pattern(H, std::vector<Vec>(T, Vec(T, 0.0)));
    PerHead z = emptyPerHead(T, p);
    for (std::size_t h = 0; h < H; ++h) {
        for (std::size_t i = 0; i < T; ++i) {
            Vec score(T, 0.0);
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < T; ++j) {
                if (!allowed(i, j)) continue;
                double dot = 0.0;
                for (std::size_t e = 0; e < dh; ++e) {
                    dot += q[i][h][e] * k[j][h][e];
                }
                score[j] = dot * scale;
                best = std::max(best, score[j]);
            }
            double total = 0.0;
            for (std::size_t j = 0; j < T; ++j) {
                if (allowed(i, j)) {
                    pattern[h][i][j] = std::exp(score[j] - best);
                    total += pattern[h][i][j];
                }
            }
            for (std::size_t j = 0; j < T; ++j) {
                pattern[h][i][j] /= total;
            }
            for (std::size_t e = 0; e < dh; ++e) {
                double sum = 0.0;
                for (std::size_t j = 0; j < T; ++j) {
                    sum += pattern[h][i][j] * v[j][h][e];
                }
                z[i][h][e] = sum;
            }
        }
    }
    trace.pattern[layer] = pattern;
    trace.z[layer] = z;
    return z;
}

// Flattens z[t] as HF's _merge_heads does: index h * d_head + e.
Vec mergeHeads(const std::vector<Vec>& zt) {
    Vec out;
    for (const auto& head : zt) {
        out.insert(out.end(), head.begin(), head.end());
    }
    return out;
}

// The intervention of `ov` on layer l's z (every position of each overridden head); records what is used.
PerHead overrideZ(const Plan& p, std::size_t l, PerHead z, const Overrides& ov, Trace& trace) {
    for (const auto& [at, values] : ov.z) {
        if (at.first != static_cast<int>(l)) continue;
        if (at.second < 0 || at.second >= p.heads) fail("z override of a head out of range");
        const auto h = static_cast<std::size_t>(at.second);
        if (values.size() != z.size()) fail("z override with the wrong number of positions");
        for (std::size_t t = 0; t < z.size(); ++t) {
            if (values[t].size() != z[t][h].size()) fail("z override with the wrong head size");
            z[t][h] = values[t];
        }
    }
    trace.z[l] = z;
    return z;
}

// The MLP output at (l, t), or its replacement from `ov`.
Vec overrideMlp(const Plan& p, std::size_t l, std::size_t t, Vec out, const Overrides& ov) {
    const auto it = ov.mlp_out.find(static_cast<int>(l));
    if (it == ov.mlp_out.end()) return out;
    if (t >= it->second.size() || it->second[t].size() != static_cast<std::size_t>(p.dModel))
        fail("mlp_out override of the wrong shape");
    return it->second[t];
}

void record(Trace& trace, std::size_t l, std::size_t t, const Vec& mid, const Vec& attnOut,
            const Vec& mlpOut) {
    trace.resid_mid[l][t] = mid;
    trace.attn_out[l][t] = attnOut;
    trace.mlp_out[l][t] = mlpOut;
}

std::string layerName(const Plan& p, std::size_t l, const std::string& rest) {
    return (p.family == Family::GptNeoX ? "layers." : "h.") + std::to_string(l) + "." + rest;
}

// ---------------------------------------------------------------------------------------------------------
// Blocks.
// ---------------------------------------------------------------------------------------------------------

// HF GPT2Block: x + attn(ln_1(x)), then + mlp(ln_2(.)). c_attn output is split q | k | v along the last
// dimension (split_size = n_embd), each viewed as [n_head, d_head]; c_proj, c_fc, c_proj are Conv1D.
std::vector<Vec> gpt2Block(const Plan& p, Bank& bank, std::size_t l, const std::vector<Vec>& x, Trace& trace,
                           const Overrides& ov) {
    const std::int64_t d = p.dModel;
    const std::size_t T = x.size();
    const auto H = static_cast<std::size_t>(p.heads);
    const auto dh = static_cast<std::size_t>(p.dHead);
    const Tensor& ln1g = bank.get(layerName(p, l, "ln_1.weight"), {d});
    const Tensor& ln1b = bank.get(layerName(p, l, "ln_1.bias"), {d});
    const Tensor& wQkv = bank.get(layerName(p, l, "attn.c_attn.weight"), {d, 3 * d});
    const Tensor& bQkv = bank.get(layerName(p, l, "attn.c_attn.bias"), {3 * d});
    const Tensor& wO = bank.get(layerName(p, l, "attn.c_proj.weight"), {d, d});
    const Tensor& bO = bank.get(layerName(p, l, "attn.c_proj.bias"), {d});
    const Tensor& ln2g = bank.get(layerName(p, l, "ln_2.weight"), {d});
    const Tensor& ln2b = bank.get(layerName(p, l, "ln_2.bias"), {d});
    const Tensor& wIn = bank.get(layerName(p, l, "mlp.c_fc.weight"), {d, p.dMlp});
    const Tensor& bIn = bank.get(layerName(p, l, "mlp.c_fc.bias"), {p.dMlp});
    const Tensor& wOut = bank.get(layerName(p, l, "mlp.c_proj.weight"), {p.dMlp, d});
    const Tensor& bOut = bank.get(layerName(p, l, "mlp.c_proj.bias"), {d});

    PerHead q = emptyPerHead(T, p), k = emptyPerHead(T, p), v = emptyPerHead(T, p);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec qkv = conv1d(wQkv, bQkv, layerNorm(x[t], ln1g, ln1b, p.eps));
        const auto D = static_cast<std::size_t>(d);
        for (std::size_t h = 0; h < H; ++h) {
            for (std::size_t e = 0; e < dh; ++e) {
                q[t][h][e] = qkv[0 * D + h * dh + e];
                k[t][h][e] = qkv[1 * D + h * dh + e];
                v[t][h][e] = qkv[2 * D + h * dh + e];
            }
        }
    }
    const PerHead z = overrideZ(p, l, attend(p, l, q, k, v, trace), ov, trace);
    std::vector<Vec> out(T);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec attnOut = conv1d(wO, bO, mergeHeads(z[t]));
        const Vec mid = addVec(x[t], attnOut);
        Vec hidden = conv1d(wIn, bIn, layerNorm(mid, ln2g, ln2b, p.eps));
        for (double& a : hidden) {
            a = activation(p.act, a);
        }
        const Vec mlpOut = overrideMlp(p, l, t, conv1d(wOut, bOut, hidden), ov);
        out[t] = addVec(mid, mlpOut);
        record(trace, l, t, mid, attnOut, mlpOut);
    }
    return out;
}

// HF GPTNeoBlock: same residual structure as GPT-2, but q_proj / k_proj / v_proj are separate nn.Linear
// without bias, out_proj is nn.Linear with bias, and the MLP's c_fc / c_proj are nn.Linear ([out, in]).
std::vector<Vec> gptNeoBlock(const Plan& p, Bank& bank, std::size_t l, const std::vector<Vec>& x,
                             Trace& trace, const Overrides& ov) {
    const std::int64_t d = p.dModel;
    const std::size_t T = x.size();
    const auto H = static_cast<std::size_t>(p.heads);
    const auto dh = static_cast<std::size_t>(p.dHead);
    const Tensor& ln1g = bank.get(layerName(p, l, "ln_1.weight"), {d});
    const Tensor& ln1b = bank.get(layerName(p, l, "ln_1.bias"), {d});
    const Tensor& wQ = bank.get(layerName(p, l, "attn.attention.q_proj.weight"), {d, d});
    const Tensor& wK = bank.get(layerName(p, l, "attn.attention.k_proj.weight"), {d, d});
    const Tensor& wV = bank.get(layerName(p, l, "attn.attention.v_proj.weight"), {d, d});
    const Tensor& wO = bank.get(layerName(p, l, "attn.attention.out_proj.weight"), {d, d});
    const Tensor& bO = bank.get(layerName(p, l, "attn.attention.out_proj.bias"), {d});
    const Tensor& ln2g = bank.get(layerName(p, l, "ln_2.weight"), {d});
    const Tensor& ln2b = bank.get(layerName(p, l, "ln_2.bias"), {d});
    const Tensor& wIn = bank.get(layerName(p, l, "mlp.c_fc.weight"), {p.dMlp, d});
    const Tensor& bIn = bank.get(layerName(p, l, "mlp.c_fc.bias"), {p.dMlp});
    const Tensor& wOut = bank.get(layerName(p, l, "mlp.c_proj.weight"), {d, p.dMlp});
    const Tensor& bOut = bank.get(layerName(p, l, "mlp.c_proj.bias"), {d});

    PerHead q = emptyPerHead(T, p), k = emptyPerHead(T, p), v = emptyPerHead(T, p);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec u = layerNorm(x[t], ln1g, ln1b, p.eps);
        const Vec qt = linear(wQ, nullptr, u), kt = linear(wK, nullptr, u), vt = linear(wV, nullptr, u);
        for (std::size_t h = 0; h < H; ++h) {
            for (std::size_t e = 0; e < dh; ++e) {
                q[t][h][e] = qt[h * dh + e];
                k[t][h][e] = kt[h * dh + e];
                v[t][h][e] = vt[h * dh + e];
            }
        }
    }
    const PerHead z = overrideZ(p, l, attend(p, l, q, k, v, trace), ov, trace);
    std::vector<Vec> out(T);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec attnOut = linear(wO, &bO, mergeHeads(z[t]));
        const Vec mid = addVec(x[t], attnOut);
        Vec hidden = linear(wIn, &bIn, layerNorm(mid, ln2g, ln2b, p.eps));
        for (double& a : hidden) {
            a = activation(p.act, a);
        }
        const Vec mlpOut = overrideMlp(p, l, t, linear(wOut, &bOut, hidden), ov);
        out[t] = addVec(mid, mlpOut);
        record(trace, l, t, mid, attnOut, mlpOut);
    }
    return out;
}

// HF rotate-half RoPE on the first rotary_ndims dims: with r = rotary_ndims, half = r / 2 and
// theta_i = pos / base^(2i / r), for i < half:
//   y[i]        = x[i] cos(theta_i) - x[i + half] sin(theta_i)
//   y[i + half] = x[i + half] cos(theta_i) + x[i] sin(theta_i)
// (q * cos + rotate_half(q) * sin with cos/sin = cat(freqs, freqs), rotate_half(x) = cat(-x2, x1)).
void applyRotary(const Plan& p, std::size_t position, Vec& x) {
    const auto r = static_cast<std::size_t>(p.rotaryDims);
    const std::size_t half = r / 2;
    for (std::size_t i = 0; i < half; ++i) {
        const double invFreq =
            1.0 / std::pow(p.rotaryBase, static_cast<double>(2 * i) / static_cast<double>(r));
        const double theta = static_cast<double>(position) * invFreq;
        const double a = x[i];
        const double b = x[i + half];
        x[i] = a * std::cos(theta) - b * std::sin(theta);
        x[i + half] = b * std::cos(theta) + a * std::sin(theta);
    }
}

// HF GPTNeoXLayer. query_key_value output [3d] is viewed as [n_heads, 3 * d_head] and chunked into q, k, v
// per head, i.e. index h * 3 * d_head + s * d_head + e for s = 0 (q), 1 (k), 2 (v). Rotary on q and k at
// positions 0..T-1. Parallel residual: x + attn(ln1(x)) + mlp(ln2(x)); else sequential.
std::vector<Vec> gptNeoXBlock(const Plan& p, Bank& bank, std::size_t l, const std::vector<Vec>& x,
                              Trace& trace, const Overrides& ov) {
    const std::int64_t d = p.dModel;
    const std::size_t T = x.size();
    const auto H = static_cast<std::size_t>(p.heads);
    const auto dh = static_cast<std::size_t>(p.dHead);
    const Tensor& ln1g = bank.get(layerName(p, l, "input_layernorm.weight"), {d});
    const Tensor& ln1b = bank.get(layerName(p, l, "input_layernorm.bias"), {d});
    const Tensor& wQkv = bank.get(layerName(p, l, "attention.query_key_value.weight"), {3 * d, d});
    const Tensor* bQkv =
        p.attentionBias ? &bank.get(layerName(p, l, "attention.query_key_value.bias"), {3 * d}) : nullptr;
    const Tensor& wO = bank.get(layerName(p, l, "attention.dense.weight"), {d, d});
    const Tensor* bO = p.attentionBias ? &bank.get(layerName(p, l, "attention.dense.bias"), {d}) : nullptr;
    const Tensor& ln2g = bank.get(layerName(p, l, "post_attention_layernorm.weight"), {d});
    const Tensor& ln2b = bank.get(layerName(p, l, "post_attention_layernorm.bias"), {d});
    const Tensor& wIn = bank.get(layerName(p, l, "mlp.dense_h_to_4h.weight"), {p.dMlp, d});
    const Tensor& bIn = bank.get(layerName(p, l, "mlp.dense_h_to_4h.bias"), {p.dMlp});
    const Tensor& wOut = bank.get(layerName(p, l, "mlp.dense_4h_to_h.weight"), {d, p.dMlp});
    const Tensor& bOut = bank.get(layerName(p, l, "mlp.dense_4h_to_h.bias"), {d});

    PerHead q = emptyPerHead(T, p), k = emptyPerHead(T, p), v = emptyPerHead(T, p);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec qkv = linear(wQkv, bQkv, layerNorm(x[t], ln1g, ln1b, p.eps));
        for (std::size_t h = 0; h < H; ++h) {
            for (std::size_t e = 0; e < dh; ++e) {
                q[t][h][e] = qkv[h * 3 * dh + 0 * dh + e];
                k[t][h][e] = qkv[h * 3 * dh + 1 * dh + e];
                v[t][h][e] = qkv[h * 3 * dh + 2 * dh + e];
            }
            applyRotary(p, t, q[t][h]);
            applyRotary(p, t, k[t][h]);
        }
    }
    const PerHead z = overrideZ(p, l, attend(p, l, q, k, v, trace), ov, trace);

    auto mlp = [&](const Vec& u) {
        Vec hidden = linear(wIn, &bIn, u);
        for (double& a : hidden) {
            a = activation(p.act, a);
        }
        return linear(wOut, &bOut, hidden);
    };
    std::vector<Vec> out(T);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec attnOut = linear(wO, bO, mergeHeads(z[t]));
        const Vec mid = addVec(x[t], attnOut);
        const Vec mlpOut =
            overrideMlp(p, l, t, mlp(layerNorm(p.parallel ? x[t] : mid, ln2g, ln2b, p.eps)), ov);
        out[t] = addVec(mid, mlpOut);
        record(trace, l, t, mid, attnOut, mlpOut);
    }
    return out;
}

} // namespace

double activation(std::string_view name, double x) {
    // HF activations.py (ACT2FN).
    constexpr double pi = 3.14159265358979323846;
    if (name == "gelu" || name == "gelu_python") {
        return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); // exact erf form
    }
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") {
        // NewGELUActivation; PytorchGELUTanh is F.gelu(approximate="tanh"), the same formula.
        return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
    }
    if (name == "gelu_fast") {
        return 0.5 * x * (1.0 + std::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))); // HF's constant
    }
    if (name == "quick_gelu") return x / (1.0 + std::exp(-1.702 * x));
    if (name == "gelu_10") {
        return std::min(10.0, std::max(-10.0, 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))));
    }
    if (name == "relu") return x > 0.0 ? x : 0.0;
    if (name == "silu" || name == "swish") return x / (1.0 + std::exp(-x));
    if (name == "tanh") return std::tanh(x);
    if (name == "sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (name == "linear") return x;
    fail("unknown activation function '" + std::string(name) + "'");
}

Trace run(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids) {
    return run(config, w, ids, Overrides{});
}

Trace run(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids, const Overrides& ov) {
    if (config.is_object() && config.contains("model_type") && config["model_type"].is_string() &&
        isDecoderType(config["model_type"].get<std::string>())) {
        if (!ov.z.empty() || !ov.mlp_out.empty()) fail("overrides are not supported for decoder families");
        return runDecoder(config, w, ids);
    }
    const Plan p = makePlan(config);
    Bank bank(w, p.prefix);
    const std::int64_t d = p.dModel;
    const std::size_t T = ids.size();
    if (T == 0) fail("empty prompt");
    for (int id : ids) {
        if (id < 0 || id >= p.vocab) {
            fail("token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(p.vocab));
        }
    }
    if (p.positions > 0 && static_cast<std::int64_t>(T) > p.positions) {
        fail("prompt of " + std::to_string(T) + " tokens exceeds " + std::to_string(p.positions) +
             " positions");
    }

    // Embeddings. HF: GPT-2 / GPT-Neo add wte[id] + wpe[position] (positions 0..T-1); NeoX: embed_in only.
    const bool neox = p.family == Family::GptNeoX;
    const std::string embedName = neox ? "embed_in.weight" : "wte.weight";
    const Tensor& embed = bank.get(embedName, {p.vocab, d});
    const Tensor* pos = neox ? nullptr : &bank.get("wpe.weight", {p.positions, d});
    const auto dim = static_cast<std::size_t>(d);
    std::vector<Vec> x(T, Vec(dim));
    for (std::size_t t = 0; t < T; ++t) {
        for (std::size_t i = 0; i < dim; ++i) {
            x[t][i] = static_cast<double>(embed.values[static_cast<std::size_t>(ids[t]) * dim + i]);
            if (pos) {
                x[t][i] += static_cast<double>(pos->values[t * dim + i]);
            }
        }
    }

    Trace trace;
    const auto L = static_cast<std::size_t>(p.layers);
    trace.pattern.resize(L);
    trace.z.resize(L);
    trace.resid_mid.assign(L, std::vector<Vec>(T));
    trace.attn_out.assign(L, std::vector<Vec>(T));
    trace.mlp_out.assign(L, std::vector<Vec>(T));
    trace.window = p.window;
    if (neox) {
        trace.inv_freq.assign(L, Vec(static_cast<std::size_t>(p.rotaryDims / 2)));
        for (auto& layer : trace.inv_freq) {
            for (std::size_t i = 0; i < layer.size(); ++i) {
                layer[i] = 1.0 / std::pow(p.rotaryBase,
                                          static_cast<double>(2 * i) / static_cast<double>(p.rotaryDims));
            }
        }
    }
    for (const auto& [at, values] : ov.z)
        if (at.first < 0 || at.first >= p.layers) fail("z override of a layer out of range");
    for (const auto& [layer, values] : ov.mlp_out)
        if (layer < 0 || layer >= p.layers) fail("mlp_out override of a layer out of range");
    for (std::size_t l = 0; l < L; ++l) {
        trace.resid_pre.push_back(x);
        switch (p.family) {
        case Family::Gpt2:
            x = gpt2Block(p, bank, l, x, trace, ov);
            break;
        case Family::GptNeo:
            x = gptNeoBlock(p, bank, l, x, trace, ov);
            break;
        case Family::GptNeoX:
            x = gptNeoXBlock(p, bank, l, x, trace, ov);
            break;
        }
    }
    trace.resid_final = x;

    // Final LayerNorm and unembedding (no bias). HF: lm_head / embed_out is an nn.Linear [vocab, d] without
    // bias; with tie_word_embeddings (default True for gpt2 / gpt_neo, False for gpt_neox) it *is* the input
    // embedding. A stored copy of a tied matrix must then equal the embedding, or we cannot tell which HF
    // would end up with.
    const Tensor& lnfG = bank.get(neox ? "final_layer_norm.weight" : "ln_f.weight", {d});
    const Tensor& lnfB = bank.get(neox ? "final_layer_norm.bias" : "ln_f.bias", {d});
    const std::string headName = neox ? "embed_out.weight" : "lm_head.weight";
    const Tensor* unembed = &embed;
    if (!p.tied) {
        unembed = &bank.get(headName, {p.vocab, d});
    } else if (bank.has(headName) && bank.get(headName, {p.vocab, d}).values != embed.values) {
        fail("'" + headName + "' differs from '" + embedName + "' although tie_word_embeddings is set");
    }
    for (std::size_t t = 0; t < T; ++t) {
        trace.logits.push_back(linear(*unembed, nullptr, layerNorm(x[t], lnfG, lnfB, p.eps)));
    }
    bank.requireAllUsed();
    return trace;
}

} // namespace obsprop::naive
