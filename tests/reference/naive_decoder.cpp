// Naive reference forward pass of the Llama-style families; see naive_transformer.h. Written from the
// semantics of Hugging Face transformers' src/transformers/models/{llama,mistral,qwen2,qwen3,gemma,gemma2,
// gemma3}/modeling_*.py and configuration_*.py, src/transformers/modeling_rope_utils.py
// (_compute_llama3_parameters, _compute_linear_scaling_rope_parameters, standardize_rope_params) and
// src/transformers/masking_utils.py (causal_mask_function, sliding_window_overlay). Comments marked "HF:"
// name the behaviour each piece reproduces. Everything is double precision except the rotary inverse
// frequencies, which HF computes in float32 by construction and which are reproduced in float32 here.
#include "naive_internal.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace obsprop::naive::detail {
namespace {

enum class Kind { Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3 };

struct Kinds {
    const char* type;
    Kind kind;
};
constexpr Kinds kKinds[] = {
    {"llama", Kind::Llama}, {"mistral", Kind::Mistral}, {"qwen2", Kind::Qwen2},       {"qwen3", Kind::Qwen3},
    {"gemma", Kind::Gemma}, {"gemma2", Kind::Gemma2},   {"gemma3_text", Kind::Gemma3}};

// The HF configuration-class defaults that differ between the families (configuration_*.py).
struct Defaults {
    std::int64_t d, layers, heads, kv, mlp, vocab, maxPos;
    std::int64_t headDim; // 0: hidden_size / num_attention_heads
    double theta;
    bool tied;
    const char* act;
};
Defaults defaultsOf(Kind k) {
    switch (k) {
    case Kind::Llama:
        return {4096, 32, 32, 0, 11008, 32000, 2048, 0, 10000.0, false, "silu"};
    case Kind::Mistral:
        return {4096, 32, 32, 8, 14336, 32000, 4096 * 32, 0, 10000.0, false, "silu"};
    case Kind::Qwen2:
        return {4096, 32, 32, 32, 22016, 151936, 32768, 0, 10000.0, false, "silu"};
    case Kind::Qwen3:
        return {4096, 32, 32, 32, 22016, 151936, 32768, 128, 10000.0, false, "silu"};
    case Kind::Gemma:
        return {3072, 28, 16, 16, 24576, 256000, 8192, 256, 10000.0, true, "gelu_pytorch_tanh"};
    case Kind::Gemma2:
        return {2304, 26, 8, 4, 9216, 256000, 8192, 256, 10000.0, true, "gelu_pytorch_tanh"};
    case Kind::Gemma3:
        return {2304, 26, 8, 4, 9216, 262208, 131072, 256, 1e6, true, "gelu_pytorch_tanh"};
    }
    return {};
}

struct DPlan {
    Kind kind = Kind::Llama;
    std::string type;
    std::int64_t d = 0, heads = 0, kvHeads = 0, dHead = 0, layers = 0, dMlp = 0, vocab = 0, maxPos = 0;
    double eps = 1e-6;
    std::string act;
    bool tied = false;
    bool gemmaNorm = false; // RMSNorm weight applied as (1 + w), embeddings times sqrt(d)
    bool sandwich = false;  // Gemma 2/3: post-attention and pre/post-feedforward norms
    bool qkNorm = false;    // Qwen3, Gemma 3: RMSNorm over each query / key head before RoPE
    bool qkvBias = false, oBias = false, mlpBias = false;
    double scale = 1.0;                       // factor on q.k
    double attnCap = 0.0;                     // attn_logit_softcapping (0: none)
    double finalCap = 0.0;                    // final_logit_softcapping (0: none)
    std::vector<std::int64_t> window;         // per layer: 0 full causal, W sliding
    std::vector<std::vector<double>> invFreq; // per layer, dHead / 2 values (float32-exact)
};

// A number that may be absent (HF default), null (None) or a number; `none` is returned for null.
double optionalNumber(const Config& c, const json& j, const std::string& key, double fallback, double none) {
    if (!j.contains(key)) return fallback;
    if (j.at(key).is_null()) return none;
    return c.number({key}, fallback);
}

// ---------------------------------------------------------------------------------------------------------
// Rotary embeddings.
// ---------------------------------------------------------------------------------------------------------
struct Rope {
    std::string type = "default";
    double theta = 10000.0;
    double factor = 1.0, low = 0.0, high = 0.0, original = 0.0;
};

// One RoPE parameter dict (rope_scaling, or rope_parameters / one of its per-layer-type entries). HF:
// standardize_rope_params reads "rope_type", falling back to the legacy "type"; rope_theta inside the dict
// wins over the top-level key in new transformers and is ignored by old ones, so the two must agree;
// llama3's original_max_position_embeddings defaults to max_position_embeddings.
Rope readRopeDict(const json& dict, Rope rope, double topTheta, bool topThetaGiven, std::int64_t maxPos,
                  const std::string& where) {
    if (dict.is_null()) return rope;
    if (!dict.is_object()) fail(where + " must be an object");
    std::string type;
    for (const char* key : {"rope_type", "type"}) {
        if (!dict.contains(key)) continue;
        if (!dict.at(key).is_string()) fail(where + "." + key + " must be a string");
        const std::string t = dict.at(key).get<std::string>();
        if (!type.empty() && t != type) fail(where + " has rope_type '" + type + "' and type '" + t + "'");
        type = t;
    }
    rope.type = type.empty() ? "default" : type;
    if (rope.type != "default" && rope.type != "linear" && rope.type != "llama3") {
        fail("RoPE type '" + rope.type + "' is not supported (" + where + ")");
    }
    auto number = [&](const char* key) {
        if (!dict.contains(key) || !dict.at(key).is_number()) {
            fail(where + " of type " + rope.type + " needs a number '" + key + "'");
        }
        return dict.at(key).get<double>();
    };
    for (const auto& [key, value] : dict.items()) {
        if (key == "rope_type" || key == "type") continue;
        if (key == "rope_theta") {
            const double t = number("rope_theta");
            if (topThetaGiven && t != topTheta) fail(where + ".rope_theta disagrees with rope_theta");
            rope.theta = t;
        } else if (key == "partial_rotary_factor") {
            if (!value.is_number() || value.get<double>() != 1.0) fail("partial_rotary_factor other than 1");
        } else if (key == "factor" && rope.type != "default") {
            rope.factor = number("factor");
        } else if ((key == "low_freq_factor" || key == "high_freq_factor" ||
                    key == "original_max_position_embeddings") &&
                   rope.type == "llama3") {
            continue; // read below
        } else {
            fail("RoPE parameter '" + key + "' is not supported for type " + rope.type + " (" + where + ")");
        }
    }
    if (rope.type != "default" && !(rope.factor > 0.0)) fail(where + ".factor must be positive");
    if (rope.type == "llama3") {
        rope.low = number("low_freq_factor");
        rope.high = number("high_freq_factor");
        rope.original = dict.contains("original_max_position_embeddings")
                            ? number("original_max_position_embeddings")
                            : static_cast<double>(maxPos);
        if (!(rope.low > 0.0) || !(rope.high > rope.low) || !(rope.original > 0.0)) {
            fail(where +
                 ": llama3 needs 0 < low_freq_factor < high_freq_factor and a positive original length");
        }
    }
    return rope;
}

// HF: inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), a float32 tensor; the exponent
// is a float32 division and the power and reciprocal are float32 operations (Tensor.__rtruediv__ is
// reciprocal() * 1.0). Reproduced here with float arithmetic: equal to HF's up to the last bit of powf.
// Linear scaling divides by factor (in float32); llama3 applies _compute_llama3_parameters' wavelength
// rule, also in float32: wavelen = 2 pi / inv_freq; keep inv_freq where wavelen < original / high,
// divide by factor where wavelen > original / low, and in between interpolate with
// smooth = (original / wavelen - low) / (high - low): (1 - smooth) inv / factor + smooth inv.
std::vector<double> inverseFrequencies(const Rope& rope, std::int64_t dim) {
    if (!(rope.theta > 0.0) || !std::isfinite(rope.theta)) fail("rope_theta must be positive");
    std::vector<double> out;
    const auto base = static_cast<float>(rope.theta);
    const auto factor = static_cast<float>(rope.factor);
    for (std::int64_t i = 0; 2 * i < dim; ++i) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
        float inv = 1.0f / std::pow(base, exponent);
        if (rope.type == "linear") {
            inv = inv / factor;
        } else if (rope.type == "llama3") {
            const auto lowWavelen = static_cast<float>(rope.original / rope.low);
            const auto highWavelen = static_cast<float>(rope.original / rope.high);
            const float wavelen = (1.0f / inv) * static_cast<float>(2.0 * std::numbers::pi);
            if (wavelen > lowWavelen) {
                inv = inv / factor;
            } else if (!(wavelen < highWavelen)) {
                const float smooth =
                    ((1.0f / wavelen) * static_cast<float>(rope.original) - static_cast<float>(rope.low)) /
                    static_cast<float>(rope.high - rope.low);
                inv = (1.0f - smooth) * inv / factor + smooth * inv;
            }
        }
        out.push_back(static_cast<double>(inv));
    }
    return out;
}

