// An independent, deliberately naive forward pass of GPT-2, GPT-Neo and GPT-NeoX (Pythia) checkpoints.
//
// It exists only so that tests can check the real (LibTorch) forward pass against something written
// separately from it: plain loops over positions, heads and dimensions, every number in double precision,
// no matrix library and no code shared with the product. It follows the semantics of Hugging Face's
// modeling_gpt2.py / modeling_gpt_neo.py / modeling_gpt_neox.py; the .cpp says which detail comes from where.
// Speed is not a goal: use it on tiny models and short prompts.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace obsprop::naive {

// A dense tensor in row-major order, values as stored in the checkpoint (converted to float).
struct Tensor {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};

// Tensors by their Hugging Face names. The family's base-model prefix ("transformer." for gpt2 and gpt_neo,
// "gpt_neox." for gpt_neox) may be present or not. Known non-parameter buffers (the causal-mask "attn.bias",
// "masked_bias", rotary "inv_freq", ...) are ignored; any other tensor the model does not use is an error.
using Weights = std::map<std::string, Tensor>;

// Everything the reference computes for one prompt (batch size 1), in double precision.
struct Trace {
    std::vector<std::vector<double>> logits;                            // [T][vocab]
    std::vector<std::vector<std::vector<double>>> resid_pre;            // [layer][T][d_model] block input
    std::vector<std::vector<double>> resid_final;                       // [T][d_model] last block output
    std::vector<std::vector<std::vector<std::vector<double>>>> pattern; // [layer][head][query][key]
    std::vector<std::vector<std::vector<std::vector<double>>>> z;       // [layer][T][head][d_head]
};

// Runs the model described by `config` (the checkpoint's config.json, model_type gpt2 | gpt_neo | gpt_neox)
// on the token ids. Throws std::runtime_error on anything it does not know or cannot check: an unknown
// model_type, activation or attention type, RoPE scaling, a missing / misshapen / unexpected tensor, an
// out-of-range token id, an empty prompt, or a prompt longer than the learned position table.
Trace run(const nlohmann::json& config, const Weights& w, const std::vector<int>& ids);

// The activation functions of Hugging Face's ACT2FN table that these families use, by their config name:
// gelu, gelu_python (exact erf), gelu_new, gelu_pytorch_tanh (tanh approximation), gelu_fast, quick_gelu,
// gelu_10, relu, silu, swish, tanh, sigmoid, linear. Throws std::runtime_error for any other name.
double activation(std::string_view name, double x);

} // namespace obsprop::naive