// HF rotate-half RoPE over the whole head: with half = d_head / 2 and angle_i = position * inv_freq_i,
//   y[i] = x[i] cos - x[i + half] sin,  y[i + half] = x[i + half] cos + x[i] sin   (i < half).
// The angle and its cosine and sine are taken in double here (HF: float32).
void rotate(const std::vector<double>& invFreq, std::size_t position, Vec& x) {
    const std::size_t half = invFreq.size();
    for (std::size_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(position) * invFreq[i];
        const double a = x[i], b = x[i + half];
        x[i] = a * std::cos(angle) - b * std::sin(angle);
        x[i + half] = b * std::cos(angle) + a * std::sin(angle);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The plan: sizes, per-layer windows and frequencies, read from config.json.
// ---------------------------------------------------------------------------------------------------------

// Which layers slide. HF: `layer_types` when given (Qwen2/3, Gemma 2/3 configuration classes); else
// Mistral: every layer when sliding_window is not null; Qwen2/3: layer i when use_sliding_window and
// sliding_window is not null and i >= max_window_layers; Gemma 2: (i + 1) % 2 != 0; Gemma 3:
// (i + 1) % sliding_window_pattern != 0. Llama and Gemma have no sliding layers.
std::vector<bool> slidingLayers(const Config& c, const json& j, DPlan& p, std::int64_t& window) {
    const auto L = static_cast<std::size_t>(p.layers);
    std::vector<bool> rule(L, false);
    window = 0;
    switch (p.kind) {
    case Kind::Llama:
    case Kind::Gemma:
        break;
    case Kind::Mistral:
        window = static_cast<std::int64_t>(optionalNumber(c, j, "sliding_window", 4096, 0));
        rule.assign(L, window > 0);
        break;
    case Kind::Qwen2:
    case Kind::Qwen3: {
        // HF: sliding_window = sliding_window if use_sliding_window else None.
        const bool use = c.flag("use_sliding_window", false);
        window = use ? static_cast<std::int64_t>(optionalNumber(c, j, "sliding_window", 4096, 0)) : 0;
        const std::int64_t from = c.integer({"max_window_layers"}, 28);
        for (std::size_t i = 0; i < L; ++i) {
            rule[i] = window > 0 && static_cast<std::int64_t>(i) >= from;
        }
        break;
    }
    case Kind::Gemma2:
    case Kind::Gemma3: {
        window = static_cast<std::int64_t>(optionalNumber(c, j, "sliding_window", 4096, 0));
        const std::int64_t pattern = p.kind == Kind::Gemma2 ? 2 : c.integer({"sliding_window_pattern"}, 6);
        if (pattern < 1) fail("sliding_window_pattern must be at least 1");
        for (std::size_t i = 0; i < L; ++i) {
            rule[i] = (static_cast<std::int64_t>(i) + 1) % pattern != 0;
        }
        break;
    }
    }
    if (!c.has("layer_types")) return rule;
    const json& types = c.raw("layer_types");
    if (!types.is_array() || types.size() != L) fail("layer_types must list one type per layer");
    std::vector<bool> out(L);
    for (std::size_t i = 0; i < L; ++i) {
        const std::string t = types[i].is_string() ? types[i].get<std::string>() : "";
        if (t != "sliding_attention" && t != "full_attention") fail("unknown layer type " + types[i].dump());
        out[i] = t == "sliding_attention";
    }
    // Llama, Mistral and Gemma configuration classes have no layer_types: a list that disagrees with
    // the family's rule cannot be honoured by every transformers version.
    const bool honoured =
        p.kind == Kind::Qwen2 || p.kind == Kind::Qwen3 || p.kind == Kind::Gemma2 || p.kind == Kind::Gemma3;
    if (!honoured && out != rule) fail(p.type + " does not read layer_types, and they differ from its rule");
    for (std::size_t i = 0; i < L; ++i) {
        if (out[i] && window <= 0)
            fail("layer " + std::to_string(i) + " is sliding_attention without a window");
    }
    return out;
}

void readRope(const Config& c, const json& j, DPlan& p, const std::vector<bool>& sliding) {
    const Defaults def = defaultsOf(p.kind);
    if (c.has("partial_rotary_factor") && c.number({"partial_rotary_factor"}, 1.0) != 1.0) {
        fail("partial_rotary_factor other than 1 is not supported");
    }
    const bool thetaGiven = c.has("rope_theta");
    const double theta = c.number({"rope_theta"}, def.theta);
    const bool scaling = c.has("rope_scaling"), params = c.has("rope_parameters");
    if (scaling && params && c.raw("rope_scaling") != c.raw("rope_parameters")) {
        fail("rope_scaling and rope_parameters are both given and differ");
    }
    Rope global;
    global.theta = theta;
    Rope local; // Gemma 3 sliding layers
    local.theta = c.number({"rope_local_base_freq"}, 10000.0);
    const bool nested = params && c.raw("rope_parameters").is_object() &&
                        (c.raw("rope_parameters").contains("full_attention") ||
                         c.raw("rope_parameters").contains("sliding_attention"));
    if (nested) {
        // HF (Gemma 3 and newer configs): rope_parameters keyed by layer type; each entry a RoPE dict.
        if (p.kind != Kind::Gemma3) fail("per-layer-type rope_parameters are only supported for gemma3_text");
        const json& rp = c.raw("rope_parameters");
        for (const auto& [key, value] : rp.items()) {
            if (key != "full_attention" && key != "sliding_attention")
                fail("rope_parameters key '" + key + "'");
        }
        if (rp.contains("full_attention")) {
            global = readRopeDict(rp.at("full_attention"), global, theta, thetaGiven, p.maxPos,
                                  "rope_parameters.full_attention");
        }
        if (rp.contains("sliding_attention")) {
            local =
                readRopeDict(rp.at("sliding_attention"), local, local.theta, c.has("rope_local_base_freq"),
                             p.maxPos, "rope_parameters.sliding_attention");
        }
    } else {
        // HF: one dict for every layer (Gemma 3: the full-attention layers only; its sliding layers use
        // rope_local_base_freq with the default rotation).
        const char* key = params ? "rope_parameters" : "rope_scaling";
        if (params || scaling) global = readRopeDict(c.raw(key), global, theta, thetaGiven, p.maxPos, key);
    }
    const std::vector<double> full = inverseFrequencies(global, p.dHead);
    const std::vector<double> slide = p.kind == Kind::Gemma3 ? inverseFrequencies(local, p.dHead) : full;
    for (std::size_t l = 0; l < sliding.size(); ++l) {
        p.invFreq.push_back(sliding[l] ? slide : full);
    }
}

DPlan makeDecoderPlan(const json& j) {
    const Config c(j);
    DPlan p;
    p.type = c.raw("model_type").get<std::string>();
    for (const auto& k : kKinds) {
        if (p.type == k.type) p.kind = k.kind;
    }
    const Defaults def = defaultsOf(p.kind);
    p.d = c.integer({"hidden_size"}, def.d);
    p.layers = c.integer({"num_hidden_layers"}, def.layers);
    p.heads = c.integer({"num_attention_heads"}, def.heads);
    // HF: num_key_value_heads None means num_attention_heads.
    p.kvHeads = c.integer({"num_key_value_heads"}, def.kv > 0 ? def.kv : p.heads);
    p.dMlp = c.integer({"intermediate_size"}, def.mlp);
    p.vocab = c.integer({"vocab_size"}, def.vocab);
    p.maxPos = c.integer({"max_position_embeddings"}, def.maxPos);
    p.eps = c.number({"rms_norm_eps"}, 1e-6);
    p.tied = c.flag("tie_word_embeddings", def.tied);
    if (p.d <= 0 || p.heads <= 0 || p.kvHeads <= 0 || p.layers < 0 || p.dMlp <= 0 || p.vocab <= 0) {
        fail("config has a non-positive size");
    }
    if (p.heads % p.kvHeads != 0) {
        fail(std::to_string(p.heads) + " attention heads are not divisible by " + std::to_string(p.kvHeads) +
             " key/value heads");
    }
    // HF: head_dim = config.head_dim, or hidden_size // num_attention_heads when absent or None (Llama,
    // Mistral, Qwen2); Qwen3 and Gemma* default to their class's value.
    if (def.headDim == 0 && !c.has("head_dim") && p.d % p.heads != 0) {
        fail("hidden size " + std::to_string(p.d) + " is not divisible by " + std::to_string(p.heads) +
             " heads");
    }
    p.dHead = c.integer({"head_dim"}, def.headDim > 0 ? def.headDim : p.d / p.heads);
    if (p.dHead <= 0 || p.dHead % 2 != 0) fail("head_dim " + std::to_string(p.dHead) + " must be even");

    // Activation. HF: Llama / Mistral / Qwen / Gemma 1 MLPs use ACT2FN[hidden_act]; Gemma 2 / 3 use
    // ACT2FN[hidden_activation]. Old Gemma 1 code read hidden_activation instead, so the two must agree.
    const bool gemma = p.kind == Kind::Gemma || p.kind == Kind::Gemma2 || p.kind == Kind::Gemma3;
    const std::string primary =
        p.kind == Kind::Gemma2 || p.kind == Kind::Gemma3 ? "hidden_activation" : "hidden_act";
    p.act = c.text(primary, def.act);
    if (gemma) {
        const std::string other = primary == "hidden_act" ? "hidden_activation" : "hidden_act";
        if (c.has(other) && c.text(other, p.act) != p.act) fail("hidden_act and hidden_activation disagree");
    }
    activation(p.act, 0.0);

    p.gemmaNorm = gemma;
    p.sandwich = p.kind == Kind::Gemma2 || p.kind == Kind::Gemma3;
    p.qkNorm = p.kind == Kind::Qwen3 || p.kind == Kind::Gemma3;
    // Biases. HF: Llama attention_bias (q, k, v, o) and mlp_bias (gate, up, down); Qwen2 q, k, v always and
    // never o; Qwen3 and Gemma* attention_bias; Mistral none.
    const bool attentionBias = c.flag("attention_bias", false);
    const bool mlpBias = c.flag("mlp_bias", false);
    if (attentionBias && p.kind == Kind::Mistral) fail("mistral with attention_bias is not supported");
    if (mlpBias && p.kind != Kind::Llama) fail(p.type + " with mlp_bias is not supported");
    p.qkvBias = p.kind == Kind::Qwen2 || (attentionBias && p.kind != Kind::Qwen2);
    p.oBias = attentionBias && p.kind != Kind::Qwen2;
    p.mlpBias = mlpBias;

    // Scaling and soft-caps. HF: head_dim^-0.5, Gemma 2 / 3 query_pre_attn_scalar^-0.5; softcap
    // cap * tanh(x / cap) on the scaled scores before the mask and on the logits, when not None.
    p.scale = 1.0 / std::sqrt(static_cast<double>(p.dHead));
    if (p.sandwich) {
        const double q = c.number({"query_pre_attn_scalar"}, 256.0);
        if (!(q > 0.0)) fail("query_pre_attn_scalar must be positive");
        p.scale = 1.0 / std::sqrt(q);
        p.attnCap = optionalNumber(c, j, "attn_logit_softcapping", p.kind == Kind::Gemma2 ? 50.0 : 0.0, 0.0);
        p.finalCap =
            optionalNumber(c, j, "final_logit_softcapping", p.kind == Kind::Gemma2 ? 30.0 : 0.0, 0.0);
        if (p.attnCap < 0.0 || p.finalCap < 0.0) fail("soft-caps must be positive");
    } else {
        for (const char* key :
             {"attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar"}) {
            if (c.has(key)) fail(p.type + " does not read " + std::string(key));
        }
    }

    // Keys that would change the computation in ways this reference does not model.
    if (c.flag("use_bidirectional_attention", false)) fail("use_bidirectional_attention is not supported");
    for (const char* key : {"use_mrope", "no_rope_layers", "attention_chunk_size", "use_qk_norm"}) {
        if (c.has(key) && c.raw(key) != json(false))
            fail("config key '" + std::string(key) + "' is not supported");
    }

    std::int64_t window = 0;
    const std::vector<bool> sliding = slidingLayers(c, j, p, window);
    for (bool s : sliding) {
        p.window.push_back(s ? window : 0);
    }
    readRope(c, j, p, sliding);
    return p;
}

// ---------------------------------------------------------------------------------------------------------
// The forward pass.
// ---------------------------------------------------------------------------------------------------------

// HF LlamaRMSNorm / GemmaRMSNorm: x * rsqrt(mean(x^2) + eps) times w (Llama, Mistral, Qwen) or (1 + w)
// (Gemma 1/2/3), here in double.
Vec rmsNorm(const Vec& x, const Tensor& w, double eps, bool gemma) {
    double meanSquare = 0.0;
    for (double v : x) {
        meanSquare += v * v;
    }
    meanSquare /= static_cast<double>(x.size());
    const double inv = 1.0 / std::sqrt(meanSquare + eps);
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double g = static_cast<double>(w.values[i]);
        y[i] = x[i] * inv * (gemma ? 1.0 + g : g);
    }
    return y;
}

double softcap(double x, double cap) {
    return cap > 0.0 ? cap * std::tanh(x / cap) : x;
}

using Heads = std::vector<std::vector<Vec>>; // [T][head][d_head]

std::string layerName(std::size_t l, const std::string& rest) {
    return "layers." + std::to_string(l) + "." + rest;
}

// Attention of one layer: scores q_i . k_j (query head h reads KV head h / (heads / kv_heads), HF repeat_kv),
// scaled, soft-capped, masked (causal, and for a window W keys j > i - W: masking_utils
// sliding_window_overlay), softmax; z[i][h] = sum_j p_ij v_j. Masked keys get probability exactly 0.
Heads attend(const DPlan& p, std::size_t layer, const Heads& q, const Heads& k, const Heads& v,
             Trace& trace) {
    const std::size_t T = q.size();
    const auto H = static_cast<std::size_t>(p.heads);
    const auto group = static_cast<std::size_t>(p.heads / p.kvHeads);
    const std::int64_t window = p.window[layer];
    auto allowed = [&](std::size_t i, std::size_t j) {
        const auto ii = static_cast<std::int64_t>(i), jj = static_cast<std::int64_t>(j);
        return jj <= ii && (window == 0 || jj > ii - window);
    };
    std::vector<std::vector<Vec>> pattern(H, std::vector<Vec>(T, Vec(T, 0.0)));
    Heads z(T, std::vector<Vec>(H, Vec(static_cast<std::size_t>(p.dHead), 0.0)));
    for (std::size_t h = 0; h < H; ++h) {
        const std::size_t g = h / group;
        for (std::size_t i = 0; i < T; ++i) {
            Vec score(T, 0.0);
            double best = -std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j <= i; ++j) {
                if (!allowed(i, j)) continue;
                double dot = 0.0;
                for (std::size_t e = 0; e < q[i][h].size(); ++e) {
                    dot += q[i][h][e] * k[j][g][e];
                }
                score[j] = softcap(dot * p.scale, p.attnCap);
                best = std::max(best, score[j]);
            }
            double total = 0.0;
            for (std::size_t j = 0; j <= i; ++j) {
                if (allowed(i, j)) {
                    pattern[h][i][j] = std::exp(score[j] - best);
                    total += pattern[h][i][j];
                }
            }
            for (std::size_t j = 0; j <= i; ++j) {
                pattern[h][i][j] /= total;
                for (std::size_t e = 0; e < z[i][h].size(); ++e) {
                    z[i][h][e] += pattern[h][i][j] * v[j][g][e];
                }
            }
        }
    }
    trace.pattern[layer] = pattern;
    trace.z[layer] = z;
    return z;
}

// Splits a projection's output [n * d_head] into n heads (HF .view(..., -1, head_dim)).
std::vector<Vec> splitHeads(const Vec& flat, std::int64_t n, std::int64_t dh) {
    std::vector<Vec> out(static_cast<std::size_t>(n));
    for (std::size_t h = 0; h < out.size(); ++h) {
        const auto first = flat.begin() + static_cast<std::ptrdiff_t>(h * static_cast<std::size_t>(dh));
        out[h].assign(first, first + dh);
    }
    return out;
}

// HF LlamaDecoderLayer (and Mistral, Qwen2/3, Gemma): h = x + attn(input_layernorm(x));
// out = h + mlp(post_attention_layernorm(h)). Gemma2/3DecoderLayer: h = x + post_attention_layernorm(attn(
// input_layernorm(x))); out = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h))).
// MLP: down_proj(act(gate_proj(u)) * up_proj(u)). Qwen3 / Gemma 3: q_norm / k_norm per head, then RoPE.
std::vector<Vec> block(const DPlan& p, Bank& bank, std::size_t l, const std::vector<Vec>& x, Trace& trace) {
    const std::int64_t d = p.d, dh = p.dHead, qDim = p.heads * p.dHead, kvDim = p.kvHeads * p.dHead;
    const std::size_t T = x.size();
    auto get = [&](const std::string& rest, const std::vector<std::int64_t>& shape) -> const Tensor& {
        return bank.get(layerName(l, rest), shape);
    };
    auto bias = [&](bool present, const std::string& rest, std::int64_t n) {
        return present ? &get(rest, {n}) : nullptr;
    };
    const Tensor& inNorm = get("input_layernorm.weight", {d});
    const Tensor& wQ = get("self_attn.q_proj.weight", {qDim, d});
    const Tensor& wK = get("self_attn.k_proj.weight", {kvDim, d});
    const Tensor& wV = get("self_attn.v_proj.weight", {kvDim, d});
    const Tensor& wO = get("self_attn.o_proj.weight", {d, qDim});
    const Tensor* bQ = bias(p.qkvBias, "self_attn.q_proj.bias", qDim);
    const Tensor* bK = bias(p.qkvBias, "self_attn.k_proj.bias", kvDim);
    const Tensor* bV = bias(p.qkvBias, "self_attn.v_proj.bias", kvDim);
    const Tensor* bO = bias(p.oBias, "self_attn.o_proj.bias", d);
    const Tensor* qNorm = p.qkNorm ? &get("self_attn.q_norm.weight", {dh}) : nullptr;
    const Tensor* kNorm = p.qkNorm ? &get("self_attn.k_norm.weight", {dh}) : nullptr;
    const Tensor& postAttnNorm = get("post_attention_layernorm.weight", {d});
    const Tensor* preFfNorm = p.sandwich ? &get("pre_feedforward_layernorm.weight", {d}) : nullptr;
    const Tensor* postFfNorm = p.sandwich ? &get("post_feedforward_layernorm.weight", {d}) : nullptr;
    const Tensor& wGate = get("mlp.gate_proj.weight", {p.dMlp, d});
    const Tensor& wUp = get("mlp.up_proj.weight", {p.dMlp, d});
    const Tensor& wDown = get("mlp.down_proj.weight", {d, p.dMlp});
    const Tensor* bGate = bias(p.mlpBias, "mlp.gate_proj.bias", p.dMlp);
    const Tensor* bUp = bias(p.mlpBias, "mlp.up_proj.bias", p.dMlp);
    const Tensor* bDown = bias(p.mlpBias, "mlp.down_proj.bias", d);

    Heads q(T), k(T), v(T);
    for (std::size_t t = 0; t < T; ++t) {
        const Vec u = rmsNorm(x[t], inNorm, p.eps, p.gemmaNorm);
        q[t] = splitHeads(linear(wQ, bQ, u), p.heads, dh);
        k[t] = splitHeads(linear(wK, bK, u), p.kvHeads, dh);
        v[t] = splitHeads(linear(wV, bV, u), p.kvHeads, dh);
        for (auto& head : q[t]) {
            if (qNorm) head = rmsNorm(head, *qNorm, p.eps, p.gemmaNorm);
            rotate(p.invFreq[l], t, head);
        }
        for (auto& head : k[t]) {
            if (kNorm) head = rmsNorm(head, *kNorm, p.eps, p.gemmaNorm);
            rotate(p.invFreq[l], t, head);
        }
    }
    const Heads z = attend(p, l, q, k, v, trace);

    std::vector<Vec> out(T);
    for (std::size_t t = 0; t < T; ++t) {
        Vec merged; // HF reshape(*input_shape, -1): index h * d_head + e
        for (const auto& head : z[t]) {
            merged.insert(merged.end(), head.begin(), head.end());
        }
        Vec attnOut = linear(wO, bO, merged);
        if (p.sandwich) attnOut = rmsNorm(attnOut, postAttnNorm, p.eps, true);
        const Vec mid = addVec(x[t], attnOut);
        const Vec u = rmsNorm(mid, p.sandwich ? *preFfNorm : postAttnNorm, p.eps, p.gemmaNorm);
        const Vec gate = linear(wGate, bGate, u), up = linear(wUp, bUp, u);
        Vec hidden(gate.size());
        for (std::size_t i = 0; i < hidden.size(); ++i) {
            hidden[i] = activation(p.act, gate[i]) * up[i];
        }
        Vec mlpOut = linear(wDown, bDown, hidden);
        if (p.sandwich) mlpOut = rmsNorm(mlpOut, *postFfNorm, p.eps, true);
        out[t] = addVec(mid, mlpOut);
        trace.resid_mid[l][t] = mid;
        trace.attn_out[l][t] = attnOut;
        trace.mlp_out[l][t] = mlpOut;
    }
    return out;
}

} // namespace

bool isDecoderType(const std::string& modelType) {
    return std::any_of(std::begin(kKinds), std::end(kKinds),
                       [&](const Kinds& k) { return modelType == k.type; });
}

Trace runDecoder(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids) {
    const DPlan p = makeDecoderPlan(config);
    Bank bank(w, "model.");
    const std::size_t T = ids.size();
    if (T == 0) fail("empty prompt");
    for (int id : ids) {
        if (id < 0 || id >= p.vocab) {
            fail("token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(p.vocab));
        }
    }
    // Embeddings. HF: embed_tokens[id]; Gemma multiplies by the normalizer sqrt(hidden_size), a tensor of
    // the hidden states' dtype (float32 here: float32(sqrt(d)); a bfloat16 run would round it further).
    const Tensor& embed = bank.get("embed_tokens.weight", {p.vocab, p.d});
    const double scale =
        p.gemmaNorm ? static_cast<double>(static_cast<float>(std::sqrt(static_cast<double>(p.d)))) : 1.0;
    const auto dim = static_cast<std::size_t>(p.d);
    std::vector<Vec> x(T, Vec(dim));
    for (std::size_t t = 0; t < T; ++t) {
        for (std::size_t i = 0; i < dim; ++i) {
            x[t][i] = static_cast<double>(embed.values[static_cast<std::size_t>(ids[t]) * dim + i]) * scale;
        }
    }

    Trace trace;
    const auto L = static_cast<std::size_t>(p.layers);
    trace.pattern.resize(L);
    trace.z.resize(L);
    trace.resid_mid.assign(L, std::vector<Vec>(T));
    trace.attn_out.assign(L, std::vector<Vec>(T));
    trace.mlp_out.assign(L, std::vector<Vec>(T));
    trace.inv_freq = p.invFreq;
    trace.window = p.window;
    for (std::size_t l = 0; l < L; ++l) {
        trace.resid_pre.push_back(x);
        x = block(p, bank, l, x, trace);
    }
    trace.resid_final = x;

    // Final norm and lm_head (nn.Linear without bias, never prefixed). HF: with tie_word_embeddings it is
    // embed_tokens; a stored copy must then equal it. Gemma 2/3: final_logit_softcapping on the logits.
    const Tensor& norm = bank.get("norm.weight", {p.d});
    const Tensor* unembed = &embed;
    if (!p.tied) {
        unembed = &bank.get("lm_head.weight", {p.vocab, p.d});
    } else if (bank.has("lm_head.weight") &&
               bank.get("lm_head.weight", {p.vocab, p.d}).values != embed.values) {
        fail("'lm_head.weight' differs from 'embed_tokens.weight' although tie_word_embeddings is set");
    }
    for (std::size_t t = 0; t < T; ++t) {
        Vec logits = linear(*unembed, nullptr, rmsNorm(x[t], norm, p.eps, p.gemmaNorm));
        for (double& v : logits) {
            v = softcap(v, p.finalCap);
        }
        trace.logits.push_back(std::move(logits));
    }
    bank.requireAllUsed();
    return trace;
}

} // namespace obsprop::naive::detail
